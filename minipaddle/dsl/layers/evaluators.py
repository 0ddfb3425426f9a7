"""Paddle's evaluators beyond classification_error (trainer_config_helpers/evaluators.py):
auc, pnpair, precision_recall, sum, column_sum and the printers.  Each writes one
EvaluatorConfig with Paddle's type and the fields Paddle sets (only those given), named
``__<function>_<k>__`` by default; what computes it is in ``minipaddle.train.evaluators``.
``seqtext_printer_evaluator`` (sequences only) stays unsupported."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import Field

from ...config import EvaluatorConfig
from ...config.models import Double as Number
from ..base import Layers, LayerOutput, as_list, dsl_function, fail
from ..context import current

Count = Annotated[int, Field(gt=0)]


def _evaluator(name: str, kind: str, layers: list[LayerOutput], **fields: Any
               ) -> EvaluatorConfig:
    if not layers:
        raise fail("input", layers, "expected at least one input layer")
    config = EvaluatorConfig(name=name, type=kind, input_layers=[p.name for p in layers],
                             **{k: v for k, v in fields.items() if v is not None})
    current().evaluators.append(config)
    layers[0]._evaluators.append(config)
    return config


def _weight(weight: Optional[LayerOutput]) -> list[LayerOutput]:
    if weight is None:
        return []
    if weight.size != 1:
        raise fail("weight", weight, f"must have size 1 (one weight per sample), got "
                   f"{weight.size}")
    return [weight]


@dsl_function(layer=False)
def auc_evaluator(input: LayerOutput, label: LayerOutput, name: Optional[str] = None,
                  weight: Optional[LayerOutput] = None) -> EvaluatorConfig:
    """Paddle's binned AUC of the input's last column against 0/1 labels."""
    return _evaluator(name, "last-column-auc", [input, label] + _weight(weight))


@dsl_function(layer=False)
def pnpair_evaluator(input: LayerOutput, label: LayerOutput, query_id: LayerOutput,
                     weight: Optional[LayerOutput] = None,
                     name: Optional[str] = None) -> EvaluatorConfig:
    """Positive/negative pair ratio of the input's last column within each query."""
    return _evaluator(name, "pnpair", [input, label, query_id] + _weight(weight))


@dsl_function(layer=False)
def precision_recall_evaluator(input: LayerOutput, label: LayerOutput,
                               positive_label: Optional[Annotated[int, Field(ge=0)]] = None,
                               weight: Optional[LayerOutput] = None,
                               name: Optional[str] = None) -> EvaluatorConfig:
    """Precision, recall and F1 of the arg-max prediction: of ``positive_label``, or the
    macro and micro averages over the classes."""
    if positive_label is not None and input.size is not None and positive_label >= input.size:
        raise fail("positive_label", positive_label, f"must be a class of the input, in "
                   f"[0, {input.size})")
    return _evaluator(name, "precision_recall", [input, label] + _weight(weight),
                      positive_label=positive_label)


@dsl_function(layer=False)
def sum_evaluator(input: LayerOutput, name: Optional[str] = None,
                  weight: Optional[LayerOutput] = None) -> EvaluatorConfig:
    """The (weighted) sum of the input's values, per sample (per unit of weight)."""
    return _evaluator(name, "sum", [input] + _weight(weight))


@dsl_function(layer=False)
def column_sum_evaluator(input: LayerOutput, name: Optional[str] = None,
                         weight: Optional[LayerOutput] = None) -> EvaluatorConfig:
    """The (weighted) sum of the input's last column, per sample (per unit of weight)."""
    return _evaluator(name, "last-column-sum", [input] + _weight(weight))


@dsl_function(layer=False)
def value_printer_evaluator(input: Layers, name: Optional[str] = None) -> EvaluatorConfig:
    """Print the values of the input layers, every batch."""
    return _evaluator(name, "value_printer", as_list(input))


@dsl_function(layer=False)
def gradient_printer_evaluator(input: Layers, name: Optional[str] = None) -> EvaluatorConfig:
    """Print the gradients of the input layers' outputs after each training batch's
    backward."""
    return _evaluator(name, "gradient_printer", as_list(input))


@dsl_function(layer=False)
def maxid_printer_evaluator(input: Layers, num_results: Optional[Count] = None,
                            name: Optional[str] = None) -> EvaluatorConfig:
    """Print the ``num_results`` (default 1) largest values of each row and their indices."""
    return _evaluator(name, "max_id_printer", as_list(input), num_results=num_results)


@dsl_function(layer=False)
def maxframe_printer_evaluator(input: Layers, num_results: Optional[Count] = None,
                               name: Optional[str] = None) -> EvaluatorConfig:
    """Print the largest frames of each sequence of width-1 inputs (without sequences,
    each sample is a sequence of one frame)."""
    return _evaluator(name, "max_frame_printer", as_list(input), num_results=num_results)


@dsl_function(layer=False)
def classification_error_printer_evaluator(input: LayerOutput, label: LayerOutput,
                                           threshold: Number = 0.5,
                                           name: Optional[str] = None) -> EvaluatorConfig:
    """Print each sample's classification error (1 wrong, 0 right), every batch."""
    return _evaluator(name, "classification_error_printer", [input, label],
                      classification_threshold=float(threshold))
