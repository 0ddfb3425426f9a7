"""img_pool_layer (spec section 3): max/avg pooling with per-axis sizes, ceil/floor rounding."""

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
