"""Facts of auc (``last-column-auc``: class labels, 0 negative, at least two classes),
precision_recall and classification_error_printer (class labels of the input's width).
pnpair's labels and query ids, and the sums, read dense values."""

from . import declare_evaluator

declare_evaluator("last-column-auc", label_inputs=(1,), label_classes=2)
declare_evaluator("precision_recall", label_inputs=(1,))
declare_evaluator("classification_error_printer", label_inputs=(1,))
