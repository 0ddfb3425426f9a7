"""img_conv_layer and img_conv3d_layer: convolution and transposed convolution of images and
volumes (spec section 3, 1.4, 2.3)."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple, Optional, Union

from pydantic import AfterValidator

from ...config import ConvConfig, LayerInputConfig, cnn_image_size, cnn_output_size
from ...config.layers.conv import (
    CONV3D, CONV_TYPES, CONVT_TYPES, DECONV3D, conv_type, weight_size,
)
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
    add_conv_bias(values, params, bias_attr, name, num_filters if shared_biases else geo.size)
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


# ------------------------------------------------------------------------------------- 3-D


def _triple(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and len(value) != 3:
        raise ValueError(f"a sequence here must have 3 items (x, y, z), got {len(value)}")
    return value


PosIntOrTriple = Annotated[Union[PosInt, tuple[PosInt, ...], list[PosInt]],
                           AfterValidator(_triple)]
NonNegIntOrTriple = Annotated[Union[NonNegInt, tuple[NonNegInt, ...], list[NonNegInt]],
                              AfterValidator(_triple)]


def split_triple(value: Any) -> tuple[int, int, int]:
    """An int or (x, y, z) sequence as Paddle's Conv3D/Pool3d config classes read it: a y or
    z value of 0 is the x value (``v if v else x``, spec 10 quirk 19)."""
    x, y, z = value if isinstance(value, (list, tuple)) else (value,) * 3
    return x, y or x, z or x


def volume_size(input: LayerOutput, channels: int) -> tuple[int, int, int]:
    """(width, height, depth) of ``input`` as ``channels`` volumes (Paddle's get_img3d_size:
    the input's width, height and depth as stated, an unset depth being 1; no guessing)."""
    size = input.size or 0
    depth = (input.config.depth if input.config is not None else None) or 1
    width, height = input.width or 0, input.height or 0
    if not (width and height):
        raise fail("input", input,
                   f"a 3-D layer needs a volume: layer {input.name!r} has no height and width; "
                   "give its data layer depth=, height= and width=")
    if channels <= 0 or size != channels * depth * height * width:
        raise fail("input", input,
                   f"size {size} is not {channels} channels x depth {depth} x height {height} "
                   f"x width {width} = {channels * depth * height * width}; check num_channels "
                   "or the input layer's size")
    return width, height, depth


@dsl_function(prefix="conv3d")
def img_conv3d_layer(input: LayerOutput, filter_size: PosIntOrTriple, num_filters: PosInt,
                     name: Optional[str] = None, num_channels: Optional[PosInt] = None,
                     act: Optional[Activation] = None, groups: PosInt = 1,
                     stride: PosIntOrTriple = 1, padding: NonNegIntOrTriple = 0,
                     bias_attr: BiasAttrArg = None, param_attr: ParamAttrArg = None,
                     shared_biases: bool = True, layer_attr: LayerAttrArg = None,
                     trans: bool = False, layer_type: Optional[str] = None) -> LayerOutput:
    """3-D convolution of (C, D, H, W) volumes (or, with ``trans``, transposed convolution);
    ``filter_size``, ``stride``, ``padding``: an int or (x, y, z)."""
    act = act or ReluActivation()
    expected = DECONV3D if trans else CONV3D
    if layer_type is not None and layer_type != expected:
        raise fail("layer_type", layer_type,
                   f"expected {expected!r} with trans={trans} (or None)")
    channels = infer_channels(input, num_channels)
    geo = conv3d_geometry(input, channels, num_filters, groups, split_triple(filter_size),
                          split_triple(stride), split_triple(padding), trans)
    weight_param = param_attr or ParameterAttribute()
    attr = smart_conv_attr(weight_param, geo.conf.filter_size, channels)
    weight = create_parameter(attr, weight_name(name, 0), geo.weight_size, size_argument=None,
                              smart=False if weight_param.is_smart else None)
    params = [weight]
    width, height, depth = geo.output
    values = {"name": name, "type": expected, "size": geo.size, "active_type": act.name,
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          input_parameter_name=weight.name,
                                          conv_conf=geo.conf)],
              "num_filters": num_filters, "shared_biases": shared_biases,
              "height": height, "width": width, "depth": depth}
    add_conv_bias(values, params, bias_attr, name, num_filters if shared_biases else geo.size)
    apply_layer_attr(values, layer_attr, DROPOUT)
    return make_output(new_layer_config(**values), [input], expected, activation=act,
                       num_filters=num_filters, parameters=params, size_argument=None)


def add_conv_bias(values: dict, params: list, bias_attr: BiasAttrArg, name: Optional[str],
                  size: int) -> None:
    """A convolution's bias (dims ``[size, 1]``: one per filter when shared, one per output
    value when not), added to the layer's values and parameters unless bias_attr is False."""
    battr = bias_attr_of(bias_attr)
    if battr is not None:
        bias = create_parameter(battr, bias_name(name), size, [size, 1],
                                argument="bias_attr", size_argument=None)
        params.append(bias)
        values["bias_parameter_name"] = bias.name


class Conv3DGeometry(NamedTuple):
    """A 3-D convolution's conv_conf, layer size, output (width, height, depth), weight size."""

    conf: ConvConfig
    size: int
    output: tuple[int, int, int]
    weight_size: int


_AXES = ("x", "y", "z")


def conv3d_geometry(input: LayerOutput, channels: int, num_filters: int, groups: int,
                    filter_size: tuple[int, int, int], stride: tuple[int, int, int],
                    padding: tuple[int, int, int], trans: bool) -> Conv3DGeometry:
    """Sizes of a (transposed) 3-D convolution of ``input`` (Paddle's parse_conv3d), each an
    (x, y, z) triple; for a transposed conv the input is the convolution's output side."""
    for arg, total in (("num_channels", channels), ("num_filters", num_filters)):
        if total % groups:
            raise fail("groups", groups,
                       f"must divide {arg} = {total} (each group takes an equal share of "
                       "input channels and filters)")
    sizes = volume_size(input, channels)
    if trans:
        out = sizes
        img = tuple(cnn_image_size(*a) for a in zip(out, filter_size, padding, stride))
        for axis, value, p in zip(_AXES, img, padding):
            if value < 1:
                raise fail("padding", padding,
                           f"the transposed convolution's output {axis} size would be {value}; "
                           "padding is too large for this filter and stride")
        filter_channels, result = num_filters // groups, img
    else:
        img = sizes
        out = tuple(cnn_output_size(i, f, p, s, True)
                    for i, f, p, s in zip(img, filter_size, padding, stride))
        for axis, o, i, f, p in zip(_AXES, out, img, filter_size, padding):
            if o < 1:
                raise fail("filter_size", filter_size,
                           f"the filter spans {f} cells along {axis}, more than the padded "
                           f"input {i} + 2*{p} = {i + 2 * p}; output size would be {o}")
        filter_channels, result = channels // groups, out
    (fx, fy, fz), (sx, sy, sz), (px, py, pz) = filter_size, stride, padding
    conf = ConvConfig(
        filter_size=fx, channels=channels, stride=sx, padding=px, groups=groups,
        filter_channels=filter_channels, output_x=out[0], img_size=img[0], caffe_mode=True,
        filter_size_y=fy, padding_y=py, stride_y=sy, output_y=out[1], img_size_y=img[1],
        filter_size_z=fz, padding_z=pz, stride_z=sz, output_z=out[2], img_size_z=img[2])
    size = num_filters * result[0] * result[1] * result[2]
    layer_type = DECONV3D if trans else CONV3D
    return Conv3DGeometry(conf, size, result,
                          weight_size(conf, num_filters, trans, layer_type))
