"""``paddle.evaluator``: v1's ``X_evaluator`` functions as ``X``.  An evaluator added here is
named ``__classification_error_evaluator_0__`` and so on (v1's automatic names), and its value
appears under that name in the trainer's ``metrics``."""

from __future__ import annotations

from .. import dsl
from ._names import missing_attribute, public_name, unsupported_function
from .layer import _wrap

_NAMES = (
    "classification_error auc pnpair precision_recall ctc_error chunk sum column_sum "
    "value_printer gradient_printer maxid_printer maxframe_printer seqtext_printer "
    "classification_error_printer detection_map").split()
_SUPPORTED = set(dsl.__all__) - set(dsl._unsupported.__all__)

__all__ = []
for _name in _NAMES:
    _v1 = f"{_name}_evaluator"
    globals()[_name] = (_wrap(getattr(dsl, _v1), _name) if _v1 in _SUPPORTED
                        else unsupported_function(public_name(__name__, _name)))
    __all__.append(_name)

__getattr__ = missing_attribute(__name__, __all__)
