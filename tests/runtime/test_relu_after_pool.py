"""A relu whose only reader is a max pool runs after the pooling (a quarter of the values for
2x2 windows). maxpool(relu(z)) == relu(maxpool(z)), and the gradients agree too: these tests
compare networks with and without the move, bit for bit, on inputs full of negative windows,
zero windows and ties, and check that fetching or seeding the moved layer still sees relu(z)."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403


def build(pool_size, pool_stride, pool_padding=0):
    def config():
        x = data_layer(name="x", size=3 * 9 * 9, height=9, width=9)
        lab = data_layer(name="lab", size=4)
        c = img_conv_layer(input=x, name="c", filter_size=2, num_filters=4, num_channels=3,
                           padding=1, act=ReluActivation())
        pl = img_pool_layer(input=c, name="p", pool_size=pool_size, stride=pool_stride,
                            padding=pool_padding, pool_type=MaxPooling())
        f = fc_layer(input=pl, name="f", size=4, act=SoftmaxActivation())
        outputs(classification_cost(input=f, label=lab, name="cost"))
    return mp.parse_config(config).model_config


def pair(model, monkeypatch):
    moved = mp.compile(model, dtype="float64", seed=3)
    plain = mp.compile(model, dtype="float64", seed=3)
    # the package has no switch for the rewrite: this network's list of moves is emptied
    monkeypatch.setattr(plain, "_relu_to_pool", {})
    assert moved._relu_to_pool == {"c": "p"} and plain._relu_to_pool == {}
    return moved, plain


def feed(rng):
    # small integers: whole windows negative, windows whose maximum is 0, ties
    return {"x": rng.integers(-3, 3, size=(5, 3 * 9 * 9)).astype(np.float64),
            "lab": rng.integers(0, 4, size=5)}


@pytest.mark.parametrize("size, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 0)])
def test_moved_relu_gives_identical_outputs_and_gradients(size, stride, padding, monkeypatch):
    moved, plain = pair(build(size, stride, padding), monkeypatch)
    rng = np.random.default_rng(0)
    for _ in range(3):
        data = feed(rng)
        a = moved.forward(data, training=True, fetch=["cost", "p", "f"])
        assert moved._last["acts"]["c"] == "" and moved._last["acts"]["p"] == "relu"
        b = plain.forward(data, training=True, fetch=["cost", "p", "f"])
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
        ga, gb = moved.backward(input_grads=True), plain.backward(input_grads=True)
        assert sorted(ga.parameters) == sorted(gb.parameters)
        for name in ga.parameters:
            np.testing.assert_array_equal(ga.parameters[name], gb.parameters[name])
        np.testing.assert_array_equal(ga.inputs["x"], gb.inputs["x"])


def test_fetching_or_seeding_the_moved_layer_sees_its_relu(monkeypatch):
    moved, plain = pair(build(2, 2), monkeypatch)
    rng = np.random.default_rng(1)
    data = feed(rng)
    # fetched: the relu stays in place for that pass
    a = moved.forward(data, training=True, fetch=["c", "cost"])
    assert moved._last["acts"]["c"] == "relu"
    b = plain.forward(data, training=True, fetch=["c", "cost"])
    np.testing.assert_array_equal(a["c"], b["c"])
    assert a["c"].min() >= 0
    # not fetched but seeded: the seed is a gradient of relu(z)
    moved.forward(data, training=True)
    plain.forward(data, training=True)
    seed = {"c": rng.normal(size=(5, 4 * 10 * 10)), "cost": np.ones((5, 1))}
    ga, gb = moved.backward(seed, input_grads=True), plain.backward(seed, input_grads=True)
    for name in ga.parameters:
        np.testing.assert_allclose(ga.parameters[name], gb.parameters[name], rtol=1e-12,
                                   atol=1e-12)
    np.testing.assert_allclose(ga.inputs["x"], gb.inputs["x"], rtol=1e-12, atol=1e-12)


def test_lenet_moves_both_relus():
    from pathlib import Path

    net = mp.compile(mp.parse_config(Path(__file__).resolve().parents[2] / "model_zoo"
                                     / "lenet.yaml"))
    assert net._relu_to_pool == {"conv1_conv": "conv1_pool", "conv2_conv": "conv2_pool"}
