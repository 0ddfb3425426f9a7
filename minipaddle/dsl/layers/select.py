"""The weighted and id-selecting vector layers of Paddle v1 (issue 16): tensor_layer,
factorization_machine, selective_fc_layer, maxid_layer, multiplex_layer.  Signatures,
defaults, automatic names, config fields and parameter sizes/dims are Paddle's
(``trainer_config_helpers/layers.py`` and ``config_parser.py``); the runtime facts are in
docs/layer_notes_16.md."""

from __future__ import annotations

from typing import Optional, Union

from ...config import LayerInputConfig
from ...config.models import Double as Number
from ..activations import LinearActivation, TanhActivation
from ..attrs import BiasAttrArg, LayerAttrArg, ParamAttrArg, ParameterAttribute
from ..base import Activation, Layers, LayerOutput, PosInt, Size, as_list, dsl_function, fail
from ..params import (
    per_input_attrs,
    DROPOUT, ERROR_CLIPPING, bias_attr_of, bias_name, create_parameter, weight_name,
)
from .elementwise import UNCHECKED, LayerSeq, emit, inputs_of


def _bias(values: dict, params: list, bias_attr, name: str, size: int) -> None:
    """Paddle's ``create_bias_parameter(bias, size)``: dims [1, size]."""
    battr = bias_attr_of(bias_attr)
    if battr is not None:
        bias = create_parameter(battr, bias_name(name), size, [1, size], argument="bias_attr")
        params.append(bias)
        values["bias_parameter_name"] = bias.name


@dsl_function()
def tensor_layer(a: LayerOutput, b: LayerOutput, size: Size, act: Optional[Activation] = None,
                 name: Optional[str] = None, param_attr: ParamAttrArg = None,
                 bias_attr: BiasAttrArg = None, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Bilinear tensor product: ``y[k] = a W_k b^T (+ bias[k])`` for k < size, with one
    ``size(a) x size(b)`` weight slice per output (one parameter of size x A x B values,
    dims ``[A, B, size]`` as Paddle wrote them)."""
    act = act or LinearActivation()
    rows, cols = a.size or 0, b.size or 0
    weight = create_parameter(param_attr or ParameterAttribute(), weight_name(name, 0),
                              size * rows * cols, [rows, cols, size])
    params = [weight]
    values = {"name": name, "type": "tensor", "size": size, "active_type": act.name,
              "inputs": [LayerInputConfig(input_layer_name=a.name,
                                          input_parameter_name=weight.name),
                         LayerInputConfig(input_layer_name=b.name)]}
    _bias(values, params, bias_attr, name, size)
    return emit(values, [a, b], "tensor", layer_attr, ERROR_CLIPPING + DROPOUT,
                activation=act, parameters=params)


@dsl_function()
def factorization_machine(input: LayerOutput, factor_size: PosInt,
                          act: Optional[Activation] = None, name: Optional[str] = None,
                          param_attr: ParamAttrArg = None,
                          layer_attr: LayerAttrArg = None) -> LayerOutput:
    """The second-order term of a factorization machine,
    ``y = sum_{i<j} <v_i, v_j> x_i x_j`` (size 1), with latent vectors ``V`` of
    ``size(input) x factor_size`` (dims ``[size(input), factor_size]``)."""
    act = act or LinearActivation()
    rows = input.size or 0
    weight = create_parameter(param_attr or ParameterAttribute(), weight_name(name, 0),
                              rows * factor_size, [rows, factor_size])
    values = {"name": name, "type": "factorization_machine", "size": 1,
              "active_type": act.name, "factor_size": factor_size,
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          input_parameter_name=weight.name)]}
    return emit(values, [input], "factorization_machine", layer_attr, activation=act,
                parameters=[weight])


@dsl_function()
def selective_fc_layer(input: Layers, size: Size, select: Optional[LayerOutput] = None,
                       act: Optional[Activation] = None, name: Optional[str] = None,
                       pass_generation: bool = False, has_selected_colums: bool = True,
                       mul_ratio: Number = 0.02,
                       param_attr: Union[ParamAttrArg, list[ParamAttrArg]] = None,
                       bias_attr: BiasAttrArg = None,
                       layer_attr: LayerAttrArg = None) -> LayerOutput:
    """A fully connected layer that computes only the columns ``select`` marks: ``select`` is
    a layer of ``size`` values per sample, 1 for a column to compute and 0 for one to leave
    at zero (Paddle took a sparse binary id list; see docs/paddle_compat.md).  Without
    ``select`` it is an fc layer.  Weights are stored transposed, ``[size, input size]``
    (Paddle's dims), so a trained fc weight W is used here as W^T."""
    inputs = as_list(input)
    if not inputs:
        raise fail("input", input, "expected at least one input layer")
    act = act or TanhActivation()
    if select is not None and not has_selected_colums:
        raise fail("has_selected_colums", has_selected_colums,
                   f"contradicts select={select.name!r}: the select layer marks the selected "
                   "columns; pass select=None for a plain fc")
    if select is not None and select.size != size:
        raise fail("select", select, f"layer {select.name!r} has size {select.size}, but the "
                   f"layer has size {size}; select marks each of the {size} output columns")
    params, layer_inputs = [], []
    for i, (parent, attr) in enumerate(zip(inputs, per_input_attrs(inputs, param_attr))):
        in_size = parent.size or 0
        param = create_parameter(attr, weight_name(name, i), in_size * size, [size, in_size],
                                 is_sparse=False)
        params.append(param)
        layer_inputs.append(LayerInputConfig(input_layer_name=parent.name,
                                             input_parameter_name=param.name))
    parents = list(inputs)
    if select is not None:
        layer_inputs += inputs_of(select)
        parents.append(select)
    values = {"name": name, "type": "selective_fc", "size": size, "active_type": act.name,
              "inputs": layer_inputs, "selective_fc_pass_generation": pass_generation,
              # without select no column list is read (Paddle asserted select was given)
              "has_selected_colums": has_selected_colums and select is not None,
              "selective_fc_full_mul_ratio": mul_ratio}
    _bias(values, params, bias_attr, name, size)
    return emit(values, parents, "selective_fc", layer_attr, DROPOUT + ERROR_CLIPPING,
                activation=act, parameters=params)


@dsl_function()
def maxid_layer(input: LayerOutput, name: Optional[str] = None,
                layer_attr: LayerAttrArg = None) -> LayerOutput:
    """The index of each sample's largest value (Paddle's ``output.ids``).  The config's size
    is the input's, as Paddle wrote it; the runtime output is one id per sample (as a
    number), and no gradient flows back."""
    values = {"name": name, "type": "maxid", "size": input.size, "inputs": inputs_of(input)}
    return emit(values, [input], "maxid", layer_attr)


@dsl_function()
def multiplex_layer(input: LayerSeq, name: Optional[str] = None,
                    layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Row n of the output is row n of candidate ``ids[n]``: ``input[0]`` gives one index per
    sample (a data layer of size 1, or a ``maxid_layer``), ``input[1:]`` are the equal-sized
    candidates."""
    if len(input) <= 2:
        raise fail("input", input, f"a list of more than 2 layers (the index layer and at "
                   f"least 2 candidates), got {len(input)}")
    for other in input[2:]:
        if other.size != input[1].size:
            raise fail("input", other, f"candidate {other.name!r} has size {other.size}, but "
                       f"{input[1].name!r} has size {input[1].size}; all the input layers "
                       "except the first one must have the same size")
    values = {"name": name, "type": "multiplex", "size": input[1].size,
              "inputs": inputs_of(*input)}
    return emit(values, list(input), "multiplex", layer_attr, UNCHECKED)
