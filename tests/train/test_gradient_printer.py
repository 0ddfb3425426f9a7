"""gradient_printer_evaluator: its config, and what the trainer prints after each training
batch's backward, checked by hand (Paddle's GradientPrinter: ``layer=NAME grad matrix:`` and
the output gradient as the layer's backward left it, after the activation's derivative)."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest

import minipaddle as mp
from minipaddle.config import ConfigError
from minipaddle.train.progress import Progress
from minipaddle.train.trainer import Trainer

from tests.dsl_models import model_of


def network():
    from minipaddle import (
        LinearActivation, ParamAttr, TanhActivation, data_layer, fc_layer,
        gradient_printer_evaluator, outputs, settings, sum_cost,
    )
    settings(batch_size=2, learning_rate=0.1)
    x = data_layer(name="x", size=2)
    h = fc_layer(input=x, size=2, act=LinearActivation(), name="h", bias_attr=False)
    g = fc_layer(input=h, size=1, act=TanhActivation(), name="g", bias_attr=False,
                 param_attr=ParamAttr(name="g_w"))
    gradient_printer_evaluator(input=[g, h, x])
    gradient_printer_evaluator(input=h, name="only_h")
    outputs(sum_cost(input=g))


def test_config_fields():
    evs = {e.name: e for e in mp.parse_config(network).model_config.evaluators}
    assert list(evs) == ["__gradient_printer_evaluator_0__", "only_h"]
    first = evs["__gradient_printer_evaluator_0__"]
    assert (first.type, list(first.input_layers)) == ("gradient_printer", ["g", "h", "x"])
    assert list(evs["only_h"].input_layers) == ["h"]


def blocks(text):
    """layer name -> list of printed matrices (rows of floats), in order."""
    found: dict[str, list] = {}
    for name, body in re.findall(r"layer=(\w+) grad matrix:\n((?:[-0-9.e+ ]+\n?)+)", text):
        rows = [[float(v) for v in line.split()] for line in body.strip().splitlines()]
        found.setdefault(name, []).append(rows)
    return found


def test_trainer_prints_hand_checked_gradients():
    stream = io.StringIO()
    trainer = Trainer(mp.parse_config(network), None, seed=1, dtype="float64",
                      log=Progress(stream=stream, log_period=100))
    trainer.net.parameters["_h.w0"][...] = [[1.0, 2.0], [3.0, 4.0]]
    trainer.net.parameters["g_w"][...] = [[0.5], [-0.5]]
    feed = {"x": np.array([[1.0, 0.0], [0.0, 1.0]])}
    trainer.train_batch(0, 0, feed)
    printed = blocks(stream.getvalue())
    # h = x W = [[1, 2], [3, 4]]; g's input 0.5 h0 - 0.5 h1 = -0.5 in both rows;
    # sum_cost seeds dg = 1, so g's gradient is 1 - tanh(-0.5)^2 (after the derivative)
    dg = 1.0 - math.tanh(-0.5) ** 2                      # 0.786448
    assert printed["g"] == [[[pytest.approx(dg, rel=1e-5)]] * 2]
    # h is linear: dh = dg * [0.5, -0.5]; printed by both printers
    dh = [pytest.approx(0.5 * dg, rel=1e-5), pytest.approx(-0.5 * dg, rel=1e-5)]
    assert printed["h"] == [[dh, dh], [dh, dh]]
    # the data layer: dx = dh W^T = [0.5 dg (1 - 2), 0.5 dg (3 - 4)]
    dx = [pytest.approx(-0.5 * dg, rel=1e-5)] * 2
    assert printed["x"] == [[dx, dx]]
    text = stream.getvalue()
    assert text.index("layer=g grad") < text.index("layer=h grad") < text.index("layer=x grad")


def test_test_passes_print_nothing_and_other_training_is_unchanged():
    stream = io.StringIO()
    trainer = Trainer(mp.parse_config(network), None, seed=1, dtype="float64",
                      log=Progress(stream=stream, log_period=100))
    plain = mp.compile(mp.parse_config(network).model_config, dtype="float64", seed=1)
    feed = {"x": np.array([[0.3, -0.2], [1.0, 0.5], [-1.0, 2.0]])}
    for name in plain.parameters:
        plain.parameters[name][...] = trainer.net.parameters[name]
    trainer.evaluate([feed])
    assert "grad matrix" not in stream.getvalue()
    # the network keeps the printed layers' gradients; the parameter gradients are those of
    # a network that keeps none
    trainer.net.forward(feed, training=True)
    kept = trainer.net.backward().parameters
    plain.forward(feed, training=True)
    free = plain.backward().parameters
    assert plain.kept_gradients == {} and set(trainer.net.kept_gradients) == {"g", "h", "x"}
    for name in free:
        np.testing.assert_allclose(kept[name], free[name])


def test_needs_an_input():
    def net():
        from minipaddle import gradient_printer_evaluator
        gradient_printer_evaluator(input=[])

    with pytest.raises(ConfigError, match="expected at least one input layer"):
        model_of(net)
