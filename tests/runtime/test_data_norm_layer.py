"""data_norm at run time: the forward per strategy against a slow per-element reference
(Paddle's DataNormLayer::forward), the input's gradient by float64 finite differences and no
gradient to the static statistics."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403

from gradcheck import check_network_gradients
from tests.dsl_models import model_of

N, D = 3, 4


def stats_of(rng):
    """Paddle's rows: min, 1/(max - min), mean, 1/std, 1/10^k, per feature."""
    lo = rng.uniform(-3.0, -1.0, D)
    hi = rng.uniform(1.0, 4.0, D)
    mean = rng.uniform(-0.5, 0.5, D)
    std = rng.uniform(0.5, 2.0, D)
    k = rng.integers(0, 3, D)
    return np.stack([lo, 1.0 / (hi - lo), mean, 1.0 / std, 10.0 ** -k])


def reference(x, s, strategy):
    out = np.empty_like(x)
    for n in range(x.shape[0]):
        for j in range(x.shape[1]):
            if strategy == "z-score":
                out[n, j] = (x[n, j] - s[2, j]) * s[3, j]
            elif strategy == "min-max":
                out[n, j] = (x[n, j] - s[0, j]) * s[1, j]
            else:
                out[n, j] = x[n, j] * s[4, j]
    return out


@pytest.mark.parametrize("strategy", ["z-score", "min-max", "decimal-scaling"])
def test_forward_and_input_gradient(strategy):
    def net():
        x = data_layer(name="x", size=D)
        n = data_norm_layer(input=x, name="n", data_norm_strategy=strategy)
        return fc_layer(input=n, size=2, name="f", act=TanhActivation())

    net_ = mp.compile(model_of(net), dtype="float64", seed=3)
    rng = np.random.default_rng(7)
    stats = stats_of(rng)
    assert net_.parameters["_n.w0"].shape == (5, D)
    net_.parameters["_n.w0"][...] = stats
    assert "_n.w0" in net_.parameters.static
    feed = {"x": rng.uniform(-3.0, 3.0, size=(N, D))}
    out = net_.forward(feed, fetch=["n"])["n"]
    np.testing.assert_allclose(out, reference(feed["x"], stats, strategy), rtol=1e-12)
    results = check_network_gradients(net_, feed)
    assert "input:x" in results and "_n.w0" not in results
    np.testing.assert_array_equal(net_.parameters["_n.w0"], stats)   # never updated


def test_input_gradient_is_dy_times_the_factor():
    """Paddle's backward: dx = dy * stdReciprocal (z-score), by hand."""
    def net():
        return data_norm_layer(input=data_layer(name="x", size=2), name="n")

    net_ = mp.compile(model_of(net), dtype="float64")
    net_.parameters["_n.w0"][...] = [[0, 0], [0, 0], [1.0, -1.0], [0.5, 0.25], [0, 0]]
    out = net_.forward({"x": np.array([[3.0, 3.0]])}, training=True)["n"]
    np.testing.assert_allclose(out, [[1.0, 1.0]])          # (3-1)*0.5, (3+1)*0.25
    grads = net_.backward({"n": np.array([[2.0, 4.0]])}, input_grads=True)
    np.testing.assert_allclose(grads.inputs["x"], [[1.0, 1.0]])
    assert "_n.w0" not in grads.parameters
