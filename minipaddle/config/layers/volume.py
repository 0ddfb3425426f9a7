"""The 3-D layers' shape rule, pooling over volumes (``pool3d``), and data layers with a depth.

The 3-D layers' outputs are volumes ``(C, D, H, W)`` per sample (Paddle's ``set_layer_depth``),
depth 1 included.  A data layer is a volume when it states a ``depth`` > 1 (with height and
width); with depth 1 or unset it is an image ``(C, H, W)`` or a flat ``(size,)`` as before.
The convolution types ``conv3d`` and ``deconv3d`` are declared with the other convolutions
(:mod:`.conv`).
"""

from __future__ import annotations

from ..models import LayerConfig
from . import Shape, declare, image_shape

POOL3D = "pool3d"


def volume_shape(layer: LayerConfig) -> Shape:
    """``(C, D, H, W)`` when the config states height and width (depth unset: 1), all dividing
    its size; else :func:`image_shape`."""
    size = layer.size or 0
    d, h, w = layer.depth or 1, layer.height or 0, layer.width or 0
    if h > 0 and w > 0 and size % (d * h * w) == 0:
        return (size // (d * h * w), d, h, w)
    return image_shape(layer)


def data_shape(layer: LayerConfig) -> Shape:
    """A data layer: a volume when it states a depth > 1, else an image or a flat row."""
    return volume_shape(layer) if (layer.depth or 1) > 1 else image_shape(layer)


declare(POOL3D, output_shape=volume_shape, display="pooling")
declare("data", output_shape=data_shape)
