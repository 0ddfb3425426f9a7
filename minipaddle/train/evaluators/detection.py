"""detection_map: Paddle's DetectionMAPEvaluator (the arithmetic: kernels/detection.py).

Its state is every detection's score and verdict per class, not a fixed vector of sums
(``additive = False``): the trainer adds each batch to it directly, and refuses it data
parallel (Paddle's ``distributeEval`` refused it too)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...config import ConfigError, EvaluatorConfig
from ...kernels.detection import DetectionMAP, ground_truth_rows
from . import Evaluator, register_evaluator


def _host(x: Any) -> np.ndarray:
    get = getattr(x, "get", None)
    return np.asarray(get() if callable(get) and not isinstance(x, np.ndarray) else x)


@register_evaluator("detection_map")
class DetectionMapEvaluator(Evaluator):
    """Mean average precision, in percent, of a detection_output layer's dense detections
    (per image ``keep_top_k`` rows of 7, label -1 unused) against the dense ground truth
    (``max_boxes`` rows of 6, label -1 padding)."""

    additive = False

    def __init__(self, config: EvaluatorConfig):
        if len(config.input_layers) < 2:
            raise ConfigError(f"evaluator {config.name!r}: detection_map needs a "
                              "detection_output layer and a label layer")
        self.name = "detection_map"
        self.config = config
        self.fields = ()
        self.output, self.label = config.input_layers[:2]
        self.inputs = [self.output]
        try:
            self.map = DetectionMAP(config.get("overlap_threshold"),
                                    bool(config.get("evaluate_difficult")),
                                    config.get("ap_type"))
        except ValueError as err:
            raise ConfigError(f"evaluator {config.name!r}: {err}") from None

    def reset(self) -> None:
        self.map.reset()

    def add(self, outputs, labels) -> None:
        label = _host(labels[self.label])
        n = label.shape[0]
        det = _host(outputs[self.output]).reshape(n, -1, 7)
        self.map.add([d[d[:, 1] >= 0] for d in det], ground_truth_rows(label.reshape(n, -1)))

    def value(self) -> float:
        return self.map.value()
