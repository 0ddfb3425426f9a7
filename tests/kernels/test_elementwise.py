"""Element-wise, vector and norm kernels: slow per-element loop references, float64
finite-difference gradients of every input and parameter, float32 kept."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minipaddle.kernels import elementwise as E
from numgrad import numeric_grad

cases = st.fixed_dictionaries({"N": st.integers(1, 4), "D": st.integers(1, 5),
                               "seed": st.integers(0, 2**16)})


def fd_check(forward, args, grads, r, rtol=1e-6, atol=1e-7):
    """Each ``grads[i]`` (None to skip) against d sum(forward(*args) * r) / d args[i]."""
    for a, g in zip(args, grads):
        if g is None:
            continue
        num = numeric_grad(lambda: float(np.sum(forward(*args) * r)), a)
        np.testing.assert_allclose(g, num, rtol=rtol, atol=atol)


def _rng(case):
    return np.random.default_rng(case["seed"])


# --- scalar-parameter maps ---------------------------------------------------------------------

@given(case=cases)
def test_scale_shift(case):
    rng, N, D = _rng(case), case["N"], case["D"]
    x, w, b = rng.standard_normal((N, D)), rng.standard_normal(1), rng.standard_normal(1)
    r = rng.standard_normal((N, D))
    ref = np.array([[w[0] * x[n, j] + b[0] for j in range(D)] for n in range(N)])
    np.testing.assert_allclose(E.scale_shift_forward(x, w, b), ref, rtol=1e-14)
    np.testing.assert_allclose(E.scale_shift_forward(x, w), ref - b[0], rtol=1e-12, atol=1e-14)
    dx, dw, db = E.scale_shift_backward(x, r, w)
    fd_check(lambda x, w, b: E.scale_shift_forward(x, w, b), [x, w, b], [dx, dw, db], r)
    assert E.scale_shift_backward(x, r, w, bias=False)[2] is None


@given(case=cases)
def test_clip(case):
    rng, N, D = _rng(case), case["N"], case["D"]
    x = rng.uniform(-3, 3, (N, D))
    x[np.abs(np.abs(x) - 1) < 1e-3] = 0.0   # keep the finite differences off the bounds
    r = rng.standard_normal((N, D))
    ref = [[min(max(x[n, j], -1.0), 1.0) for j in range(D)] for n in range(N)]
    np.testing.assert_array_equal(E.clip_forward(x, low=-1, high=1), ref)
    fd_check(lambda x: E.clip_forward(x, low=-1, high=1), [x],
             [E.clip_backward(x, r, low=-1, high=1)], r)


def test_clip_bounds_pass_gradient():
    x = np.array([[-1.0, 1.0, 1.5, -1.5, 0.0]])
    np.testing.assert_array_equal(E.clip_backward(x, np.ones_like(x), low=-1, high=1),
                                  [[1, 1, 0, 0, 1]])


@given(case=cases)
def test_slope_intercept(case):
    rng, N, D = _rng(case), case["N"], case["D"]
    x, r = rng.standard_normal((N, D)), rng.standard_normal((N, D))
    ref = [[2.5 * x[n, j] - 0.5 for j in range(D)] for n in range(N)]
    np.testing.assert_allclose(E.slope_intercept_forward(x, slope=2.5, intercept=-0.5), ref)
    fd_check(lambda x: E.slope_intercept_forward(x, slope=2.5, intercept=-0.5), [x],
             [E.slope_intercept_backward(r, slope=2.5)], r)


# --- per-sample weights ------------------------------------------------------------------------

@given(case=cases)
def test_power(case):
    rng, N, D = _rng(case), case["N"], case["D"]
    w, x = rng.uniform(-2, 3, (N, 1)), rng.uniform(0.2, 2, (N, D))
    r = rng.standard_normal((N, D))
    y = E.power_forward(w, x)
    np.testing.assert_allclose(y, [[x[n, j] ** w[n, 0] for j in range(D)] for n in range(N)],
                               rtol=1e-13)
    dw, dx = E.power_backward(w, x, y, r)
    fd_check(E.power_forward, [w, x], [dw, dx], r)


@given(case=cases)
def test_scaling(case):
    rng, N, D = _rng(case), case["N"], case["D"]
    w, x, r = rng.standard_normal((N, 1)), rng.standard_normal((N, D)), rng.standard_normal((N, D))
    np.testing.assert_allclose(E.scaling_forward(w, x),
                               [[w[n, 0] * x[n, j] for j in range(D)] for n in range(N)])
    fd_check(E.scaling_forward, [w, x], list(E.scaling_backward(w, x, r)), r)


@given(case=cases)
def test_interpolation(case):
    rng, N, D = _rng(case), case["N"], case["D"]
    w = rng.uniform(0, 1, (N, 1))
    x1, x2, r = (rng.standard_normal((N, D)) for _ in range(3))
    ref = [[w[n, 0] * x1[n, j] + (1 - w[n, 0]) * x2[n, j] for j in range(D)] for n in range(N)]
    np.testing.assert_allclose(E.interpolation_forward(w, x1, x2), ref, rtol=1e-13)
    fd_check(E.interpolation_forward, [w, x1, x2], list(E.interpolation_backward(w, x1, x2, r)), r)


@given(case=cases, M=st.integers(1, 4))
def test_linear_comb(case, M):
    rng, N, D = _rng(case), case["N"], case["D"]
    w, v, r = rng.standard_normal((N, M)), rng.standard_normal((N, M * D)), rng.standard_normal((N, D))
    ref = [[sum(w[n, i] * v[n, i * D + j] for i in range(M)) for j in range(D)] for n in range(N)]
    np.testing.assert_allclose(E.linear_comb_forward(w, v), ref, rtol=1e-12, atol=1e-14)
    fd_check(E.linear_comb_forward, [w, v], list(E.linear_comb_backward(w, v, r)), r)


# --- similarities ------------------------------------------------------------------------------

def ref_cos(a, b, scale):
    xy = sum(p * q for p, q in zip(a, b))
    return scale * xy / (math.sqrt(sum(p * p for p in a)) * math.sqrt(sum(q * q for q in b)))


@given(case=cases, shared=st.booleans(), scale=st.sampled_from([1.0, 5.0]))
def test_cos_sim(case, shared, scale):
    rng, N, D = _rng(case), case["N"], case["D"]
    x = rng.standard_normal((N, D))
    y = rng.standard_normal((1 if shared else N, D))
    r = rng.standard_normal((N, 1))
    out = E.cos_sim_forward(x, y, scale=scale)
    ref = [[ref_cos(x[n], y[0 if shared else n], scale)] for n in range(N)]
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    dx, dy = E.cos_sim_backward(x, y, r, scale=scale)
    assert dy.shape == y.shape
    fd_check(lambda x, y: E.cos_sim_forward(x, y, scale=scale), [x, y], [dx, dy], r)


def test_cos_sim_orthogonal_gradient():
    """Paddle's special case ``xy == 0`` is the plain derivative there: scale * y / (|x||y|)."""
    x, y = np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]])
    dx, dy = E.cos_sim_backward(x, y, np.ones((1, 1)), scale=3.0)
    np.testing.assert_allclose(dx, [[0.0, 3.0]])
    np.testing.assert_allclose(dy, [[1.5, 0.0]])


@given(case=cases, K=st.integers(1, 3))
def test_cos_sim_vec_mat(case, K):
    rng, N, D = _rng(case), case["N"], case["D"]
    x, m, r = rng.standard_normal((N, D)), rng.standard_normal((N, K * D)), rng.standard_normal((N, K))
    ref = [[ref_cos(m[n, k * D:(k + 1) * D], x[n], 2.0) for k in range(K)] for n in range(N)]
    np.testing.assert_allclose(E.cos_sim_vec_mat_forward(x, m, scale=2.0), ref, rtol=1e-12)
    fd_check(lambda x, m: E.cos_sim_vec_mat_forward(x, m, scale=2.0), [x, m],
             list(E.cos_sim_vec_mat_backward(x, m, r, scale=2.0)), r)


@given(case=cases)
def test_dot_prod_and_l2_distance(case):
    rng, N, D = _rng(case), case["N"], case["D"]
    x, y, r = rng.standard_normal((N, D)), rng.standard_normal((N, D)), rng.standard_normal((N, 1))
    np.testing.assert_allclose(E.dot_prod_forward(x, y),
                               [[sum(x[n, j] * y[n, j] for j in range(D))] for n in range(N)],
                               rtol=1e-12, atol=1e-14)
    fd_check(E.dot_prod_forward, [x, y], list(E.dot_prod_backward(x, y, r)), r)
    out = E.l2_distance_forward(x, y)
    np.testing.assert_allclose(
        out, [[math.sqrt(sum((x[n, j] - y[n, j]) ** 2 for j in range(D)))] for n in range(N)],
        rtol=1e-13)
    fd_check(E.l2_distance_forward, [x, y], list(E.l2_distance_backward(x, y, out, r)), r)


@given(case=cases, B=st.integers(1, 4))
def test_out_prod(case, B):
    rng, N, A = _rng(case), case["N"], case["D"]
    x, y, r = rng.standard_normal((N, A)), rng.standard_normal((N, B)), rng.standard_normal((N, A * B))
    ref = [[x[n, i] * y[n, j] for i in range(A) for j in range(B)] for n in range(N)]
    np.testing.assert_allclose(E.out_prod_forward(x, y), ref, rtol=1e-14)
    fd_check(E.out_prod_forward, [x, y], list(E.out_prod_backward(x, y, r)), r)


@given(case=cases, B=st.integers(1, 3), K=st.integers(1, 3))
def test_tensor(case, B, K):
    rng, N, A = _rng(case), case["N"], case["D"]
    x1, x2 = rng.standard_normal((N, A)), rng.standard_normal((N, B))
    w, b, r = rng.standard_normal((K, A, B)), rng.standard_normal(K), rng.standard_normal((N, K))
    flat = w.reshape(-1)   # Paddle's parameter: slice k at offset k*A*B, row-major A x B
    ref = [[sum(x1[n, a] * flat[k * A * B + a * B + c] * x2[n, c]
                for a in range(A) for c in range(B)) + b[k] for k in range(K)] for n in range(N)]
    np.testing.assert_allclose(E.tensor_forward(x1, x2, w, b), ref, rtol=1e-12, atol=1e-13)
    fd_check(E.tensor_forward, [x1, x2, w, b], list(E.tensor_backward(x1, x2, w, r)), r)


# --- norms -------------------------------------------------------------------------------------

@given(case=cases)
def test_sum_to_one_and_row_l2_norm(case):
    rng, N, D = _rng(case), case["N"], case["D"]
    x, r = rng.uniform(0.1, 2, (N, D)), rng.standard_normal((N, D))
    y = E.sum_to_one_norm_forward(x)
    np.testing.assert_allclose(y, [[x[n, j] / sum(x[n]) for j in range(D)] for n in range(N)],
                               rtol=1e-13)
    fd_check(E.sum_to_one_norm_forward, [x], [E.sum_to_one_norm_backward(x, y, r)], r)
    x = rng.standard_normal((N, D))
    y = E.row_l2_norm_forward(x)
    ref = [[x[n, j] / math.sqrt(sum(v * v for v in x[n])) for j in range(D)] for n in range(N)]
    np.testing.assert_allclose(y, ref, rtol=1e-13)
    fd_check(E.row_l2_norm_forward, [x], [E.row_l2_norm_backward(x, y, r)], r)


@given(case=cases, C=st.integers(1, 4))
def test_cross_channel_norm(case, C):
    rng, N, S = _rng(case), case["N"], case["D"]
    x = rng.standard_normal((N, C, S, 1))
    scale, r = rng.uniform(0.5, 3, C), rng.standard_normal((N, C, S, 1))
    ref = np.empty_like(x)
    for n in range(N):
        for s in range(S):
            norm = math.sqrt(sum(x[n, c, s, 0] ** 2 for c in range(C)) + 1e-6)
            for c in range(C):
                ref[n, c, s, 0] = scale[c] * x[n, c, s, 0] / norm
    np.testing.assert_allclose(E.cross_channel_norm_forward(x, scale), ref, rtol=1e-13)
    fd_check(E.cross_channel_norm_forward, [x, scale],
             list(E.cross_channel_norm_backward(x, r, scale)), r)


@pytest.mark.parametrize("strategy", E.DATA_NORM_STRATEGIES)
def test_data_norm(strategy):
    rng = np.random.default_rng(3)
    x, r = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    stats = rng.uniform(0.5, 2, (5, 4))
    out = E.data_norm_forward(x, stats.reshape(-1), strategy=strategy)
    for n in range(3):
        for j in range(4):
            mn, rr, mean, sr, dr = stats[:, j]
            expect = {"z-score": (x[n, j] - mean) * sr, "min-max": (x[n, j] - mn) * rr,
                      "decimal-scaling": x[n, j] * dr}[strategy]
            assert out[n, j] == pytest.approx(expect, rel=1e-14)
    fd_check(lambda x: E.data_norm_forward(x, stats, strategy=strategy), [x],
             [E.data_norm_backward(r, stats, strategy=strategy)], r)
    with pytest.raises(ValueError, match="data_norm strategy 'bogus'"):
        E.data_norm_forward(x, stats, strategy="bogus")


# --- selections and FM -------------------------------------------------------------------------

def test_maxid_top_k_largest_first_ties_lower_index():
    x = np.array([[0.1, 0.7, 0.2, 0.7], [3.0, -1.0, 2.0, 0.0]])
    ids, vals = E.maxid_forward(x)
    np.testing.assert_array_equal(ids, [[1], [0]])
    np.testing.assert_array_equal(vals, [[0.7], [3.0]])
    ids, vals = E.maxid_forward(x, beam_size=3)
    np.testing.assert_array_equal(ids, [[1, 3, 2], [0, 2, 3]])
    np.testing.assert_array_equal(vals, [[0.7, 0.7, 0.2], [3.0, 2.0, 0.0]])


@given(case=cases, K=st.integers(1, 4))
def test_multiplex(case, K):
    rng, N, D = _rng(case), case["N"], case["D"]
    xs = [rng.standard_normal((N, D)) for _ in range(K)]
    ids, r = rng.integers(0, K, N), rng.standard_normal((N, D))
    y = E.multiplex_forward(ids, xs)
    for n in range(N):
        np.testing.assert_array_equal(y[n], xs[ids[n]][n])
    fd_check(lambda *xs: E.multiplex_forward(ids, list(xs)), xs, E.multiplex_backward(ids, r, K), r)


@given(case=cases, F=st.integers(1, 3))
def test_factorization_machine(case, F):
    rng, N, D = _rng(case), case["N"], case["D"]
    x, v, r = rng.standard_normal((N, D)), rng.standard_normal((D, F)), rng.standard_normal((N, 1))
    ref = [[sum(sum(v[i, f] * v[j, f] for f in range(F)) * x[n, i] * x[n, j]
                for i in range(D) for j in range(i + 1, D))] for n in range(N)]
    np.testing.assert_allclose(E.factorization_machine_forward(x, v), ref, rtol=1e-10, atol=1e-12)
    fd_check(E.factorization_machine_forward, [x, v],
             list(E.factorization_machine_backward(x, v, r)), r)


# --- dtype -------------------------------------------------------------------------------------

def test_float32_stays_float32():
    rng = np.random.default_rng(1)
    f = lambda *s: rng.uniform(0.2, 1.0, s).astype(np.float32)  # noqa: E731
    x, y, w1, col = f(3, 4), f(3, 4), f(1), f(3, 1)
    outs = [
        E.scale_shift_forward(x, w1, w1), *E.scale_shift_backward(x, y, w1),
        E.clip_forward(x, low=0.3, high=0.6), E.clip_backward(x, y, low=0.3, high=0.6),
        E.slope_intercept_forward(x, slope=2, intercept=1), E.slope_intercept_backward(y, slope=2),
        E.power_forward(col, x), *E.power_backward(col, x, E.power_forward(col, x), y),
        E.scaling_forward(col, x), *E.scaling_backward(col, x, y),
        E.interpolation_forward(col, x, y), *E.interpolation_backward(col, x, y, y),
        E.linear_comb_forward(f(3, 2), f(3, 8)), *E.linear_comb_backward(f(3, 2), f(3, 8), f(3, 4)),
        E.cos_sim_forward(x, y, scale=2), *E.cos_sim_backward(x, y, col, scale=2),
        E.cos_sim_vec_mat_forward(x, f(3, 8)), *E.cos_sim_vec_mat_backward(x, f(3, 8), f(3, 2)),
        E.dot_prod_forward(x, y), *E.dot_prod_backward(x, y, col),
        E.l2_distance_forward(x, y), *E.l2_distance_backward(x, y, E.l2_distance_forward(x, y), col),
        E.out_prod_forward(x, y), *E.out_prod_backward(x, y, f(3, 16)),
        E.tensor_forward(x, y, f(2, 4, 4), f(2)), *E.tensor_backward(x, y, f(2, 4, 4), f(3, 2))[:3],
        E.sum_to_one_norm_forward(x), E.sum_to_one_norm_backward(x, y, y),
        E.row_l2_norm_forward(x), E.row_l2_norm_backward(x, y, y),
        E.cross_channel_norm_forward(f(2, 3, 2, 2), f(3)),
        *E.cross_channel_norm_backward(f(2, 3, 2, 2), f(2, 3, 2, 2), f(3)),
        E.data_norm_forward(x, f(5, 4), strategy="z-score"),
        E.data_norm_backward(y, f(5, 4), strategy="min-max"),
        E.maxid_forward(x)[1], E.multiplex_forward([0, 1, 0], [x, y]),
        *E.multiplex_backward([0, 1, 0], y, 2),
        E.factorization_machine_forward(x, f(4, 2)), *E.factorization_machine_backward(x, f(4, 2), col),
    ]
    for out in outs:
        assert out.dtype == np.float32, out
