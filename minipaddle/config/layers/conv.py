"""Convolution and transposed convolution: the six type names, their shapes and costs.

The type names are spelled here only; everything else imports these constants or asks the
facts.  ``cudnn_conv``/``cudnn_convt`` are the cuDNN algorithms of the same layers: where
cuDNN is missing they run as ``exconv``/``exconvt`` (im2col + GEMM).  ``conv3d`` and
``deconv3d`` are Paddle's 3-D convolutions (volumes ``(C, D, H, W)``, filters
``(filter_size_z, filter_size_y, filter_size)``).

Weights: conv and conv3d ``(num_filters, channels/groups, *filter)``, transposed conv
``(channels, num_filters/groups, *filter)``, deconv3d ``(num_filters, *filter,
num_filters/groups)`` (Paddle's DeConv3DLayer reads its weight as ``num_filters * filter``
rows of ``num_filters/groups`` values, and its config parser sizes it
``num_filters * num_filters/groups * filter``: the two agree with a transposed conv only when
channels == num_filters, which the runtime requires; docs/paddle_compat.md); bias: shared
``(num_filters,)``, unshared the output's ``(num_filters, *output)``.

Spatial axes run slowest first, as the arrays do (:mod:`minipaddle.config.geometry`).
"""

from __future__ import annotations

from math import prod

from ..geometry import ConvAxes, conv_axes
from ..models import ConvConfig, LayerConfig, ModelConfig
from . import declare, output_shape
from .volume import volume_shape

EXCONV = "exconv"
EXCONVT = "exconvt"
CUDNN_CONV = "cudnn_conv"
CUDNN_CONVT = "cudnn_convt"
#: the convolution types, and the transposed ones
CONV_TYPES = (EXCONV, CUDNN_CONV)
CONVT_TYPES = (EXCONVT, CUDNN_CONVT)
CONV3D = "conv3d"
DECONV3D = "deconv3d"


def conv_type(transposed: bool, gpu: bool) -> str:
    """The type Paddle's config parser writes for a conv layer without an explicit type."""
    if transposed:
        return CUDNN_CONVT if gpu else EXCONVT
    return CUDNN_CONV if gpu else EXCONV


def is_transposed(layer_type: str) -> bool:
    return layer_type in CONVT_TYPES or layer_type == DECONV3D


def weight_shape(axes: ConvAxes, num_filters: int, transposed: bool) -> tuple[int, ...]:
    """The weight's shape (module docstring)."""
    if transposed:
        return (axes.channels, axes.filter_channels) + axes.filter
    return (num_filters, axes.filter_channels) + axes.filter


def deconv3d_weight_shape(axes: ConvAxes, num_filters: int) -> tuple[int, ...]:
    """Paddle's deconv3d weight (module docstring): ``(num_filters, *filter,
    num_filters/groups)``, ``filter_channels`` being num_filters/groups."""
    return (num_filters,) + axes.filter + (axes.filter_channels,)


def weight_size(conf: ConvConfig, num_filters: int, transposed: bool,
                layer_type: str = "") -> int:
    """The number of values in the weight (what the DSL sizes its parameter with)."""
    axes = conv_axes(conf, transposed)
    if layer_type == DECONV3D:
        return prod(deconv3d_weight_shape(axes, num_filters))
    return prod(weight_shape(axes, num_filters, transposed))


def _parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, tuple[int, ...]]:
    transposed = is_transposed(layer.type)
    inp = layer.inputs[0]
    axes = conv_axes(inp.conv_conf, transposed)
    num_filters = layer.num_filters or 0
    weight = (deconv3d_weight_shape(axes, num_filters) if layer.type == DECONV3D
              else weight_shape(axes, num_filters, transposed))
    shapes = {inp.input_parameter_name: weight}
    if layer.bias_parameter_name:
        shapes[layer.bias_parameter_name] = ((layer.num_filters or 0,) if layer.shared_biases
                                             else output_shape(layer))
    return shapes


def _mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    total = 0
    transposed = is_transposed(layer.type)
    for inp in layer.inputs:
        if inp.conv_conf is None:
            continue
        axes = conv_axes(inp.conv_conf, transposed)
        # the conv side's output: for a transposed conv, its input
        per_output = prod(axes.output) * axes.filter_channels * prod(axes.filter)
        if transposed:
            # every input pixel of every input channel scatters into F/groups filters
            total += axes.channels * per_output
        else:
            total += (layer.num_filters or 0) * per_output
    return total


for _type in CONV_TYPES + CONVT_TYPES:
    declare(_type, parameters=_parameters, display="convolution", mult_adds=_mult_adds,
            runs_as={CUDNN_CONV: EXCONV, CUDNN_CONVT: EXCONVT}.get(_type),
            needs_cudnn=_type in (CUDNN_CONV, CUDNN_CONVT))
for _type in (CONV3D, DECONV3D):
    declare(_type, output_shape=volume_shape, parameters=_parameters, display="convolution",
            mult_adds=_mult_adds)
