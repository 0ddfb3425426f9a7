"""img_pool_layer and img_pool3d_layer (spec section 3): max/avg pooling of images and volumes
with per-axis sizes, ceil/floor rounding."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple, Optional

from pydantic import BeforeValidator

from ...config import LayerInputConfig, PoolConfig, cnn_output_size
from ..attrs import LayerAttrArg
from ..base import (
    LayerOutput, NonNegInt, PosInt, dsl_function, fail, make_output,
)
from ..params import apply_layer_attr, new_layer_config
from ..poolings import (
    AvgPooling, BasePoolingType, CudnnAvgInclPadPooling, CudnnAvgPooling, CudnnMaxPooling,
    MaxPooling, MaxWithMaskPooling, pooling_by_name,
)
from .common import image_size, infer_channels
from .conv import volume_size


def _pooling(value: Any) -> Any:
    if isinstance(value, str):
        return pooling_by_name(value)
    if isinstance(value, type) and issubclass(value, BasePoolingType):
        return value()
    return value


PoolType = Annotated[BasePoolingType, BeforeValidator(_pooling)]

#: pooling class -> the pool_type string PoolConfig carries.
IMAGE_POOL_TYPES: dict[type, str] = {
    MaxPooling: "max-projection", AvgPooling: "avg-projection",
    MaxWithMaskPooling: "max-pool-with-mask", CudnnMaxPooling: "cudnn-max-pool",
    CudnnAvgPooling: "cudnn-avg-pool",
}


def pool_type_string(pool_type: BasePoolingType, allowed: dict[type, str]) -> str:
    kind = allowed.get(type(pool_type))
    if kind is None:
        reason = ("Paddle's parse_pool rejects it" if isinstance(pool_type, CudnnAvgInclPadPooling)
                  else "not an image pooling")
        raise fail("pool_type", pool_type,
                   f"{reason}; expected one of "
                   f"{', '.join(c.__name__ for c in allowed)}")
    return kind


def check_pool_window(axis: str, img: int, size: int, padding: int, stride: int,
                      out: int) -> None:
    """Refuse windows larger than the padded input and windows that lie wholly in padding."""
    suffix = "" if axis == "x" else "_y"
    if out < 1:
        raise fail(f"pool_size{suffix}", size,
                   f"the window is larger than the padded input along {axis} "
                   f"({img} + 2*{padding} = {img + 2 * padding}); output size would be {out}")
    if padding >= size:
        raise fail(f"padding{suffix}", padding,
                   f"must be smaller than the pooling window {size} along {axis}, or the first "
                   "window lies entirely in padding")
    last_start = (out - 1) * stride - padding
    if last_start >= img:
        raise fail(f"stride{suffix}", stride,
                   f"with ceil rounding the last window along {axis} starts at {last_start}, "
                   f"at or past the image edge {img} (entirely in padding); use "
                   "ceil_mode=False or change stride/padding")


@dsl_function(prefix="pool")
def img_pool_layer(input: LayerOutput, pool_size: PosInt, name: Optional[str] = None,
                   num_channels: Optional[PosInt] = None, pool_type: Optional[PoolType] = None,
                   stride: PosInt = 1, padding: NonNegInt = 0, layer_attr: LayerAttrArg = None,
                   pool_size_y: Optional[PosInt] = None, stride_y: Optional[PosInt] = None,
                   padding_y: Optional[NonNegInt] = None, ceil_mode: bool = True,
                   exclude_mode: Optional[bool] = None,
                   img_width: Optional[PosInt] = None) -> LayerOutput:
    """Image pooling. As in Paddle, ``stride`` defaults to 1 and ``ceil_mode`` to True.
    ``img_width`` is the 2016 helpers' way to give a non-square input its width (the height
    is the pixel count over it); height/width on the data layer say the same today."""
    pool_type = pool_type or MaxPooling()
    kind = pool_type_string(pool_type, IMAGE_POOL_TYPES)
    channels = infer_channels(input, num_channels)
    geo = pool_geometry(input, kind, channels, (pool_size, pool_size_y), (stride, stride_y),
                        (padding, padding_y), ceil_mode, exclude_mode, img_width)
    values = {"name": name, "type": "pool", "size": geo.size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name, pool_conf=geo.conf)],
              "height": geo.height, "width": geo.width}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "pool", num_filters=channels)


class PoolGeometry(NamedTuple):
    """A pooling's pool_conf, layer size and output width and height."""

    conf: PoolConfig
    size: int
    width: int
    height: int


def pool_geometry(input: LayerOutput, kind: str, channels: int,
                  size: tuple[int, Optional[int]], stride: tuple[int, Optional[int]],
                  padding: tuple[int, Optional[int]], ceil_mode: bool,
                  exclude_mode: Optional[bool], img_width: Optional[int] = None) -> PoolGeometry:
    """Sizes of a pooling of ``input`` (spec 3, img_pool_layer; Paddle's parse_pool), each an
    (x, y) pair whose y defaults to x; shared by img_pool_layer and the raw ``Pool`` form."""
    (kx, ky), (sx, sy), (px, py) = size, stride, padding
    ky, sy, py = (kx if ky is None else ky), (sx if sy is None else sy), (px if py is None else py)
    img_x, img_y = image_size(input, channels, width=img_width, width_argument="img_width")
    caffe = not ceil_mode
    out_x = cnn_output_size(img_x, kx, px, sx, caffe)
    out_y = cnn_output_size(img_y, ky, py, sy, caffe)
    check_pool_window("x", img_x, kx, px, sx, out_x)
    check_pool_window("y", img_y, ky, py, sy, out_y)
    conf = PoolConfig(
        pool_type=kind, channels=channels, size_x=kx, stride=sx, output_x=out_x,
        img_size=img_x, padding=px, size_y=ky, stride_y=sy, output_y=out_y,
        img_size_y=img_y, padding_y=py, exclude_mode=exclude_mode)
    return PoolGeometry(conf, channels * out_x * out_y, out_x, out_y)


# ------------------------------------------------------------------------------------- 3-D

#: the pool3d types Paddle's parse_pool3d accepts
VOLUME_POOL_TYPES: dict[type, str] = {MaxPooling: "max-projection",
                                      AvgPooling: "avg-projection"}


def _paddle_triple(value: Any, name: str) -> tuple[int, int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 3:
            raise fail(name, value, "expected an int or a sequence of 3 items (x, y, z)")
        return tuple(value)
    return value, value, value


@dsl_function(prefix="pool3d")
def img_pool3d_layer(input: LayerOutput, pool_size: Any, name: Optional[str] = None,
                     num_channels: Optional[PosInt] = None,
                     pool_type: Optional[PoolType] = None, stride: Any = 1, padding: Any = 0,
                     layer_attr: LayerAttrArg = None, pool_size_y: Optional[PosInt] = None,
                     stride_y: Optional[PosInt] = None, padding_y: Optional[NonNegInt] = None,
                     pool_size_z: Optional[PosInt] = None, stride_z: Optional[PosInt] = None,
                     padding_z: Optional[NonNegInt] = None,
                     ceil_mode: bool = True) -> LayerOutput:
    """Max or average pooling of (C, D, H, W) volumes; ``pool_size``, ``stride``, ``padding``:
    an int or (x, y, z). The fields are Paddle's (docs/paddle_compat.md): the ``_y`` and
    ``_z`` keywords are read only where Paddle's helper read them (``padding_z`` with a
    sequence ``padding``, whose y is then its third item), and a y or z padding of 0 is the x
    padding."""
    pool_type = pool_type or MaxPooling()
    kind = pool_type_string(pool_type, VOLUME_POOL_TYPES)
    channels = infer_channels(input, num_channels)
    sizes = _paddle_triple(pool_size, "pool_size")
    strides = _paddle_triple(stride, "stride")
    if isinstance(padding, (list, tuple)):
        # Paddle's helper unpacks (x, y, z) as (padding, padding_y, padding_y): y takes the
        # third item and z keeps the padding_z keyword (spec 10 quirk 15)
        px, _, py = _paddle_triple(padding, "padding")
        paddings = (px, py, padding_z)
    else:
        paddings = (padding, padding, padding)
    for arg, values in (("pool_size", sizes), ("stride", strides)):
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
            raise fail(arg, values, "expected positive integers")
    if any(v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0)
           for v in paddings):
        raise fail("padding", padding, "expected non-negative integers")
    # Pool3d's ``v if v else x`` for y and z (spec 10 quirk 19)
    px = paddings[0]
    paddings = (px, paddings[1] or px, paddings[2] or px)
    geo = pool3d_geometry(input, kind, channels, sizes, strides, paddings, ceil_mode)
    width, height, depth = geo.output
    values = {"name": name, "type": "pool3d", "size": geo.size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name, pool_conf=geo.conf)],
              "height": height, "width": width, "depth": depth}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "pool", num_filters=channels)


class Pool3DGeometry(NamedTuple):
    """A 3-D pooling's pool_conf, layer size and output (width, height, depth)."""

    conf: PoolConfig
    size: int
    output: tuple[int, int, int]


def pool3d_geometry(input: LayerOutput, kind: str, channels: int, size: tuple[int, int, int],
                    stride: tuple[int, int, int], padding: tuple[int, int, int],
                    ceil_mode: bool) -> Pool3DGeometry:
    """Sizes of a pooling of volumes (Paddle's parse_pool3d), each an (x, y, z) triple."""
    img = volume_size(input, channels)
    out = tuple(cnn_output_size(i, k, p, s, not ceil_mode)
                for i, k, p, s in zip(img, size, padding, stride))
    for axis, i, k, p, s, o in zip(("x", "y", "z"), img, size, padding, stride, out):
        check_volume_window(axis, i, k, p, s, o)
    (kx, ky, kz), (sx, sy, sz), (px, py, pz) = size, stride, padding
    conf = PoolConfig(
        pool_type=kind, channels=channels, size_x=kx, stride=sx, output_x=out[0],
        img_size=img[0], padding=px, size_y=ky, stride_y=sy, output_y=out[1],
        img_size_y=img[1], padding_y=py, size_z=kz, stride_z=sz, output_z=out[2],
        img_size_z=img[2], padding_z=pz)
    return Pool3DGeometry(conf, channels * out[0] * out[1] * out[2], out)


def check_volume_window(axis: str, img: int, size: int, padding: int, stride: int,
                        out: int) -> None:
    """:func:`check_pool_window` for one axis of a volume, naming the sequence arguments."""
    if out < 1:
        raise fail("pool_size", size,
                   f"the window is larger than the padded input along {axis} "
                   f"({img} + 2*{padding} = {img + 2 * padding}); output size would be {out}")
    if padding >= size:
        raise fail("padding", padding,
                   f"must be smaller than the pooling window {size} along {axis}, or the first "
                   "window lies entirely in padding")
    last_start = (out - 1) * stride - padding
    if last_start >= img:
        raise fail("stride", stride,
                   f"with ceil rounding the last window along {axis} starts at {last_start}, "
                   f"at or past the image edge {img} (entirely in padding); use "
                   "ceil_mode=False or change stride/padding")
