"""addto (a bias ``(size,)``) and the costs (label inputs)."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import declare


def _addto_parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, tuple[int, ...]]:
    if layer.bias_parameter_name:
        return {layer.bias_parameter_name: (layer.size or 0,)}
    return {}


declare("addto", parameters=_addto_parameters)
# a multi-class cross-entropy reads integer class labels through its second input
declare("multi-class-cross-entropy", label_inputs=(1,))
