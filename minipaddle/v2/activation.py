"""``paddle.activation``: the v1 activation classes without their ``Activation`` suffix.

They are the same classes (``paddle.activation.Relu is ReluActivation``), so isinstance checks
and v1 helpers see no difference.  (Paddle also renamed the classes' ``__name__``; minipaddle
leaves the v1 classes as they are.)
"""

from __future__ import annotations

from ..dsl import activations as _v1
from ._names import missing_attribute

__all__ = []
for _v1_name in _v1.__all__:
    _short = _v1_name[:-len("Activation")] if _v1_name.endswith("Activation") else _v1_name
    globals()[_short] = getattr(_v1, _v1_name)
    __all__.append(_short)

__getattr__ = missing_attribute(__name__, __all__)
