"""``paddle.attr``: parameter and extra-layer attributes (v1's classes under v2's names)."""

from __future__ import annotations

from ..dsl.attrs import ExtraAttr, ExtraLayerAttribute, ParamAttr, ParameterAttribute
from ._names import missing_attribute, unsupported_function

Param = ParameterAttribute
Extra = ExtraLayerAttribute
#: update hooks (parameter pruning) are not implemented
Hook = HookAttr = HookAttribute = unsupported_function("paddle.v2.attr.Hook")

__all__ = ["Param", "ParamAttr", "ParameterAttribute", "Extra", "ExtraAttr",
           "ExtraLayerAttribute", "Hook", "HookAttr", "HookAttribute"]

__getattr__ = missing_attribute(__name__, __all__)
