"""Image geometry layers (issue 16): crop_layer, upsample_layer, rotate_layer,
switch_order_layer, resize_layer, scale_sub_region_layer, roi_pool_layer, block_expand_layer,
trans_layer, with Paddle v1's signatures, defaults, auto-name prefixes and config fields
(docs/layers.md, "Geometry layers"; deviations in docs/paddle_compat.md)."""

from __future__ import annotations

from typing import Any, Optional

from ...config import LayerInputConfig
from ...config.models import (
    BlockExpandConfig, ImageConfig, ReshapeConfig, ROIPoolConfig, ScaleSubRegionConfig,
    UpsampleConfig,
)
from ..activations import LinearActivation
from ..attrs import LayerAttrArg
from ..base import (
    Activation, Layers, LayerOutput, NonNegInt, PosInt, as_list, dsl_function, fail,
    make_output,
)
from ..params import apply_layer_attr, new_layer_config
from .common import image_size, infer_channels, shape_fields


def _plane(input: LayerOutput, argument: str = "input") -> tuple[int, int, int]:
    """(C, H, W) of ``input`` from its config's height and width, as Paddle's config parser
    read them (``channels = size / (height * width)``) for these layers."""
    h, w, size = input.height or 0, input.width or 0, input.size or 0
    if not (h and w):
        raise fail(argument, input, f"layer {input.name!r} states no height and width; these "
                   "layers read the image geometry from their input (give the data layer "
                   "height= and width=)")
    if size % (h * w):
        raise fail(argument, input, f"size {size} of layer {input.name!r} is not a multiple "
                   f"of its height {h} x width {w}")
    return size // (h * w), h, w


def _image_conf(plane: tuple[int, int, int]) -> ImageConfig:
    c, h, w = plane
    return ImageConfig(channels=c, img_size=w, img_size_y=h)


# ------------------------------------------------------------------------------------------ crop

def _crop_target(inputs: list[LayerOutput], shape: list[int]) -> tuple[int, int, int, int]:
    """Paddle's config of the crop output: (size, height, width) from the reference input
    (two inputs) or from shape = [N, C, H, W] (one input), and the reference's channels."""
    if len(inputs) == 2:
        ref = inputs[1]
        c, h, w = _plane(ref, "input")
        return ref.size or 0, h, w, c
    if len(shape) != 4:
        raise fail("shape", shape, "with one input, expected the 4 entries [N, C, H, W] of "
                   "the cropped NCHW shape (N is not cropped)")
    _, c, h, w = shape
    return c * h * w, h, w, c


@dsl_function()
def crop_layer(input: Layers, offset: list[NonNegInt], axis: int = 2,
               shape: Optional[list[NonNegInt]] = None, name: Optional[str] = None,
               layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Crop an NCHW image from axis ``axis`` on, at ``offset``, to ``shape`` (one input) or
    to the second input's shape (a reference input)."""
    inputs = as_list(input)
    if len(inputs) not in (1, 2):
        raise fail("input", input, "expected the image, or [image, reference]")
    if shape is None:
        raise fail("shape", None, "Paddle's crop_layer fails with the default shape=None (its "
                   "config parser extends the list unconditionally); pass shape=[N, C, H, W], "
                   "or shape=[] with a reference input")
    if axis not in (1, 2, 3):
        raise fail("axis", axis, "expected 1 (channels), 2 (height) or 3 (width); the batch "
                   "axis 0 is never cropped")
    if len(offset) != 4 - axis:
        raise fail("offset", offset, f"expected {4 - axis} entries, one per axis from axis "
                   f"{axis} to 3")
    plane = _plane(inputs[0])
    size, out_h, out_w, ref_c = _crop_target(inputs, shape)
    out = [plane[i - 1] if i < axis else (ref_c, out_h, out_w)[i - 1] for i in (1, 2, 3)]
    if tuple(out) != (ref_c, out_h, out_w):
        raise fail("shape" if len(inputs) == 1 else "input", shape if len(inputs) == 1
                   else inputs[1], f"the axes before axis {axis} are not cropped, so the "
                   f"output would be {out[0]}x{out[1]}x{out[2]} (CxHxW), but the cropped shape "
                   f"states {ref_c}x{out_h}x{out_w}")
    corner = [0] * (axis - 1) + list(offset)
    for k, what in enumerate(("channels", "height", "width")):
        if corner[k] + out[k] > plane[k]:
            raise fail("offset", offset, f"the crop of {out[k]} {what} at offset {corner[k]} "
                       f"passes the input's {plane[k]}")
    first = LayerInputConfig(input_layer_name=inputs[0].name, image_conf=_image_conf(plane))
    values = {"name": name, "type": "crop", "size": size, "active_type": "",
              "inputs": [first] + [LayerInputConfig(input_layer_name=inputs[1].name)
                                   for _ in inputs[1:]],
              "height": out_h, "width": out_w, "axis": axis, "offset": list(offset),
              "shape": list(shape) or None}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), inputs, "crop")


# -------------------------------------------------------------------------------------- upsample

def _mask_pool(pool: LayerOutput):
    """The pool_conf of upsample_layer's second input: a MaxWithMaskPooling img_pool_layer."""
    if pool.layer_type != "pool":
        raise fail("input", pool, f"the second input must be an img_pool_layer with "
                   f"pool_type=MaxWithMaskPooling(), but layer {pool.name!r} is of type "
                   f"{pool.layer_type!r}")
    conf = pool.config.inputs[0].pool_conf if pool.config is not None else None
    if conf is None or conf.pool_type != "max-pool-with-mask":
        kind = conf.pool_type if conf is not None else None
        raise fail("input", pool, f"the second input must pool with "
                   f"pool_type=MaxWithMaskPooling() (it gives the mask of the maxima), but "
                   f"layer {pool.name!r} pools with {kind!r}")
    return conf


def _upsample_out(plane, scale, scale_y, size, size_y, pad_out_x, pad_out_y):
    """(out_h, out_w): the sizes when given, else the input's times the scales, less one
    per ``pad_out`` (which Paddle's runtime applies only with scale 2)."""
    _, h, w = plane
    if size is not None:
        return size_y, size
    for arg, pad, s in (("pad_out_x", pad_out_x, scale), ("pad_out_y", pad_out_y, scale_y)):
        if pad and s != 2:
            raise fail(arg, pad, f"works only with scale 2 (Paddle's runtime checks it); the "
                       f"scale is {s}")
    return h * scale_y - int(pad_out_y), w * scale - int(pad_out_x)


@dsl_function(prefix="upsample")
def upsample_layer(input: Layers, name: Optional[str] = None, scale: Optional[PosInt] = None,
                   scale_y: Optional[PosInt] = None, upsample_size: Optional[PosInt] = None,
                   upsample_size_y: Optional[PosInt] = None, pad_out_x: bool = False,
                   pad_out_y: bool = False, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Max-unpooling: input [values, MaxWithMaskPooling pool]; each value goes to where the
    pool found its maximum, in a zero image of the pool's input size."""
    if scale is None and upsample_size is None:
        raise fail("scale", None, "give scale or upsample_size (Paddle: 'scale or "
                   "upsample_size, there must be one to be designated')")
    inputs = as_list(input)
    if len(inputs) != 2:
        raise fail("input", input, "expected two layers: [values, MaxWithMaskPooling pool]")
    pool_conf = _mask_pool(inputs[1])
    # Paddle's helper: a given scale overrides scale_y, a given upsample_size its _y
    scale_y = scale if scale is not None else scale_y
    upsample_size_y = upsample_size if upsample_size is not None else upsample_size_y
    plane = _plane(inputs[0])
    pooled = (pool_conf.channels, pool_conf.output_y, pool_conf.output_x)
    if plane != pooled:
        raise fail("input", inputs[0], f"its {plane[0]}x{plane[1]}x{plane[2]} (CxHxW) values "
                   f"must match the {pooled[0]}x{pooled[1]}x{pooled[2]} output of pool "
                   f"{inputs[1].name!r}, whose mask places them")
    out_h, out_w = _upsample_out(plane, scale, scale_y, upsample_size, upsample_size_y,
                                 pad_out_x, pad_out_y)
    if (out_h, out_w) != (pool_conf.img_size_y, pool_conf.img_size):
        raise fail("upsample_size" if upsample_size is not None else "scale",
                   upsample_size if upsample_size is not None else scale,
                   f"the output would be {out_h}x{out_w}, but the mask of pool "
                   f"{inputs[1].name!r} indexes its {pool_conf.img_size_y}x"
                   f"{pool_conf.img_size} input (use pad_out_x/pad_out_y for an odd size)")
    conf = UpsampleConfig(image_conf=_image_conf(plane), pad_out_x=pad_out_x,
                          pad_out_y=pad_out_y)
    if scale is not None:
        conf.scale, conf.scale_y = scale, scale_y
    if upsample_size is not None:
        conf.upsample_size, conf.upsample_size_y = upsample_size, upsample_size_y
    values = {"name": name, "type": "upsample", "size": plane[0] * out_h * out_w,
              "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=inputs[0].name, upsample_conf=conf),
                         LayerInputConfig(input_layer_name=inputs[1].name)],
              "height": out_h, "width": out_w, "depth": shape_fields(inputs[0])["depth"]}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), inputs, "upsample")


# ------------------------------------------------------------------ rotate, switch_order, trans

@dsl_function()
def rotate_layer(input: LayerOutput, height: PosInt, width: PosInt, name: Optional[str] = None,
                 layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Turn each height x width plane of every channel 90 degrees clockwise."""
    size = input.size or 0
    if size % (height * width):
        raise fail("height", height, f"height {height} x width {width} must divide the input "
                   f"size {size}")
    values = {"name": name, "type": "rotate", "size": size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name)],
              "height": height, "width": width}
    apply_layer_attr(values, layer_attr, ())
    out = make_output(new_layer_config(**values), [input], "rotate")
    # the config keeps the input plane's height and width, as Paddle's did; the image the
    # next layer reads (its geometry inferred from this LayerOutput) is the turned one
    out.height, out.width = width, height
    return out


@dsl_function(prefix="switch_order")
def switch_order_layer(input: LayerOutput, name: Optional[str] = None,
                       reshape_axis: Optional[int] = None, act: Optional[Activation] = None,
                       layer_attr: LayerAttrArg = None) -> LayerOutput:
    """NCHW to NHWC.  reshape_axis splits the NHWC axes into the output's height axes
    (0 .. reshape_axis - 1) and width axes (the rest), recorded in reshape_conf."""
    if reshape_axis is None or not 0 < reshape_axis < 4:
        raise fail("reshape_axis", reshape_axis, "expected 1, 2 or 3 (the first NHWC axis of "
                   "the output's width)")
    if shape_fields(input)["depth"] > 1:
        raise fail("input", input, "3-D (depth > 1) inputs are not supported by "
                   "switch_order_layer in minipaddle")
    act = act or LinearActivation()
    c, h, w = _plane(input)
    reshape = ReshapeConfig(height_axis=list(range(reshape_axis)),
                            width_axis=list(range(reshape_axis, 4)))
    values = {"name": name, "type": "switch_order", "size": c * h * w,
              "active_type": act.name,
              "inputs": [LayerInputConfig(input_layer_name=input.name)],
              "reshape_conf": reshape}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "switch_order", activation=act)


@dsl_function()
def trans_layer(input: LayerOutput, name: Optional[str] = None,
                layer_attr: LayerAttrArg = None) -> LayerOutput:
    """The whole batch matrix transposed, (N, D) -> (D, N): runs when N == D
    (docs/paddle_compat.md)."""
    values = {"name": name, "type": "trans", "size": input.size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name)]}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "trans")


@dsl_function(prefix="resize")
def resize_layer(input: LayerOutput, size: PosInt, name: Optional[str] = None) -> LayerOutput:
    """The batch matrix read as rows of ``size`` values (N*D/size of them)."""
    values = {"name": name, "type": "resize", "size": size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name)]}
    return make_output(new_layer_config(**values), [input], "resize")


# ------------------------------------------------------------------------ scale_sub_region, roi

@dsl_function(prefix="scale_sub_region")
def scale_sub_region_layer(input: LayerOutput, indices: LayerOutput, value: Any,
                           name: Optional[str] = None) -> LayerOutput:
    """Multiply each sample's region [c0, c1] x [h0, h1] x [w0, w1] (``indices``: six
    1-based inclusive bounds per sample) by ``value`` (a float: Paddle refuses an int)."""
    if isinstance(value, bool) or not isinstance(value, float):
        raise fail("value", value, "expected a float (Paddle: 'The value to multiply, must "
                   "be a real value')")
    if indices.size != 6:
        raise fail("indices", indices, f"expected a layer of size 6 (c_start, c_end, h_start, "
                   f"h_end, w_start, w_end), but layer {indices.name!r} has size "
                   f"{indices.size}")
    plane = _plane(input)
    conf = ScaleSubRegionConfig(image_conf=_image_conf(plane), value=value)
    values = {"name": name, "type": "scale_sub_region", "size": input.size,
              "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          scale_sub_region_conf=conf),
                         LayerInputConfig(input_layer_name=indices.name)],
              "height": plane[1], "width": plane[2]}
    return make_output(new_layer_config(**values), [input, indices], "scale_sub_region",
                       num_filters=input.num_filters)


@dsl_function(prefix="roi_pool")
def roi_pool_layer(input: LayerOutput, rois: LayerOutput, pooled_width: PosInt,
                   pooled_height: PosInt, spatial_scale: float,
                   num_channels: Optional[PosInt] = None,
                   name: Optional[str] = None) -> LayerOutput:
    """Fast R-CNN ROI max pooling: one pooled_height x pooled_width grid per ROI row
    (batch index, x_start, y_start, x_end, y_end) of ``rois``."""
    channels = infer_channels(input, num_channels)
    image_size(input, channels)                 # the input must be an image of them
    if (rois.size or 0) < 5:
        raise fail("rois", rois, f"expected rows of at least 5 values (batch index, x_start, "
                   f"y_start, x_end, y_end), but layer {rois.name!r} has size {rois.size}")
    conf = ROIPoolConfig(pooled_width=pooled_width, pooled_height=pooled_height,
                         spatial_scale=spatial_scale)
    values = {"name": name, "type": "roi_pool", "size": channels * pooled_width * pooled_height,
              "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name, roi_pool_conf=conf),
                         LayerInputConfig(input_layer_name=rois.name)],
              "height": pooled_height, "width": pooled_width}
    return make_output(new_layer_config(**values), [input, rois], "roi_pool")


# ---------------------------------------------------------------------------------- block expand

def _blocks(arg: str, img: int, block: int, stride: int, padding: int) -> int:
    """Blocks along one axis: 1 + ceil((img + 2 padding - block) / stride) (Paddle's
    non-caffe output size)."""
    if block <= 0 or stride <= 0:
        raise fail(arg, block if block <= 0 else stride,
                   "block and stride sizes must be positive (Paddle's defaults of 0 divide by "
                   "zero in its runtime)")
    span = img + 2 * padding - block
    if span < 0:
        raise fail(arg, block, f"the block of {block} is larger than the padded image "
                   f"({img} + 2 x {padding})")
    return 1 + -(-span // stride)


@dsl_function()
def block_expand_layer(input: LayerOutput, block_x: NonNegInt = 0, block_y: NonNegInt = 0,
                       stride_x: NonNegInt = 0, stride_y: NonNegInt = 0,
                       padding_x: NonNegInt = 0, padding_y: NonNegInt = 0,
                       num_channels: Optional[PosInt] = None, name: Optional[str] = None,
                       layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Every block_y x block_x block of the image (row-major over the blocks, channel-major
    within one), all in one row: Paddle's sequence of one time step per block, flattened
    (docs/paddle_compat.md)."""
    channels = infer_channels(input, num_channels)
    width, height = image_size(input, channels)
    out_x = _blocks("block_x" if block_x <= 0 or stride_x > 0 else "stride_x", width, block_x,
                    stride_x, padding_x)
    out_y = _blocks("block_y" if block_y <= 0 or stride_y > 0 else "stride_y", height, block_y,
                    stride_y, padding_y)
    conf = BlockExpandConfig(channels=channels, stride_x=stride_x, stride_y=stride_y,
                             padding_x=padding_x, padding_y=padding_y, block_x=block_x,
                             block_y=block_y, output_x=out_x, output_y=out_y,
                             img_size_x=width, img_size_y=height)
    values = {"name": name, "type": "blockexpand",
              "size": out_x * out_y * channels * block_x * block_y, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          block_expand_conf=conf)]}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "blockexpand")
