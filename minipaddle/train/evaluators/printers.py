"""Paddle's printer evaluators: every batch they print (through the trainer's log, one
call per message) what Paddle's LOG(INFO) lines showed, and count nothing.  The matrix text
is NumPy's, not Paddle's Matrix::print layout."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ...config import EvaluatorConfig
from . import Evaluator, register_evaluator


def _matrix(value: Any) -> str:
    a = np.asarray(value)
    a = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)
    return "\n".join(" ".join(f"{v:g}" for v in row) for row in a)


class _Printer(Evaluator):
    def __init__(self, config: EvaluatorConfig, log: Callable[[str], None]):
        self.config = config
        self.name = config.name
        self.inputs = list(config.input_layers)
        self.log = log
        self.fields = ()

    def reset(self) -> None:
        pass

    def values(self) -> dict[str, float]:
        return {}

    def value(self) -> float:
        return 0.0


@register_evaluator("value_printer")
class ValuePrinter(_Printer):
    def add(self, outputs, labels) -> None:
        for name in self.inputs:
            a = np.asarray(outputs[name])
            kind = "ids vector" if np.issubdtype(a.dtype, np.integer) else "value matrix"
            self.log(f"layer={name} {kind}:\n{_matrix(a)}")


@register_evaluator("gradient_printer")
class GradientPrinter(_Printer):
    """Prints after each training batch's backward: the gradient of each input layer's output
    as the layer's own backward received it (Paddle printed ``output.grad`` after its
    in-place backwardActivation: the gradient after the activation's derivative, dropout's
    mask and error clipping). Test passes have no gradients and print nothing."""

    reads_gradients = True

    def add(self, outputs, labels) -> None:
        pass

    def add_gradients(self, gradients) -> None:
        for name in self.inputs:
            if name in gradients:
                self.log(f"layer={name} grad matrix:\n{_matrix(gradients[name])}")


def _top(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest per row, largest first (lower index on ties)."""
    order = np.argsort(-a, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(a, order, axis=1)


@register_evaluator("max_id_printer")
class MaxIdPrinter(_Printer):
    def add(self, outputs, labels) -> None:
        k = self.config.get("num_results")
        for name in self.inputs:
            a = np.asarray(outputs[name])
            ids, values = _top(a.reshape(a.shape[0], -1), k)
            text = "\n".join("".join(f"{i} : {v:g}, " for i, v in zip(r, vs))
                             for r, vs in zip(ids, values))
            self.log(f"layer={name} row max id vector:\n{text}")


@register_evaluator("max_frame_printer")
class MaxFramePrinter(_Printer):
    """Inputs of width 1; without sequences every sample is a sequence of one frame."""

    def add(self, outputs, labels) -> None:
        k = self.config.get("num_results")
        for name in self.inputs:
            a = np.asarray(outputs[name]).reshape(-1)
            lines = []
            for v in a:
                ids, values = _top(np.array([[v]]), min(k, 1))
                lines.append("".join(f"{i} : {x:g}, " for i, x in zip(ids[0], values[0]))
                             + "total 1 frames")
            self.log(f"layer={name} sequence max frames:\n" + "\n".join(lines))


@register_evaluator("classification_error_printer")
class ClassificationErrorPrinter(_Printer):
    """Each sample's error (1 when the arg-max misses the integer label)."""

    def add(self, outputs, labels) -> None:
        output, label = self.inputs[:2]
        scores = np.asarray(outputs[output])
        scores = scores.reshape(scores.shape[0], -1)
        wrong = (scores.argmax(axis=1) != np.asarray(outputs[label]).reshape(-1)).astype(float)
        self.log(f"Printer={self.name} Classification Error:\n{_matrix(wrong[:, None])}")
