"""Evaluators: the average cost per sample and Paddle's ``classification_error``."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..config import ConfigError, EvaluatorConfig


class Evaluator:
    """Accumulates a metric over the batches of a pass."""

    name: str
    #: layers whose outputs the evaluator reads
    inputs: list[str]
    #: the EvaluatorConfig it computes (None for the cost average, which Paddle had none of)
    config: Optional[EvaluatorConfig] = None

    def reset(self) -> None:
        raise NotImplementedError

    def add(self, outputs: dict[str, Any], labels: dict[str, Any]) -> None:
        raise NotImplementedError

    def value(self) -> float:
        raise NotImplementedError

    #: the accumulators behind value(): sums over samples, so that the counts of several
    #: batches (or of several ranks' shards of one batch) add up
    fields: tuple[str, ...] = ()

    def counts(self) -> list[float]:
        return [float(getattr(self, f)) for f in self.fields]

    def add_counts(self, counts: list[float]) -> None:
        for f, value in zip(self.fields, counts, strict=True):
            setattr(self, f, getattr(self, f) + float(value))


class CostAverage(Evaluator):
    """Average per-sample cost over the pass (Paddle's AvgCost), summed over cost layers."""

    def __init__(self, cost_layers: list[str]):
        self.name = "cost"
        self.fields = ("total", "count")
        self.inputs = list(cost_layers)
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, outputs, labels) -> None:
        batch = sum(float(np.sum(outputs[c])) for c in self.inputs)
        self.total += batch
        self.count += int(np.shape(outputs[self.inputs[0]])[0])

    def value(self) -> float:
        return self.total / max(1, self.count)


class ClassificationError(Evaluator):
    """Share of samples whose arg-max (or top-k) prediction misses the label; with a weight
    input, the weighted share."""

    def __init__(self, config: EvaluatorConfig):
        if len(config.input_layers) < 2:
            raise ConfigError(f"evaluator {config.name!r} needs an output and a label layer")
        self.name = "classification_error"
        self.fields = ("errors", "count")
        self.config = config
        self.output, self.label = config.input_layers[:2]
        self.weight = config.input_layers[2] if len(config.input_layers) > 2 else None
        self.top_k = config.get("top_k")
        self.inputs = [self.output] + ([self.weight] if self.weight else [])
        self.reset()

    def reset(self) -> None:
        self.errors, self.count = 0.0, 0.0

    def add(self, outputs, labels) -> None:
        scores = np.asarray(outputs[self.output]).reshape(len(labels[self.label]), -1)
        label = np.asarray(labels[self.label]).reshape(-1)
        if self.top_k == 1:
            wrong = scores.argmax(axis=1) != label
        else:
            top = np.argpartition(-scores, self.top_k - 1, axis=1)[:, :self.top_k]
            wrong = ~(top == label[:, None]).any(axis=1)
        weight = (np.asarray(outputs[self.weight]).reshape(-1) if self.weight
                  else np.ones(len(label)))
        self.errors += float((wrong * weight).sum())
        self.count += float(weight.sum())

    def value(self) -> float:
        return self.errors / self.count if self.count else 0.0


#: EvaluatorConfig.type -> evaluator class
EVALUATORS = {"classification_error": ClassificationError}


def counts_of(evaluators: list[Evaluator]) -> list[float]:
    """Every evaluator's counts, one flat list (what data parallelism sums over the ranks)."""
    return [c for ev in evaluators for c in ev.counts()]


def add_counts(evaluators: list[Evaluator], counts: Any, reset: bool = False) -> None:
    """Add a flat list of counts (``counts_of``'s layout) to the evaluators; with ``reset``,
    the evaluators hold exactly those counts."""
    counts = list(counts)
    for ev in evaluators:
        if reset:
            ev.reset()
        ev.add_counts(counts[:len(ev.fields)])
        counts = counts[len(ev.fields):]


def build_evaluators(configs: list[EvaluatorConfig], cost_layers: list[str]) -> list[Evaluator]:
    evaluators: list[Evaluator] = [CostAverage(cost_layers)] if cost_layers else []
    for config in configs:
        cls = EVALUATORS.get(config.type)
        if cls is None:
            raise ConfigError(f"evaluator {config.name!r}: type {config.type!r} is not "
                              f"supported; known: {', '.join(EVALUATORS)}")
        evaluator = cls(config)
        if any(e.name == evaluator.name for e in evaluators):
            # several classification costs: name each metric after the layer it scores
            evaluator.name = f"{evaluator.name}({evaluator.inputs[0]})"
        evaluators.append(evaluator)
    return evaluators
