"""The depthwise kernel (kernels/depthwise.py, run by conv_forward / conv_backward for one
input channel per group) against a direct-loop reference for any number of spatial axes:
strides, dilations, paddings, channel multipliers, odd sizes, phases no tap reads, 1-D, 2-D
and 3-D, float32 and float64, blocks of every kind (whole samples, parts of a sample's
channels, a short last block), reused NaN-filled workspaces, and float64 finite
differences."""

from itertools import product

import numpy as np
import pytest

from minipaddle.kernels import depthwise
from minipaddle.kernels.conv import conv_algorithm, conv_backward, conv_forward
from numgrad import numeric_grad
from tests.kernels.test_conv import Workspace


# ------------------------------------------------------------------------------------ reference

def ref_depthwise(x, w, dy, stride, padding, dilation):
    """y, dx, dw of a conv with groups = channels, in float64 by direct loops:
    y[n, f, o] = sum over taps t of w[f, 0, t] * x[n, f // M, o*s - p + t*d] (zero outside)."""
    x, w, dy = (a.astype(np.float64) for a in (x, w, dy))
    n_, c = x.shape[:2]
    image, filt = x.shape[2:], w.shape[2:]
    m = w.shape[0] // c
    out = tuple(1 + (i + 2 * p - ((k - 1) * d + 1)) // s
                for i, k, s, p, d in zip(image, filt, stride, padding, dilation))
    y = np.zeros((n_, c * m) + out)
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for n, f in product(range(n_), range(c * m)):
        g = f // m
        for o in product(*[range(k) for k in out]):
            acc = 0.0
            for t in product(*[range(k) for k in filt]):
                i = tuple(oi * s - p + ti * d for oi, ti, s, p, d
                          in zip(o, t, stride, padding, dilation))
                if all(0 <= ii < size for ii, size in zip(i, image)):
                    acc += w[(f, 0) + t] * x[(n, g) + i]
                    dx[(n, g) + i] += w[(f, 0) + t] * dy[(n, f) + o]
                    dw[(f, 0) + t] += x[(n, g) + i] * dy[(n, f) + o]
            y[(n, f) + o] = acc
    return y, dx, dw


# (N, C, image, multiplier, filter, stride, padding, dilation)
CASES = [
    (2, 3, (7, 6), 1, (3, 3), (1, 1), (1, 1), (1, 1)),
    (2, 4, (9, 8), 2, (3, 2), (2, 1), (1, 0), (1, 2)),       # multiplier, stride, dilation
    (1, 2, (5, 11), 3, (2, 3), (3, 2), (2, 1), (2, 1)),      # multiplier 3, stride 3
    (3, 5, (6, 7), 1, (1, 1), (2, 2), (0, 0), (1, 1)),       # 1x1 stride 2: unread phases
    (1, 3, (8, 9), 1, (3, 3), (2, 2), (1, 1), (2, 2)),       # every tap on phase (0, 0)
    (2, 2, (4, 5), 1, (5, 5), (1, 1), (2, 2), (1, 1)),       # filter larger than the image
    (1, 2, (3, 3), 2, (3, 3), (1, 1), (3, 2), (1, 1)),       # padding beyond the filter
    (2, 3, (9, 10), 1, (2, 2), (4, 3), (0, 1), (1, 1)),      # stride beyond the filter
    (2, 2, (1, 7), 1, (1, 3), (1, 2), (0, 1), (1, 1)),       # one-row images
    (2, 3, (12,), 2, (3,), (2,), (1,), (2,)),                # 1-D
    (1, 2, (4, 5, 3), 1, (3, 3, 2), (1, 2, 1), (1, 1, 0), (1, 1, 2)),      # 3-D
    (2, 3, (5, 4, 6), 2, (2, 3, 3), (2, 1, 2), (1, 1, 1), (2, 1, 1)),      # 3-D, multiplier
]


def _data(rng, case, dtype=np.float64):
    n, c, image, m, filt, stride, padding, dilation = case
    x = rng.standard_normal((n, c) + image).astype(dtype)
    w = rng.standard_normal((c * m, 1) + filt).astype(dtype)
    out = tuple(1 + (i + 2 * p - ((k - 1) * d + 1)) // s
                for i, k, s, p, d in zip(image, filt, stride, padding, dilation))
    dy = rng.standard_normal((n, c * m) + out).astype(dtype)
    a = dict(stride=stride, padding=padding, dilation=dilation, groups=c)
    return x, w, dy, a


def _check(case, dtype, ws=None, rng_seed=0):
    x, w, dy, a = _data(np.random.default_rng(rng_seed), case, dtype)
    assert conv_algorithm(x.shape[1], a["groups"], dy.shape[2:]) == "depthwise"
    ry, rdx, rdw = ref_depthwise(x, w, dy, a["stride"], a["padding"], a["dilation"])
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    y = conv_forward(x, w, ws=ws, **a)
    dx, dw = conv_backward(x, w, dy, ws=ws, **a)
    assert y.dtype == dx.dtype == dw.dtype == dtype
    np.testing.assert_allclose(y, ry, **tol)
    np.testing.assert_allclose(dx, rdx, **tol)
    np.testing.assert_allclose(dw, rdw, **tol)
    none, dw2 = conv_backward(x, w, dy, need_dx=False, ws=ws, **a)
    assert none is None
    np.testing.assert_allclose(dw2, rdw, **tol)
    return y, dx, dw


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
def test_depthwise_against_reference(case, dtype):
    _check(case, dtype)


@pytest.mark.parametrize("case", CASES[:3] + CASES[9:])
def test_depthwise_reused_nan_workspace(case):
    """Buffers reused across calls and handed out full of NaN: same results, and nothing
    returned aliases a buffer."""
    ws = Workspace()
    for seed in range(2):
        results = _check(case, np.float64, ws=ws, rng_seed=seed)
        ws.assert_not_aliased(*results)
    assert ws.buffers


@pytest.mark.parametrize("ufunc_buffer", [16, 8192])
@pytest.mark.parametrize("block_bytes", [1, 200, 3000])
@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[10], CASES[11]])
def test_depthwise_blocks(case, block_bytes, ufunc_buffer, monkeypatch):
    """Tiny blocks: one row each, runs of samples of one channel, runs of channels with a
    short last block give the reference's results too, at any ufunc buffer size."""
    monkeypatch.setattr(depthwise, "BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(depthwise, "UFUNC_BUFFER", ufunc_buffer)
    _check(case, np.float64, ws=Workspace())


@pytest.mark.parametrize("case,rows,last", [
    ((5, 2, (4, 4), 2, (3, 3), (1, 1), (1, 1), (1, 1)), 2, (4, 5, 1, 2)),   # runs of samples
    ((2, 3, (4, 4), 2, (3, 3), (1, 1), (1, 1), (1, 1)), 4, (0, 2, 2, 3)),   # runs of channels
])
def test_depthwise_blocks_with_a_short_last_block(case, rows, last, monkeypatch):
    n, c, image = case[:3]
    plan = depthwise._plan(image, (3, 3), image, (1, 1), (1, 1), (1, 1))
    monkeypatch.setattr(depthwise, "BLOCK_BYTES", rows * plan.row * 8)
    assert depthwise._blocks(n, c, plan.row * 8)[-1] == last
    _check(case, np.float64, ws=Workspace())


def test_depthwise_strided_inputs():
    """Non-contiguous x and dy (views of larger arrays) give the same results."""
    case = CASES[1]
    x, w, dy, a = _data(np.random.default_rng(3), case)
    xb = np.zeros(x.shape[:2] + tuple(2 * s for s in x.shape[2:]))
    xb[:, :, ::2, ::2] = x
    dyb = np.zeros(dy.shape[:1] + (dy.shape[1] * 2,) + dy.shape[2:])
    dyb[:, ::2] = dy
    y = conv_forward(xb[:, :, ::2, ::2], w, **a)
    dx, dw = conv_backward(xb[:, :, ::2, ::2], w, dyb[:, ::2], **a)
    ry, rdx, rdw = ref_depthwise(x, w, dy, a["stride"], a["padding"], a["dilation"])
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [CASES[1], CASES[4], CASES[11]])
def test_depthwise_finite_differences(case):
    x, w, dy, a = _data(np.random.default_rng(1), case)
    loss = lambda: float(np.sum(conv_forward(x, w, **a) * dy))  # noqa: E731
    dx, dw = conv_backward(x, w, dy, **a)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, numeric_grad(loss, w), rtol=1e-6, atol=1e-7)


def _dense(w, c):
    """A depthwise weight (C*M, 1, *filter) as the block-diagonal weight (C*M, C, *filter)
    of an ungrouped conv (the im2col kernel, tested against the direct loops itself)."""
    m = w.shape[0] // c
    full = np.zeros((w.shape[0], c) + w.shape[2:])
    for f in range(w.shape[0]):
        full[f, f // m] = w[f, 0]
    return full


def test_depthwise_many_geometries_against_the_im2col_kernel():
    """Random geometries (1-D to 3-D, paddings up to beyond the filter, strides up to 3,
    dilations up to 3, multipliers 1-3): the flat rows share their padding across rows,
    axes and samples, which must never mix an input cell into another's output."""
    rng = np.random.default_rng(11)
    done = 0
    while done < 120:
        rank = int(rng.integers(1, 4))
        image = tuple(int(v) for v in rng.integers(1, 8, rank))
        filt = tuple(int(v) for v in rng.integers(1, 5, rank))
        stride = tuple(int(v) for v in rng.integers(1, 4, rank))
        padding = tuple(int(v) for v in rng.integers(0, 4, rank))
        dilation = tuple(int(v) for v in rng.integers(1, 4, rank))
        out = tuple(1 + (i + 2 * p - ((k - 1) * d + 1)) // s
                    for i, k, s, p, d in zip(image, filt, stride, padding, dilation))
        if min(out) < 1:
            continue
        n, c, m = int(rng.integers(1, 4)), int(rng.integers(2, 4)), int(rng.integers(1, 4))
        x = rng.standard_normal((n, c) + image)
        w = rng.standard_normal((c * m, 1) + filt)
        dy = rng.standard_normal((n, c * m) + out)
        a = dict(stride=stride, padding=padding, dilation=dilation)
        wd = _dense(w, c)
        ry = conv_forward(x, wd, groups=1, **a)
        rdx, rdw = conv_backward(x, wd, dy, groups=1, **a)
        y = conv_forward(x, w, groups=c, ws=Workspace(), **a)
        dx, dw = conv_backward(x, w, dy, groups=c, ws=Workspace(), **a)
        label = f"image {image} filter {filt} stride {stride} padding {padding} dilation {dilation}"
        np.testing.assert_allclose(y, ry, rtol=1e-10, atol=1e-10, err_msg=label)
        np.testing.assert_allclose(dx, rdx, rtol=1e-10, atol=1e-10, err_msg=label)
        np.testing.assert_allclose(dw[:, 0], rdw[np.arange(c * m), np.arange(c * m) // m],
                                   rtol=1e-10, atol=1e-10, err_msg=label)
        done += 1


def test_depthwise_empty_batch():
    x, w, dy, a = _data(np.random.default_rng(0), (0, 3, (5, 4), 2, (3, 3), (1, 1), (1, 1),
                                                    (1, 1)))
    assert conv_forward(x, w, **a).shape == dy.shape
    dx, dw = conv_backward(x, w, dy, **a)
    assert dx.shape == x.shape and dw.shape == w.shape and not dw.any()
