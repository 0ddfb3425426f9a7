"""Pooling and the image layers whose facts differ from the defaults."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import declare, flat_shape


def _prelu_parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, tuple[int, ...]]:
    return {layer.inputs[0].input_parameter_name:
            ((layer.size or 0) // (layer.get("partial_sum") or 1),)}


declare("pool", display="pooling")
# spp's height and width describe its input image; its output is a flat row of bins
declare("spp", output_shape=flat_shape)
declare("prelu", parameters=_prelu_parameters)
