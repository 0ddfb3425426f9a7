"""fc: weights ``(input_size, size)`` per input (``y = x W + b``), bias ``(size,)``."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import declare, input_size


def _parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, tuple[int, ...]]:
    size = layer.size or 0
    shapes = {inp.input_parameter_name: (input_size(model, layer, i), size)
              for i, inp in enumerate(layer.inputs)}
    if layer.bias_parameter_name:
        shapes[layer.bias_parameter_name] = (size,)
    return shapes


def _mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    return sum(input_size(model, layer, i) * (layer.size or 0) for i in range(len(layer.inputs)))


declare("fc", parameters=_parameters, mult_adds=_mult_adds)
