"""Image geometry layers of issue 16 (crop, upsample, rotate, switch_order, resize,
scale_sub_region, roi_pool, blockexpand, trans): the facts that differ from the defaults.

crop, upsample, scale_sub_region and roi_pool state height and width that divide their size:
the default rule reads them as ``(C, H, W)`` images.
"""

from __future__ import annotations

from ..models import LayerConfig
from . import declare, flat_shape


def rotated_shape(layer: LayerConfig) -> tuple[int, ...]:
    """rotate's config keeps the height and width of its *input* plane (as Paddle's
    RotateLayer config did); each plane comes out turned, ``(C, width, height)``."""
    size = layer.size or 0
    h, w = layer.height or 0, layer.width or 0
    if h > 0 and w > 0 and size % (h * w) == 0:
        return (size // (h * w), w, h)
    return (size,)


declare("rotate", output_shape=rotated_shape)
# NHWC rows are no NCHW image: a flat row of H*W*C values
declare("switch_order", output_shape=flat_shape)
# rows of ``size`` values; the batch holds N*D/size of them (see runtime/layers/geometry.py)
declare("resize", output_shape=flat_shape)
# every block of the sample, one after the other (Paddle: one time step per block)
declare("blockexpand", output_shape=flat_shape)
declare("trans", output_shape=flat_shape)
declare("roi_pool", display="pooling")
declare("upsample", display="pooling")
