"""Second-round cost kernels: slow per-element references (Paddle's C++ loops re-told in
Python), float64 finite-difference gradients, float32 kept."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minipaddle.kernels import cost_extra as K
from numgrad import numeric_grad

cases = st.fixed_dictionaries({"N": st.integers(1, 5), "K": st.integers(1, 6),
                               "seed": st.integers(0, 2**16)})


def _away_from(values, points, gap=1e-3):
    """Move entries of ``values`` lying within ``gap`` of a kink (``points``) off it, so the
    finite differences never straddle one."""
    out = values.copy()
    for q in points:
        near = np.abs(out - q) < gap
        out[near] = q + 3 * gap
    return out


def _check_grad(forward, backward_grad, x, dcost):
    num = numeric_grad(lambda: float(np.sum(dcost * forward())), x)
    np.testing.assert_allclose(backward_grad, num, rtol=1e-6, atol=1e-7)


# --- smooth L1 ---------------------------------------------------------------------------------

def ref_smooth_l1(y, t):
    out = []
    for n in range(y.shape[0]):
        c = 0.0
        for j in range(y.shape[1]):
            a = abs(y[n, j] - t[n, j])
            c += 0.5 * a * a if a < 1.0 else a - 0.5
        out.append([c])
    return np.array(out)


@given(case=cases)
def test_smooth_l1(case):
    rng = np.random.default_rng(case["seed"])
    N, K_ = case["N"], case["K"]
    t = rng.standard_normal((N, K_))
    y = t + _away_from(rng.uniform(-3, 3, (N, K_)), [-1, 0, 1])
    dcost = rng.standard_normal((N, 1))
    np.testing.assert_allclose(K.smooth_l1_forward(y, t), ref_smooth_l1(y, t), rtol=1e-13)
    _check_grad(lambda: K.smooth_l1_forward(y, t), K.smooth_l1_backward(y, t, dcost), y, dcost)


def test_smooth_l1_threshold_is_one():
    y = np.array([[0.5, 1.0, -2.0]])
    t = np.zeros((1, 3))
    assert K.smooth_l1_forward(y, t)[0, 0] == pytest.approx(0.125 + 0.5 + 1.5)
    np.testing.assert_array_equal(K.smooth_l1_backward(y, t, np.ones(1)), [[0.5, 1.0, -1.0]])


# --- Huber regression --------------------------------------------------------------------------

def ref_huber_regression(y, t, delta):
    out = []
    for n in range(y.shape[0]):
        c = 0.0
        for j in range(y.shape[1]):
            a = abs(t[n, j] - y[n, j])
            c += a * a / 2 if a <= delta else delta * (a - delta / 2)
        out.append([c])
    return np.array(out)


@given(case=cases, delta=st.sampled_from([0.5, 1.0, 2.0]))
def test_huber_regression(case, delta):
    rng = np.random.default_rng(case["seed"])
    N, K_ = case["N"], case["K"]
    t = rng.standard_normal((N, K_))
    y = t + _away_from(rng.uniform(-4, 4, (N, K_)), [-delta, 0, delta])
    dcost = rng.standard_normal((N, 1))
    np.testing.assert_allclose(K.huber_regression_forward(y, t, delta=delta),
                               ref_huber_regression(y, t, delta), rtol=1e-13)
    _check_grad(lambda: K.huber_regression_forward(y, t, delta=delta),
                K.huber_regression_backward(y, t, dcost, delta=delta), y, dcost)


# --- Huber two-class ---------------------------------------------------------------------------

def ref_huber_classification(y, labels):
    out = []
    for n in range(y.shape[0]):
        s = 2 * int(labels[n]) - 1
        a = y[n, 0] * s
        out.append([-4 * a if a < -1 else (1 - a) ** 2 if a < 1 else 0.0])
    return np.array(out)


@given(case=cases)
def test_huber_classification(case):
    rng = np.random.default_rng(case["seed"])
    N = case["N"]
    y = _away_from(rng.uniform(-3, 3, (N, 1)), [-1, 1])
    labels = rng.integers(0, 2, N)
    dcost = rng.standard_normal((N, 1))
    np.testing.assert_allclose(K.huber_classification_forward(y, labels),
                               ref_huber_classification(y, labels), rtol=1e-13)
    _check_grad(lambda: K.huber_classification_forward(y, labels),
                K.huber_classification_backward(y, labels, dcost), y, dcost)


def test_huber_classification_label_zero_is_minus_one():
    y = np.array([[0.5], [0.5], [-2.0], [2.0]])
    labels = np.array([1, 0, 1, 1])
    np.testing.assert_allclose(K.huber_classification_forward(y, labels),
                               [[0.25], [2.25], [8.0], [0.0]])
    np.testing.assert_allclose(K.huber_classification_backward(y, labels, np.ones((4, 1))),
                               [[-1.0], [3.0], [-4.0], [0.0]])


# --- sum cost ----------------------------------------------------------------------------------

@given(case=cases)
def test_sum_cost(case):
    rng = np.random.default_rng(case["seed"])
    N, K_ = case["N"], case["K"]
    x = rng.standard_normal((N, K_, 2))
    dcost = rng.standard_normal((N, 1))
    ref = [[sum(x[n].ravel().tolist())] for n in range(N)]
    np.testing.assert_allclose(K.sum_cost_forward(x), ref, rtol=1e-13)
    dx = K.sum_cost_backward(x, dcost)
    assert dx.shape == x.shape
    _check_grad(lambda: K.sum_cost_forward(x), dx, x, dcost)


# --- rank cost ---------------------------------------------------------------------------------

def ref_rank_cost(left, right, label):
    out = []
    for n in range(left.shape[0]):
        o = min(max(left[n, 0] - right[n, 0], -40.0), 40.0)
        out.append([math.log(1 + math.exp(o)) - label[n] * o])
    return np.array(out)


@given(case=cases)
def test_rank_cost(case):
    rng = np.random.default_rng(case["seed"])
    N = case["N"]
    left, right = rng.standard_normal((N, 1)) * 3, rng.standard_normal((N, 1)) * 3
    label = rng.choice([0.0, 0.5, 1.0], N)
    dcost = rng.standard_normal((N, 1))
    np.testing.assert_allclose(K.rank_cost_forward(left, right, label),
                               ref_rank_cost(left, right, label), rtol=1e-12, atol=1e-14)
    dl, dr = K.rank_cost_backward(left, right, label, dcost)
    _check_grad(lambda: K.rank_cost_forward(left, right, label), dl, left, dcost)
    _check_grad(lambda: K.rank_cost_forward(left, right, label), dr, right, dcost)


def test_rank_cost_clamps_margin_but_not_gradient():
    left, right = np.array([[100.0], [-100.0]]), np.zeros((2, 1))
    label = np.array([0.0, 1.0])
    np.testing.assert_allclose(K.rank_cost_forward(left, right, label),
                               [[40 + math.log1p(math.exp(-40))], [math.log1p(math.exp(-40)) + 40]])
    dl, dr = K.rank_cost_backward(left, right, label, np.ones((2, 1)))
    s = 1 / (1 + math.exp(-40))
    np.testing.assert_allclose(dl, [[s], [1 - s - 1]], rtol=1e-12)
    np.testing.assert_array_equal(dr, -dl)


# --- multi binary label cross entropy ----------------------------------------------------------

def ref_multi_binary(p, label):
    out = []
    for n in range(p.shape[0]):
        c = 0.0
        for j in range(p.shape[1]):
            c -= math.log(p[n, j]) if label[n, j] > 0.5 else math.log(1 - p[n, j])
        out.append([c])
    return np.array(out)


def ref_multi_binary_sparse(p, ids):
    """Paddle's sparse-label loop: -sum_j log(1 - p_j) - sum_{j in ids} log(p_j / (1 - p_j))."""
    out = []
    for n in range(p.shape[0]):
        c = -sum(math.log(1 - p[n, j]) for j in range(p.shape[1]))
        c -= sum(math.log(p[n, j] / (1 - p[n, j])) for j in ids[n])
        out.append([c])
    return np.array(out)


@given(case=cases)
def test_multi_binary_label_cross_entropy(case):
    rng = np.random.default_rng(case["seed"])
    N, K_ = case["N"], case["K"]
    p = rng.uniform(0.05, 0.95, (N, K_))
    label = (rng.uniform(size=(N, K_)) < 0.4).astype(np.float64)
    dcost = rng.standard_normal((N, 1))
    cost = K.multi_binary_label_cross_entropy_forward(p, label)
    np.testing.assert_allclose(cost, ref_multi_binary(p, label), rtol=1e-13)
    ids = [np.flatnonzero(label[n]) for n in range(N)]
    np.testing.assert_allclose(cost, ref_multi_binary_sparse(p, ids), rtol=1e-10)
    _check_grad(lambda: K.multi_binary_label_cross_entropy_forward(p, label),
                K.multi_binary_label_cross_entropy_backward(p, label, dcost), p, dcost)


def test_multi_binary_label_threshold_half():
    p = np.array([[0.25, 0.25]])
    label = np.array([[0.5, 0.51]])   # 0.5 is off, 0.51 on (Paddle's label > 0.5)
    assert K.multi_binary_label_cross_entropy_forward(p, label)[0, 0] == pytest.approx(
        -math.log(0.75) - math.log(0.25))


# --- cross entropy with self-normalisation -----------------------------------------------------

def ref_selfnorm(p, labels, alpha):
    out = []
    for n in range(p.shape[0]):
        z = sum(p[n].tolist())
        out.append([-math.log(p[n, labels[n]]) + math.log(z) + alpha * math.log(z) ** 2])
    return np.array(out)


@given(case=cases, alpha=st.sampled_from([0.0, 0.1, 1.0]))
def test_cross_entropy_with_selfnorm(case, alpha):
    rng = np.random.default_rng(case["seed"])
    N, K_ = case["N"], case["K"]
    p = rng.uniform(0.05, 1.5, (N, K_))
    labels = rng.integers(0, K_, N)
    dcost = rng.standard_normal((N, 1))
    np.testing.assert_allclose(K.cross_entropy_with_selfnorm_forward(p, labels, alpha=alpha),
                               ref_selfnorm(p, labels, alpha), rtol=1e-12)
    _check_grad(lambda: K.cross_entropy_with_selfnorm_forward(p, labels, alpha=alpha),
                K.cross_entropy_with_selfnorm_backward(p, labels, dcost, alpha=alpha), p, dcost)


# --- dtype -------------------------------------------------------------------------------------

def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    y = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
    t = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
    d = np.ones((3, 1), np.float32)
    ids = np.array([0, 1, 3])
    col = y[:, :1]
    outs = [
        K.smooth_l1_forward(y, t), K.smooth_l1_backward(y, t, d),
        K.huber_regression_forward(y, t, delta=0.3),
        K.huber_regression_backward(y, t, d, delta=0.3),
        K.huber_classification_forward(col, ids % 2), K.huber_classification_backward(col, ids % 2, d),
        K.sum_cost_forward(y), K.sum_cost_backward(y, d),
        K.rank_cost_forward(col, col[::-1], ids / 3), *K.rank_cost_backward(col, col[::-1], ids / 3, d),
        K.multi_binary_label_cross_entropy_forward(y, t),
        K.multi_binary_label_cross_entropy_backward(y, t, d),
        K.cross_entropy_with_selfnorm_forward(y, ids, alpha=0.1),
        K.cross_entropy_with_selfnorm_backward(y, ids, d, alpha=0.1),
    ]
    for out in outs:
        assert out.dtype == np.float32
