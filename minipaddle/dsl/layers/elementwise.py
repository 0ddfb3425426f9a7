"""Element-wise and vector layers of Paddle v1 (issue 16): slope_intercept_layer,
scaling_layer, ...  Signatures, defaults, automatic names and config fields are Paddle's
(``trainer_config_helpers/layers.py`` and ``config_parser.py``); the runtime facts are in
docs/layer_notes_16.md."""

from __future__ import annotations

from typing import Optional

from ...config import LayerInputConfig
from ...config.models import Double as Number
from ..attrs import LayerAttrArg
from ..base import LayerOutput, dsl_function, fail, make_output
from ..params import apply_layer_attr, new_layer_config


def _inputs(*parents: LayerOutput) -> list[LayerInputConfig]:
    return [LayerInputConfig(input_layer_name=p.name) for p in parents]


def _emit(values: dict, parents: list[LayerOutput], layer_type: str, layer_attr,
          allowed: tuple[str, ...] = (), **output) -> LayerOutput:
    """Apply ``layer_attr`` (the extras Paddle's ``layer_support`` allows here) and register
    the layer; ``active_type`` is Paddle's empty string unless given."""
    values.setdefault("active_type", "")
    apply_layer_attr(values, layer_attr, allowed)
    return make_output(new_layer_config(**values), parents, layer_type, **output)


def _require_size_one(argument: str, layer: LayerOutput, role: str) -> None:
    if layer.size != 1:
        raise fail(argument, layer, f"{role} must have size 1 (one value per sample), but "
                   f"layer {layer.name!r} has size {layer.size}")


@dsl_function()
def slope_intercept_layer(input: LayerOutput, name: Optional[str] = None, slope: Number = 1.0,
                          intercept: Number = 0.0,
                          layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``y = slope * x + intercept`` with constant slope and intercept (no parameters)."""
    values = {"name": name, "type": "slope_intercept", "size": input.size,
              "inputs": _inputs(input), "slope": slope, "intercept": intercept}
    return _emit(values, [input], "slope_intercept", layer_attr)


@dsl_function()
def scaling_layer(input: LayerOutput, weight: LayerOutput, name: Optional[str] = None,
                  layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``y[n] = weight[n] * input[n]``: each sample's row scaled by its own weight (a layer of
    size 1).  Paddle's inputs are ``[weight, input]``, in that order."""
    _require_size_one("weight", weight, "the weight layer")
    values = {"name": name, "type": "scaling", "size": input.size,
              "inputs": _inputs(weight, input)}
    return _emit(values, [weight, input], "scaling", layer_attr)
