"""Facts of the row normalisations ``sum_to_one_norm`` and ``row_l2_norm`` (the defaults: the
input's size, no parameters) and of ``data_norm`` (one static ``(5, size)`` parameter: rows
min, 1/range, mean, 1/std, 1/10^k, Paddle's order)."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import Shape, declare


def _data_norm_parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, Shape]:
    return {layer.inputs[0].input_parameter_name: (5, layer.size or 0)}


declare("sum_to_one_norm", display="normalisation")
declare("row_l2_norm", display="normalisation")
declare("data_norm", display="normalisation", parameters=_data_norm_parameters)
