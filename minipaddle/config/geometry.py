"""A convolution's or pooling's geometry resolved once, from its config, into per-axis tuples.

Spatial axes run slowest first, as the arrays do: ``(y, x)`` for a 2-D config, ``(z, y, x)``
for a 3-D one (a config with ``img_size_z`` set).  Paddle's messages state the x axis in the
plain field and y (z) in ``_y`` (``_z``) fields that may be unset; the rules of what an unset
field means live here and nowhere else:

* a ``_y`` size, stride or output left unset (or 0) is the x value; a pooling's ``padding_y``
  left unset is its ``padding`` (0 is a valid padding);
* a conv's ``dilation_y`` left unset is the proto default 1 (it does not follow x);
* a ``_z`` field left unset in a 3-D config is the proto default 1 (padding 0).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from .models import ConvConfig, ImageConfig, NormConfig, PoolConfig

Axes = tuple[int, ...]


class ConvAxes(NamedTuple):
    """A convolution seen from its image side: ``image`` is what the conv reads and ``output``
    what it writes (a transposed conv runs this conv's data gradient, from ``output`` back to
    ``image``)."""

    channels: int
    groups: int
    filter_channels: int
    filter: Axes
    stride: Axes
    padding: Axes
    dilation: Axes
    image: Axes
    output: Axes

    @property
    def rank(self) -> int:
        """The number of spatial axes."""
        return len(self.filter)


class PoolAxes(NamedTuple):
    channels: int
    window: Axes
    stride: Axes
    padding: Axes
    image: Axes
    output: Axes

    @property
    def rank(self) -> int:
        return len(self.window)


def _y(value: Optional[int], x: int) -> int:
    return value or x


def _z(value: Optional[int], default: int = 1) -> int:
    return default if value is None else value


def _three_d(conf) -> bool:
    return conf.img_size_z is not None


def conv_axes(conf: ConvConfig, transposed: bool = False) -> ConvAxes:
    """The per-axis geometry of a conv config.  ``filter_channels`` is the stored one (or, in
    a hand-written config that leaves it out, input channels per group: filters per group for
    a transposed conv is not known here and must be stored)."""
    filt = (conf.filter_size_y, conf.filter_size)
    stride = (conf.stride_y, conf.stride)
    padding = (conf.padding_y, conf.padding)
    dilation = (conf.get("dilation_y"), conf.get("dilation"))
    image = (_y(conf.img_size_y, conf.img_size or 0), conf.img_size or 0)
    output = (_y(conf.output_y, conf.output_x or 0), conf.output_x or 0)
    if _three_d(conf):
        filt = (_z(conf.filter_size_z),) + filt
        stride = (_z(conf.stride_z),) + stride
        padding = (_z(conf.padding_z, 0),) + padding
        dilation = (1,) + dilation
        image = (_z(conf.img_size_z),) + image
        output = (_z(conf.output_z),) + output
    fc = conf.filter_channels
    if fc is None and not transposed:
        fc = conf.channels // conf.groups
    return ConvAxes(conf.channels, conf.groups, fc, filt, stride, padding, dilation, image,
                    output)


def pool_axes(conf: PoolConfig) -> PoolAxes:
    pad_x = conf.get("padding")
    window = (_y(conf.size_y, conf.size_x), conf.size_x)
    stride = (_y(conf.stride_y, conf.stride), conf.stride)
    padding = (pad_x if conf.padding_y is None else conf.padding_y, pad_x)
    image = (_y(conf.img_size_y, conf.img_size), conf.img_size)
    output = (_y(conf.output_y, conf.output_x), conf.output_x)
    if _three_d(conf):
        window = (_z(conf.size_z),) + window
        stride = (_z(conf.stride_z),) + stride
        padding = (_z(conf.padding_z, 0),) + padding
        image = (_z(conf.img_size_z),) + image
        output = (_z(conf.output_z),) + output
    return PoolAxes(conf.channels, window, stride, padding, image, output)


def image_axes(conf: ImageConfig | NormConfig) -> tuple[int, Axes]:
    """(channels, image size per axis) of an image or norm config."""
    image = (_y(conf.img_size_y, conf.img_size), conf.img_size)
    if getattr(conf, "img_size_z", None) is not None:
        image = (conf.img_size_z,) + image
    return conf.channels, image
