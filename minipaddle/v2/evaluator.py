"""``paddle.evaluator``: v1's ``X_evaluator`` functions as ``X``.  An evaluator added here is
named ``__classification_error_evaluator_0__`` and so on (v1's automatic names), and its value
appears under that name in the trainer's ``metrics``."""

from __future__ import annotations

from ._names import export_v1, missing_attribute
from .layer import _wrap

_NAMES = (
    "classification_error auc pnpair precision_recall ctc_error chunk sum column_sum "
    "value_printer gradient_printer maxid_printer maxframe_printer seqtext_printer "
    "classification_error_printer detection_map").split()
__all__ = export_v1(globals(), __name__, {name: f"{name}_evaluator" for name in _NAMES}, _wrap)

__getattr__ = missing_attribute(__name__, __all__)
