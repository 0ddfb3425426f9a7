"""fc_layer."""

from __future__ import annotations

from typing import Optional, Union

from ...config import LayerInputConfig
from ..activations import TanhActivation
from ..attrs import BiasAttrArg, LayerAttrArg, ParamAttrArg
from ..base import Activation, Layers, LayerOutput, Size, as_list, dsl_function, fail, make_output
from ..params import (
    per_input_attrs,
    DROPOUT, ERROR_CLIPPING, apply_layer_attr, bias_attr_of, bias_name, create_parameter,
    new_layer_config, weight_name,
)


@dsl_function()
def fc_layer(input: Layers, size: Size, act: Optional[Activation] = None,
             name: Optional[str] = None,
             param_attr: Union[ParamAttrArg, list[ParamAttrArg]] = None,
             bias_attr: BiasAttrArg = None, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Fully connected: y = act(sum_i x_i W_i + b); one weight [in_i, size] per input."""
    inputs = as_list(input)
    if not inputs:
        raise fail("input", input, "expected at least one input layer")
    act = act or TanhActivation()
    attrs = per_input_attrs(inputs, param_attr)
    params, layer_inputs = [], []
    for i, (parent, attr) in enumerate(zip(inputs, attrs)):
        in_size = parent.size or 0
        param = create_parameter(attr, weight_name(name, i), in_size * size, [in_size, size])
        params.append(param)
        layer_inputs.append(LayerInputConfig(input_layer_name=parent.name,
                                             input_parameter_name=param.name))
    values = {"name": name, "type": "fc", "size": size, "active_type": act.name,
              "inputs": layer_inputs}
    battr = bias_attr_of(bias_attr)
    if battr is not None:
        bias = create_parameter(battr, bias_name(name), size, [1, size], argument="bias_attr")
        params.append(bias)
        values["bias_parameter_name"] = bias.name
    apply_layer_attr(values, layer_attr, DROPOUT + ERROR_CLIPPING)
    return make_output(new_layer_config(**values), inputs, "fc", activation=act,
                       parameters=params)
