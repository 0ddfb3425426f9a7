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


def per_input_attrs(inputs: list, param_attr: Any,
                    copies: bool = False) -> list[ParameterAttribute]:
    """fc_layer's rule for a layer with one weight per input: a list (or tuple) of one
    attribute per input, or one attribute used for each (a named one cannot serve several
    inputs); ``copies`` gives each input its own copy of a single attribute."""
    if isinstance(param_attr, (list, tuple)):
        if len(param_attr) != len(inputs):
            raise fail("param_attr", param_attr, f"a list of {len(param_attr)} attributes for "
                       f"{len(inputs)} inputs; give one per input")
        return [a or ParameterAttribute() for a in param_attr]
    attr = param_attr or ParameterAttribute()
    if attr.name and len(inputs) > 1:
        raise fail("param_attr", attr.name, "one named parameter cannot serve several "
                   "inputs; pass a list of ParamAttr, one per input")
    return [attr.model_copy(deep=True) if copies else attr for _ in inputs]


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
                     is_shared: Optional[bool] = None, smart: Optional[bool] = None,
                     size_argument: Optional[str] = "size",
                     is_sparse: Optional[bool] = None) -> ParameterConfig:
    """Make (or, for a shared name, look up) the ParameterConfig an attribute describes.

    The attribute is never mutated (Paddle mutated it; see docs/paddle_compat.md).  ``smart``
    overrides the attribute's initial_smart (img_conv_layer writes False after its own
    smart rule, as Paddle's helper did).  ``is_sparse`` is written when given (Paddle's
    selective fc stated ``is_sparse: false`` for its dense weights).
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
    fields = attribute_fields(attr)
    if smart is not None:
        fields["initial_smart"] = smart
    if is_sparse is not None:
        fields["is_sparse"] = is_sparse
    return define_parameter(name, size, dims, argument=argument,
                            is_shared=True if is_shared else None, **fields)


def attribute_fields(attr: ParameterAttribute) -> dict[str, Any]:
    """The keyword fields Paddle's ParameterAttribute handed to the config parser's
    Parameter() (spec 1.4): initialisation only as far as the attribute decides it (the
    rest falls to the global defaults), update settings unless the parameter is static."""
    if attr.is_smart:
        fields: dict[str, Any] = {"initial_smart": True}
    elif attr.initial_std is not None or attr.initial_mean is not None:
        fields = {"initial_std": attr.initial_std, "initial_mean": attr.initial_mean,
                  "initial_strategy": 0}
    else:
        mean = (attr.initial_max + attr.initial_min) / 2.0
        fields = {"initial_mean": mean, "initial_std": mean - attr.initial_min,
                  "initial_strategy": 1}
    if attr.is_static:
        fields["is_static"] = True
    else:
        fields.update(learning_rate=attr.learning_rate, momentum=attr.momentum,
                      decay_rate=attr.l2_rate, decay_rate_l1=attr.l1_rate)
    fields["gradient_clipping_threshold"] = attr.gradient_clipping_threshold
    if attr.sparse_update:
        fields.update(sparse_update=True, sparse_remote_update=True)
    return fields


def define_parameter(name: str, size: int, dims: list[int], *, argument: str = "param_attr",
                     device: Optional[int] = None, of_layer: bool = True,
                     learning_rate: Optional[float] = None, momentum: Optional[float] = None,
                     decay_rate: Optional[float] = None, decay_rate_l1: Optional[float] = None,
                     initial_mean: Optional[float] = None, initial_std: Optional[float] = None,
                     initial_strategy: Optional[int] = None,
                     initial_smart: Optional[bool] = None,
                     num_batches_regularization: Optional[int] = None,
                     sparse_remote_update: Optional[bool] = None,
                     sparse_update: Optional[bool] = None,
                     gradient_clipping_threshold: Optional[float] = None,
                     is_static: Optional[bool] = None,
                     is_shared: Optional[bool] = None,
                     is_sparse: Optional[bool] = None) -> ParameterConfig:
    """Paddle's config-parser ``Parameter()``: a new parameter whose unset fields take the
    global defaults (``default_momentum``, ``default_initial_std``, ...; ``settings()`` sets
    some of them).  Smart initialisation means mean 0 and std ``1/sqrt(dims[0])`` (or
    ``1/sqrt(size)`` without dims).  ``of_layer``: the layer being built gives the parameter
    its device (make_output), as Paddle's layers did."""
    ctx = current()
    defaults = ctx.param_defaults

    def default(value: Any, key: str) -> Any:
        return defaults[key] if value is None else value

    momentum = default(momentum, "momentum")
    if momentum and decay_rate_l1:
        raise fail(argument, name, f"parameter {name!r} has both momentum {momentum} and "
                   f"l1_rate {decay_rate_l1}; Paddle refuses L1 with momentum")
    smart = default(initial_smart, "initial_smart")
    mean, std = default(initial_mean, "initial_mean"), default(initial_std, "initial_std")
    if smart:
        mean, std = 0.0, 1.0 / math.sqrt(dims[0] if dims else size)
    values = {"name": name, "size": size, "device": device, "dims": dims,
              # Paddle wrote these two through float(); the other doubles as given
              "learning_rate": None if learning_rate is None else float(learning_rate),
              "momentum": None if momentum is None else float(momentum),
              "decay_rate": default(decay_rate, "decay_rate"), "decay_rate_l1": decay_rate_l1,
              "initial_mean": mean, "initial_std": std,
              "num_batches_regularization": default(num_batches_regularization,
                                                    "num_batches_regularization"),
              "sparse_remote_update": sparse_remote_update, "sparse_update": sparse_update,
              "gradient_clipping_threshold": default(gradient_clipping_threshold,
                                                     "gradient_clipping_threshold"),
              "initial_strategy": default(initial_strategy, "initial_strategy"),
              "initial_smart": smart, "is_sparse": is_sparse, "is_static": is_static,
              "is_shared": is_shared}
    param = ParameterConfig(**{k: v for k, v in values.items() if v is not None})
    ctx.parameters[name] = param
    if of_layer:
        ctx.fresh_parameters.append(param)
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
