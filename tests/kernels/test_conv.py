"""conv2d / conv2d_transpose kernels against direct-loop references written from spec 6.1,
hand-derived values (spec 7.2's test_ConvUnify cases and a worked stride-2 example), central
finite differences in float64, and hypothesis properties over many argument sets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numgrad import numeric_grad

from minipaddle.kernels.conv import (
    conv2d_backward,
    conv2d_forward,
    conv2d_transpose_backward,
    columns_shape,
    conv2d_transpose_forward,
    conv_algorithm,
    conv_output_size,
)


# ------------------------------------------------------------------------------------ references
# Plain Python loops over n, f, oy, ox, c, ky, kx in float64; one loop nest gives the output and
# both gradients of sum(y * dy) (each gradient formula is the same index relation read backwards).

def ref_conv(x, w, dy, stride, padding, dilation, groups):
    """y, dx, dw of a conv: y[n,f,oy,ox] = sum w[f,c',ky,kx] * x[n,c,oy*s-p+ky*d, ox*s-p+kx*d]."""
    N, C, H, W = x.shape
    F, Cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw_) = stride, padding, dilation
    Ho = 1 + (H + 2 * ph - ((kh - 1) * dh + 1)) // sh
    Wo = 1 + (W + 2 * pw - ((kw - 1) * dw_ + 1)) // sw
    Fg = F // groups
    xl, wl = x.astype(np.float64).tolist(), w.astype(np.float64).tolist()
    dyl = None if dy is None else dy.astype(np.float64).tolist()
    y = np.zeros((N, F, Ho, Wo))
    dx = np.zeros((N, C, H, W))
    dw = np.zeros((F, Cg, kh, kw))
    for n in range(N):
        for f in range(F):
            g = f // Fg
            for oy in range(Ho):
                for ox in range(Wo):
                    acc = 0.0
                    gy = 0.0 if dyl is None else dyl[n][f][oy][ox]
                    for ci in range(Cg):
                        c = g * Cg + ci
                        for ky in range(kh):
                            iy = oy * sh - ph + ky * dh
                            if not 0 <= iy < H:
                                continue
                            for kx in range(kw):
                                ix = ox * sw - pw + kx * dw_
                                if not 0 <= ix < W:
                                    continue
                                acc += wl[f][ci][ky][kx] * xl[n][c][iy][ix]
                                dx[n, c, iy, ix] += wl[f][ci][ky][kx] * gy
                                dw[f, ci, ky, kx] += xl[n][c][iy][ix] * gy
                    y[n, f, oy, ox] = acc
    return y, dx, dw


def ref_conv_transpose(x, w, dy, stride, padding, dilation, groups, output_size):
    """y, dx, dw of a transposed conv:
    y[n, f, iy*s-p+ky*d, ix*s-p+kx*d] += w[c, f-g*F/G, ky, kx] * x[n, c, iy, ix]."""
    N, C, H, W = x.shape
    _, Fg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw_) = stride, padding, dilation
    Ho, Wo = output_size
    F = Fg * groups
    Cg = C // groups
    xl, wl = x.astype(np.float64).tolist(), w.astype(np.float64).tolist()
    dyl = None if dy is None else dy.astype(np.float64).tolist()
    y = np.zeros((N, F, Ho, Wo))
    dx = np.zeros((N, C, H, W))
    dw = np.zeros(w.shape)
    for n in range(N):
        for c in range(C):
            g = c // Cg
            for iy in range(H):
                for ix in range(W):
                    xv = xl[n][c][iy][ix]
                    for fi in range(Fg):
                        f = g * Fg + fi
                        for ky in range(kh):
                            oy = iy * sh - ph + ky * dh
                            if not 0 <= oy < Ho:
                                continue
                            for kx in range(kw):
                                ox = ix * sw - pw + kx * dw_
                                if not 0 <= ox < Wo:
                                    continue
                                y[n, f, oy, ox] += wl[c][fi][ky][kx] * xv
                                if dyl is not None:
                                    gy = dyl[n][f][oy][ox]
                                    dx[n, c, iy, ix] += wl[c][fi][ky][kx] * gy
                                    dw[c, fi, ky, kx] += xv * gy
    return y, dx, dw


def transpose_size(size, k, s, p, d):
    return (size - 1) * s + (k - 1) * d + 1 - 2 * p


def args(stride, padding, dilation, groups):
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


# ------------------------------------------------------------------------------- output size

@pytest.mark.parametrize("size,k,p,s,d,expected", [
    (32, 3, 1, 1, 1, 32), (5, 3, 1, 2, 1, 3), (227, 11, 0, 4, 1, 55), (28, 5, 0, 1, 1, 24),
    (7, 3, 0, 2, 2, 2), (4, 3, 1, 3, 1, 2), (3, 3, 0, 1, 1, 1), (6, 2, 0, 2, 1, 3),
])
def test_conv_output_size(size, k, p, s, d, expected):
    assert conv_output_size(size, k, p, s, d) == expected
    assert conv_output_size(size, k, p, s, d) == 1 + (size + 2 * p - ((k - 1) * d + 1)) // s


# ------------------------------------------------------- spec 7.2 test_ConvUnify, by hand

def test_convunify_case1_conv():
    x = np.arange(1, 17, dtype=np.float64).reshape(1, 1, 4, 4)
    w = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1.0]).reshape(2, 1, 3, 3)
    y = conv2d_forward(x, w, **args((1, 1), (0, 0), (1, 1), 1))
    np.testing.assert_array_equal(y[0], [[[348, 393], [528, 573]], [[192, 237], [372, 417]]])


def test_convunify_case1_transposed():
    x = np.array([1, 2, 3, 4.0]).reshape(1, 1, 2, 2)
    w = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1.0]).reshape(1, 2, 3, 3)
    y = conv2d_transpose_forward(x, w, **args((1, 1), (0, 0), (1, 1), 1), output_size=(4, 4))
    np.testing.assert_array_equal(y[0], [
        [[1, 4, 7, 6], [7, 23, 33, 24], [19, 53, 63, 42], [21, 52, 59, 36]],
        [[9, 26, 23, 14], [33, 77, 67, 36], [21, 47, 37, 18], [9, 18, 11, 4]]])


X2 = np.arange(1, 19, dtype=np.float64).reshape(1, 2, 3, 3)
PARAM2 = np.array([1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1.0])
PARAM3 = np.array([1, 2, 3, 4, 4, 3, 2, 1.0])
X2T = np.arange(1, 9, dtype=np.float64).reshape(1, 2, 2, 2)


def test_convunify_case2_conv():
    y = conv2d_forward(X2, PARAM2.reshape(2, 2, 2, 2), **args((1, 1), (0, 0), (1, 1), 1))
    np.testing.assert_array_equal(y[0], [[[356, 392], [464, 500]], [[184, 220], [292, 328]]])


def test_convunify_case3_conv_groups():
    y = conv2d_forward(X2, PARAM3.reshape(2, 1, 2, 2), **args((1, 1), (0, 0), (1, 1), 2))
    np.testing.assert_array_equal(y[0], [[[37, 47], [67, 77]], [[113, 123], [143, 153]]])


def test_convunify_case2_transposed():
    y = conv2d_transpose_forward(X2T, PARAM2.reshape(2, 2, 2, 2),
                                 **args((1, 1), (0, 0), (1, 1), 1), output_size=(3, 3))
    np.testing.assert_array_equal(y[0], [
        [[41, 87, 46], [92, 194, 102], [51, 107, 56]],
        [[25, 55, 30], [60, 130, 70], [35, 75, 40]]])


def test_convunify_case3_transposed_groups():
    y = conv2d_transpose_forward(X2T, PARAM3.reshape(2, 1, 2, 2),
                                 **args((1, 1), (0, 0), (1, 1), 2), output_size=(3, 3))
    np.testing.assert_array_equal(y[0], [
        [[1, 4, 4], [6, 20, 16], [9, 24, 16]],
        [[20, 39, 18], [38, 70, 30], [14, 23, 8]]])


def test_convunify_values_match_the_reference():
    """The hand-derived values above agree with the loop reference too."""
    w2 = PARAM2.reshape(2, 2, 2, 2)
    y, _, _ = ref_conv(X2, w2, None, (1, 1), (0, 0), (1, 1), 1)
    np.testing.assert_array_equal(y[0, 0], [[356, 392], [464, 500]])
    y, _, _ = ref_conv_transpose(X2T, w2, None, (1, 1), (0, 0), (1, 1), 1, (3, 3))
    np.testing.assert_array_equal(y[0, 0], [[41, 87, 46], [92, 194, 102], [51, 107, 56]])


# ---------------------------------------------------- worked example: 3x5x5, stride 2, pad 1

EX_X = np.array([
    [[0, 1, 1, 0, 2], [2, 2, 2, 2, 1], [1, 0, 0, 2, 0], [0, 1, 1, 0, 0], [1, 2, 0, 0, 2]],
    [[1, 0, 2, 2, 0], [0, 0, 0, 2, 0], [1, 2, 1, 2, 1], [1, 0, 0, 0, 0], [1, 2, 1, 1, 1]],
    [[2, 1, 2, 0, 0], [1, 0, 0, 1, 0], [0, 2, 1, 0, 1], [0, 1, 2, 2, 2], [2, 1, 0, 0, 1]],
], dtype=np.float64)[None]
EX_W = np.array([
    [[[-1, 1, 0], [0, 1, 0], [0, 1, 1]], [[-1, -1, 0], [0, 0, 0], [0, -1, 0]],
     [[0, 0, -1], [0, 1, 0], [1, -1, -1]]],
    [[[1, 1, -1], [-1, -1, 1], [0, -1, 1]], [[0, 1, 0], [-1, 0, -1], [-1, 1, 0]],
     [[-1, 0, 0], [-1, 0, 1], [-1, 0, 0]]],
], dtype=np.float64)
EX_BIAS = np.array([1.0, 0.0])
EX_Y = np.array([[[6, 7, 5], [3, -1, -1], [2, -1, 4]], [[2, -5, -8], [1, -4, -4], [0, -5, -5]]])
EX_DY = np.array([[[0, 1, 1], [2, 2, 2], [1, 0, 0]], [[1, 0, 2], [0, 0, 0], [1, 2, 1]]],
                 dtype=np.float64)[None]
EX_DX = np.array([
    [[-1, 1, 1, -2, -1], [1, -1, 3, -1, 1], [2, 0, 2, 0, 2], [4, 3, 4, 1, 3], [0, -1, -2, 1, -1]],
    [[0, -1, 0, -2, 0], [-1, -2, -3, -4, -1], [0, 0, 0, 0, 0], [-2, 0, 0, 0, -1],
     [0, -3, 0, -3, 0]],
    [[0, 1, 1, -2, 1], [0, -1, -1, -4, -1], [2, 0, 2, 0, 2], [-2, -3, -2, -1, -2],
     [1, -1, 0, 1, 0]],
])
EX_ARGS = args((2, 2), (1, 1), (1, 1), 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_worked_example_forward(dtype):
    y = conv2d_forward(EX_X.astype(dtype), EX_W.astype(dtype), **EX_ARGS)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y[0] + EX_BIAS[:, None, None], EX_Y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_worked_example_backward(dtype):
    dx, dw = conv2d_backward(EX_X.astype(dtype), EX_W.astype(dtype), EX_DY.astype(dtype),
                             **EX_ARGS)
    assert dx.dtype == dw.dtype == dtype
    np.testing.assert_array_equal(dx[0], EX_DX)
    _, rdx, rdw = ref_conv(EX_X, EX_W, EX_DY, (2, 2), (1, 1), (1, 1), 1)
    np.testing.assert_array_equal(rdx[0], EX_DX)
    np.testing.assert_array_equal(dw, rdw)


def test_integer_input_is_promoted_not_truncated():
    y = conv2d_forward(EX_X.astype(np.int64), EX_W + 0.5, **EX_ARGS)
    assert y.dtype == np.float64
    ry, _, _ = ref_conv(EX_X, EX_W + 0.5, None, (2, 2), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(y, ry, rtol=1e-12)
    dx, dw = conv2d_backward(EX_X.astype(np.int64), EX_W.astype(np.int64),
                             EX_DY.astype(np.int64), **EX_ARGS)
    assert dx.dtype == dw.dtype == np.float64
    np.testing.assert_array_equal(dx[0], EX_DX)


def test_worked_example_transposed_is_the_data_gradient():
    """exconvt of dy with the same weight array is the conv's input gradient (spec 6.1)."""
    y = conv2d_transpose_forward(EX_DY, EX_W, **EX_ARGS, output_size=(5, 5))
    np.testing.assert_array_equal(y[0], EX_DX)


# --------------------------------------------------- hand-picked cases: reference + numerics

CONV_CASES = [
    # (N, C, H, W, F, kh, kw, stride, padding, dilation, groups)
    (2, 3, 5, 7, 4, 3, 2, (1, 2), (1, 0), (1, 1), 1),
    (1, 4, 6, 5, 6, 2, 3, (2, 1), (0, 2), (2, 1), 2),
    (2, 4, 7, 6, 4, 3, 3, (3, 2), (2, 1), (1, 2), 4),    # depthwise-like
    (1, 2, 4, 4, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1),    # 1x1
    (2, 2, 3, 5, 2, 3, 5, (1, 1), (0, 0), (1, 1), 1),    # filter = input: 1x1 output
    (1, 3, 2, 3, 3, 4, 5, (1, 1), (1, 1), (1, 1), 3),    # filter = padded input
    (1, 2, 9, 8, 2, 3, 2, (2, 3), (1, 2), (3, 2), 1),    # dilation 3 with padding
]


def _conv_data(rng, case, dtype=np.float64):
    N, C, H, W, F, kh, kw, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C // g, kh, kw)).astype(dtype)
    Ho = conv_output_size(H, kh, p[0], s[0], d[0])
    Wo = conv_output_size(W, kw, p[1], s[1], d[1])
    dy = rng.standard_normal((N, F, Ho, Wo)).astype(dtype)
    return x, w, dy, args(s, p, d, g)


LAYOUTS = ["batch", "pixel"]


class Workspace:
    """A buffer provider as the runtime backend passes it: one array per (tag, shape, dtype),
    handed out full of NaN (stale contents must never leak into a result); records every buffer
    so tests can check nothing returned aliases one."""

    def __init__(self):
        self.buffers = {}

    def __call__(self, tag, shape, dtype):
        key = (tag, tuple(shape), np.dtype(dtype))
        if key not in self.buffers:
            self.buffers[key] = np.empty(shape, dtype)
        self.buffers[key][...] = np.nan
        return self.buffers[key]

    def assert_not_aliased(self, *arrays):
        for a in arrays:
            if a is not None:
                for buf in self.buffers.values():
                    assert not np.shares_memory(a, buf)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_against_reference(case, layout):
    x, w, dy, a = _conv_data(np.random.default_rng(0), case)
    ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
    np.testing.assert_allclose(conv2d_forward(x, w, **a, layout=layout), ry,
                               rtol=1e-12, atol=1e-12)
    dx, dw = conv2d_backward(x, w, dy, **a, layout=layout)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)
    dx2, dw2 = conv2d_backward(x, w, dy, **a, need_dx=False, layout=layout)
    assert dx2 is None
    np.testing.assert_array_equal(dw2, dw)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_with_reused_buffers_and_kept_columns(case, layout):
    """Buffers reused across calls (padded borders must stay zero), columns written by the
    forward and handed to the backward, output written into ``out``: same results, and
    nothing returned aliases a reused buffer."""
    rng = np.random.default_rng(4)
    ws = Workspace()
    shape = columns_shape(_conv_data(rng, case)[0].shape, _conv_data(rng, case)[1].shape,
                          layout=layout, **_conv_data(rng, case)[3])
    for _ in range(3):
        x, w, dy, a = _conv_data(rng, case)
        ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                a["groups"])
        cols = None if shape is None else np.empty(shape)
        out = np.empty(ry.shape)
        y = conv2d_forward(x, w, **a, layout=layout, out=out, columns=cols, ws=ws)
        assert y is out
        np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
        dx, dw = conv2d_backward(x, w, dy, **a, layout=layout, columns=cols, ws=ws)
        np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)
        ws.assert_not_aliased(y, dx, dw)
    assert ws.buffers


def test_depthwise_kernel_runs_for_one_channel_per_group():
    """Depthwise (C/G == 1, G > 1) runs shifted multiply-adds, with a channel multiplier too."""
    assert conv_algorithm(4, 4, (5, 5)) == "depthwise"
    assert conv_algorithm(4, 2, (5, 5)) == "pixel"
    assert conv_algorithm(1, 1, (24, 24)) == "batch"
    for case in [(2, 4, 7, 6, 8, 3, 3, (1, 2), (1, 1), (2, 1), 4),     # multiplier 2
                 (3, 6, 5, 5, 6, 3, 3, (1, 1), (1, 1), (1, 1), 6)]:
        x, w, dy, a = _conv_data(np.random.default_rng(5), case)
        ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                a["groups"])
        np.testing.assert_allclose(conv2d_forward(x, w, **a), ry, rtol=1e-12, atol=1e-12)
        dx, dw = conv2d_backward(x, w, dy, **a)
        np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)


def test_conv_large_image_against_reference():
    """575 output pixels per sample: the automatic choice is the batch layout."""
    case = (2, 4, 23, 25, 4, 3, 2, (1, 1), (1, 1), (1, 2), 2)
    x, w, dy, a = _conv_data(np.random.default_rng(9), case)
    assert conv_algorithm(4, 2, (23, 25)) == "batch"
    ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
    y = conv2d_forward(x, w, **a)
    assert y.shape == (2, 4, 23, 25)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    dx, dw = conv2d_backward(x, w, dy, **a)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_finite_differences(case):
    x, w, dy, a = _conv_data(np.random.default_rng(1), case)
    loss = lambda: float(np.sum(conv2d_forward(x, w, **a) * dy))  # noqa: E731
    dx, dw = conv2d_backward(x, w, dy, **a)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, numeric_grad(loss, w), rtol=1e-6, atol=1e-7)


TRANSPOSE_CASES = [
    # (N, C, H, W, F, kh, kw, stride, padding, dilation, groups, extra output rows/cols)
    (2, 3, 3, 2, 4, 3, 2, (2, 1), (1, 0), (1, 1), 1, (0, 0)),
    (1, 4, 2, 3, 6, 4, 4, (2, 2), (1, 1), (1, 1), 2, (0, 0)),   # the usual 4x4/2 upsampling
    (2, 4, 3, 3, 4, 2, 3, (3, 2), (0, 2), (2, 1), 4, (0, 0)),
    (1, 2, 3, 4, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1, (0, 0)),   # 1x1
    (1, 2, 1, 1, 2, 3, 2, (1, 1), (0, 0), (1, 1), 2, (0, 0)),   # 1x1 input: one filter copy
    (1, 2, 3, 3, 2, 3, 3, (3, 2), (1, 0), (1, 2), 1, (2, 1)),   # output_size beyond the formula
]


def _transpose_data(rng, case, dtype=np.float64):
    N, C, H, W, F, kh, kw, s, p, d, g, extra = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((C, F // g, kh, kw)).astype(dtype)
    out = (transpose_size(H, kh, s[0], p[0], d[0]) + extra[0],
           transpose_size(W, kw, s[1], p[1], d[1]) + extra[1])
    dy = rng.standard_normal((N, F) + out).astype(dtype)
    return x, w, dy, args(s, p, d, g), out


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_transpose_against_reference(case, layout):
    x, w, dy, a, out = _transpose_data(np.random.default_rng(2), case)
    ry, rdx, rdw = ref_conv_transpose(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                      a["groups"], out)
    ws = Workspace()
    for _ in range(2):     # the second call reuses the buffers of the first
        y = conv2d_transpose_forward(x, w, **a, output_size=out, layout=layout, ws=ws)
        np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
        dx, dw = conv2d_transpose_backward(x, w, dy, **a, layout=layout, ws=ws)
        np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)
        ws.assert_not_aliased(y, dx, dw)
    dx2, dw2 = conv2d_transpose_backward(x, w, dy, **a, need_dx=False, layout=layout)
    assert dx2 is None
    np.testing.assert_array_equal(dw2, dw)


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_transpose_finite_differences(case):
    x, w, dy, a, out = _transpose_data(np.random.default_rng(3), case)
    loss = lambda: float(np.sum(conv2d_transpose_forward(x, w, **a, output_size=out) * dy))  # noqa
    dx, dw = conv2d_transpose_backward(x, w, dy, **a)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, numeric_grad(loss, w), rtol=1e-6, atol=1e-7)


def test_transpose_output_size_none_uses_the_formula():
    x, w, _, a, out = _transpose_data(np.random.default_rng(4), TRANSPOSE_CASES[1])
    np.testing.assert_array_equal(conv2d_transpose_forward(x, w, **a, output_size=None),
                                  conv2d_transpose_forward(x, w, **a, output_size=out))


def test_int_arguments_mean_both_axes():
    x, w, _, _ = _conv_data(np.random.default_rng(5), CONV_CASES[0])
    np.testing.assert_array_equal(
        conv2d_forward(x, w, stride=2, padding=1, dilation=1, groups=1),
        conv2d_forward(x, w, stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=1))


def test_non_contiguous_inputs():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 6, 7, 4)).transpose(0, 1, 3, 2)[:, ::2]   # (2, 3, 4, 7) strided
    w = rng.standard_normal((4, 3, 3, 2))[::2, :, ::-1]                   # (2, 3, 3, 2) strided
    a = args((1, 2), (1, 1), (2, 1), 1)
    y = conv2d_forward(x, w, **a)
    dy = rng.standard_normal(y.shape)[..., ::-1]                          # negative strides
    ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], 1)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    dx, dw = conv2d_backward(x, w, dy, **a)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)
    assert dx.flags.c_contiguous and dw.flags.c_contiguous and y.flags.c_contiguous


@pytest.mark.parametrize("bad", [
    dict(x=(1, 3, 5, 5), w=(2, 2, 3, 3), groups=1),          # channel mismatch
    dict(x=(1, 4, 5, 5), w=(3, 2, 3, 3), groups=2),          # filters not divisible by groups
    dict(x=(1, 2, 2, 2), w=(2, 2, 3, 3), groups=1),          # output size 0
])
def test_conv_argument_errors(bad):
    x, w = np.zeros(bad["x"]), np.zeros(bad["w"])
    with pytest.raises(ValueError):
        conv2d_forward(x, w, stride=1, padding=0, dilation=1, groups=bad["groups"])


def test_transpose_rejects_an_output_size_that_does_not_invert():
    x, w = np.zeros((1, 2, 3, 3)), np.zeros((2, 1, 3, 3))
    with pytest.raises(ValueError):
        conv2d_transpose_forward(x, w, stride=2, padding=0, dilation=1, groups=1,
                                 output_size=(9, 7))


# ------------------------------------------------------------------------- float32 stays float32

class DtypeSpy:
    """An array module that forwards to numpy and records the dtype of every array that a
    top-level numpy function returns, so intermediates are checked, not only outputs."""

    def __init__(self):
        self.dtypes = []
        self.lib = np.lib

    def __getattr__(self, name):
        fn = getattr(np, name)
        if not callable(fn) or isinstance(fn, type):
            return fn

        def wrapped(*a, **k):
            out = fn(*a, **k)
            if isinstance(out, np.ndarray):
                self.dtypes.append((name, out.dtype))
            return out
        return wrapped


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[2]])
def test_float32_conv_stays_float32(case):
    x, w, dy, a = _conv_data(np.random.default_rng(7), case, np.float32)
    spy = DtypeSpy()
    y = conv2d_forward(x, w, **a, xp=spy)
    dx, dw = conv2d_backward(x, w, dy, **a, xp=spy)
    assert y.dtype == dx.dtype == dw.dtype == np.float32
    assert spy.dtypes and all(dt == np.float32 for _, dt in spy.dtypes), spy.dtypes
    # float64 weights / gradients are cast to the input's dtype, never the other way
    y2 = conv2d_forward(x, w.astype(np.float64), **a)
    dx2, dw2 = conv2d_backward(x, w.astype(np.float64), dy.astype(np.float64), **a)
    assert y2.dtype == dx2.dtype == dw2.dtype == np.float32
    ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx, rdx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dw, rdw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", [TRANSPOSE_CASES[1], TRANSPOSE_CASES[2]])
def test_float32_transpose_stays_float32(case):
    x, w, dy, a, out = _transpose_data(np.random.default_rng(8), case, np.float32)
    spy = DtypeSpy()
    y = conv2d_transpose_forward(x, w, **a, output_size=out, xp=spy)
    dx, dw = conv2d_transpose_backward(x, w, dy, **a, xp=spy)
    assert y.dtype == dx.dtype == dw.dtype == np.float32
    assert spy.dtypes and all(dt == np.float32 for _, dt in spy.dtypes), spy.dtypes
    ry, rdx, rdw = ref_conv_transpose(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                      a["groups"], out)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx, rdx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dw, rdw, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------ hypothesis properties

@st.composite
def conv_setups(draw):
    """Valid conv argument sets only: the image is drawn from the smallest size that gives one
    output pixel (extra 0 = filter equal to the padded input) upwards."""
    g = draw(st.integers(1, 3))
    C, F = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    N = draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = tuple(max(1, (k[i] - 1) * d[i] + 1 - 2 * p[i]) + draw(st.integers(0, 4))
                 for i in range(2))
    seed = draw(st.integers(0, 2**16))
    return N, C, size[0], size[1], F, k[0], k[1], s, p, d, g, seed


@settings(max_examples=200)
@given(conv_setups())
def test_conv_property_matches_reference(setup):
    *case, seed = setup
    x, w, dy, a = _conv_data(np.random.default_rng(seed), tuple(case))
    ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
    for layout in LAYOUTS:
        y = conv2d_forward(x, w, **a, layout=layout)
        assert y.shape == ry.shape and y.shape[2] >= 1 and y.shape[3] >= 1
        np.testing.assert_allclose(y, ry, rtol=1e-10, atol=1e-10)
        dx, dw = conv2d_backward(x, w, dy, **a, layout=layout)
        np.testing.assert_allclose(dx, rdx, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dw, rdw, rtol=1e-10, atol=1e-10)
    # the transposed conv with the same weight array is this conv's data gradient
    out = tuple(x.shape[2:])
    np.testing.assert_allclose(conv2d_transpose_forward(dy, w, **a, output_size=out), dx,
                               rtol=1e-10, atol=1e-10)


@st.composite
def transpose_setups(draw):
    g = draw(st.integers(1, 3))
    C, F = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    N = draw(st.integers(1, 2))
    H, W = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    # padding limited so that the output keeps at least one pixel
    p = tuple(min(draw(st.integers(0, 2)), ((size - 1) * s[i] + (k[i] - 1) * d[i]) // 2)
              for i, size in enumerate((H, W)))
    extra = (draw(st.integers(0, s[0] - 1)), draw(st.integers(0, s[1] - 1)))
    seed = draw(st.integers(0, 2**16))
    return N, C, H, W, F, k[0], k[1], s, p, d, g, extra, seed


@settings(max_examples=200)
@given(transpose_setups())
def test_transpose_property_matches_reference(setup):
    *case, seed = setup
    x, w, dy, a, out = _transpose_data(np.random.default_rng(seed), tuple(case))
    assert min(out) >= 1
    ry, rdx, rdw = ref_conv_transpose(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                      a["groups"], out)
    for layout in LAYOUTS:
        y = conv2d_transpose_forward(x, w, **a, output_size=out, layout=layout)
        np.testing.assert_allclose(y, ry, rtol=1e-10, atol=1e-10)
        dx, dw = conv2d_transpose_backward(x, w, dy, **a, layout=layout)
        np.testing.assert_allclose(dx, rdx, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dw, rdw, rtol=1e-10, atol=1e-10)
    # its input gradient is the conv forward of dy with the same weight array
    np.testing.assert_allclose(conv2d_forward(dy, w, **a), dx, rtol=1e-10, atol=1e-10)
