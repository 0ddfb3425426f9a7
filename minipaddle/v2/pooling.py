"""``paddle.pooling``: the v1 pooling types without their ``Pooling`` suffix (the same
classes).  ``BasePool`` is ``BasePoolingType``, as Paddle's suffix cut made it."""

from __future__ import annotations

from ..dsl import poolings as _v1
from ._names import missing_attribute

__all__ = []
for _v1_name in _v1.__all__:
    _short = "BasePool" if _v1_name == "BasePoolingType" else _v1_name[:-len("Pooling")]
    globals()[_short] = getattr(_v1, _v1_name)
    __all__.append(_short)

__getattr__ = missing_attribute(__name__, __all__)
