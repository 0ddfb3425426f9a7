"""Image reshaping layers: maxout_layer, spp_layer, pad_layer, bilinear_interp_layer,
prelu_layer (spec section 3)."""

from __future__ import annotations

from typing import Optional

from ...config import (
    BilinearInterpConfig, LayerInputConfig, MaxOutConfig, PadConfig, SppConfig, spp_width,
)
from ..activations import is_linear
from ..attrs import LayerAttrArg, ParamAttrArg, ParameterAttribute
from ..base import LayerOutput, NonNegInt, PosInt, dsl_function, fail, make_output
from ..params import apply_layer_attr, create_parameter, new_layer_config, weight_name
from ..poolings import AvgPooling, MaxPooling
from .common import image_conf, image_size, infer_channels, shape_fields
from .pool import PoolType, pool_type_string


def _require_linear(input: LayerOutput, what: str) -> None:
    if not is_linear(input.activation):
        act = input.activation.name if input.activation is not None else None
        raise fail("input", input,
                   f"{what} needs a linear-activated input (act=LinearActivation()), but "
                   f"layer {input.name!r} has activation {act!r}")


@dsl_function(prefix="maxout_layer", old_names={"channels": "num_channels"})
def maxout_layer(input: LayerOutput, groups: PosInt, num_channels: Optional[PosInt] = None,
                 name: Optional[str] = None, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Max over each run of ``groups`` consecutive channels.  Like Paddle, the output carries
    no channel count: the next image layer needs num_channels."""
    _require_linear(input, "maxout_layer")
    if groups < 2:
        raise fail("groups", groups, "must be greater than 1")
    channels = infer_channels(input, num_channels)
    if channels % groups:
        raise fail("groups", groups, f"must divide the {channels} input channels")
    width, height = image_size(input, channels)
    conf = MaxOutConfig(image_conf=image_conf(channels, width, height), groups=groups)
    values = {"name": name, "type": "maxout", "size": channels // groups * width * height,
              "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name, maxout_conf=conf)],
              "height": height, "width": width}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "maxout")


@dsl_function(prefix="spp")
def spp_layer(input: LayerOutput, name: Optional[str] = None,
              num_channels: Optional[PosInt] = None, pool_type: Optional[PoolType] = None,
              pyramid_height: Optional[PosInt] = None,
              layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Spatial pyramid pooling: levels of 1, 2x2, 4x4, ... bins, concatenated."""
    pool_type = pool_type or MaxPooling()
    kind = pool_type_string(pool_type, {MaxPooling: "max-projection",
                                        AvgPooling: "avg-projection"})
    if pyramid_height is None:
        raise fail("pyramid_height", None, "is required (a positive int)")
    channels = infer_channels(input, num_channels)
    width, height = image_size(input, channels)
    bins_side = 2 ** (pyramid_height - 1)
    if bins_side > min(width, height):
        raise fail("pyramid_height", pyramid_height,
                   f"the finest level has {bins_side}x{bins_side} bins, more than the "
                   f"{height}x{width} input")
    conf = SppConfig(image_conf=image_conf(channels, width, height), pool_type=kind,
                     pyramid_height=pyramid_height)
    bins = spp_width(pyramid_height)
    values = {"name": name, "type": "spp", "size": channels * bins, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name, spp_conf=conf)],
              "height": 1, "width": bins}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "spp", num_filters=channels)


@dsl_function(prefix="pad")
def pad_layer(input: LayerOutput, pad_c: Optional[list[NonNegInt]] = None,
              pad_h: Optional[list[NonNegInt]] = None, pad_w: Optional[list[NonNegInt]] = None,
              name: Optional[str] = None, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Zero padding of channels, height and width: each pad is [before, after]."""
    pads = {}
    for arg, value in (("pad_c", pad_c), ("pad_h", pad_h), ("pad_w", pad_w)):
        value = [0, 0] if value is None else list(value)
        if len(value) != 2:
            raise fail(arg, value, "expected two ints [before, after]")
        pads[arg] = value
    channels = infer_channels(input, None, argument="input")
    width, height = image_size(input, channels)
    out_c = channels + sum(pads["pad_c"])
    out_h = height + sum(pads["pad_h"])
    out_w = width + sum(pads["pad_w"])
    conf = PadConfig(image_conf=image_conf(channels, width, height), **pads)
    values = {"name": name, "type": "pad", "size": out_c * out_h * out_w, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name, pad_conf=conf)],
              "height": out_h, "width": out_w}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "pad", num_filters=out_c)


@dsl_function(prefix="bilinear_interp_layer")
def bilinear_interp_layer(input: LayerOutput, out_size_x: Optional[PosInt] = None,
                          out_size_y: Optional[PosInt] = None, name: Optional[str] = None,
                          layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Bilinear resize (align corners).  As in Paddle, the input must come straight from an
    img_conv_layer (default layer_type) with a linear activation."""
    if input.layer_type != "conv":
        raise fail("input", input,
                   f"bilinear_interp_layer needs an img_conv_layer input (Python layer type "
                   f"'conv'), but layer {input.name!r} is of type {input.layer_type!r}")
    _require_linear(input, "bilinear_interp_layer")
    if out_size_x is None or out_size_y is None:
        raise fail("out_size_x" if out_size_x is None else "out_size_y", None,
                   "both out_size_x and out_size_y are required (positive ints)")
    channels = infer_channels(input, None, argument="input")
    width, height = image_size(input, channels)
    conf = BilinearInterpConfig(image_conf=image_conf(channels, width, height),
                                out_size_x=out_size_x, out_size_y=out_size_y)
    values = {"name": name, "type": "bilinear_interp",
              "size": channels * out_size_x * out_size_y, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          bilinear_interp_conf=conf)],
              "height": out_size_y, "width": out_size_x}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "bilinear_interp",
                       num_filters=channels)


@dsl_function(prefix="prelu_layer")
def prelu_layer(input: LayerOutput, name: Optional[str] = None, partial_sum: PosInt = 1,
                channel_shared: Optional[bool] = None, num_channels: Optional[PosInt] = None,
                param_attr: ParamAttrArg = None, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Parametric ReLU: y = x if x > 0 else w[i // partial_sum] * x."""
    size = input.size or 0
    if channel_shared is not None:
        channels = infer_channels(input, num_channels)
        width, height = image_size(input, channels)
        partial_sum = width * height * (channels if channel_shared else 1)
    if size % partial_sum:
        raise fail("partial_sum", partial_sum, f"must divide the input size {size}")
    attr = param_attr or ParameterAttribute(initial_mean=0.25, initial_std=0.0)
    n = size // partial_sum
    weight = create_parameter(attr, weight_name(name, 0), n, [1, n])
    values = {"name": name, "type": "prelu", "size": size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          input_parameter_name=weight.name)],
              "partial_sum": partial_sum, **shape_fields(input)}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "prelu",
                       num_filters=input.num_filters, parameters=[weight])
