"""The second round of cost layers and the row normalisations through the Network API:
forward against slow per-element loops written here, backward by float64 finite differences,
and Paddle's quirks (sum_cost and rank_cost ignore coeff)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.config import ConfigError

from gradcheck import check_network_gradients
from tests.dsl_models import model_of

N = 4


def build(fn):
    return mp.compile(model_of(fn), dtype="float64", seed=1)


def rows(rng, n, d, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=(n, d))


def test_smooth_l1_and_huber_regression_forward_and_gradients():
    def net():
        x = data_layer(name="x", size=5)
        t = data_layer(name="t", size=5)
        y = fc_layer(input=x, size=5, act=LinearActivation())
        return [smooth_l1_cost(input=y, label=t),
                huber_regression_cost(input=y, label=t, delta=0.7)]

    n = build(net)
    rng = np.random.default_rng(0)
    feed = {"x": rows(rng, N, 5), "t": rows(rng, N, 5)}
    out = n.forward(feed, fetch=["__fc_layer_0__", "__smooth_l1_cost_0__",
                                 "__huber_regression_cost_0__"])
    y = out["__fc_layer_0__"]
    for i in range(N):
        s = h = 0.0
        for j in range(5):
            d = y[i, j] - feed["t"][i, j]
            s += 0.5 * d * d if abs(d) < 1 else abs(d) - 0.5
            h += 0.5 * d * d if abs(d) <= 0.7 else 0.7 * (abs(d) - 0.35)
        assert out["__smooth_l1_cost_0__"][i, 0] == pytest.approx(s)
        assert out["__huber_regression_cost_0__"][i, 0] == pytest.approx(h)
    check_network_gradients(n, feed)


def test_huber_classification_forward_and_gradients():
    def net():
        x = data_layer(name="x", size=3)
        lab = data_layer(name="lab", size=1)
        y = fc_layer(input=x, size=1, act=LinearActivation())
        return huber_classification_cost(input=y, label=lab)

    n = build(net)
    rng = np.random.default_rng(1)
    feed = {"x": rows(rng, 6, 3), "lab": np.array([[0.], [1.], [1.], [0.], [1.], [0.]])}
    out = n.forward(feed, fetch=["__fc_layer_0__", "__huber_classification_cost_0__"])
    for i in range(6):
        a = out["__fc_layer_0__"][i, 0] * (2 * feed["lab"][i, 0] - 1)
        want = -4 * a if a < -1 else ((1 - a) ** 2 if a < 1 else 0.0)
        assert out["__huber_classification_cost_0__"][i, 0] == pytest.approx(want)
    check_network_gradients(n, feed)
    with pytest.raises(ValueError, match="label 2.0 is not 0 or 1"):
        n.forward({"x": feed["x"][:1], "lab": np.array([[2.0]])})


def test_multi_binary_and_selfnorm_cross_entropy():
    def net():
        x = data_layer(name="x", size=3)
        on = data_layer(name="on", size=4)
        cls = data_layer(name="cls", size=4)
        p = fc_layer(input=x, size=4, act=SigmoidActivation())
        return [multi_binary_label_cross_entropy(input=p, label=on),
                cross_entropy_with_selfnorm(input=p, label=cls, softmax_selfnorm_alpha=0.3)]

    n = build(net)
    assert n.label_slots == {"cls": 4} and n.shapes["__cross_entropy_with_selfnorm_0__"] == (1,)
    rng = np.random.default_rng(2)
    feed = {"x": rows(rng, N, 3), "on": rng.integers(0, 2, size=(N, 4)).astype(float),
            "cls": rng.integers(0, 4, size=N)}
    out = n.forward(feed, fetch=["__fc_layer_0__", "__multi_binary_label_cross_entropy_0__",
                                 "__cross_entropy_with_selfnorm_0__"])
    p = out["__fc_layer_0__"]
    for i in range(N):
        mb = -sum(math.log(p[i, j]) if feed["on"][i, j] > 0.5 else math.log(1 - p[i, j])
                  for j in range(4))
        z = sum(p[i])
        sn = -math.log(p[i, feed["cls"][i]]) + math.log(z) + 0.3 * math.log(z) ** 2
        assert out["__multi_binary_label_cross_entropy_0__"][i, 0] == pytest.approx(mb)
        assert out["__cross_entropy_with_selfnorm_0__"][i, 0] == pytest.approx(sn)
    check_network_gradients(n, feed)


def test_sum_cost_and_rank_cost_ignore_coeff():
    def net():
        x = data_layer(name="x", size=3)
        lab = data_layer(name="lab", size=1)
        w = data_layer(name="w", size=1)
        left = fc_layer(input=x, size=1, act=LinearActivation(), name="left")
        right = fc_layer(input=x, size=1, act=LinearActivation(), name="right")
        return [sum_cost(input=fc_layer(input=x, size=2, name="h", act=LinearActivation())),
                rank_cost(left=left, right=right, label=lab, weight=w, coeff=5.0)]

    n = build(net)
    rng = np.random.default_rng(3)
    feed = {"x": rows(rng, N, 3), "lab": np.array([[0.], [0.5], [1.], [1.]]),
            "w": rng.uniform(0.5, 2, size=(N, 1))}
    out = n.forward(feed, training=True, fetch=["h", "left", "right", "__sum_cost_0__",
                                                "__rank_cost_0__"])
    np.testing.assert_allclose(out["__sum_cost_0__"][:, 0], out["h"].sum(axis=1))
    for i in range(N):
        o = out["left"][i, 0] - out["right"][i, 0]
        want = (math.log(1 + math.exp(o)) - feed["lab"][i, 0] * o) * feed["w"][i, 0]
        assert out["__rank_cost_0__"][i, 0] == pytest.approx(want)
    # seeded with ones: the gradient into the left score is w * (sigmoid(o) - label), coeff 5
    # never applied (Paddle's RankingCost is a plain layer); likewise 1 into every h value
    grads = n.backward()
    x = feed["x"]
    o = out["left"][:, 0] - out["right"][:, 0]
    dleft = feed["w"][:, 0] * (1 / (1 + np.exp(-o)) - feed["lab"][:, 0])
    np.testing.assert_allclose(grads.parameters["_left.w0"][:, 0], x.T @ dleft)
    np.testing.assert_allclose(grads.parameters["_h.w0"], x.T @ np.ones((N, 2)))
    check_network_gradients(n, feed)


def test_row_norms_forward_and_gradients():
    def net():
        x = data_layer(name="x", size=5)
        return [row_l2_norm_layer(input=fc_layer(input=x, size=4, name="a")),
                sum_to_one_norm_layer(input=fc_layer(input=x, size=4, name="b",
                                                     act=SigmoidActivation()))]

    n = build(net)
    rng = np.random.default_rng(4)
    feed = {"x": rows(rng, N, 5)}
    out = n.forward(feed, fetch=["a", "b", "__row_l2_norm_layer_0__",
                                 "__sum_to_one_norm_layer_0__"])
    for i in range(N):
        norm = math.sqrt(sum(v * v for v in out["a"][i]))
        total = sum(out["b"][i])
        for j in range(4):
            assert out["__row_l2_norm_layer_0__"][i, j] == pytest.approx(out["a"][i, j] / norm)
            assert out["__sum_to_one_norm_layer_0__"][i, j] == pytest.approx(
                out["b"][i, j] / total)
    check_network_gradients(n, feed)


def test_huber_regression_sizes_are_checked_at_compile():
    def net():
        return huber_regression_cost(input=data_layer(name="x", size=3),
                                     label=data_layer(name="t", size=4))

    with pytest.raises(ConfigError, match="'t' has size 4 but the input 'x' has size 3"):
        build(net)


@pytest.mark.parametrize("call, message", [
    (lambda: smooth_l1_cost(input=data_layer(name="a", size=3),
                            label=data_layer(name="b", size=2)),
     "label=layer 'b': size 2 differs from the input's size 3"),
    (lambda: rank_cost(left=data_layer(name="a", size=2), right=data_layer(name="b", size=1),
                       label=data_layer(name="c", size=1)),
     "left=layer 'a': must have size 1"),
    (lambda: huber_classification_cost(input=data_layer(name="a", size=2),
                                       label=data_layer(name="b", size=1)),
     "input=layer 'a': must have size 1"),
    (lambda: cross_entropy_with_selfnorm(input=data_layer(name="a", size=2),
                                         label=fc_layer(input=data_layer(name="b", size=2),
                                                        size=1, name="f")),
     "label=layer 'f': must be a data layer"),
    (lambda: huber_regression_cost(input=data_layer(name="a", size=2),
                                   label=data_layer(name="b", size=2), delta=0.0),
     "delta"),
])
def test_clear_errors(call, message):
    with pytest.raises(ConfigError, match=message):
        model_of(call)
