"""conv_shift and sampling_id kernels against slow references written here (loops over
samples and positions) and, for conv_shift's backward, float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from minipaddle.kernels import misc as K

from numgrad import numerical_grad


def slow_conv_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n, m = a.shape
    k = b.shape[1]
    half = (k - 1) // 2
    out = np.zeros_like(a)
    for s in range(n):
        for i in range(m):
            for j in range(k):
                out[s, i] += a[s, (i + j - half) % m] * b[s, j]
    return out


@pytest.mark.parametrize("m,k", [(7, 3), (5, 5), (4, 1), (3, 5), (9, 7)])
def test_conv_shift_forward(m: int, k: int) -> None:
    rng = np.random.default_rng(m * 10 + k)
    a, b = rng.normal(size=(3, m)), rng.normal(size=(3, k))
    np.testing.assert_allclose(K.conv_shift_forward(a, b), slow_conv_shift(a, b), rtol=1e-12,
                               atol=1e-12)


def test_conv_shift_hand_values() -> None:
    # a shift kernel [0, 0, 1] moves every value one place to the left (c[i] = a[i + 1])
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(K.conv_shift_forward(a, np.array([[0.0, 0.0, 1.0]])),
                                  [[2.0, 3.0, 4.0, 1.0]])
    np.testing.assert_array_equal(K.conv_shift_forward(a, np.array([[1.0, 0.0, 0.0]])),
                                  [[4.0, 1.0, 2.0, 3.0]])


@pytest.mark.parametrize("m,k", [(6, 3), (3, 5), (5, 1)])
def test_conv_shift_backward_finite_differences(m: int, k: int) -> None:
    rng = np.random.default_rng(k)
    a, b = rng.normal(size=(2, m)), rng.normal(size=(2, k))
    r = rng.normal(size=(2, m))
    da, db = K.conv_shift_backward(a, b, r)
    np.testing.assert_allclose(da, numerical_grad(lambda x: K.conv_shift_forward(x, b), a, r),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, numerical_grad(lambda x: K.conv_shift_forward(a, x), b, r),
                               rtol=1e-6, atol=1e-8)


def slow_sampling(probs: np.ndarray, uniforms: np.ndarray) -> list[int]:
    ids = []
    for row, r in zip(probs, uniforms):
        chosen = len(row) - 1
        for j, value in enumerate(row):
            r -= value
            if r < 0:
                chosen = j
                break
        ids.append(chosen)
    return ids


def test_sampling_id_against_the_loop() -> None:
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(6), size=50)
    uniforms = rng.uniform(size=50)
    assert K.sampling_id_forward(probs, uniforms).tolist() == slow_sampling(probs, uniforms)
    # rows summing to less than 1: a uniform past the sum takes the last id (Paddle's rule)
    short = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    assert K.sampling_id_forward(short, np.array([0.95, 0.05])).tolist() == [2, 0]


def test_sampling_id_frequencies() -> None:
    rng = np.random.default_rng(5)
    p = np.array([0.5, 0.3, 0.2, 0.0])
    ids = K.sampling_id_forward(np.tile(p, (20000, 1)), rng.uniform(size=20000))
    freq = np.bincount(ids, minlength=4) / 20000
    np.testing.assert_allclose(freq, p, atol=0.02)
    assert freq[3] == 0
