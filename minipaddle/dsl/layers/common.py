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


def image_size(input: LayerOutput, channels: int, *, width: Optional[int] = None,
               width_argument: str = "img_width") -> tuple[int, int]:
    """(width, height) of ``input`` seen as ``channels`` feature maps (Paddle's get_img_size).

    ``width`` is a width given by the calling layer (img_pool_layer's ``img_width``); the
    height is then the pixel count over it.  Paddle guessed W = int(sqrt(pixels)) for a
    non-square pixel count without height/width and silently accepted e.g. 12 pixels as 3x4;
    we refuse (docs/paddle_compat.md).
    """
    size = input.size or 0
    if channels <= 0 or size % channels:
        raise fail("input", input,
                   f"size {size} is not divisible by {channels} channels; check num_channels "
                   "or the input layer's size")
    pixels = size // channels
    known_w, known_h = input.width, input.height
    if width is not None:
        if known_w and known_w != width:
            raise fail(width_argument, width, f"contradicts the width {known_w} of input "
                       f"layer {input.name!r}")
        known_w = width
    if known_w and known_h:
        if known_w * known_h != pixels:
            raise fail("input", input,
                       f"height {known_h} x width {known_w} = {known_w * known_h} pixels, but "
                       f"size {size} / {channels} channels = {pixels} pixels")
        return known_w, known_h
    if known_w or known_h:
        known = known_w or known_h
        if pixels % known:
            raise fail(width_argument if width is not None else "input",
                       width if width is not None else input,
                       f"{pixels} pixels per channel is not a multiple of the known side "
                       f"{known}")
        other = pixels // known
        return (known_w, other) if known_w else (other, known_h)
    side = math.isqrt(pixels)
    if side * side != pixels:
        raise fail("input", input, _non_square(input, size, channels, pixels))
    return side, side


def _non_square(input: LayerOutput, size: int, channels: int, pixels: int) -> str:
    """Why a non-square image is refused, and what to add (docs/paddle_compat.md)."""
    reason = (f"cannot infer the image size: {pixels} pixels per channel ({size} / {channels} "
              f"channels) is not a square and layer {input.name!r} has no height/width")
    if input.layer_type == "data":
        return (f"{reason}; add height= and width= to data_layer {input.name!r} (height x "
                f"width = {pixels})")
    return (f"{reason}; give the data layer height= and width=, or check num_channels")


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
