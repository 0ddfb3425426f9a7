"""The 3-D layers' shape rule, pooling over volumes (``pool3d``), and data layers with a depth.

A layer whose config states ``depth`` > 1 with height and width dividing its size is a volume
of ``(C, D, H, W)`` per sample (Paddle's ``set_layer_depth``); with depth 1 or unset it is an
image ``(C, H, W)`` or a flat ``(size,)`` as before.  The convolution types ``conv3d`` and
``deconv3d`` are declared with the other convolutions (:mod:`.conv`).
"""

from __future__ import annotations

from ..models import LayerConfig
from . import Shape, declare, image_shape

POOL3D = "pool3d"


def volume_shape(layer: LayerConfig) -> Shape:
    """``(C, D, H, W)`` when the config states depth > 1 and height and width, all dividing
    its size; else :func:`image_shape`."""
    size = layer.size or 0
    d, h, w = layer.depth or 0, layer.height or 0, layer.width or 0
    if d > 1 and h > 0 and w > 0 and size % (d * h * w) == 0:
        return (size // (d * h * w), d, h, w)
    return image_shape(layer)


declare(POOL3D, output_shape=volume_shape, display="pooling")
declare("data", output_shape=volume_shape)
