"""Row normalisations: sum_to_one_norm_layer and row_l2_norm_layer."""

from __future__ import annotations

from typing import Optional

from ...config import LayerInputConfig
from ..attrs import LayerAttrArg
from ..base import LayerOutput, dsl_function, make_output
from ..params import apply_layer_attr, new_layer_config


def _row_norm(kind: str, input: LayerOutput, name: str, layer_attr) -> LayerOutput:
    values = {"name": name, "type": kind, "size": input.size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name)]}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], kind)


@dsl_function()
def sum_to_one_norm_layer(input: LayerOutput, name: Optional[str] = None,
                          layer_attr: LayerAttrArg = None) -> LayerOutput:
    """y = x / sum(x), per sample (every row sum must be positive)."""
    return _row_norm("sum_to_one_norm", input, name, layer_attr)


@dsl_function()
def row_l2_norm_layer(input: LayerOutput, name: Optional[str] = None,
                      layer_attr: LayerAttrArg = None) -> LayerOutput:
    """y = x / |x|_2, per sample (no epsilon: a zero row gives NaN, as in Paddle)."""
    return _row_norm("row_l2_norm", input, name, layer_attr)
