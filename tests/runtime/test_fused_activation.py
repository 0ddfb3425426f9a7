"""Batch norm and addto apply their relu inside their kernels (rewrites.fuse_activations):
these tests compare networks with and without the fusion, bit for bit (outputs, parameter and
input gradients, kept gradients, moving statistics), in training, gradient-check and test
passes, with dropout, and check that a relu moving after its max pool is not fused."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
import minipaddle.runtime.network as network_module
from minipaddle import *  # noqa: F403


def residual():
    x = data_layer(name="x", size=3 * 6 * 6, height=6, width=6)
    lab = data_layer(name="lab", size=4)
    c1 = img_conv_layer(input=x, name="c1", filter_size=3, num_filters=4, num_channels=3,
                        padding=1, act=LinearActivation(), bias_attr=False)
    b1 = batch_norm_layer(input=c1, name="b1", act=ReluActivation())
    c2 = img_conv_layer(input=b1, name="c2", filter_size=3, num_filters=4, padding=1,
                        act=LinearActivation(), bias_attr=False)
    b2 = batch_norm_layer(input=c2, name="b2", act=LinearActivation())
    add = addto_layer(input=[b2, b1], name="add", act=ReluActivation())
    b3 = batch_norm_layer(input=add, name="b3", act=ReluActivation(),
                          layer_attr=ExtraLayerAttribute(drop_rate=0.3))
    add2 = addto_layer(input=[b3, add], name="add2", act=ReluActivation(), bias_attr=True)
    f = fc_layer(input=add2, name="f", size=4, act=SoftmaxActivation())
    outputs(classification_cost(input=f, label=lab, name="cost"))


def bn_before_pool():
    x = data_layer(name="x", size=3 * 6 * 6, height=6, width=6)
    lab = data_layer(name="lab", size=4)
    c1 = img_conv_layer(input=x, name="c1", filter_size=3, num_filters=4, num_channels=3,
                        padding=1, act=LinearActivation(), bias_attr=False)
    b1 = batch_norm_layer(input=c1, name="b1", act=ReluActivation())
    p = img_pool_layer(input=b1, name="p", pool_size=2, stride=2, pool_type=MaxPooling())
    f = fc_layer(input=p, name="f", size=4, act=SoftmaxActivation())
    outputs(classification_cost(input=f, label=lab, name="cost"))


def pair(config, monkeypatch):
    model = mp.parse_config(config).model_config
    fused = mp.compile(model, dtype="float64", seed=3)
    # the package has no switch for the fusion: this network is compiled without it
    monkeypatch.setattr(network_module, "fuse_activations", lambda *args: None)
    plain = mp.compile(model, dtype="float64", seed=3)
    return fused, plain


def feed(rng):
    # small integers: many exact zeros before the relus
    return {"x": rng.integers(-2, 3, size=(5, 3 * 6 * 6)).astype(np.float64),
            "lab": rng.integers(0, 4, size=5)}


@pytest.mark.parametrize("training", [True, "check"])
def test_fused_relu_gives_identical_outputs_and_gradients(training, monkeypatch):
    fused, plain = pair(residual, monkeypatch)
    assert {n: fused.layers[n].fused_activation for n in ("b1", "b2", "b3", "add", "add2")} \
        == {"b1": "relu", "b2": "", "b3": "relu", "add": "relu", "add2": "relu"}
    assert fused.activations["b1"] == "" and plain.activations["b1"] == "relu"
    assert plain.layers["b1"].fused_activation == ""
    kept = frozenset(["b1", "add", "b3", "b2"])
    fused.keep_gradients = plain.keep_gradients = kept
    rng = np.random.default_rng(0)
    fetch = ["cost", "b1", "add", "b3", "add2"]
    for _ in range(3):
        data = feed(rng)
        seed = int(rng.integers(1 << 30))
        fused.rng, plain.rng = np.random.default_rng(seed), np.random.default_rng(seed)
        a = fused.forward(data, training=training, fetch=fetch)
        b = plain.forward(data, training=training, fetch=fetch)
        for name in fetch:
            np.testing.assert_array_equal(a[name], b[name])
        assert np.any(a["b1"] == 0) and np.any(a["add"] == 0)
        ga, gb = fused.backward(input_grads=True), plain.backward(input_grads=True)
        assert sorted(ga.parameters) == sorted(gb.parameters)
        for name in ga.parameters:
            np.testing.assert_array_equal(ga.parameters[name], gb.parameters[name])
        np.testing.assert_array_equal(ga.inputs["x"], gb.inputs["x"])
        assert sorted(fused.kept_gradients) == sorted(kept)
        for name in kept:
            np.testing.assert_array_equal(fused.kept_gradients[name],
                                          plain.kept_gradients[name])
    for name in fused.parameters:      # moving statistics included
        np.testing.assert_array_equal(fused.parameters[name], plain.parameters[name])


def test_fused_relu_in_test_passes_and_seeded_gradients(monkeypatch):
    fused, plain = pair(residual, monkeypatch)
    rng = np.random.default_rng(1)
    data = feed(rng)
    fetch = ["cost", "b1", "add", "add2"]
    a = fused.forward(data, training=False, fetch=fetch)
    b = plain.forward(data, training=False, fetch=fetch)
    for name in fetch:
        np.testing.assert_array_equal(a[name], b[name])
        assert np.all(a[name] >= 0) or name == "cost"
    # a gradient seeded at a fused layer is the gradient of its relu's output
    data = feed(rng)
    fused.forward(data, training="check", fetch=["add", "b1"])
    plain.forward(data, training="check", fetch=["add", "b1"])
    seeds = {"add": rng.standard_normal((5, 4 * 36)), "b1": rng.standard_normal((5, 4 * 36))}
    ga, gb = fused.backward(seeds, input_grads=True), plain.backward(seeds, input_grads=True)
    for name in gb.parameters:
        np.testing.assert_array_equal(ga.parameters[name], gb.parameters[name])
    np.testing.assert_array_equal(ga.inputs["x"], gb.inputs["x"])


def test_relu_before_a_max_pool_moves_instead_of_fusing(monkeypatch):
    fused, plain = pair(bn_before_pool, monkeypatch)
    assert fused._relu_to_pool == {"b1": "p"}
    assert fused.layers["b1"].fused_activation == ""
    data = feed(np.random.default_rng(2))
    a = fused.forward(data, training=True)
    assert fused._last["acts"]["b1"] == "" and fused._last["acts"]["p"] == "relu"
    b = plain.forward(data, training=True)
    np.testing.assert_array_equal(a["cost"], b["cost"])
