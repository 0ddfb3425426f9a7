"""The element-wise and vector layers of issue 16 through the Network: forward against slow
references written here (loops over samples and values), backward by the float64
finite-difference check, the model-zoo YAML form, summary shapes and the argument errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.config import ConfigError
from minipaddle.config.summary import format_summary

from gradcheck import check_network_gradients
from tests.dsl_models import model_of

N = 4


def compiled(fn, seed: int = 1):
    return mp.compile(model_of(fn), dtype="float64", seed=seed)


def random_feed(net, seed: int = 2, low: float = -1.0, high: float = 1.0, n: int = N,
                overrides: dict | None = None) -> dict:
    rng = np.random.default_rng(seed)
    feed = {}
    for name in net.order:
        if net.configs[name].type == "data":
            feed[name] = rng.uniform(low, high, size=(n,) + net.shapes[name])
    feed.update(overrides or {})
    return feed


def forward(net, feed, *names):
    out = net.forward(feed, training=True, fetch=list(names))
    return [out[n] for n in names]


# ------------------------------------------------------------------------------ slope_intercept

def test_slope_intercept_forward_and_gradient():
    def net():
        x = data_layer(name="x", size=12, height=2, width=3)
        a = slope_intercept_layer(input=x, name="a", slope=-1.5, intercept=0.25)
        b = slope_intercept_layer(input=a, name="b")          # Paddle's defaults: identity
        return [a, b]
    net_ = compiled(net)
    feed = random_feed(net_)
    a, b = forward(net_, feed, "a", "b")
    x = feed["x"].reshape(N, 12)
    expected = np.array([[-1.5 * x[n, j] + 0.25 for j in range(12)] for n in range(N)])
    np.testing.assert_allclose(a, expected, rtol=1e-13)
    np.testing.assert_allclose(b, expected, rtol=1e-13)
    check_network_gradients(net_, feed)


# ------------------------------------------------------------------------------------ scaling

def test_scaling_forward_and_gradient():
    def net():
        w = data_layer(name="w", size=1)
        x = data_layer(name="x", size=5)
        return scaling_layer(input=x, weight=w, name="s")
    net_ = compiled(net)
    feed = random_feed(net_)
    (s,) = forward(net_, feed, "s")
    expected = np.array([[feed["w"][n, 0] * feed["x"][n, j] for j in range(5)]
                         for n in range(N)])
    np.testing.assert_allclose(s, expected, rtol=1e-13)
    results = check_network_gradients(net_, feed)
    assert {"input:w", "input:x"} <= set(results)


def test_scaling_refuses_a_weight_wider_than_one():
    w = data_layer(name="w", size=2)
    x = data_layer(name="x", size=5)
    with pytest.raises(ConfigError, match=r"scaling_layer.*weight=.*size 1.*has size 2"):
        scaling_layer(input=x, weight=w)
