"""Image geometry shared by the image layers: channel and image-size inference (spec 2.1-2.2)."""

from __future__ import annotations

import math
from typing import Optional

from ...config import ImageConfig
from ..base import LayerOutput, fail


def infer_channels(input: LayerOutput, num_channels: Optional[int],
                   argument: str = "num_channels") -> int:
    """``num_channels`` or the input's ``num_filters``; an error when neither is known."""
    if num_channels is not None:
        return num_channels
    if input.num_filters is None:
        raise fail(argument, None,
                   f"cannot infer the channel count of input layer {input.name!r} "
                   f"(a {input.layer_type!r} layer of size {input.size} carries none); "
                   "pass num_channels explicitly")
    return input.num_filters


def image_size(input: LayerOutput, channels: int) -> tuple[int, int]:
    """(width, height) of ``input`` seen as ``channels`` feature maps (Paddle's get_img_size).

    Paddle guessed W = int(sqrt(pixels)) for a non-square pixel count without height/width and
    silently accepted e.g. 12 pixels as 3x4; we refuse (docs/paddle_compat.md).
    """
    size = input.size or 0
    if channels <= 0 or size % channels:
        raise fail("input", input,
                   f"size {size} is not divisible by {channels} channels; check num_channels "
                   "or the input layer's size")
    pixels = size // channels
    width, height = input.width, input.height
    if width and height:
        if width * height != pixels:
            raise fail("input", input,
                       f"height {height} x width {width} = {width * height} pixels, but size "
                       f"{size} / {channels} channels = {pixels} pixels")
        return width, height
    side = math.isqrt(pixels)
    if width or height:
        known = width or height
        if pixels % known:
            raise fail("input", input, f"{pixels} pixels per channel is not a multiple of the "
                       f"known side {known}")
        other = pixels // known
        return (width, other) if width else (other, height)
    if side * side != pixels:
        raise fail("input", input,
                   f"cannot infer the image size: {pixels} pixels per channel ({size} / "
                   f"{channels} channels) is not a square and the layer has no height/width; "
                   "give the data layer height and width")
    return side, side


def image_conf(channels: int, width: int, height: int) -> ImageConfig:
    return ImageConfig(channels=channels, img_size=width, img_size_y=height)


def shape_fields(source: LayerOutput) -> dict:
    """height/width/depth copied from an input's config, as Paddle's set_layer_height_width /
    set_layer_depth did: unset fields read as their proto defaults, so plain vectors get
    ``height: 0 width: 0 depth: 1``."""
    config = source.config
    return {"height": (config.height if config else None) or 0,
            "width": (config.width if config else None) or 0,
            "depth": (config.depth if config else None) or 1}
