"""Row normalisations: sum_to_one_norm_layer and row_l2_norm_layer; data_norm_layer (the
helper is minipaddle's: Paddle v1 had only the raw ``Layer(type='data_norm')``)."""

from __future__ import annotations

from typing import Optional

from ...config import LayerInputConfig
from ..attrs import LayerAttrArg, ParamAttrArg, ParameterAttribute
from ..base import LayerOutput, dsl_function, fail, make_output
from ..params import apply_layer_attr, create_parameter, new_layer_config, weight_name

#: Paddle's DataNormLayer strategies (``data_norm_strategy``)
DATA_NORM_STRATEGIES = ("z-score", "min-max", "decimal-scaling")


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


@dsl_function(prefix="data_norm_layer")
def data_norm_layer(input: LayerOutput, name: Optional[str] = None,
                    data_norm_strategy: str = "z-score", param_attr: ParamAttrArg = None,
                    layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Normalise a data layer's features by precomputed statistics (Paddle's raw
    ``data_norm`` type; the helper is minipaddle's).  The static parameter ``(5, size)``
    holds per feature: min, 1/(max - min), mean, 1/std, 1/10^k (load it from a model).
    ``z-score``: ``(x - mean) / std``; ``min-max``: ``(x - min) / (max - min)``;
    ``decimal-scaling``: ``x / 10^k``.  The parameter is static whatever ``param_attr``
    says (Paddle's layer forced it); it gets no gradient."""
    if data_norm_strategy not in DATA_NORM_STRATEGIES:
        raise fail("data_norm_strategy", data_norm_strategy,
                   "expected one of " + ", ".join(repr(s) for s in DATA_NORM_STRATEGIES))
    if input.layer_type != "data":
        raise fail("input", input, f"must be a data layer (Paddle's DataNormLayer reads one "
                   f"only), but {input.name!r} is a {input.layer_type!r} layer")
    size = input.size or 0
    attr = param_attr or ParameterAttribute()
    if not attr.is_static:
        attr = attr.model_copy(update={"is_static": True})
    stats = create_parameter(attr, weight_name(name, 0), 5 * size, [5, size])
    values = {"name": name, "type": "data_norm", "size": size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          input_parameter_name=stats.name)],
              "data_norm_strategy": data_norm_strategy}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "data_norm", parameters=[stats])
