"""pool2d kernels against direct-loop references written from spec 6.2, plus numerical gradients."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minipaddle.kernels.pool import pool2d_backward, pool2d_forward
from numgrad import numerical_grad


# ------------------------------------------------------------------------------------ references

def _window(o, k, s, p, size):
    start = o * s - p
    end = min(start + k, size)
    start = max(start, 0)
    return start, end


def ref_forward(x, kind, kernel, stride, padding, output_size, exclude_mode=True):
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = kernel, stride, padding, output_size
    y = np.zeros((N, C, Ho, Wo), dtype=np.float64)
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                hs, he = _window(oh, kh, sh, ph, H)
                for ow in range(Wo):
                    ws, we = _window(ow, kw, sw, pw, W)
                    if he <= hs or we <= ws:
                        y[n, c, oh, ow] = 0.0
                        continue
                    if kind == "max":
                        m = -math.inf
                        for h in range(hs, he):
                            for w in range(ws, we):
                                m = max(m, float(x[n, c, h, w]))
                        y[n, c, oh, ow] = m
                    else:
                        total = 0.0
                        for h in range(hs, he):
                            for w in range(ws, we):
                                total += float(x[n, c, h, w])
                        div = (he - hs) * (we - ws) if exclude_mode else kh * kw
                        y[n, c, oh, ow] = total / div
    return y


def ref_backward(x, dy, kind, kernel, stride, padding, output_size, exclude_mode=True):
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = kernel, stride, padding, output_size
    dx = np.zeros(x.shape, dtype=np.float64)
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                hs, he = _window(oh, kh, sh, ph, H)
                for ow in range(Wo):
                    ws, we = _window(ow, kw, sw, pw, W)
                    if he <= hs or we <= ws:
                        continue
                    g = float(dy[n, c, oh, ow])
                    if kind == "max":
                        m = max(float(x[n, c, h, w]) for h in range(hs, he) for w in range(ws, we))
                        for h in range(hs, he):
                            for w in range(ws, we):
                                if float(x[n, c, h, w]) == m:
                                    dx[n, c, h, w] += g
                    else:
                        div = (he - hs) * (we - ws) if exclude_mode else kh * kw
                        for h in range(hs, he):
                            for w in range(ws, we):
                                dx[n, c, h, w] += g / div
    return dx


# ------------------------------------------------------------------------------------ strategies

def _out_size(size, k, s, p, ceil_mode):
    q = (size + 2 * p - k) / s
    return 1 + (math.ceil(q) if ceil_mode else math.floor(q))


@st.composite
def pool_cases(draw, max_n=2, max_c=3, max_size=9):
    """A valid pool config: padding < kernel, ceil or floor output, no window entirely in the
    padding (the configs Paddle's pool layer produces)."""
    ceil_mode = draw(st.booleans())
    axes = []
    for _ in range(2):
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, 4))
        p = draw(st.integers(0, k - 1))
        size = draw(st.integers(max(1, k - 2 * p), max_size))
        out = _out_size(size, k, s, p, ceil_mode)
        assume((out - 1) * s - p < size)          # the last window keeps an in-image cell
        axes.append((size, k, s, p, out))
    (H, kh, sh, ph, Ho), (W, kw, sw, pw, Wo) = axes
    return dict(
        shape=(draw(st.integers(1, max_n)), draw(st.integers(1, max_c)), H, W),
        kind=draw(st.sampled_from(["max", "avg"])),
        kernel=(kh, kw), stride=(sh, sw), padding=(ph, pw), output_size=(Ho, Wo),
        exclude_mode=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def _args(case):
    return {k: case[k] for k in ("kind", "kernel", "stride", "padding", "output_size",
                                 "exclude_mode")}


def _distinct(shape, rng):
    """Distinct values, so a max window has one arg-max."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.25 - 3.0).astype(np.float64)


# ------------------------------------------------------------------------------ property tests

@given(pool_cases())
def test_forward_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal(case["shape"])
    y = pool2d_forward(x, **_args(case))
    assert y.shape == case["shape"][:2] + case["output_size"]
    np.testing.assert_allclose(y, ref_forward(x, **_args(case)), rtol=1e-12, atol=1e-12)


@given(pool_cases())
def test_backward_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    x = _distinct(case["shape"], rng)
    x0 = x.copy()
    y = pool2d_forward(x, **_args(case))
    dy = rng.standard_normal(y.shape)
    dy0 = dy.copy()
    dx = pool2d_backward(x, y, dy, **_args(case))
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, ref_backward(x, dy, **_args(case)), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(x, x0)          # nothing modified in place
    np.testing.assert_array_equal(dy, dy0)


@given(pool_cases())
def test_max_ties_every_tied_position_gets_the_gradient(case):
    """Small integer inputs force ties; the reference gives each window's gradient to every
    cell equal to the window's maximum."""
    case = dict(case, kind="max")
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(0, 3, case["shape"]).astype(np.float64)
    y = pool2d_forward(x, **_args(case))
    np.testing.assert_array_equal(y, ref_forward(x, **_args(case)))
    dy = rng.integers(1, 4, y.shape).astype(np.float64)
    dx = pool2d_backward(x, y, dy, **_args(case))
    np.testing.assert_allclose(dx, ref_backward(x, dy, **_args(case)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape, k, out", [
    ((2, 3, 8, 8), (2, 2), (4, 4)),       # LeNet's pools: windows tile the image exactly
    ((1, 2, 7, 9), (2, 3), (3, 3)),       # floor mode leaves the last row unread
    ((2, 1, 6, 6), (3, 3), (2, 2)),
    ((2, 2, 6, 7), (3, 2), (2, 3)),       # 2-wide windows, trailing column unread
    ((1, 2, 4, 6), (1, 2), (4, 3)),
    ((2, 2, 3, 4), (1, 1), (3, 4)),       # 1x1 windows: the output must not be the input
])
def test_tiling_max_windows_route_ties_like_the_reference(shape, k, out):
    """Windows that tile the image (stride = window, no padding) take the one-pass backward;
    ties (small integers) and unread trailing cells still follow the reference."""
    rng = np.random.default_rng(7)
    args = dict(kind="max", kernel=k, stride=k, padding=(0, 0), output_size=out)
    ties = rng.integers(0, 3, shape)
    signed_zeros = np.where(rng.uniform(size=shape) < 0.5, -0.0, 0.0)   # -0.0 == 0.0 ties
    for x in (ties.astype(np.float64), ties.astype(np.float32), _distinct(shape, rng),
              _distinct(shape, rng).astype(np.float32), signed_zeros.astype(np.float32)):
        y = pool2d_forward(x, **args)
        np.testing.assert_array_equal(y, ref_forward(x, **args))
        dy = rng.integers(1, 4, y.shape).astype(np.float64)
        dx = pool2d_backward(x, y, dy, **args)
        np.testing.assert_array_equal(dx, ref_backward(x, dy, **args))
        assert dx.dtype == x.dtype and dx.shape == x.shape
        assert not np.shares_memory(y, x) and not np.shares_memory(dx, dy)


@settings(max_examples=25)
@given(pool_cases(max_n=1, max_c=2, max_size=6))
def test_avg_gradient_matches_finite_differences(case):
    case = dict(case, kind="avg")
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal(case["shape"])
    y = pool2d_forward(x, **_args(case))
    r = rng.standard_normal(y.shape)
    dx = pool2d_backward(x, y, r, **_args(case))
    num = numerical_grad(lambda v: pool2d_forward(v, **_args(case)), x, r)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-8)


@given(pool_cases())
def test_float32_stays_float32(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal(case["shape"]).astype(np.float32)
    y = pool2d_forward(x, **_args(case))
    assert y.dtype == np.float32
    dx = pool2d_backward(x, y, np.ones_like(y), **_args(case))
    assert dx.dtype == np.float32
    np.testing.assert_allclose(y, ref_forward(x, **_args(case)), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------ worked examples

def test_max_2x2_stride2_known_values():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    args = dict(kind="max", kernel=(2, 2), stride=(2, 2), padding=(0, 0), output_size=(2, 2))
    y = pool2d_forward(x, **args)
    np.testing.assert_array_equal(y[0, 0], [[5, 7], [13, 15]])
    dx = pool2d_backward(x, y, np.ones_like(y), **args)
    expected = np.zeros((4, 4))
    expected[[1, 1, 3, 3], [1, 3, 1, 3]] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_avg_padding_exclude_and_include():
    """3x3 ones, kernel 2, stride 2, padding 1 -> 2x2 windows of 1, 2, 2 and 4 in-image cells."""
    x = np.ones((1, 1, 3, 3))
    args = dict(kind="avg", kernel=(2, 2), stride=(2, 2), padding=(1, 1), output_size=(2, 2))
    np.testing.assert_array_equal(pool2d_forward(x, **args, exclude_mode=True)[0, 0],
                                  [[1, 1], [1, 1]])
    np.testing.assert_array_equal(pool2d_forward(x, **args, exclude_mode=False)[0, 0],
                                  [[0.25, 0.5], [0.5, 1.0]])


def test_max_ties_all_equal_window_and_overlap():
    # All four cells of a 2x2 window tie: each receives the whole gradient.
    x = np.full((1, 1, 2, 2), 7.0)
    args = dict(kind="max", kernel=(2, 2), stride=(2, 2), padding=(0, 0), output_size=(1, 1))
    y = pool2d_forward(x, **args)
    dx = pool2d_backward(x, y, np.array([[[[3.0]]]]), **args)
    np.testing.assert_array_equal(dx[0, 0], [[3, 3], [3, 3]])
    # Overlapping windows (kernel 2, stride 1) over a constant row: a middle cell is the tied
    # maximum of two windows and gets both gradients.
    x = np.ones((1, 1, 1, 3))
    args = dict(kind="max", kernel=(1, 2), stride=(1, 1), padding=(0, 0), output_size=(1, 2))
    y = pool2d_forward(x, **args)
    dx = pool2d_backward(x, y, np.array([[[[1.0, 10.0]]]]), **args)
    np.testing.assert_array_equal(dx[0, 0, 0], [1, 11, 10])


def test_ceil_mode_last_window_runs_past_the_padded_edge():
    # H = W = 6, kernel 3, stride 2, padding 1, ceil: 1 + ceil(5/2) = 4; the last window
    # starts at 5 and holds one in-image row.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6))
    for kind in ("max", "avg"):
        for exclude in (True, False):
            args = dict(kind=kind, kernel=(3, 3), stride=(2, 2), padding=(1, 1),
                        output_size=(4, 4), exclude_mode=exclude)
            y = pool2d_forward(x, **args)
            np.testing.assert_allclose(y, ref_forward(x, **args), rtol=1e-12)
            dy = rng.standard_normal(y.shape)
            np.testing.assert_allclose(pool2d_backward(x, y, dy, **args),
                                       ref_backward(x, dy, **args), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("exclude", [True, False])
def test_empty_windows_output_zero_and_pass_no_gradient(kind, exclude):
    """spp's H=5 at 4 bins: kernel 2, stride 2, padding 2 -> window 0 covers rows -2..-1 only.
    Also a padding wider than the kernel leaves trailing windows empty (H=9 at 8 bins)."""
    rng = np.random.default_rng(1)
    for H, k, p, out in ((5, 2, 2, 4), (9, 2, 4, 8)):
        x = rng.standard_normal((2, 2, H, 3)) - 5.0          # all negative: 0 is not a max
        args = dict(kind=kind, kernel=(k, 1), stride=(k, 1), padding=(p, 0),
                    output_size=(out, 3), exclude_mode=exclude)
        y = pool2d_forward(x, **args)
        ref = ref_forward(x, **args)
        np.testing.assert_allclose(y, ref, rtol=1e-12)
        empty = [oh for oh in range(out) if oh * k - p + k <= 0 or oh * k - p >= H]
        assert empty and np.all(y[:, :, empty, :] == 0)
        dy = rng.standard_normal(y.shape)
        np.testing.assert_allclose(pool2d_backward(x, y, dy, **args),
                                   ref_backward(x, dy, **args), rtol=1e-12, atol=1e-12)


def test_non_square_args_are_h_then_w():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 7, 5))
    args = dict(kind="max", kernel=(3, 2), stride=(2, 1), padding=(1, 0), output_size=(4, 4))
    np.testing.assert_allclose(pool2d_forward(x, **args), ref_forward(x, **args), rtol=1e-12)


def test_unknown_kind_is_refused():
    x = np.zeros((1, 1, 2, 2))
    with pytest.raises(ValueError, match="kind"):
        pool2d_forward(x, kind="sum", kernel=(2, 2), stride=(2, 2), padding=(0, 0),
                       output_size=(1, 1))


# ---------------------------------------------------------------- separable trees, global pools

import contextlib                                           # noqa: E402

from minipaddle.kernels import pool as pool_module          # noqa: E402


@contextlib.contextmanager
def _trees_everywhere():
    """Every window that does not tile the image goes through the separable trees."""
    saved = pool_module.SEPARABLE_MARGIN
    pool_module.SEPARABLE_MARGIN = 0.0
    try:
        yield
    finally:
        pool_module.SEPARABLE_MARGIN = saved


@given(pool_cases())
def test_trees_match_the_reference(case):
    rng = np.random.default_rng(case["seed"])
    x = _distinct(case["shape"], rng)
    with _trees_everywhere():
        y = pool2d_forward(x, **_args(case))
        dy = rng.standard_normal(y.shape)
        dx = pool2d_backward(x, y, dy, **_args(case))
    np.testing.assert_allclose(y, ref_forward(x, **_args(case)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, ref_backward(x, dy, **_args(case)), rtol=1e-12, atol=1e-12)


@given(pool_cases())
def test_trees_give_every_tied_maximum_the_gradient(case):
    case = dict(case, kind="max")
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(0, 3, case["shape"]).astype(np.float64)
    with _trees_everywhere():
        y = pool2d_forward(x, **_args(case))
        dy = rng.integers(1, 4, y.shape).astype(np.float64)
        dx = pool2d_backward(x, y, dy, **_args(case))
    np.testing.assert_array_equal(y, ref_forward(x, **_args(case)))
    np.testing.assert_allclose(dx, ref_backward(x, dy, **_args(case)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("chunk", [None, 1])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("exclude", [True, False])
@pytest.mark.parametrize("shape, k, s, p", [
    ((2, 2, 20, 18), (12, 12), (1, 1), (0, 0)),     # img_layers.py's kind: large, stride 1
    ((1, 3, 17, 19), (9, 7), (1, 1), (3, 2)),       # padded, non-square, odd sizes
    ((2, 1, 21, 16), (11, 6), (2, 1), (4, 0)),      # stride 2 rows, windows past the edge
])
def test_large_windows_take_the_trees_and_match_the_reference(kind, exclude, shape, k, s, p,
                                                             chunk, monkeypatch):
    """``chunk`` 1: one map at a time (the trees run on chunks of maps)."""
    if chunk is not None:
        monkeypatch.setattr(pool_module, "SEPARABLE_CHUNK_BYTES", chunk)
    rng = np.random.default_rng(3)
    out = tuple(_out_size(n, kk, ss, pp, False) for n, kk, ss, pp in zip(shape[2:], k, s, p))
    args = dict(kind=kind, kernel=k, stride=s, padding=p, output_size=out,
                exclude_mode=exclude)
    assert pool_module._separable_pays(shape, k, out)      # the default takes the trees
    ties = rng.integers(0, 4, shape)
    for x in (rng.standard_normal(shape), ties.astype(np.float64), ties.astype(np.float32),
              rng.standard_normal(shape).astype(np.float32)):
        y = pool2d_forward(x, **args)
        dy = rng.integers(1, 4, y.shape).astype(x.dtype)
        dx = pool2d_backward(x, y, dy, **args)
        assert y.dtype == dx.dtype == x.dtype and dx.shape == x.shape
        tol = 1e-12 if x.dtype == np.float64 else 2e-5
        np.testing.assert_allclose(y, ref_forward(x, **args), rtol=tol, atol=tol)
        np.testing.assert_allclose(dx, ref_backward(x, dy, **args), rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("exclude", [True, False])
@pytest.mark.parametrize("shape, k, p", [
    ((3, 2, 8, 8), (8, 8), (0, 0)),                 # resnet_cifar's global average pool
    ((2, 2, 5, 7), (5, 7), (0, 0)),
    ((2, 1, 4, 4), (5, 5), (1, 1)),                 # one padded window holding the image
])
def test_global_windows_match_the_reference(kind, exclude, shape, k, p):
    rng = np.random.default_rng(4)
    args = dict(kind=kind, kernel=k, stride=(1, 1), padding=p, output_size=(1, 1),
                exclude_mode=exclude)
    for x in (rng.standard_normal(shape), rng.integers(0, 2, shape).astype(np.float32)):
        y = pool2d_forward(x, **args)
        dy = rng.integers(1, 4, y.shape).astype(np.float64)
        dx = pool2d_backward(x, y, dy, **args)
        assert y.dtype == dx.dtype == x.dtype and y.shape == shape[:2] + (1, 1)
        np.testing.assert_allclose(y, ref_forward(x, **args), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(dx, ref_backward(x, dy, **args), rtol=1e-6, atol=1e-12)
