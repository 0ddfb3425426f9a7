"""hsigmoid and nce_layer: Paddle v1's large-label-space costs, with Paddle's signatures,
defaults, automatic names (``__hsigmoid_<k>__``, ``__nce_layer_<k>__``), LayerConfig fields
and parameters (weights ``(num_classes - 1, in)`` / ``(num_classes, in)`` per input)."""

from __future__ import annotations

from typing import Optional, Union

from ...config import LayerInputConfig
from ...config.models import Double as Number
from ..activations import SigmoidActivation
from ..attrs import BiasAttrArg, LayerAttrArg, ParamAttrArg, ParameterAttribute
from ..base import Layers, LayerOutput, as_list, dsl_function, fail, make_output
from ..params import (
    per_input_attrs,
    apply_layer_attr, bias_attr_of, bias_name, create_parameter, new_layer_config, weight_name,
)


def _require_data(argument: str, layer: LayerOutput) -> None:
    if layer.layer_type != "data":
        raise fail(argument, layer, f"must be a data layer of integer class ids, but "
                   f"{layer.name!r} is a {layer.layer_type!r} layer")


def _emit(kind: str, name: str, inputs: list[LayerOutput], attrs: list[ParameterAttribute],
          rows: int, extra: list[LayerOutput], bias_attr, layer_attr, **fields) -> LayerOutput:
    params, layer_inputs = [], []
    for i, (parent, attr) in enumerate(zip(inputs, attrs)):
        in_size = parent.size or 0
        param = create_parameter(attr, weight_name(name, i), rows * in_size, [rows, in_size])
        params.append(param)
        layer_inputs.append(LayerInputConfig(input_layer_name=parent.name,
                                             input_parameter_name=param.name))
    layer_inputs += [LayerInputConfig(input_layer_name=p.name) for p in extra]
    values = {"name": name, "type": kind, "size": 1, "inputs": layer_inputs, **fields}
    battr = bias_attr_of(bias_attr)
    if battr is not None:
        bias = create_parameter(battr, bias_name(name), rows, [1, rows], argument="bias_attr")
        params.append(bias)
        values["bias_parameter_name"] = bias.name
    apply_layer_attr(values, layer_attr, ())
    activation = SigmoidActivation() if fields.get("active_type") == "sigmoid" else None
    return make_output(new_layer_config(**values), inputs + extra, kind, activation=activation,
                       parameters=params)


@dsl_function()
def hsigmoid(input: Layers, label: LayerOutput, num_classes: Optional[int] = None,
             name: Optional[str] = None, bias_attr: BiasAttrArg = None,
             param_attr: Union[ParamAttrArg, list[ParamAttrArg]] = None,
             layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Hierarchical sigmoid: the cost of the label's path through the complete binary tree
    of ``num_classes`` class codes (a sigmoid at each inner node); ``num_classes`` defaults
    to the label's size and must be more than 2 (Paddle's rule)."""
    inputs = as_list(input)
    if not inputs:
        raise fail("input", input, "expected at least one input layer")
    _require_data("label", label)
    if num_classes is None:
        num_classes = label.size
    if num_classes is None or num_classes <= 2:
        raise fail("num_classes", num_classes, "expected more than 2 classes (Paddle's "
                   "hsigmoid needs a tree with at least two inner nodes)")
    attrs = per_input_attrs(inputs, param_attr, copies=False)
    return _emit("hsigmoid", name, inputs, attrs, num_classes - 1, [label], bias_attr,
                 layer_attr, active_type="", num_classes=int(num_classes))


@dsl_function()
def nce_layer(input: Layers, label: LayerOutput, num_classes: Optional[int] = None,
              param_attr: Union[ParamAttrArg, list[ParamAttrArg]] = None,
              weight: Optional[LayerOutput] = None, num_neg_samples: int = 10,
              neg_distribution: Optional[list[Number]] = None, name: Optional[str] = None,
              bias_attr: BiasAttrArg = None, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Noise-contrastive estimation: the logistic cost of the true class against
    ``num_neg_samples`` classes drawn from ``neg_distribution`` (uniform by default);
    ``weight``, a size-1 data layer, scales each sample's cost."""
    inputs = as_list(input)
    if not inputs:
        raise fail("input", input, "expected at least one input layer")
    if isinstance(input, LayerOutput) and isinstance(param_attr, (list, tuple)):
        raise fail("param_attr", param_attr, "a list of attributes for a single input; "
                   "give one ParamAttr")
    _require_data("label", label)
    if num_classes is None:
        num_classes = label.size
    if num_classes is None or num_classes < 2:
        raise fail("num_classes", num_classes, "expected at least 2 classes")
    if num_neg_samples < 1:
        raise fail("num_neg_samples", num_neg_samples, "expected at least 1 sampled class")
    extra = [label]
    if weight is not None:
        if weight.layer_type != "data" or weight.size != 1:
            raise fail("weight", weight, f"must be a data layer of size 1 (one weight per "
                       f"sample), but {weight.name!r} is a {weight.layer_type!r} layer of "
                       f"size {weight.size}")
        extra.append(weight)
    fields = {"active_type": "sigmoid", "num_classes": int(num_classes)}
    if neg_distribution is not None:
        dist = [float(v) for v in neg_distribution]
        if len(dist) != num_classes:
            raise fail("neg_distribution", f"{len(dist)} values", f"expected one probability "
                       f"per class ({num_classes})")
        if any(v < 0 for v in dist) or abs(sum(dist) - 1.0) >= 1e-5:
            raise fail("neg_distribution", f"sum {sum(dist)}", "expected non-negative "
                       "probabilities summing to 1")
        fields["neg_sampling_dist"] = dist
    fields["num_neg_samples"] = int(num_neg_samples)
    attrs = per_input_attrs(inputs, param_attr, copies=True)
    return _emit("nce", name, inputs, attrs, num_classes, extra, bias_attr, layer_attr,
                 **fields)
