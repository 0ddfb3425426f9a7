"""ParameterAttribute / ExtraLayerAttribute (Paddle v1 ``attrs.py``), validated by pydantic."""

from __future__ import annotations

import math
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ..config.models import Double as Number
from ..config import ConfigError
from ..config.serialize import describe_validation_error
from .base import build_from_mapping
from .calls import checked_init, user_location


class _Attr(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        checked_init(cls)     # a wrong keyword is a ConfigError with file:line, as in layers

    @classmethod
    def _build(cls, **kwargs: Any) -> dict:
        return kwargs

    def __init__(self, **kwargs: Any):
        try:
            super().__init__(**kwargs)
        except ValidationError as err:
            raise ConfigError(f"{type(self).__name__}: {describe_validation_error(err)}",
                              where=user_location()) from None


class ParameterAttribute(_Attr):
    """How a parameter is named, initialised and updated (``ParamAttr``)."""

    name: Optional[str] = None
    is_static: bool = False
    initial_std: Optional[Annotated[Number, Field(ge=0, allow_inf_nan=False)]] = None
    initial_mean: Optional[Number] = None
    initial_max: Optional[Number] = None
    initial_min: Optional[Number] = None
    l1_rate: Optional[Annotated[Number, Field(ge=0, allow_inf_nan=False)]] = None
    l2_rate: Optional[Annotated[Number, Field(ge=0, allow_inf_nan=False)]] = None
    learning_rate: Optional[Annotated[Number, Field(ge=0, allow_inf_nan=False)]] = None
    momentum: Optional[Annotated[Number, Field(ge=0, allow_inf_nan=False)]] = None
    gradient_clipping_threshold: Optional[Annotated[Number, Field(ge=0, allow_inf_nan=False)]] = None
    sparse_update: bool = False
    update_hooks: Optional[Any] = None
    initializer: Optional[Any] = None

    def __init__(self, name: Optional[str] = None, is_static: bool = False,
                 initial_std: Optional[Number] = None, initial_mean: Optional[Number] = None,
                 initial_max: Optional[Number] = None, initial_min: Optional[Number] = None,
                 l1_rate: Optional[Number] = None, l2_rate: Optional[Number] = None,
                 learning_rate: Optional[Number] = None, momentum: Optional[Number] = None,
                 gradient_clipping_threshold: Optional[Number] = None,
                 sparse_update: bool = False, update_hooks: Any = None,
                 initializer: Any = None):
        super().__init__(
            name=name, is_static=is_static, initial_std=initial_std,
            initial_mean=initial_mean, initial_max=initial_max, initial_min=initial_min,
            l1_rate=l1_rate, l2_rate=l2_rate, learning_rate=learning_rate, momentum=momentum,
            gradient_clipping_threshold=gradient_clipping_threshold,
            sparse_update=sparse_update, update_hooks=update_hooks, initializer=initializer)

    @model_validator(mode="after")
    def _check(self) -> "ParameterAttribute":
        for field in ("initial_std", "initial_mean", "initial_max", "initial_min"):
            value = getattr(self, field)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{field}={value!r} must be finite")
        if self.initial_std is None and self.initial_mean is None:
            if (self.initial_max is None) != (self.initial_min is None):
                raise ValueError("initial_max and initial_min must be given together "
                                 f"(got initial_max={self.initial_max!r}, "
                                 f"initial_min={self.initial_min!r})")
            if self.initial_max is not None and not self.initial_min < self.initial_max:
                raise ValueError(f"initial_min={self.initial_min!r} must be less than "
                                 f"initial_max={self.initial_max!r}")
        if self.initializer is not None:
            raise ValueError("initializer callables are not supported; use initial_mean/std "
                             "or initial_min/max")
        if self.update_hooks is not None:
            raise ValueError("update_hooks (pruning) are not supported")
        return self

    @property
    def is_smart(self) -> bool:
        return (self.initial_std is None and self.initial_mean is None
                and self.initial_max is None and self.initial_min is None)


ParamAttr = ParameterAttribute


class ExtraLayerAttribute(_Attr):
    """Per-layer extras: dropout rate, error clipping, device (``ExtraAttr``)."""

    error_clipping_threshold: Optional[Annotated[Number, Field(ge=0, allow_inf_nan=False)]] = None
    drop_rate: Optional[Annotated[Number, Field(ge=0, lt=1, allow_inf_nan=False)]] = None
    device: Optional[int] = None

    def __init__(self, error_clipping_threshold: Optional[Number] = None,
                 drop_rate: Optional[Number] = None, device: Optional[int] = None):
        super().__init__(error_clipping_threshold=error_clipping_threshold,
                         drop_rate=drop_rate, device=device)


ExtraAttr = ExtraLayerAttribute


def _attr_from_mapping(cls: type) -> Any:
    def convert(value: Any) -> Any:
        return build_from_mapping(cls, value) if isinstance(value, dict) else value
    return BeforeValidator(convert)


#: Argument types: a mapping (YAML) is accepted and built into the attribute.
ParamAttrArg = Annotated[Optional[ParameterAttribute], _attr_from_mapping(ParameterAttribute)]
BiasAttrArg = Annotated[Union[bool, ParameterAttribute, None],
                        _attr_from_mapping(ParameterAttribute)]
LayerAttrArg = Annotated[Optional[ExtraLayerAttribute], _attr_from_mapping(ExtraLayerAttribute)]

__all__ = ["ExtraAttr", "ExtraLayerAttribute", "ParamAttr", "ParameterAttribute"]
