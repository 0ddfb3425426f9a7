"""Output-size formulas of Paddle v1's config parser (spec section 2.3), in exact integers."""

from __future__ import annotations


def effective_filter(filter_size: int, dilation: int = 1) -> int:
    """Extent of a dilated filter: (f - 1) * d + 1."""
    return (filter_size - 1) * dilation + 1


def cnn_output_size(img_size: int, filter_size: int, padding: int, stride: int,
                    caffe_mode: bool = True, dilation: int = 1) -> int:
    """Output length of a convolution or pooling window sweep along one axis.

    caffe mode: 1 + floor((img + 2p - fe) / s); otherwise 1 + ceil(...).  May be < 1 for
    invalid arguments: callers validate.
    """
    span = img_size + 2 * padding - effective_filter(filter_size, dilation)
    if caffe_mode:
        return 1 + span // stride
    return 1 + -((-span) // stride)


def cnn_image_size(output_size: int, filter_size: int, padding: int, stride: int,
                   dilation: int = 1) -> int:
    """Output length of a transposed convolution (caffe mode): (out - 1) s + fe - 2p."""
    return (output_size - 1) * stride + effective_filter(filter_size, dilation) - 2 * padding


def spp_width(pyramid_height: int) -> int:
    """Bins of a spatial pyramid of the given height: (4^h - 1) / 3."""
    return (4 ** pyramid_height - 1) // 3
