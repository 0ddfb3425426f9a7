"""Cost kernels: loop references, finite-difference gradients, Paddle's no-clamp rule."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minipaddle.kernels.cost import (cross_entropy_backward, cross_entropy_forward,
                                     square_error_backward, square_error_forward)
from numgrad import numeric_grad


cases = st.fixed_dictionaries({"N": st.integers(1, 6), "K": st.integers(1, 7),
                               "seed": st.integers(0, 2**16)})


def _ce_data(N, K, seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 1.0, (N, K))
    p /= p.sum(axis=1, keepdims=True)
    labels = rng.integers(0, K, N)
    dcost = rng.standard_normal((N, 1))
    return p, labels, dcost


@given(case=cases)
def test_cross_entropy_matches_loop_and_finite_differences(case):
    p, labels, dcost = _ce_data(**case)
    cost = cross_entropy_forward(p, labels)
    assert cost.shape == (case["N"], 1)
    ref = [[-math.log(p[n, labels[n]])] for n in range(case["N"])]
    np.testing.assert_allclose(cost, ref, rtol=1e-14)

    dp = cross_entropy_backward(p, labels, dcost)
    num = numeric_grad(lambda: float(np.sum(dcost * cross_entropy_forward(p, labels))), p)
    np.testing.assert_allclose(dp, num, rtol=1e-6, atol=1e-8)
    for n in range(case["N"]):
        for k in range(case["K"]):
            expect = -dcost[n, 0] / p[n, k] if k == labels[n] else 0.0
            assert dp[n, k] == pytest.approx(expect, rel=1e-14)


@given(case=cases)
def test_square_error_matches_loop_and_finite_differences(case):
    rng = np.random.default_rng(case["seed"])
    N, K = case["N"], case["K"]
    y, t = rng.standard_normal((N, K)), rng.standard_normal((N, K))
    dcost = rng.standard_normal((N, 1))
    cost = square_error_forward(y, t)
    assert cost.shape == (N, 1)
    ref = [[sum((y[n, j] - t[n, j]) ** 2 for j in range(K))] for n in range(N)]
    np.testing.assert_allclose(cost, ref, rtol=1e-13)

    dy, dt = square_error_backward(y, t, dcost)
    loss = lambda: float(np.sum(dcost * square_error_forward(y, t)))  # noqa: E731
    np.testing.assert_allclose(dy, numeric_grad(loss, y), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dt, numeric_grad(loss, t), rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(dt, -dy)


def test_cross_entropy_no_clamp_log_zero_is_inf():
    p = np.array([[0.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    labels = np.array([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost = cross_entropy_forward(p, labels)
        dp = cross_entropy_backward(p, labels, np.ones((2, 1), np.float32))
    assert cost[0, 0] == np.inf
    assert cost[1, 0] == pytest.approx(math.log(2))
    assert dp[0, 0] == -np.inf and dp[0, 1] == 0
    np.testing.assert_allclose(dp[1], [0, -2])


def test_float32_preserved_and_dcost_shapes():
    p, labels, dcost = _ce_data(4, 3, 1)
    p32, d32 = p.astype(np.float32), dcost.astype(np.float32)
    assert cross_entropy_forward(p32, labels).dtype == np.float32
    dp = cross_entropy_backward(p32, labels, d32)
    assert dp.dtype == np.float32
    # (N,) dcost and (N, 1) labels are accepted too
    np.testing.assert_array_equal(cross_entropy_backward(p32, labels.reshape(-1, 1),
                                                         d32.reshape(-1)), dp)
    np.testing.assert_array_equal(cross_entropy_forward(p32, labels.reshape(-1, 1)),
                                  cross_entropy_forward(p32, labels))

    y, t = p32, np.flip(p32, axis=1).copy()
    assert square_error_forward(y, t).dtype == np.float32
    dy, dt = square_error_backward(y, t, d32)
    assert dy.dtype == dt.dtype == np.float32
    np.testing.assert_array_equal(square_error_backward(y, t, d32.reshape(-1))[0], dy)


def test_cross_entropy_int32_labels():
    p, labels, _ = _ce_data(5, 4, 2)
    np.testing.assert_array_equal(cross_entropy_forward(p, labels.astype(np.int32)),
                                  cross_entropy_forward(p, labels))
