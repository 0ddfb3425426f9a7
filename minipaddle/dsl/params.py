"""Parameters and per-layer extras: Paddle v1's ParameterAttribute -> ParameterConfig rules
(spec 1.3-1.4) and ExtraLayerAttribute's per-layer whitelist (spec 1.2)."""

from __future__ import annotations

import math
from typing import Any, Optional, Union

from ..config import LayerConfig, ParameterConfig
from .attrs import ExtraLayerAttribute, ParameterAttribute
from .base import big_int, fail
from .context import current


#: Paddle's config stores sizes as uint64; we keep them within int64 for every consumer.
MAX_SIZE = 2 ** 63 - 1


def weight_name(layer: str, index: int) -> str:
    return f"_{layer}.w{index}"


def bias_name(layer: str) -> str:
    return f"_{layer}.wbias"


def zero_bias_attr() -> ParameterAttribute:
    return ParameterAttribute(initial_std=0.0, initial_mean=0.0)


def bias_attr_of(bias_attr: Union[bool, ParameterAttribute, None],
                 has_bias: bool = True) -> Optional[ParameterAttribute]:
    """Paddle's ``wrap_bias_attr_default``: None/True -> zero-initialised bias when the layer
    has a bias by default; False -> no bias; an attribute -> that attribute."""
    if bias_attr is False:
        return None
    if isinstance(bias_attr, ParameterAttribute):
        return bias_attr
    if bias_attr is True or (bias_attr is None and has_bias):
        return zero_bias_attr()
    return None


def create_parameter(attr: ParameterAttribute, default_name: str, size: int,
                     dims: Optional[list[int]] = None, *, argument: str = "param_attr",
                     is_shared: Optional[bool] = None,
                     size_argument: Optional[str] = "size") -> ParameterConfig:
    """Make (or, for a shared name, look up) the ParameterConfig an attribute describes.

    The attribute is never mutated (Paddle mutated it; see docs/paddle_compat.md).
    """
    ctx = current()
    dims = list(dims or [])
    name = attr.name or default_name
    if size > MAX_SIZE:
        # ``size_argument`` is the argument that made it so (None: several geometry arguments)
        err = fail(None, None, f"parameter {name!r} would have {big_int(size)} values, more "
                   f"than the {MAX_SIZE:,} a config can describe")
        err.argument = size_argument
        raise err
    existing = ctx.parameters.get(name)
    if existing is not None:
        if existing.size != size or list(existing.dims) != dims:
            raise fail(argument, attr.name or name,
                       f"parameter {name!r} is shared but this layer needs size {size} dims "
                       f"{dims}, while it was created with size {existing.size} dims "
                       f"{list(existing.dims)}")
        return existing

    values: dict[str, Any] = {"name": name, "size": size}
    if attr.is_smart:
        fan_in = dims[0] if dims else size
        mean, std, strategy, smart = 0.0, 1.0 / math.sqrt(fan_in), 0, True
    elif attr.initial_std is not None or attr.initial_mean is not None:
        mean = attr.initial_mean if attr.initial_mean is not None else 0.0
        std = attr.initial_std if attr.initial_std is not None else 0.01
        strategy, smart = 0, False
    else:
        mean = (attr.initial_max + attr.initial_min) / 2.0
        std = mean - attr.initial_min
        strategy, smart = 1, False

    defaults = ctx.param_defaults
    if not attr.is_static:
        values["learning_rate"] = attr.learning_rate
        values["momentum"] = attr.momentum
        values["decay_rate"] = attr.l2_rate
        values["decay_rate_l1"] = attr.l1_rate
    for key in ("momentum", "decay_rate"):
        if values.get(key) is None and defaults[key] is not None:
            values[key] = defaults[key]
    values["initial_mean"] = mean
    values["initial_std"] = std
    values["dims"] = dims
    values["initial_strategy"] = strategy
    values["initial_smart"] = smart
    clip = attr.gradient_clipping_threshold
    if clip is None:
        clip = defaults["gradient_clipping_threshold"]
    values["gradient_clipping_threshold"] = clip
    if attr.is_static:
        values["is_static"] = True
    if attr.sparse_update:
        values["sparse_update"] = True
        values["sparse_remote_update"] = True
    if is_shared:
        values["is_shared"] = True
    if values.get("momentum") and values.get("decay_rate_l1"):
        raise fail(argument, attr.name or name,
                   f"parameter {name!r} has both momentum {values['momentum']} and l1_rate "
                   f"{values['decay_rate_l1']}; Paddle refuses L1 with momentum")
    param = ParameterConfig(**{k: v for k, v in values.items() if v is not None})
    ctx.parameters[name] = param
    return param


#: which ExtraLayerAttribute fields each layer family accepts (``device`` always).
DROPOUT = ("drop_rate",)
ERROR_CLIPPING = ("error_clipping_threshold",)


def apply_layer_attr(config: dict[str, Any], layer_attr: Optional[ExtraLayerAttribute],
                     allowed: tuple[str, ...]) -> None:
    """Write an ExtraLayerAttribute into LayerConfig values, refusing unsupported fields as
    Paddle's ``layer_support`` did."""
    if layer_attr is None:
        return
    for field in ("drop_rate", "error_clipping_threshold"):
        value = getattr(layer_attr, field)
        if value is None:
            continue
        if field not in allowed:
            raise fail("layer_attr", layer_attr,
                       f"this layer does not support {field} (Paddle's layer_support allows "
                       f"{', '.join(allowed) or 'neither drop_rate nor error_clipping_threshold'}"
                       " here)")
        if field == "drop_rate" and value == 0:
            continue
        # Paddle's ExtraLayerAttribute stores float(...) for both fields.
        config[field] = float(value)
    if layer_attr.device is not None:
        config["device"] = layer_attr.device


def new_layer_config(**values: Any) -> LayerConfig:
    return LayerConfig(**{k: v for k, v in values.items() if v is not None})
