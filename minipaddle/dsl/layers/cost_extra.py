"""The second round of cost layers (spec section 3, 'Others'): smooth_l1_cost,
huber_regression_cost, huber_classification_cost, sum_cost, rank_cost,
multi_binary_label_cross_entropy and cross_entropy_with_selfnorm, with Paddle's signatures,
defaults, automatic names and LayerConfig fields."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import Field

from ...config import LayerInputConfig
from ...config.models import Double as Number
from ..attrs import LayerAttrArg
from ..base import LayerOutput, dsl_function, fail, make_output
from ..params import apply_layer_attr, new_layer_config

Coeff = Annotated[Number, Field(allow_inf_nan=False)]


def _emit(kind: str, name: str, parents: list[LayerOutput], layer_attr: Any,
          size: Optional[int] = 1, **fields: Any) -> LayerOutput:
    values = {"name": name, "type": kind, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=p.name) for p in parents], **fields}
    if size is not None:
        values["size"] = size
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), parents, kind)


def _same_size(input: LayerOutput, label: LayerOutput, what: str) -> None:
    if input.size != label.size:
        raise fail("label", label, f"size {label.size} differs from the input's size "
                   f"{input.size}; {what} compares them element by element")


def _size_one(argument: str, layer: LayerOutput, what: str) -> None:
    if layer.size != 1:
        raise fail(argument, layer, f"must have size 1 ({what}), got {layer.size}")


@dsl_function()
def smooth_l1_cost(input: LayerOutput, label: LayerOutput, name: Optional[str] = None,
                   coeff: Coeff = 1.0, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Sum over the row of smooth-L1(input - label): d^2/2 where |d| < 1, |d| - 1/2 beyond."""
    _same_size(input, label, "smooth_l1_cost")
    return _emit("smooth_l1", name, [input, label], layer_attr, coeff=float(coeff))


@dsl_function()
def huber_regression_cost(input: LayerOutput, label: LayerOutput, name: Optional[str] = None,
                          delta: Annotated[Number, Field(gt=0, allow_inf_nan=False)] = 1.0,
                          coeff: Coeff = 1.0, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Huber loss of input against label, summed over the row (quadratic within ``delta``).
    Paddle's helper does not compare the sizes (its golden config pairs sizes 200 and 5000);
    ``compile`` does."""
    return _emit("huber_regression", name, [input, label], layer_attr, coeff=float(coeff),
                 delta=float(delta))


@dsl_function()
def huber_classification_cost(input: LayerOutput, label: LayerOutput,
                              name: Optional[str] = None, coeff: Coeff = 1.0,
                              layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Modified Huber loss of one score per sample against a 0/1 label (as -1/+1)."""
    _size_one("input", input, "one score per sample")
    _size_one("label", label, "one 0/1 label per sample")
    return _emit("huber_classification", name, [input, label], layer_attr, coeff=float(coeff))


@dsl_function()
def sum_cost(input: LayerOutput, name: Optional[str] = None,
             layer_attr: LayerAttrArg = None) -> LayerOutput:
    """The sum of the input's row as the cost (Paddle applies no coeff and no weight)."""
    return _emit("sum_cost", name, [input], layer_attr, coeff=1.0)


@dsl_function()
def rank_cost(left: LayerOutput, right: LayerOutput, label: LayerOutput,
              weight: Optional[LayerOutput] = None, name: Optional[str] = None,
              coeff: Coeff = 1.0, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """RankNet's pairwise cost of scores ``left`` and ``right`` against the target probability
    ``label`` (0, 0.5 or 1) that left ranks above right."""
    _size_one("left", left, "one score per sample")
    _size_one("right", right, "one score per sample")
    _size_one("label", label, "one target per sample")
    parents = [left, right, label]
    if weight is not None:
        _size_one("weight", weight, "one weight per sample")
        parents.append(weight)
    return _emit("rank-cost", name, parents, layer_attr, coeff=float(coeff))


@dsl_function()
def multi_binary_label_cross_entropy(input: LayerOutput, label: LayerOutput,
                                     name: Optional[str] = None, coeff: Coeff = 1.0,
                                     layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Cross entropy of independent binary labels (a 0/1 row) against per-column
    probabilities (a sigmoid output)."""
    _same_size(input, label, "multi_binary_label_cross_entropy")
    return _emit("multi_binary_label_cross_entropy", name, [input, label], layer_attr,
                 coeff=float(coeff))


@dsl_function()
def cross_entropy_with_selfnorm(input: LayerOutput, label: LayerOutput,
                                name: Optional[str] = None, coeff: Coeff = 1.0,
                                softmax_selfnorm_alpha: Annotated[
                                    Number, Field(ge=0, allow_inf_nan=False)] = 0.1,
                                layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Multi-class cross entropy of an unnormalised positive output, plus
    ``alpha * (log Z)^2`` pulling the row sum Z to 1.  Its LayerConfig has no size (as
    Paddle's)."""
    if label.layer_type != "data":
        raise fail("label", label, f"must be a data layer of integer labels, but "
                   f"{label.name!r} is a {label.layer_type!r} layer")
    return _emit("multi_class_cross_entropy_with_selfnorm", name, [input, label], layer_attr,
                 size=None, coeff=float(coeff),
                 softmax_selfnorm_alpha=float(softmax_selfnorm_alpha))
