"""maxout, spp, pad and bilinear kernels against direct-loop references written from spec 6.5-6.7
and 6.9, plus numerical gradients in float64."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minipaddle.kernels.image import (
    bilinear_backward, bilinear_forward, maxout_backward, maxout_forward, pad_backward,
    pad_forward, spp_backward, spp_forward,
)
from numgrad import numerical_grad


def _distinct(shape, rng):
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.25 - 3.0).astype(np.float64)


seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------- maxout

def ref_maxout_forward(x, groups):
    N, C, H, W = x.shape
    y = np.zeros((N, C // groups, H, W))
    for n in range(N):
        for o in range(C // groups):
            for h in range(H):
                for w in range(W):
                    best = x[n, o * groups, h, w]
                    for g in range(1, groups):
                        if x[n, o * groups + g, h, w] > best:
                            best = x[n, o * groups + g, h, w]
                    y[n, o, h, w] = best
    return y


def ref_maxout_backward(x, dy, groups):
    N, C, H, W = x.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for o in range(C // groups):
            for h in range(H):
                for w in range(W):
                    arg = o * groups
                    for g in range(1, groups):
                        if x[n, o * groups + g, h, w] > x[n, arg, h, w]:     # strict: first wins
                            arg = o * groups + g
                    dx[n, arg, h, w] += dy[n, o, h, w]
    return dx


@st.composite
def maxout_cases(draw):
    groups = draw(st.integers(2, 4))
    shape = (draw(st.integers(1, 2)), groups * draw(st.integers(1, 3)),
             draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    return shape, groups, draw(seeds), draw(st.booleans())


@given(maxout_cases())
def test_maxout_matches_reference(case):
    shape, groups, seed, ties = case
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(np.float64) if ties else _distinct(shape, rng)
    y = maxout_forward(x, groups=groups)
    assert y.shape == (shape[0], shape[1] // groups) + shape[2:]
    np.testing.assert_array_equal(y, ref_maxout_forward(x, groups))
    dy = rng.standard_normal(y.shape)
    dx = maxout_backward(x, dy, groups=groups)
    np.testing.assert_array_equal(dx, ref_maxout_backward(x, dy, groups))


def test_maxout_ties_go_to_the_first_channel_of_the_group():
    # Channels (0, 1, 2) form group 0 and (3, 4, 5) group 1: consecutive grouping.
    x = np.array([1.0, 5.0, 5.0, 2.0, 2.0, 2.0]).reshape(1, 6, 1, 1)
    y = maxout_forward(x, groups=3)
    np.testing.assert_array_equal(y.ravel(), [5.0, 2.0])
    dx = maxout_backward(x, np.array([10.0, 20.0]).reshape(1, 2, 1, 1), groups=3)
    np.testing.assert_array_equal(dx.ravel(), [0, 10, 0, 20, 0, 0])


def test_maxout_float32():
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32)
    y = maxout_forward(x, groups=2)
    assert y.dtype == np.float32
    assert maxout_backward(x, np.ones_like(y), groups=2).dtype == np.float32


# ------------------------------------------------------------------------------------------- spp

def ref_spp_forward(x, pyramid_height, kind):
    """Spec 6.7 literally: per level and bin, the clipped pool window; empty windows give 0."""
    N, C, H, W = x.shape
    rows = []
    for n in range(N):
        row = []
        for level in range(pyramid_height):
            bins = 2 ** level
            kh, kw = math.ceil(H / bins), math.ceil(W / bins)
            ph, pw = (kh * bins - H + 1) // 2, (kw * bins - W + 1) // 2
            for c in range(C):
                for bh in range(bins):
                    hs = bh * kh - ph
                    he, hs = min(hs + kh, H), max(hs, 0)
                    for bw in range(bins):
                        ws = bw * kw - pw
                        we, ws = min(ws + kw, W), max(ws, 0)
                        cells = [float(x[n, c, h, w]) for h in range(hs, he) for w in range(ws, we)]
                        if not cells:
                            row.append(0.0)
                        elif kind == "max":
                            row.append(max(cells))
                        else:
                            row.append(sum(cells) / len(cells))
        rows.append(row)
    return np.array(rows)


def ref_spp_backward(x, dy, pyramid_height, kind):
    N, C, H, W = x.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        col = 0
        for level in range(pyramid_height):
            bins = 2 ** level
            kh, kw = math.ceil(H / bins), math.ceil(W / bins)
            ph, pw = (kh * bins - H + 1) // 2, (kw * bins - W + 1) // 2
            for c in range(C):
                for bh in range(bins):
                    hs = bh * kh - ph
                    he, hs = min(hs + kh, H), max(hs, 0)
                    for bw in range(bins):
                        ws = bw * kw - pw
                        we, ws = min(ws + kw, W), max(ws, 0)
                        g = float(dy[n, col])
                        col += 1
                        cells = [(h, w) for h in range(hs, he) for w in range(ws, we)]
                        if not cells:
                            continue
                        if kind == "max":
                            m = max(x[n, c, h, w] for h, w in cells)
                            for h, w in cells:
                                if x[n, c, h, w] == m:
                                    dx[n, c, h, w] += g
                        else:
                            for h, w in cells:
                                dx[n, c, h, w] += g / len(cells)
    return dx


@st.composite
def spp_cases(draw, max_size=12, max_height=4):
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3)),
                       draw(st.integers(1, max_size)), draw(st.integers(1, max_size))),
                pyramid_height=draw(st.integers(1, max_height)),
                kind=draw(st.sampled_from(["max", "avg"])), seed=draw(seeds))


@given(spp_cases())
def test_spp_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    x = _distinct(case["shape"], rng)
    ph, kind = case["pyramid_height"], case["kind"]
    N, C = case["shape"][:2]
    y = spp_forward(x, pyramid_height=ph, kind=kind)
    assert y.shape == (N, C * (4**ph - 1) // 3)
    np.testing.assert_allclose(y, ref_spp_forward(x, ph, kind), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx = spp_backward(x, dy, pyramid_height=ph, kind=kind)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, ref_spp_backward(x, dy, ph, kind), rtol=1e-12, atol=1e-12)


@given(spp_cases(max_height=3))
def test_spp_max_ties(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(0, 3, case["shape"]).astype(np.float64)
    ph = case["pyramid_height"]
    y = spp_forward(x, pyramid_height=ph, kind="max")
    dy = rng.integers(1, 4, y.shape).astype(np.float64)
    np.testing.assert_allclose(spp_backward(x, dy, pyramid_height=ph, kind="max"),
                               ref_spp_backward(x, dy, ph, "max"), rtol=0, atol=1e-12)


@settings(max_examples=20)
@given(spp_cases(max_size=6, max_height=3))
def test_spp_avg_gradient_matches_finite_differences(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((1,) + case["shape"][1:])
    ph = case["pyramid_height"]
    y = spp_forward(x, pyramid_height=ph, kind="avg")
    r = rng.standard_normal(y.shape)
    num = numerical_grad(lambda v: spp_forward(v, pyramid_height=ph, kind="avg"), x, r)
    np.testing.assert_allclose(spp_backward(x, r, pyramid_height=ph, kind="avg"), num,
                               rtol=1e-6, atol=1e-8)


def test_spp_layout_levels_then_channel_major():
    x = np.arange(2 * 4 * 4, dtype=np.float64).reshape(1, 2, 4, 4)
    y = spp_forward(x, pyramid_height=2, kind="max")
    # level 0: one bin per channel; level 1: channel 0's 2x2 bins, then channel 1's.
    np.testing.assert_array_equal(y[0], [15, 31, 5, 7, 13, 15, 21, 23, 29, 31])


def test_spp_empty_bins_output_zero():
    """H = 5 at 4 bins: kernel 2, padding 2, so the first bin row covers only padding."""
    x = -np.ones((1, 1, 5, 4)) - np.arange(20).reshape(1, 1, 5, 4)
    for kind in ("max", "avg"):
        y = spp_forward(x, pyramid_height=3, kind=kind)
        level2 = y[0, 5:].reshape(4, 4)
        np.testing.assert_array_equal(level2[0], 0)
        assert np.all(level2[1:] < 0)
        np.testing.assert_allclose(y, ref_spp_forward(x, 3, kind), rtol=1e-12)


def test_spp_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 5)).astype(np.float32)
    for kind in ("max", "avg"):
        y = spp_forward(x, pyramid_height=3, kind=kind)
        assert y.dtype == np.float32
        assert spp_backward(x, np.ones_like(y), pyramid_height=3, kind=kind).dtype == np.float32


# ------------------------------------------------------------------------------------------- pad

def ref_pad_forward(x, pad_c, pad_h, pad_w):
    N, C, H, W = x.shape
    y = np.zeros((N, C + sum(pad_c), H + sum(pad_h), W + sum(pad_w)))
    for n in range(N):
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    y[n, c + pad_c[0], h + pad_h[0], w + pad_w[0]] = x[n, c, h, w]
    return y


def ref_pad_backward(dy, x_shape, pad_c, pad_h, pad_w):
    N, C, H, W = x_shape
    dx = np.zeros(x_shape)
    for n in range(N):
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    dx[n, c, h, w] = dy[n, c + pad_c[0], h + pad_h[0], w + pad_w[0]]
    return dx


pairs = st.tuples(st.integers(0, 3), st.integers(0, 3))


@given(st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 5), st.integers(1, 5)),
       pairs, pairs, pairs, seeds)
def test_pad_matches_reference(shape, pad_c, pad_h, pad_w, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    y = pad_forward(x, pad_c=pad_c, pad_h=pad_h, pad_w=pad_w)
    np.testing.assert_array_equal(y, ref_pad_forward(x, pad_c, pad_h, pad_w))
    dy = rng.standard_normal(y.shape)
    dx = pad_backward(dy, pad_c=pad_c, pad_h=pad_h, pad_w=pad_w)
    np.testing.assert_array_equal(dx, ref_pad_backward(dy, shape, pad_c, pad_h, pad_w))
    assert not np.shares_memory(dx, dy)


@settings(max_examples=15)
@given(st.tuples(st.just(1), st.integers(1, 2), st.integers(1, 3), st.integers(1, 3)),
       pairs, pairs, pairs, seeds)
def test_pad_gradient_matches_finite_differences(shape, pad_c, pad_h, pad_w, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    kw = dict(pad_c=pad_c, pad_h=pad_h, pad_w=pad_w)
    r = rng.standard_normal(pad_forward(x, **kw).shape)
    np.testing.assert_allclose(pad_backward(r, **kw),
                               numerical_grad(lambda v: pad_forward(v, **kw), x, r),
                               rtol=1e-6, atol=1e-8)


def test_pad_float32():
    x = np.ones((1, 2, 3, 3), dtype=np.float32)
    kw = dict(pad_c=(1, 0), pad_h=(0, 2), pad_w=(1, 1))
    y = pad_forward(x, **kw)
    assert y.dtype == np.float32 and y.shape == (1, 3, 5, 5)
    assert pad_backward(y, **kw).dtype == np.float32


# -------------------------------------------------------------------------------------- bilinear

def ref_bilinear_forward(x, Ho, Wo):
    N, C, H, W = x.shape
    if (Ho, Wo) == (H, W):
        return x.copy()
    rh = (H - 1) / (Ho - 1) if Ho > 1 else 0.0
    rw = (W - 1) / (Wo - 1) if Wo > 1 else 0.0
    y = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                h = math.floor(rh * i)
                h1 = h + 1 if h < H - 1 else h
                lh = rh * i - h
                for j in range(Wo):
                    w = math.floor(rw * j)
                    w1 = w + 1 if w < W - 1 else w
                    lw = rw * j - w
                    y[n, c, i, j] = ((1 - lh) * ((1 - lw) * x[n, c, h, w] + lw * x[n, c, h, w1])
                                     + lh * ((1 - lw) * x[n, c, h1, w] + lw * x[n, c, h1, w1]))
    return y


def ref_bilinear_backward(x, dy, Ho, Wo):
    N, C, H, W = x.shape
    if (Ho, Wo) == (H, W):
        return dy.copy()
    rh = (H - 1) / (Ho - 1) if Ho > 1 else 0.0
    rw = (W - 1) / (Wo - 1) if Wo > 1 else 0.0
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                h = math.floor(rh * i)
                h1 = h + 1 if h < H - 1 else h
                lh = rh * i - h
                for j in range(Wo):
                    w = math.floor(rw * j)
                    w1 = w + 1 if w < W - 1 else w
                    lw = rw * j - w
                    g = dy[n, c, i, j]
                    dx[n, c, h, w] += (1 - lh) * (1 - lw) * g
                    dx[n, c, h, w1] += (1 - lh) * lw * g
                    dx[n, c, h1, w] += lh * (1 - lw) * g
                    dx[n, c, h1, w1] += lh * lw * g
    return dx


@st.composite
def bilinear_cases(draw, max_size=8):
    H, W = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    same = draw(st.booleans()) and draw(st.booleans())        # a quarter keep H or W
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W),
                output_size=(H if same else draw(st.integers(1, max_size)),
                             draw(st.integers(1, max_size))),
                seed=draw(seeds))


@given(bilinear_cases())
def test_bilinear_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal(case["shape"])
    Ho, Wo = case["output_size"]
    y = bilinear_forward(x, output_size=(Ho, Wo))
    assert y.shape == case["shape"][:2] + (Ho, Wo)
    np.testing.assert_allclose(y, ref_bilinear_forward(x, Ho, Wo), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx = bilinear_backward(x, dy, output_size=(Ho, Wo))
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, ref_bilinear_backward(x, dy, Ho, Wo), rtol=1e-10, atol=1e-12)


@settings(max_examples=20)
@given(bilinear_cases(max_size=5))
def test_bilinear_gradient_matches_finite_differences(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((1,) + case["shape"][1:])
    size = case["output_size"]
    y = bilinear_forward(x, output_size=size)
    r = rng.standard_normal(y.shape)
    np.testing.assert_allclose(bilinear_backward(x, r, output_size=size),
                               numerical_grad(lambda v: bilinear_forward(v, output_size=size),
                                              x, r),
                               rtol=1e-6, atol=1e-8)


def test_bilinear_known_values():
    x = np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    y = bilinear_forward(x, output_size=(3, 3))
    np.testing.assert_allclose(y[0, 0], [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]])
    # One output row/column: ratio 0, so the top-left corner.
    np.testing.assert_array_equal(bilinear_forward(x, output_size=(1, 1))[0, 0], [[0.0]])
    # Corners are kept (align corners).
    z = np.random.default_rng(0).standard_normal((1, 2, 4, 5))
    y = bilinear_forward(z, output_size=(7, 9))
    np.testing.assert_allclose(y[..., [0, 0, -1, -1], [0, -1, 0, -1]],
                               z[..., [0, 0, -1, -1], [0, -1, 0, -1]], rtol=1e-12)


def test_bilinear_equal_sizes_copy():
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    y = bilinear_forward(x, output_size=(4, 5))
    np.testing.assert_array_equal(y, x)
    assert not np.shares_memory(y, x)
    dx = bilinear_backward(x, y, output_size=(4, 5))
    np.testing.assert_array_equal(dx, y)
    assert not np.shares_memory(dx, y)


@pytest.mark.parametrize("size", [(8, 10), (2, 3), (4, 1)])
def test_bilinear_float32(size):
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype(np.float32)
    y = bilinear_forward(x, output_size=size)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ref_bilinear_forward(x.astype(np.float64), *size),
                               rtol=1e-5, atol=1e-5)
    dx = bilinear_backward(x, np.ones_like(y), output_size=size)
    assert dx.dtype == np.float32
