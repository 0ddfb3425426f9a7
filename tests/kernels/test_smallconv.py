"""The "flat" conv kernel (kernels/smallconv.py) against the direct-loop reference of
test_conv.py: forced through conv_forward/conv_backward, odd shapes, padding 0 to the filter's
reach, dilation, both gradients and the weight gradient alone (both of its column choices),
reused NaN-filled buffers, many small blocks, float32 and float64, finite differences; the
size rule; the layouts it refuses."""

import numpy as np
import pytest
from numgrad import numeric_grad
from test_conv import Workspace, _conv_data, ref_conv

from minipaddle.kernels import smallconv as S
from minipaddle.kernels.conv import conv2d_backward, conv2d_forward, conv2d_transpose_forward
from minipaddle.kernels.conv import conv_algorithm

FLAT_CASES = [
    # (N, C, H, W, F, kh, kw, stride, padding, dilation, groups)
    (2, 3, 6, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (3, 4, 7, 9, 2, 3, 3, (1, 1), (0, 0), (1, 1), 1),     # no padding; F < C
    (2, 2, 5, 6, 5, 3, 3, (1, 1), (2, 2), (1, 1), 1),     # padding = the filter's reach
    (1, 3, 9, 8, 3, 3, 2, (1, 1), (2, 1), (2, 3), 1),     # dilation, uneven filter
    (2, 1, 4, 4, 3, 5, 5, (1, 1), (2, 2), (1, 1), 1),     # one channel, 5x5
    (2, 5, 3, 7, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1),     # 1x1
    (1, 2, 2, 3, 4, 2, 3, (1, 1), (1, 0), (1, 1), 1),     # even filter, asymmetric padding
]


def _check(case, dtype, ws=None, tol=1e-12):
    x, w, dy, a = _conv_data(np.random.default_rng(7), case, dtype)
    ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
    y = conv2d_forward(x, w, **a, layout="flat", ws=ws)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ry, rtol=tol, atol=tol)
    dx, dw = conv2d_backward(x, w, dy, **a, layout="flat", ws=ws)
    assert dx.dtype == dtype and dw.dtype == dtype and dw.shape == w.shape
    np.testing.assert_allclose(dx, rdx, rtol=tol, atol=tol)
    np.testing.assert_allclose(dw, rdw, rtol=tol, atol=tol)
    dx2, dw2 = conv2d_backward(x, w, dy, **a, need_dx=False, layout="flat", ws=ws)
    assert dx2 is None
    np.testing.assert_allclose(dw2, rdw, rtol=tol, atol=tol)
    if ws is not None:
        ws.assert_not_aliased(y, dx, dw, dw2)


@pytest.mark.parametrize("case", FLAT_CASES)
def test_flat_against_reference(case):
    _check(case, np.float64)


@pytest.mark.parametrize("case", FLAT_CASES)
def test_flat_float32(case):
    _check(case, np.float32, tol=2e-5)


@pytest.mark.parametrize("case", FLAT_CASES[:4])
def test_flat_reused_buffers_and_small_blocks(case, monkeypatch):
    """NaN-filled reused buffers (every padding and junk cell must be written) and blocks of
    one sample, several times over."""
    monkeypatch.setattr(S, "FLAT_BLOCK_BYTES", 1)
    ws = Workspace()
    for _ in range(2):
        _check(case, np.float64, ws=ws)
    assert ws.buffers


@pytest.mark.parametrize("case", FLAT_CASES[:4])
def test_flat_finite_differences(case):
    x, w, dy, a = _conv_data(np.random.default_rng(3), case)
    loss = lambda: float(np.sum(conv2d_forward(x, w, **a, layout="flat") * dy))  # noqa: E731
    dx, dw = conv2d_backward(x, w, dy, **a, layout="flat")
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, numeric_grad(loss, w), rtol=1e-6, atol=1e-7)


def test_flat_non_contiguous_inputs():
    x, w, dy, a = _conv_data(np.random.default_rng(2), FLAT_CASES[0])
    ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
    xt = np.asfortranarray(x)
    dyt = np.asfortranarray(dy)
    np.testing.assert_allclose(conv2d_forward(xt, w, **a, layout="flat"), ry, rtol=1e-12)
    dx, dw = conv2d_backward(xt, w, dyt, **a, layout="flat")
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)


def test_flat_size_rule():
    """ResNet's 16-channel 3x3 convs on 32x32 run flat; strides, groups, many channels,
    small maps, transposed convs (no stride given) and padding beyond the reach do not."""
    geo = dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1))
    assert conv_algorithm(16, 1, (32, 32), filters=16, filter_hw=(3, 3), in_hw=(32, 32),
                          **geo) == "flat"
    assert conv_algorithm(16, 1, (32, 32), filters=16, filter_hw=(3, 3),
                          in_hw=(32, 32)) != "flat"
    assert conv_algorithm(64, 1, (32, 32), filters=64, filter_hw=(3, 3), in_hw=(32, 32),
                          **geo) != "flat"
    assert conv_algorithm(16, 1, (8, 8), filters=16, filter_hw=(3, 3), in_hw=(8, 8),
                          **geo) != "flat"
    assert conv_algorithm(16, 1, (16, 16), filters=16, filter_hw=(3, 3), in_hw=(32, 32),
                          stride=(2, 2), padding=(1, 1), dilation=(1, 1)) != "flat"
    assert conv_algorithm(16, 2, (32, 32), filters=16, filter_hw=(3, 3), in_hw=(32, 32),
                          **geo) != "flat"
    assert not S.flat_applies(4, 1, (3, 3), (1, 1), (3, 1), (1, 1))
    assert S.flat_applies(4, 1, (3, 3), (1, 1), (4, 1), (2, 1))


def test_flat_refuses_what_it_cannot_run():
    x, w, dy, a = _conv_data(np.random.default_rng(0),
                             (1, 2, 6, 6, 2, 3, 3, (2, 2), (1, 1), (1, 1), 1))
    with pytest.raises(ValueError, match="flat"):
        conv2d_forward(x, w, **a, layout="flat")
    with pytest.raises(ValueError, match="flat"):
        conv2d_backward(x, w, dy, **a, layout="flat")
    with pytest.raises(ValueError, match="flat"):
        conv2d_transpose_forward(x, np.ones((2, 2, 3, 3)), stride=1, padding=1, dilation=1,
                                 groups=1, output_size=None, layout="flat")
