"""The detection_map evaluator on the dense forms: padding rows skipped on both sides, the
kernel's arithmetic, and a non-additive state that add_counts keeps."""

from __future__ import annotations

import numpy as np
import pytest

from minipaddle.config import ConfigError, EvaluatorConfig
from minipaddle.train.evaluators import EVALUATORS, add_counts, build_evaluators, counts_of


def _config(**fields):
    return EvaluatorConfig(name="map", type="detection_map",
                           input_layers=["det", "gt", "gt"], **fields)


def _batch():
    """Two images.  Image 0: class 1 object found (0.9) and found again (0.8, duplicate);
    image 1: class 2 object missed, a class 2 detection elsewhere (0.6)."""
    det = np.zeros((2, 3, 7))
    det[:, :, 0] = [[0], [1]]
    det[:, :, 1] = -1
    det[0, 0] = [0, 1, 0.9, 0.1, 0.1, 0.4, 0.4]
    det[0, 1] = [0, 1, 0.8, 0.1, 0.1, 0.41, 0.4]
    det[1, 2] = [1, 2, 0.6, 0.6, 0.6, 0.9, 0.9]             # after a padding row
    gt = np.full((2, 2, 6), -1.0)
    gt[0, 1] = [1, 0.1, 0.1, 0.4, 0.4, 0]
    gt[1, 0] = [2, 0.1, 0.5, 0.3, 0.9, 0]
    return {"det": det.reshape(2, -1)}, {"gt": gt.reshape(2, -1)}


def test_detection_map_on_dense_rows():
    (ev,) = build_evaluators([_config(ap_type="Integral")], [])
    assert type(ev) is EVALUATORS["detection_map"] and ev.inputs == ["det"]
    assert not ev.additive and counts_of([ev]) == []
    ev.add(*_batch())
    # class 1: TP 0.9, FP 0.8 of one object: AP 1; class 2: FP 0.6: AP 0 -> 50 percent
    assert ev.value() == pytest.approx(50.0)
    add_counts([ev], [], reset=True)                         # what the trainer does
    assert ev.value() == pytest.approx(50.0)
    ev.reset()
    assert ev.value() == 0.0


def test_detection_map_config_errors():
    with pytest.raises(ConfigError, match="evaluator 'map': detection_map needs a "
                                          "detection_output layer and a label layer"):
        build_evaluators([EvaluatorConfig(name="map", type="detection_map",
                                          input_layers=["det"])], [])
    with pytest.raises(ConfigError, match="evaluator 'map': ap_type 'voc'"):
        build_evaluators([_config(ap_type="voc")], [])
