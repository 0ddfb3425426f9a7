"""model_zoo/ssd_shapes.yaml learns to detect: trained through the Trainer on generated shapes,
its detection_map (percent) on held-out generated images passes 50; ``minipaddle train
--data shapes`` runs it and reports the metric."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

import minipaddle
from minipaddle.cli import main
from minipaddle.config import ConfigError
from minipaddle.kernels import detection as K
from minipaddle.train import shapes
from minipaddle.train.comm import LocalComm
from minipaddle.train.trainer import Trainer

SSD = Path(__file__).resolve().parents[2] / "model_zoo" / "ssd_shapes.yaml"


def test_ssd_reaches_a_detection_map_of_50_on_held_out_images():
    train, test = shapes.shapes_dataset(640, 160)
    trainer = Trainer(minipaddle.parse_config(SSD), (train, test), seed=1)
    result = trainer.train(num_passes=3)
    metrics = trainer.test()
    assert metrics["detection_map"] >= 50.0, (result, metrics)
    # the evaluator's figure is the kernel's over the same detections
    m = K.DetectionMAP()
    for s in range(0, len(test), 80):
        feed = {"image": test.images[s:s + 80], "label": test.labels[s:s + 80]}
        det = trainer.net.forward(feed, fetch=["detections"])["detections"].reshape(-1, 20, 7)
        m.add([d[d[:, 1] >= 0] for d in det], K.ground_truth_rows(feed["label"]))
    assert metrics["detection_map"] == pytest.approx(m.value(), rel=1e-9)


def test_minipaddle_train_and_test_on_shapes(tmp_path, monkeypatch, capsys):
    small = functools.partial(shapes.shapes_dataset, 96, 32)
    monkeypatch.setattr(shapes, "shapes_dataset", small)
    assert main(["train", str(SSD), "--data", "shapes", "--num-passes", "1",
                 "--save-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "detection_map" in captured.err
    assert re.match(r"test detection mAP \d+\.\d\d% \| \d+ images/s \| wall ",
                    captured.out.strip().splitlines()[-1])
    assert main(["test", str(SSD), "--data", "shapes", "--model",
                 str(tmp_path / "pass-00000")]) == 0
    assert re.search(r"detection_map[ =:]+\d", capsys.readouterr().out)


def test_detection_map_is_refused_data_parallel():
    class TwoRanks(LocalComm):
        size = 2

    with pytest.raises(ConfigError, match="detection_map need every detection of a pass"):
        Trainer(minipaddle.parse_config(SSD), shapes.shapes_dataset(8, 4), comm=TwoRanks())
