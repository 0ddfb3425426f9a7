"""Paddle's ``classification_error`` evaluator."""

from __future__ import annotations

import numpy as np

from ...config import ConfigError, EvaluatorConfig
from . import Evaluator, register_evaluator


@register_evaluator("classification_error")
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
