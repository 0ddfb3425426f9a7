"""The conv and pool kernels on volumes (N, C, D, H, W), against direct loops written here from
spec 6.1/6.2 (one loop per axis, nothing shared with the kernels), central finite differences
in float64, and the 2-D results for a volume of depth 1."""

import itertools
import math

import numpy as np
import pytest

from minipaddle.kernels.conv import (
    conv2d_forward, conv_backward, conv_forward, conv_transpose_backward,
    conv_transpose_forward,
)
from minipaddle.kernels.pool import pool2d_forward, pool_backward, pool_forward
from numgrad import numeric_grad


# ------------------------------------------------------------------------------------ references

def ref_conv3d(x, w, stride, padding, dilation, groups):
    """y[n, f, oz, oy, ox] = sum w[f, c', kz, ky, kx] * x[n, c, oz*s - p + kz*d, ...]."""
    N, C, D, H, W = x.shape
    F, Cg, kd, kh, kw = w.shape
    (sd, sh, sw), (pd, ph, pw), (dd, dh, dw) = stride, padding, dilation
    Do = 1 + (D + 2 * pd - ((kd - 1) * dd + 1)) // sd
    Ho = 1 + (H + 2 * ph - ((kh - 1) * dh + 1)) // sh
    Wo = 1 + (W + 2 * pw - ((kw - 1) * dw + 1)) // sw
    y = np.zeros((N, F, Do, Ho, Wo))
    Fg = F // groups
    for n, f, oz, oy, ox in itertools.product(range(N), range(F), range(Do), range(Ho),
                                              range(Wo)):
        g = f // Fg
        total = 0.0
        for ci, kz, ky, kx in itertools.product(range(Cg), range(kd), range(kh), range(kw)):
            z, yy, xx = oz * sd - pd + kz * dd, oy * sh - ph + ky * dh, ox * sw - pw + kx * dw
            if 0 <= z < D and 0 <= yy < H and 0 <= xx < W:
                total += w[f, ci, kz, ky, kx] * x[n, g * Cg + ci, z, yy, xx]
        y[n, f, oz, oy, ox] = total
    return y


def ref_deconv3d(x, w, stride, padding, groups, out):
    """Transposed conv: every input cell scatters w[c, f', kz, ky, kx] * x[n, c, iz, iy, ix]
    into y[n, g*F/G + f', iz*s - p + kz, ...] (cells outside the output dropped)."""
    N, C, D, H, W = x.shape
    _, Fg, kd, kh, kw = w.shape
    Cg = C // groups
    y = np.zeros((N, Fg * groups) + tuple(out))
    for n, c, iz, iy, ix in itertools.product(range(N), range(C), range(D), range(H), range(W)):
        g = c // Cg
        for fi, kz, ky, kx in itertools.product(range(Fg), range(kd), range(kh), range(kw)):
            z = iz * stride[0] - padding[0] + kz
            yy = iy * stride[1] - padding[1] + ky
            xx = ix * stride[2] - padding[2] + kx
            if 0 <= z < out[0] and 0 <= yy < out[1] and 0 <= xx < out[2]:
                y[n, g * Fg + fi, z, yy, xx] += w[c, fi, kz, ky, kx] * x[n, c, iz, iy, ix]
    return y


def ref_pool3d(x, kind, kernel, stride, padding, out, exclude_mode=True):
    N, C = x.shape[:2]
    y = np.zeros((N, C) + tuple(out))
    for n, c in itertools.product(range(N), range(C)):
        for o in itertools.product(*(range(v) for v in out)):
            bounds = []
            for axis in range(3):
                start = o[axis] * stride[axis] - padding[axis]
                end = min(start + kernel[axis], x.shape[2 + axis])
                bounds.append(range(max(start, 0), end))
            cells = [x[(n, c) + cell] for cell in itertools.product(*bounds)]
            if not cells:
                continue
            if kind == "max":
                y[(n, c) + o] = max(cells)
            else:
                y[(n, c) + o] = sum(cells) / (len(cells) if exclude_mode else math.prod(kernel))
    return y


def a3(stride, padding, dilation, groups):
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


# ------------------------------------------------------------------------------------- conv3d

CONV3D_CASES = [
    # x shape, w shape, stride, padding, dilation, groups
    ((2, 3, 4, 5, 6), (4, 3, 3, 2, 3), (1, 1, 1), (1, 0, 1), (1, 1, 1), 1),
    ((2, 4, 5, 4, 7), (6, 2, 2, 3, 3), (2, 1, 2), (1, 1, 0), (1, 1, 2), 2),
    ((1, 2, 6, 5, 5), (2, 1, 3, 3, 2), (3, 2, 1), (2, 1, 1), (2, 1, 1), 2),    # depthwise
    ((3, 2, 3, 3, 3), (5, 2, 1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), 1),    # 1x1x1
]


@pytest.mark.parametrize("case", CONV3D_CASES)
@pytest.mark.parametrize("layout", [None, "batch", "pixel"])
def test_conv3d_forward_and_backward_against_loops(case, layout):
    xs, ws, s, p, d, g = case
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    depthwise = g > 1 and xs[1] == g
    if depthwise and layout is not None:
        layout = None
    a = a3(s, p, d, g)
    y = conv_forward(x, w, layout=layout, **a)
    np.testing.assert_allclose(y, ref_conv3d(x, w, s, p, d, g), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dw = conv_backward(x, w, dy, layout=layout, **a)
    # the gradients of sum(y * dy), by central differences through the reference-checked forward
    np.testing.assert_allclose(
        dx, numeric_grad(lambda: float((conv_forward(x, w, **a) * dy).sum()), x),
        rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        dw, numeric_grad(lambda: float((conv_forward(x, w, **a) * dy).sum()), w),
        rtol=1e-6, atol=1e-7)


def test_conv3d_of_depth_one_is_the_2d_conv():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 3))
    y2 = conv2d_forward(x, w, stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=2)
    y3 = conv_forward(x[:, :, None], w[:, :, None], stride=(1, 2, 1), padding=(0, 1, 1),
                      dilation=(1, 1, 2), groups=2)
    np.testing.assert_allclose(y3[:, :, 0], y2, rtol=1e-13, atol=1e-13)


DECONV3D_CASES = [
    # x shape, w shape (C, F/G, k...), stride, padding, groups
    ((2, 3, 2, 3, 4), (3, 2, 2, 2, 3), (2, 2, 1), (0, 1, 1), 1),
    ((1, 4, 3, 2, 3), (4, 3, 3, 2, 2), (1, 2, 2), (1, 0, 0), 2),
]


@pytest.mark.parametrize("case", DECONV3D_CASES)
def test_deconv3d_forward_and_backward_against_loops(case):
    xs, ws, s, p, g = case
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    out = tuple((i - 1) * st + k - 2 * pp for i, k, st, pp in zip(xs[2:], ws[2:], s, p))
    a = a3(s, p, 1, g)
    y = conv_transpose_forward(x, w, output_size=out, **a)
    np.testing.assert_allclose(y, ref_deconv3d(x, w, s, p, g, out), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv_transpose_forward(x, w, output_size=None, **a), y)
    dy = rng.standard_normal(y.shape)
    dx, dw = conv_transpose_backward(x, w, dy, **a)

    def loss():
        return float((conv_transpose_forward(x, w, output_size=out, **a) * dy).sum())
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, numeric_grad(loss, w), rtol=1e-6, atol=1e-7)


def test_conv_argument_errors_name_the_axes():
    x, w = np.zeros((1, 2, 3, 4, 5)), np.zeros((2, 2, 3, 3, 3))
    with pytest.raises(ValueError, match="one value per spatial axis"):
        conv_forward(x, w, stride=(1, 1), padding=0, dilation=1, groups=1)
    with pytest.raises(ValueError, match="w must be 5-D"):
        conv_forward(x, np.zeros((2, 2, 3, 3)), stride=1, padding=0, dilation=1, groups=1)
    with pytest.raises(ValueError, match="output size"):
        conv_forward(x, np.zeros((2, 2, 4, 3, 3)), stride=1, padding=0, dilation=1, groups=1)


# ------------------------------------------------------------------------------------- pool3d

def pool_out(size, k, s, p, ceil):
    span = size + 2 * p - k
    return 1 + (-(-span // s) if ceil else span // s)


POOL3D_CASES = [
    # x shape, kernel, stride, padding, ceil
    ((2, 3, 5, 6, 7), (3, 3, 3), (2, 2, 2), (1, 1, 1), True),
    ((1, 2, 4, 5, 6), (2, 3, 2), (2, 3, 1), (0, 0, 0), False),
    ((2, 2, 4, 4, 4), (2, 2, 2), (2, 2, 2), (0, 0, 0), True),       # tiling
    ((1, 2, 3, 4, 5), (3, 4, 5), (1, 1, 1), (0, 0, 0), True),       # global
    ((1, 2, 5, 3, 4), (3, 2, 3), (3, 1, 2), (2, 1, 1), True),       # ceil past the edge
]


@pytest.mark.parametrize("case", POOL3D_CASES)
@pytest.mark.parametrize("kind,exclude", [("max", True), ("avg", True), ("avg", False)])
def test_pool3d_against_loops_and_finite_differences(case, kind, exclude):
    xs, k, s, p, ceil = case
    out = tuple(pool_out(n, kk, ss, pp, ceil) for n, kk, ss, pp in zip(xs[2:], k, s, p))
    rng = np.random.default_rng(4)
    x = rng.permutation(np.arange(math.prod(xs), dtype=np.float64)).reshape(xs) / 7.0  # no ties
    a = dict(kind=kind, kernel=k, stride=s, padding=p, output_size=out, exclude_mode=exclude)
    y = pool_forward(x, **a)
    np.testing.assert_allclose(y, ref_pool3d(x, kind, k, s, p, out, exclude), rtol=1e-13)
    dy = rng.standard_normal(y.shape)
    dx = pool_backward(x, y, dy, **a)
    np.testing.assert_allclose(
        dx, numeric_grad(lambda: float((pool_forward(x, **a) * dy).sum()), x, h=1e-4),
        rtol=1e-6, atol=1e-8)


def test_pool3d_of_depth_one_is_the_2d_pool():
    x = np.random.default_rng(5).standard_normal((2, 3, 9, 8))
    a2 = dict(kind="max", kernel=(3, 2), stride=(2, 2), padding=(1, 0), output_size=(5, 4))
    a3_ = dict(kind="max", kernel=(1, 3, 2), stride=(1, 2, 2), padding=(0, 1, 0),
               output_size=(1, 5, 4))
    np.testing.assert_array_equal(pool_forward(x[:, :, None], **a3_)[:, :, 0],
                                  pool2d_forward(x, **a2))


def test_pool3d_max_ties_all_receive_the_gradient():
    x = np.ones((1, 1, 2, 2, 2))
    a = dict(kind="max", kernel=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0),
             output_size=(1, 1, 1))
    y = pool_forward(x, **a)
    np.testing.assert_array_equal(pool_backward(x, y, np.full(y.shape, 3.0), **a),
                                  np.full(x.shape, 3.0))


def test_pool_refuses_axes_that_do_not_match():
    with pytest.raises(ValueError, match="one value per spatial axis"):
        pool_forward(np.zeros((1, 1, 2, 2, 2)), kind="max", kernel=(2, 2), stride=(1, 1),
                     padding=(0, 0), output_size=(1, 1))
