"""Facts of Paddle's ``classification_error`` evaluator: its second input is the label."""

from . import declare_evaluator

declare_evaluator("classification_error", label_inputs=(1,))
