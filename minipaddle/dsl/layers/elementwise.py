"""Element-wise and vector layers of Paddle v1 (issue 16): slope_intercept_layer,
scaling_layer, scale_shift_layer, clip_layer, power_layer, interpolation_layer,
linear_comb_layer (convex_comb_layer), cos_sim, dot_prod_layer, l2_distance_layer,
out_prod_layer.  Signatures, defaults, automatic names and config fields are Paddle's
(``trainer_config_helpers/layers.py`` and ``config_parser.py``); the runtime facts are in
docs/layer_notes_16.md.  The id-selecting and weighted layers are in ``select.py``."""

from __future__ import annotations

from typing import Optional, Union

from ...config import LayerInputConfig
from ...config.models import ClipConfig
from ...config.models import Double as Number
from ..attrs import BiasAttrArg, LayerAttrArg, ParamAttrArg, ParameterAttribute
from ..base import LayerOutput, Size, dsl_function, fail, make_output
from ..params import (
    DROPOUT, ERROR_CLIPPING, apply_layer_attr, bias_attr_of, bias_name, create_parameter,
    new_layer_config, weight_name,
)

#: what a layer without Paddle's ``layer_support`` decorator let through ``layer_attr``
#: unchecked (Paddle wrote both fields into the config)
UNCHECKED = DROPOUT + ERROR_CLIPPING

#: a list or tuple of layers (Paddle took any sequence)
LayerSeq = Union[list[LayerOutput], tuple[LayerOutput, ...]]


def inputs_of(*parents: LayerOutput) -> list[LayerInputConfig]:
    return [LayerInputConfig(input_layer_name=p.name) for p in parents]


def emit(values: dict, parents: list[LayerOutput], layer_type: str, layer_attr,
         allowed: tuple[str, ...] = (), **output) -> LayerOutput:
    """Apply ``layer_attr`` (the extras Paddle's ``layer_support`` allows here) and register
    the layer; ``active_type`` is Paddle's empty string unless given."""
    values.setdefault("active_type", "")
    apply_layer_attr(values, layer_attr, allowed)
    return make_output(new_layer_config(**values), parents, layer_type, **output)


def require_size_one(argument: str, layer: LayerOutput, role: str) -> None:
    if layer.size != 1:
        raise fail(argument, layer, f"{role} must have size 1 (one value per sample), but "
                   f"layer {layer.name!r} has size {layer.size}")


def require_same_size(argument: str, first: LayerOutput, second: LayerOutput) -> None:
    if first.size != second.size:
        raise fail(argument, second, f"layer {second.name!r} has size {second.size}, but "
                   f"{first.name!r} has size {first.size}; the two inputs must have the "
                   "same size")


# ----------------------------------------------------------------------- scalar maps of a row

@dsl_function()
def slope_intercept_layer(input: LayerOutput, name: Optional[str] = None, slope: Number = 1.0,
                          intercept: Number = 0.0,
                          layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``y = slope * x + intercept`` with constant slope and intercept (no parameters)."""
    values = {"name": name, "type": "slope_intercept", "size": input.size,
              "inputs": inputs_of(input), "slope": slope, "intercept": intercept}
    return emit(values, [input], "slope_intercept", layer_attr)


@dsl_function()
def scaling_layer(input: LayerOutput, weight: LayerOutput, name: Optional[str] = None,
                  layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``y[n] = weight[n] * input[n]``: each sample's row scaled by its own weight (a layer of
    size 1).  Paddle's inputs are ``[weight, input]``, in that order."""
    require_size_one("weight", weight, "the weight layer")
    values = {"name": name, "type": "scaling", "size": input.size,
              "inputs": inputs_of(weight, input)}
    return emit(values, [weight, input], "scaling", layer_attr)


@dsl_function(prefix="scale_shift")
def scale_shift_layer(input: LayerOutput, name: Optional[str] = None,
                      param_attr: ParamAttrArg = None,
                      bias_attr: BiasAttrArg = None) -> LayerOutput:
    """``y = w * x + b`` with one trainable scale ``w`` and (unless ``bias_attr=False``) one
    trainable shift ``b`` for the whole layer (parameters of size 1, dims [1, 1])."""
    attr = param_attr or ParameterAttribute()
    weight = create_parameter(attr, weight_name(name, 0), 1, [1, 1])
    params = [weight]
    values = {"name": name, "type": "scale_shift", "size": input.size,
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          input_parameter_name=weight.name)]}
    battr = bias_attr_of(bias_attr)
    if battr is not None:
        bias = create_parameter(battr, bias_name(name), 1, [1, 1], argument="bias_attr")
        params.append(bias)
        values["bias_parameter_name"] = bias.name
    return emit(values, [input], "scale_shift", None, parameters=params)


@dsl_function(prefix="clip")
def clip_layer(input: LayerOutput, min: Number, max: Number,
               name: Optional[str] = None) -> LayerOutput:
    """``y = min(max(x, min), max)``; the gradient passes where ``min <= x <= max``."""
    if not min < max:
        raise fail("max", max, f"must be greater than min={min!r} (Paddle: 'min must be less "
                   "than max')")
    conf = ClipConfig(min=min, max=max)
    values = {"name": name, "type": "clip", "size": input.size,
              "inputs": [LayerInputConfig(input_layer_name=input.name, clip_conf=conf)]}
    return emit(values, [input], "clip", None)


# ------------------------------------------------------------------ per-sample weighted rows

@dsl_function()
def power_layer(input: LayerOutput, weight: LayerOutput, name: Optional[str] = None,
                layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``y = x ** w``, element-wise, with one exponent ``w`` per sample (a layer of size 1).
    Paddle's inputs are ``[weight, input]``."""
    require_size_one("weight", weight, "the exponent layer")
    values = {"name": name, "type": "power", "size": input.size,
              "inputs": inputs_of(weight, input)}
    return emit(values, [input, weight], "power", layer_attr)


@dsl_function()
def interpolation_layer(input: LayerSeq, weight: LayerOutput,
                        name: Optional[str] = None,
                        layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``y = w * x1 + (1 - w) * x2`` with ``input=[x1, x2]`` of equal size and one weight per
    sample (a layer of size 1).  Paddle's inputs are ``[weight, x1, x2]``."""
    if len(input) != 2:
        raise fail("input", input, f"a list of exactly 2 layers, got {len(input)}")
    require_same_size("input", input[0], input[1])
    require_size_one("weight", weight, "the weight layer")
    values = {"name": name, "type": "interpolation", "size": input[0].size,
              "inputs": inputs_of(weight, *input)}
    return emit(values, [weight, *input], "interpolation", layer_attr)


@dsl_function()
def linear_comb_layer(weights: LayerOutput, vectors: LayerOutput,
                      size: Optional[Size] = None, name: Optional[str] = None,
                      layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``z = w^T V``: ``weights`` of size M, ``vectors`` of size M * N read as M rows of N;
    the output has size N (``size``, inferred when None).  Paddle's type ``convex_comb``,
    though nothing normalises the weights."""
    m, total = weights.size or 0, vectors.size or 0
    if m <= 0 or total % m:
        raise fail("vectors", vectors, f"size {total} is not a multiple of the weights' size "
                   f"{m}; vectors holds M * N values for M = weights' size")
    if size is None:
        size = total // m
    elif size * m != total:
        raise fail("size", size, f"must be vectors' size / weights' size = {total} / {m} = "
                   f"{total // m}")
    values = {"name": name, "type": "convex_comb", "size": size,
              "inputs": inputs_of(weights, vectors)}
    return emit(values, [weights, vectors], "convex_comb", layer_attr)


convex_comb_layer = linear_comb_layer


# ---------------------------------------------------------------------------- similarities

@dsl_function(prefix="cos_sim")
def cos_sim(a: LayerOutput, b: LayerOutput, scale: Number = 1, size: Size = 1,
            name: Optional[str] = None, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``scale * cos(a, b)``.  With ``size=1`` (type ``cos``) ``a`` and ``b`` have equal sizes;
    with ``size=K > 1`` (type ``cos_vm``) ``b`` holds K vectors of ``a``'s size and the output
    is the K similarities."""
    if size == 1:
        require_same_size("b", a, b)
        values = {"name": name, "type": "cos", "size": 1, "inputs": inputs_of(a, b),
                  "cos_scale": scale}
        return emit(values, [a, b], "cos", layer_attr)
    if (a.size or 0) * size != b.size:
        raise fail("size", size, f"b's size {b.size} must be size x a's size = {size} x "
                   f"{a.size} = {size * (a.size or 0)} (b holds {size} vectors like a)")
    values = {"name": name, "type": "cos_vm", "size": size, "inputs": inputs_of(a, b),
              "cos_scale": scale}
    return emit(values, [a, b], "cos", layer_attr)


@dsl_function()
def dot_prod_layer(input1: LayerOutput, input2: LayerOutput, name: Optional[str] = None,
                   layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``<input1, input2>`` per sample (size 1)."""
    require_same_size("input2", input1, input2)
    values = {"name": name, "type": "dot_prod", "size": 1, "inputs": inputs_of(input1, input2)}
    return emit(values, [input1, input2], "dot_prod", layer_attr, UNCHECKED)


@dsl_function()
def l2_distance_layer(x: LayerOutput, y: LayerOutput, name: Optional[str] = None,
                      layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``|x - y|`` (Euclidean) per sample (size 1)."""
    require_same_size("y", x, y)
    values = {"name": name, "type": "l2_distance", "size": 1, "inputs": inputs_of(x, y)}
    return emit(values, [x, y], "l2_distance", layer_attr)


@dsl_function()
def out_prod_layer(input1: LayerOutput, input2: LayerOutput, name: Optional[str] = None,
                   layer_attr: LayerAttrArg = None) -> LayerOutput:
    """The outer product of the two rows, flattened row-major (size A * B)."""
    values = {"name": name, "type": "out_prod", "size": (input1.size or 0) * (input2.size or 0),
              "inputs": inputs_of(input1, input2)}
    return emit(values, [input1, input2], "out_prod", layer_attr, UNCHECKED)
