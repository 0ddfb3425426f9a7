"""Cost layers and the classification-error evaluator (spec section 3, cost layers)."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Optional, Union

from pydantic import Field

from ...config.models import Double as Number
from ...config import EvaluatorConfig, LayerInputConfig
from ..attrs import LayerAttrArg
from ..base import LayerOutput, dsl_function, fail, make_output
from ..context import current
from ..params import apply_layer_attr, new_layer_config

Coeff = Annotated[Number, Field(allow_inf_nan=False)]


def _require_data(arg: str, layer: LayerOutput) -> None:
    if layer.layer_type != "data":
        raise fail(arg, layer, f"must be a data layer, but {layer.name!r} is a "
                   f"{layer.layer_type!r} layer")


def _cost(kind: str, name: str, input: LayerOutput, label: LayerOutput,
          weight: Optional[LayerOutput], coeff: Number,
          layer_attr: Any) -> LayerOutput:
    parents = [input, label]
    if weight is not None:
        if weight.size != 1:
            raise fail("weight", weight, f"must have size 1 (one weight per sample), got "
                       f"{weight.size}")
        parents.append(weight)
    values = {"name": name, "type": kind, "size": 1, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=p.name) for p in parents],
              "coeff": float(coeff)}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), parents, "cost")


def _add_evaluator(out: LayerOutput, name: str, kind: str, layers: list[LayerOutput],
                   **fields: Any) -> EvaluatorConfig:
    config = EvaluatorConfig(name=name, type=kind, input_layers=[p.name for p in layers],
                             **{k: v for k, v in fields.items() if v is not None})
    current().evaluators.append(config)
    out._evaluators.append(config)
    return config


@dsl_function(layer=False)
def classification_error_evaluator(input: LayerOutput, label: LayerOutput,
                                   name: Optional[str] = None,
                                   weight: Optional[LayerOutput] = None,
                                   top_k: Optional[Annotated[int, Field(gt=0)]] = None,
                                   threshold: Optional[Number] = None) -> EvaluatorConfig:
    """Classification error rate of ``input``'s arg-max (or top-k) against ``label``."""
    layers = [input, label] + ([weight] if weight is not None else [])
    return _add_evaluator(input, name, "classification_error", layers, top_k=top_k,
                          classification_threshold=threshold)


@dsl_function(prefix="cost")
def classification_cost(input: LayerOutput, label: LayerOutput,
                        weight: Optional[LayerOutput] = None, name: Optional[str] = None,
                        evaluator: Union[Callable[..., Any], list, None] = (
                            classification_error_evaluator),
                        layer_attr: LayerAttrArg = None, coeff: Coeff = 1.0) -> LayerOutput:
    """Multi-class cross-entropy of a softmax output against integer labels, plus Paddle's
    ``classification_error_evaluator``."""
    if input.layer_type == "data":
        raise fail("input", input, "must not be a data layer (classification_cost takes the "
                   "network's softmax output)")
    if input.activation is None or input.activation.name != "softmax":
        act = input.activation.name if input.activation is not None else None
        raise fail("input", input, f"must have a softmax activation, but {input.name!r} has "
                   f"{act!r}")
    _require_data("label", label)
    out = _cost("multi-class-cross-entropy", name, input, label, weight, coeff, layer_attr)
    for ev in (evaluator if isinstance(evaluator, list) else [evaluator]):
        if ev is None:
            continue
        if not callable(ev):
            raise fail("evaluator", ev, "expected an evaluator function or a list of them")
        # Paddle names the evaluator after the function, not with an automatic name.
        ev(input=input, label=label, name=ev.__name__, weight=weight)
    return out


@dsl_function()
def cross_entropy(input: LayerOutput, label: LayerOutput, name: Optional[str] = None,
                  coeff: Coeff = 1.0, weight: Optional[LayerOutput] = None,
                  layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Multi-class cross-entropy, without classification_cost's checks and evaluator."""
    return _cost("multi-class-cross-entropy", name, input, label, weight, coeff, layer_attr)


@dsl_function()
def square_error_cost(input: LayerOutput, label: LayerOutput,
                      weight: Optional[LayerOutput] = None, name: Optional[str] = None,
                      coeff: Coeff = 1.0, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Sum of squared differences per sample (``regression_cost`` is the same function)."""
    if label.size != input.size:
        raise fail("label", label, f"size {label.size} differs from the input's size "
                   f"{input.size}; square_error compares them element by element")
    return _cost("square_error", name, input, label, weight, coeff, layer_attr)


regression_cost = square_error_cost
