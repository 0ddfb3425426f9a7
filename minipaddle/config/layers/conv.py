"""Convolution and transposed convolution: the four type names, their shapes and costs.

The type names are spelled here only; everything else imports these constants or asks the
facts.  ``cudnn_conv``/``cudnn_convt`` are the cuDNN algorithms of the same layers: where
cuDNN is missing they run as ``exconv``/``exconvt`` (im2col + GEMM).

Weights: conv ``(num_filters, channels/groups, *filter)``, transposed conv
``(channels, num_filters/groups, *filter)``; bias: shared ``(num_filters,)``, unshared the
output's ``(num_filters, *output)``.
"""

from __future__ import annotations

from math import prod

from ..geometry import ConvAxes, conv_axes
from ..models import ConvConfig, LayerConfig, ModelConfig
from . import declare, image_shape

EXCONV = "exconv"
EXCONVT = "exconvt"
CUDNN_CONV = "cudnn_conv"
CUDNN_CONVT = "cudnn_convt"
#: the convolution types, and the transposed ones
CONV_TYPES = (EXCONV, CUDNN_CONV)
CONVT_TYPES = (EXCONVT, CUDNN_CONVT)


def conv_type(transposed: bool, gpu: bool) -> str:
    """The type Paddle's config parser writes for a conv layer without an explicit type."""
    if transposed:
        return CUDNN_CONVT if gpu else EXCONVT
    return CUDNN_CONV if gpu else EXCONV


def is_transposed(layer_type: str) -> bool:
    return layer_type in CONVT_TYPES


def weight_shape(axes: ConvAxes, num_filters: int, transposed: bool) -> tuple[int, ...]:
    """The weight's shape (module docstring)."""
    if transposed:
        return (axes.channels, axes.filter_channels) + axes.filter
    return (num_filters, axes.filter_channels) + axes.filter


def weight_size(conf: ConvConfig, num_filters: int, transposed: bool) -> int:
    """The number of values in the weight (what the DSL sizes its parameter with)."""
    return prod(weight_shape(conv_axes(conf, transposed), num_filters, transposed))


def _parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, tuple[int, ...]]:
    transposed = is_transposed(layer.type)
    inp = layer.inputs[0]
    shapes = {inp.input_parameter_name: weight_shape(conv_axes(inp.conv_conf, transposed),
                                                     layer.num_filters or 0, transposed)}
    if layer.bias_parameter_name:
        shapes[layer.bias_parameter_name] = ((layer.num_filters or 0,) if layer.shared_biases
                                             else image_shape(layer))
    return shapes


def _mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    total = 0
    for inp in layer.inputs:
        c = inp.conv_conf
        if c is None:
            continue
        per_output = c.filter_channels * c.filter_size * c.filter_size_y
        if is_transposed(layer.type):
            # every input pixel of every input channel scatters into F/groups filters
            total += c.channels * c.output_x * c.output_y * per_output
        else:
            total += (layer.num_filters or 0) * c.output_x * c.output_y * per_output
    return total


for _type in CONV_TYPES + CONVT_TYPES:
    declare(_type, parameters=_parameters, display="convolution", mult_adds=_mult_adds,
            runs_as={CUDNN_CONV: EXCONV, CUDNN_CONVT: EXCONVT}.get(_type),
            needs_cudnn=_type in (CUDNN_CONV, CUDNN_CONVT))
