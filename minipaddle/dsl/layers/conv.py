"""img_conv_layer: convolution and transposed convolution (spec section 3, 1.4, 2.3)."""

from __future__ import annotations

from typing import NamedTuple, Optional

from ...config import ConvConfig, LayerInputConfig, cnn_image_size, cnn_output_size
from ...config.layers.conv import CONV_TYPES, CONVT_TYPES, conv_type, weight_size
from ..activations import ReluActivation
from ..attrs import BiasAttrArg, LayerAttrArg, ParamAttrArg, ParameterAttribute
from ..base import (
    Activation, LayerOutput, NonNegInt, NonNegIntOrPair, PosInt, PosIntOrPair, dsl_function,
    fail, make_output, split_pair,
)
from ..context import current
from ..params import (
    DROPOUT, apply_layer_attr, bias_attr_of, bias_name, create_parameter, new_layer_config,
    weight_name,
)
from .common import image_size, infer_channels

def conv_config_type(layer_type: Optional[str], trans: bool) -> str:
    """The LayerConfig type Paddle's config parser writes (spec 3, img_conv_layer).

    An explicit GPU type is kept without use_gpu (Paddle refused it; docs/paddle_compat.md).
    """
    if layer_type is not None:
        return layer_type
    return conv_type(trans, current().use_gpu)


def smart_conv_attr(attr: ParameterAttribute, filter_size: int, channels: int) -> ParameterAttribute:
    """Paddle's conv 'smart' init: N(0, sqrt(2 / (filter_size_x^2 * num_channels))).

    Only the x filter size and the full channel count count (not filter_size_y or groups), as
    in Paddle.  A copy: the caller's attribute is left alone.
    """
    if not attr.is_smart:
        return attr
    std = (2.0 / (filter_size * filter_size * channels)) ** 0.5  # Paddle's exact expression
    return attr.model_copy(update={"initial_mean": 0.0, "initial_std": std})


@dsl_function(prefix="conv")
def img_conv_layer(input: LayerOutput, filter_size: PosIntOrPair, num_filters: PosInt,
                   name: Optional[str] = None, num_channels: Optional[PosInt] = None,
                   act: Optional[Activation] = None, groups: PosInt = 1,
                   stride: PosIntOrPair = 1, padding: NonNegIntOrPair = 0,
                   dilation: PosIntOrPair = 1, bias_attr: BiasAttrArg = None,
                   param_attr: ParamAttrArg = None, shared_biases: bool = True,
                   layer_attr: LayerAttrArg = None, filter_size_y: Optional[PosInt] = None,
                   stride_y: Optional[PosInt] = None, padding_y: Optional[NonNegInt] = None,
                   dilation_y: Optional[PosInt] = None, trans: bool = False,
                   layer_type: Optional[str] = None) -> LayerOutput:
    """2-D convolution (or, with ``trans``, transposed convolution) with groups and dilation."""
    act = act or ReluActivation()
    fx, fy = split_pair(filter_size, filter_size_y)
    sx, sy = split_pair(stride, stride_y)
    px, py = split_pair(padding, padding_y)
    dx, dy = split_pair(dilation, dilation_y)

    if layer_type is not None:
        allowed = CONVT_TYPES if trans else CONV_TYPES
        if layer_type not in CONV_TYPES + CONVT_TYPES:
            raise fail("layer_type", layer_type,
                       f"unknown convolution type; expected one of {', '.join(allowed)}")
        if layer_type not in allowed:
            raise fail("layer_type", layer_type,
                       f"contradicts trans={trans}: expected one of {', '.join(allowed)}"
                       f" (or trans={not trans})")

    channels = infer_channels(input, num_channels)
    geo = conv_geometry(input, channels, num_filters, groups, (fx, fy), (sx, sy), (px, py),
                        (dx, dy), trans)
    weight_param = param_attr or ParameterAttribute()
    attr = smart_conv_attr(weight_param, fx, channels)
    # a size past 2**63 comes from filters, channels or geometry together: no single key
    weight = create_parameter(attr, weight_name(name, 0), geo.weight_size, size_argument=None,
                              smart=False if weight_param.is_smart else None)
    params = [weight]
    values = {"name": name, "type": conv_config_type(layer_type, trans), "size": geo.size,
              "active_type": act.name,
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          input_parameter_name=weight.name,
                                          conv_conf=geo.conf)],
              "num_filters": num_filters, "shared_biases": shared_biases,
              "height": geo.height, "width": geo.width}
    battr = bias_attr_of(bias_attr)
    if battr is not None:
        bias_size = num_filters if shared_biases else geo.size
        bias = create_parameter(battr, bias_name(name), bias_size, [bias_size, 1],
                                argument="bias_attr", size_argument=None)
        params.append(bias)
        values["bias_parameter_name"] = bias.name
    apply_layer_attr(values, layer_attr, DROPOUT)
    py_type = layer_type or ("convt" if trans else "conv")
    return make_output(new_layer_config(**values), [input], py_type, activation=act,
                       num_filters=num_filters, parameters=params, size_argument=None)


class ConvGeometry(NamedTuple):
    """What a convolution's geometry determines: its conv_conf, layer size, output width and
    height, and the weight's size."""

    conf: ConvConfig
    size: int
    width: int
    height: int
    weight_size: int


def conv_geometry(input: LayerOutput, channels: int, num_filters: int, groups: int,
                  filter_size: tuple[int, int], stride: tuple[int, int],
                  padding: tuple[int, int], dilation: tuple[Optional[int], Optional[int]],
                  trans: bool) -> ConvGeometry:
    """Sizes of a (transposed) convolution of ``input`` (spec 2.3, 3), each an (x, y) pair;
    shared by img_conv_layer and the raw ``Conv`` form.  A dilation of (None, None) is left
    out of the conv_conf (the raw form without ``dilation``), and counts as 1."""
    (fx, fy), (sx, sy), (px, py) = filter_size, stride, padding
    dx, dy = (d or 1 for d in dilation)
    width, height = image_size(input, channels)
    for arg, total in (("num_channels", channels), ("num_filters", num_filters)):
        if total % groups:
            raise fail("groups", groups,
                       f"must divide {arg} = {total} (each group takes an equal share of "
                       "input channels and filters)")
    if trans:
        # The input is the convolution's "output"; the layer produces the "image".
        out_x, out_y = width, height
        img_x = cnn_image_size(out_x, fx, px, sx, dx)
        img_y = cnn_image_size(out_y, fy, py, sy, dy)
        for axis, value in (("x", img_x), ("y", img_y)):
            if value < 1:
                raise fail("padding", px if axis == "x" else py,
                           f"the transposed convolution's output {axis} size would be {value}; "
                           "padding is too large for this filter and stride")
        filter_channels = num_filters // groups
        geometry = (img_x * img_y * num_filters, img_x, img_y)
    else:
        img_x, img_y = width, height
        out_x = cnn_output_size(img_x, fx, px, sx, True, dx)
        out_y = cnn_output_size(img_y, fy, py, sy, True, dy)
        for axis, out, img, f, p, d in (("x", out_x, img_x, fx, px, dx),
                                        ("y", out_y, img_y, fy, py, dy)):
            if out < 1:
                fe = (f - 1) * d + 1
                raise fail("filter_size" if axis == "x" else "filter_size_y", f,
                           f"the filter spans {fe} pixels along {axis} (dilation {d}), more "
                           f"than the padded input {img} + 2*{p} = {img + 2 * p}; output size "
                           f"would be {out}")
        filter_channels = channels // groups
        geometry = (out_x * out_y * num_filters, out_x, out_y)
    conf = ConvConfig(
        filter_size=fx, channels=channels, stride=sx, padding=px, groups=groups,
        filter_channels=filter_channels, output_x=out_x, img_size=img_x, caffe_mode=True,
        filter_size_y=fy, padding_y=py, stride_y=sy, output_y=out_y, img_size_y=img_y,
        dilation=dilation[0], dilation_y=dilation[1])
    return ConvGeometry(conf, *geometry, weight_size(conf, num_filters, trans))
