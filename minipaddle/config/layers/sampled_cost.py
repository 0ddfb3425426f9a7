"""hsigmoid and nce: Paddle v1's large-label-space costs, one cost per sample.

hsigmoid's inputs are ``[x_1 .. x_m, label]``: a weight ``(num_classes - 1, size(x_i))`` per
vector input (one row per inner node of the class tree) and a bias ``(num_classes - 1,)``.
nce's are ``[x_1 .. x_m, label]`` or ``[x_1 .. x_m, label, weight]``: a weight
``(num_classes, size(x_i))`` per vector input (one row per class) and a bias
``(num_classes,)``.  Paddle's config_parser takes the last input for a per-sample weight when
there are more than two inputs, it has size 1 and the one before it is a data layer (its
rule, kept here).  The label input reads class ids, ``num_classes`` of them."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import declare, input_size


def _one_cost(layer: LayerConfig) -> tuple[int, ...]:
    return (1,)


def nce_label_index(layer: LayerConfig, model: ModelConfig) -> int:
    """The index of an nce layer's label input (the vector inputs come before it)."""
    last = len(layer.inputs) - 1
    if last > 1 and input_size(model, layer, last) == 1 \
            and model.layer(layer.inputs[last - 1].input_layer_name).type == "data":
        return last - 1
    return last


def _label_index(layer: LayerConfig, model: ModelConfig) -> int:
    if layer.type == "nce":
        return nce_label_index(layer, model)
    return len(layer.inputs) - 1


def _rows(layer: LayerConfig) -> int:
    classes = layer.num_classes or 0
    return classes - 1 if layer.type == "hsigmoid" else classes


def _parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, tuple[int, ...]]:
    rows = _rows(layer)
    shapes = {layer.inputs[i].input_parameter_name: (rows, input_size(model, layer, i))
              for i in range(_label_index(layer, model))}
    if layer.bias_parameter_name:
        shapes[layer.bias_parameter_name] = (rows,)
    return shapes


def _labels(layer: LayerConfig, model: ModelConfig) -> dict[int, int]:
    return {_label_index(layer, model): layer.num_classes or 0}


def _hsigmoid_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    """One dot product per step of the longest path."""
    steps = int((layer.num_classes or 1) - 1).bit_length()
    return steps * sum(input_size(model, layer, i) for i in range(_label_index(layer, model)))


def _nce_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    """One dot product per true and sampled class."""
    scored = 1 + (layer.num_neg_samples if layer.num_neg_samples is not None else 10)
    return scored * sum(input_size(model, layer, i) for i in range(_label_index(layer, model)))


declare("hsigmoid", output_shape=_one_cost, parameters=_parameters, label_inputs=_labels,
        mult_adds=_hsigmoid_mult_adds, display="cost")
declare("nce", output_shape=_one_cost, parameters=_parameters, label_inputs=_labels,
        mult_adds=_nce_mult_adds, display="cost")
