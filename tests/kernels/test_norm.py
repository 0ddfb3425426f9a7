"""Batch norm and cross-map response norm: direct-loop references, finite-difference gradients."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minipaddle.kernels.norm import (batch_norm_backward, batch_norm_backward_fixed,
                                     batch_norm_forward, batch_norm_inference, cmrnorm_backward,
                                     cmrnorm_forward, cmrnorm_offsets)
from numgrad import numeric_grad as _numeric_grad


def numeric_grad(f, x, h=1e-5):
    return _numeric_grad(f, x, h)

EPS = 1e-5


# --- batch norm references ---------------------------------------------------------------------

def ref_bn_stats(x):
    """Per-channel E[x] and E[x^2] - E[x]^2 (clipped at 0) by explicit loops, in float64."""
    x = np.asarray(x, dtype=np.float64)
    N, C = x.shape[:2]
    xs = x.reshape(N, C, -1)
    mean, var = np.zeros(C), np.zeros(C)
    for c in range(C):
        vals = [float(v) for n in range(N) for v in xs[n, c]]
        m = sum(vals) / len(vals)
        mean[c] = m
        var[c] = max(sum(v * v for v in vals) / len(vals) - m * m, 0.0)
    return mean, var


def ref_bn_apply(x, gamma, beta, mean, var, eps):
    x = np.asarray(x, dtype=np.float64)
    N, C = x.shape[:2]
    xs = x.reshape(N, C, -1)
    out = np.empty_like(xs)
    for n in range(N):
        for c in range(C):
            for i in range(xs.shape[2]):
                std = math.sqrt(var[c] + eps)
                out[n, c, i] = gamma[c] * (xs[n, c, i] - mean[c]) / std + beta[c]
    return out.reshape(x.shape)


bn_shapes = st.one_of(
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
)


def _bn_data(shape, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = rng.standard_normal(shape) * 2 + rng.standard_normal((1, C) + (1,) * (len(shape) - 2))
    gamma = rng.uniform(0.5, 1.5, C)
    beta = rng.standard_normal(C)
    dy = rng.standard_normal(shape)
    return x, gamma, beta, dy


@given(shape=bn_shapes, seed=st.integers(0, 2**16))
def test_batch_norm_forward_matches_loops(shape, seed):
    x, gamma, beta, _ = _bn_data(shape, seed)
    y, mean, var, inv_std = batch_norm_forward(x, gamma, beta, epsilon=EPS)
    rmean, rvar = ref_bn_stats(x)
    np.testing.assert_allclose(mean, rmean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(var, rvar, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(inv_std, 1 / np.sqrt(rvar + EPS), rtol=1e-9)
    assert mean.shape == var.shape == inv_std.shape == (shape[1],)
    np.testing.assert_allclose(y, ref_bn_apply(x, gamma, beta, rmean, rvar, EPS),
                               rtol=1e-8, atol=1e-10)
    # given the batch statistics, inference gives the same output
    np.testing.assert_allclose(batch_norm_inference(x, gamma, beta, mean, var, epsilon=EPS), y,
                               rtol=1e-12, atol=1e-12)


def test_batch_norm_inference_matches_loops_and_accepts_row_vectors():
    x, gamma, beta, _ = _bn_data((3, 4, 2, 5), 7)
    mean = np.array([0.1, -0.2, 0.3, 0.0])
    var = np.array([1.0, 0.5, 2.0, 0.0])
    y = batch_norm_inference(x, gamma.reshape(1, 4), beta.reshape(1, 4), mean.reshape(1, 4),
                             var.reshape(1, 4), epsilon=1e-3)
    np.testing.assert_allclose(y, ref_bn_apply(x, gamma, beta, mean, var, 1e-3), rtol=1e-10)


def test_batch_norm_constant_channel_var_clipped():
    x = np.full((5, 2, 3, 3), 0.1, dtype=np.float32)
    x[:, 1] = 1e3 + 0.1
    gamma = np.ones(2, np.float32)
    beta = np.array([0.5, -0.5], np.float32)
    y, mean, var, inv_std = batch_norm_forward(x, gamma, beta, epsilon=EPS)
    assert np.all(var >= 0)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[:, 0], 0.5, atol=1e-3)


@settings(max_examples=30)
@given(shape=bn_shapes, seed=st.integers(0, 2**16))
def test_batch_norm_backward_finite_differences(shape, seed):
    x, gamma, beta, dy = _bn_data(shape, seed)
    # keep away from near-zero variances, where central differences lose their precision
    # (one value per channel is fine: y = beta and every gradient through x is 0)
    assume(x.size // shape[1] == 1 or min(ref_bn_stats(x)[1]) > 0.05)

    def loss():
        return float(np.sum(dy * batch_norm_forward(x, gamma, beta, epsilon=EPS)[0]))

    _, mean, _, inv_std = batch_norm_forward(x, gamma, beta, epsilon=EPS)
    dx, dgamma, dbeta = batch_norm_backward(x, dy, gamma, mean, inv_std)
    assert dgamma.shape == dbeta.shape == (shape[1],)
    scale = 1 + np.abs(dx).max()
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-4, atol=1e-6 * scale)
    np.testing.assert_allclose(dgamma, numeric_grad(loss, gamma), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dbeta, numeric_grad(loss, beta), rtol=1e-5, atol=1e-7)


@settings(max_examples=30)
@given(shape=bn_shapes, seed=st.integers(0, 2**16))
def test_batch_norm_backward_fixed_finite_differences(shape, seed):
    x, gamma, beta, dy = _bn_data(shape, seed)
    rng = np.random.default_rng(seed + 2)
    C = shape[1]
    mean = rng.standard_normal(C)
    var = rng.uniform(0.2, 3.0, C)
    inv_std = 1 / np.sqrt(var + EPS)

    def loss():
        return float(np.sum(dy * batch_norm_inference(x, gamma, beta, mean, var, epsilon=EPS)))

    dx, dgamma, dbeta = batch_norm_backward_fixed(dy, gamma, inv_std, x, mean)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dgamma, numeric_grad(loss, gamma), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dbeta, numeric_grad(loss, beta), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4, 5), (2, 2, 2, 3, 3)])
def test_batch_norm_float32_preserved(shape):
    x, gamma, beta, dy = (a.astype(np.float32) for a in _bn_data(shape, 3))
    y, mean, var, inv_std = batch_norm_forward(x, gamma, beta, epsilon=EPS)
    assert all(a.dtype == np.float32 for a in (y, mean, var, inv_std))
    assert batch_norm_inference(x, gamma, beta, mean, var, epsilon=EPS).dtype == np.float32
    assert all(a.dtype == np.float32 for a in batch_norm_backward(x, dy, gamma, mean, inv_std))
    assert all(a.dtype == np.float32
               for a in batch_norm_backward_fixed(dy, gamma, inv_std, x, mean))
    # and agrees with the float64 computation
    y64 = batch_norm_forward(x.astype(np.float64), gamma.astype(np.float64),
                             beta.astype(np.float64), epsilon=EPS)[0]
    np.testing.assert_allclose(y, y64, rtol=1e-4, atol=1e-4)


# --- cross-map response norm -------------------------------------------------------------------

def ref_cmr(x, size, scale, power):
    """Direct loops; start is C's truncation toward zero of -(size-1)/2."""
    x = np.asarray(x, dtype=np.float64)
    N, C = x.shape[:2]
    xs = x.reshape(N, C, -1)
    start = int(-(size - 1) / 2)
    end = start + size
    denom = np.empty_like(xs)
    for n in range(N):
        for c in range(C):
            for i in range(xs.shape[2]):
                acc = 0.0
                for s in range(start, end):
                    if 0 <= c + s < C:
                        acc += xs[n, c + s, i] ** 2
                denom[n, c, i] = 1.0 + scale * acc
    y = xs * denom ** (-power)
    return y.reshape(x.shape), denom.reshape(x.shape)


@pytest.mark.parametrize("size, offsets", [(1, [0]), (2, [0, 1]), (3, [-1, 0, 1]),
                                           (4, [-1, 0, 1, 2]), (5, [-2, -1, 0, 1, 2]),
                                           (6, [-2, -1, 0, 1, 2, 3]),
                                           (32, list(range(-15, 17)))])
def test_cmrnorm_window_offsets(size, offsets):
    assert list(cmrnorm_offsets(size)) == offsets


def test_cmrnorm_even_size_is_asymmetric():
    # size 2: denom[c] uses channels c and c+1 only
    x = np.zeros((1, 3, 1, 1))
    x[0, 1] = 2.0
    _, denom = cmrnorm_forward(x, size=2, scale=0.5, power=0.75)
    np.testing.assert_allclose(denom.ravel(), [1 + 0.5 * 4, 1 + 0.5 * 4, 1])


cmr_cases = st.fixed_dictionaries({
    "N": st.integers(1, 2), "C": st.integers(1, 8), "H": st.integers(1, 3),
    "W": st.integers(1, 3), "size": st.integers(1, 6),
    "scale": st.sampled_from([0.0128 / 5, 0.1, 0.7]), "power": st.sampled_from([0.75, 0.5, 1.3]),
    "seed": st.integers(0, 2**16),
})


@settings(max_examples=40)
@given(case=cmr_cases)
def test_cmrnorm_forward_matches_loops(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["N"], case["C"], case["H"], case["W"]))
    kw = dict(size=case["size"], scale=case["scale"], power=case["power"])
    y, denom = cmrnorm_forward(x, **kw)
    ry, rdenom = ref_cmr(x, **kw)
    np.testing.assert_allclose(denom, rdenom, rtol=1e-12)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-14)


@settings(max_examples=40)
@given(case=cmr_cases)
def test_cmrnorm_backward_finite_differences(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["N"], case["C"], case["H"], case["W"]))
    dy = rng.standard_normal(x.shape)
    kw = dict(size=case["size"], scale=case["scale"], power=case["power"])
    y, denom = cmrnorm_forward(x, **kw)
    dx = cmrnorm_backward(x, y, denom, dy, **kw)
    num = numeric_grad(lambda: float(np.sum(dy * cmrnorm_forward(x, **kw)[0])), x)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("C", [1, 2, 5, 8])
def test_cmrnorm_backward_grid_and_2d(size, C):
    """Every size against every channel count (sizes larger than C included); (N, C) input too."""
    rng = np.random.default_rng(size * 10 + C)
    kw = dict(size=size, scale=0.3, power=0.75)
    for shape in [(2, C, 2, 3), (3, C)]:
        x = rng.standard_normal(shape)
        dy = rng.standard_normal(shape)
        y, denom = cmrnorm_forward(x, **kw)
        np.testing.assert_allclose(y, ref_cmr(x, **kw)[0], rtol=1e-12, atol=1e-14)
        num = numeric_grad(lambda: float(np.sum(dy * cmrnorm_forward(x, **kw)[0])), x)
        np.testing.assert_allclose(cmrnorm_backward(x, y, denom, dy, **kw), num,
                                   rtol=1e-6, atol=1e-8)


def test_cmrnorm_float32_preserved():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 3, 3)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    kw = dict(size=5, scale=0.0128 / 5, power=0.75)
    y, denom = cmrnorm_forward(x, **kw)
    assert y.dtype == denom.dtype == np.float32
    assert cmrnorm_backward(x, y, denom, dy, **kw).dtype == np.float32
    np.testing.assert_allclose(y, ref_cmr(x, **kw)[0], rtol=1e-5, atol=1e-6)


# --- batch norm in blocks on worker threads (norm.BN_PARALLEL_BYTES) -----------------------------

@pytest.mark.parametrize("shape", [(7, 3, 5, 4), (2, 5, 3, 3), (9, 4), (5, 2, 1, 1)])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_blocks_on_threads_give_the_same_bits(shape, relu, dtype, monkeypatch):
    """Forced into blocks of one or two samples on two threads: the same values, bit for bit,
    as one block on the calling thread (a row's sums do not depend on the blocks), forward
    and backward, with and without the fused relu."""
    from minipaddle.kernels import norm
    from minipaddle.runtime.backend import CPUBackend
    x, gamma, beta = (a.astype(dtype) for a in _bn_data(shape, 3)[:3])
    x4 = x.reshape(shape[0], shape[1], -1, 1)
    dy = np.random.default_rng(4).standard_normal(x4.shape).astype(dtype)
    y, mean, var, inv_std = batch_norm_forward(x4, gamma, beta, epsilon=1e-5, relu=relu)
    back = batch_norm_backward(x4, dy, gamma, mean, inv_std, y=y if relu else None)
    backend = CPUBackend(threads=2)
    monkeypatch.setattr(norm, "BN_PARALLEL_BYTES", 0)
    for block in (1, x4[0].nbytes + 1):
        monkeypatch.setattr(norm, "BN_BLOCK_BYTES", block)
        assert len(norm._sample_blocks(shape[0], x4[0].nbytes, np, 2)) > 1
        with backend.compute():
            y2, mean2, var2, inv2 = batch_norm_forward(x4, gamma, beta, epsilon=1e-5, relu=relu,
                                                       run=backend.parallel, workers=2)
            back2 = batch_norm_backward(x4, dy, gamma, mean2, inv2, y=y2 if relu else None,
                                        run=backend.parallel, workers=2)
        for a, b in zip((y, mean, var, inv_std) + tuple(back),
                        (y2, mean2, var2, inv2) + tuple(back2)):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    ref_y = ref_bn_apply(x4, gamma, beta, *ref_bn_stats(x4), 1e-5)
    if relu:
        ref_y = np.maximum(ref_y, 0)
    np.testing.assert_allclose(y2, ref_y, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-4 if dtype == np.float32 else 1e-10)
