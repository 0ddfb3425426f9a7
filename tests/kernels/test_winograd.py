"""Winograd F(2x2, 3x3) kernels against the direct-loop conv reference (tests/kernels/
test_conv.py's ref_conv), in float64 (tight) and float32 (to float32 rounding), with odd
sizes (partial tiles), padding 0/1/2 per axis, batch 1, several channel counts, reused NaN-filled
workspaces; and a float64 gradient check through a compiled network that runs Winograd."""

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.kernels import winograd as WG
from minipaddle.kernels.winograd import (
    winograd_applies,
    winograd_backward,
    winograd_forward,
    winograd_weight,
    winograd_weight_grad,
)
from tests.dsl_models import model_of
from tests.kernels.test_conv import Workspace, ref_conv

CASES = [
    # (N, C, H, W, F, (ph, pw))
    (2, 3, 5, 7, 4, (1, 1)),       # odd output height: a partial last tile row
    (1, 2, 3, 3, 3, (0, 0)),       # one output pixel
    (3, 4, 6, 6, 2, (2, 2)),       # padding 2: the data gradient's own padding is 0
    (2, 5, 8, 9, 3, (1, 0)),       # padding per axis
    (1, 1, 4, 5, 1, (0, 2)),       # one channel, one filter
    (2, 3, 1, 1, 2, (1, 1)),       # a 1x1 image
    (1, 2, 2, 3, 2, (2, 1)),       # more padding than image
    (2, 16, 7, 10, 8, (1, 1)),     # more channels
]


def _data(rng, case, dtype):
    n, c, h, w, f, (ph, pw) = case
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((f, c, 3, 3)).astype(dtype)
    dy = rng.standard_normal((n, f, h + 2 * ph - 2, w + 2 * pw - 2)).astype(dtype)
    return x, wt, dy, (ph, pw)


def _reference(x, w, dy, padding):
    return ref_conv(x, w, dy, (1, 1), padding, (1, 1), 1)


@pytest.mark.parametrize("case", CASES)
def test_float64_against_reference(case):
    x, w, dy, pad = _data(np.random.default_rng(0), case, np.float64)
    ry, rdx, rdw = _reference(x, w, dy, pad)
    ws = Workspace()
    u = winograd_weight(w)
    y = winograd_forward(x, u, padding=pad, ws=ws)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    dx, dw = winograd_backward(x, u, dy, padding=pad, ws=ws)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)
    ws.assert_not_aliased(y, dx, dw)
    # the pieces: no dx, no dw, and the cell gradient summed over a split batch
    only_dw = winograd_backward(x, u, dy, padding=pad, need_dx=False, ws=ws)
    assert only_dw[0] is None
    np.testing.assert_allclose(only_dw[1], dw, rtol=1e-12, atol=1e-12)
    only_dx = winograd_backward(x, u, dy, padding=pad, need_dw=False, ws=ws)
    assert only_dx[1] is None
    np.testing.assert_allclose(only_dx[0], dx, rtol=1e-12, atol=1e-12)
    cells = [winograd_backward(x[i:i + 1], u, dy[i:i + 1], padding=pad, need_dx=False,
                               cells=True, ws=ws)[1] for i in range(x.shape[0])]
    np.testing.assert_allclose(winograd_weight_grad(sum(cells)), rdw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES + [(2, 48, 5, 4, 8, (1, 1)), (1, 96, 4, 4, 8, (1, 1))])
def test_float32_to_rounding(case):
    x, w, dy, pad = _data(np.random.default_rng(1), case, np.float32)
    ry, rdx, rdw = _reference(x, w, dy, pad)
    u = winograd_weight(w)
    assert u.dtype == np.float32
    out = np.full((x.shape[0], w.shape[0]) + dy.shape[2:], np.nan, np.float32)
    y = winograd_forward(x, u, padding=pad, out=out, ws=Workspace())
    assert y is out and y.dtype == np.float32
    dx, dw = winograd_backward(x, u, dy, padding=pad, ws=Workspace())
    assert dx.dtype == np.float32 and dw.dtype == np.float32
    # relative to the size of the sums (3 * 3 * C products of unit-variance values)
    for got, want in ((y, ry), (dx, rdx), (dw, rdw)):
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)


def test_non_contiguous_input_and_gradient():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3, 9, 8)).transpose(0, 1, 3, 2)[::2]       # (3, 3, 8, 9)
    w = rng.standard_normal((4, 3, 3, 3))
    dy = rng.standard_normal((3, 4, 8, 9)).transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)
    ry, rdx, rdw = _reference(x, w, dy, (1, 1))
    u = winograd_weight(w)
    np.testing.assert_allclose(winograd_forward(x, u, padding=(1, 1)), ry, atol=1e-12)
    dx, dw = winograd_backward(x, u, dy, padding=(1, 1))
    np.testing.assert_allclose(dx, rdx, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, atol=1e-12)


def test_size_rule():
    assert WG.winograd_pays(64, 64, (16, 16)) and WG.winograd_pays(512, 512, (4, 4))
    assert WG.winograd_pays(32, 32, (16, 16))           # resnet_cifar's second stage
    assert not WG.winograd_pays(16, 16, (32, 32))       # its first: too few channels
    assert not WG.winograd_pays(64, 64, (32, 32))       # a 32x32 output: im2col's blocks win
    assert not WG.winograd_pays(3, 64, (32, 32))        # too few input channels
    assert not WG.winograd_pays(64, 8, (32, 32))        # too few filters
    assert not WG.winograd_pays(16, 32, (4, 4))         # too little work per sample


def test_applies_only_to_3x3_stride_1_ungrouped():
    assert winograd_applies((3, 3), (1, 1), (1, 1), 1)
    assert not winograd_applies((3, 3), (2, 2), (1, 1), 1)
    assert not winograd_applies((3, 3), (1, 1), (2, 2), 1)
    assert not winograd_applies((3, 3), (1, 1), (1, 1), 2)
    assert not winograd_applies((3, 2), (1, 1), (1, 1), 1)
    assert not winograd_applies((5, 5), (1, 1), (1, 1), 1)


def test_integer_input_is_promoted():
    x = np.arange(2 * 2 * 4 * 5).reshape(2, 2, 4, 5)
    w = np.arange(3 * 2 * 9).reshape(3, 2, 3, 3) % 5 - 2
    ry, _, _ = _reference(x, w, None, (1, 1))
    y = winograd_forward(x, winograd_weight(w.astype(np.float64)), padding=(1, 1))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, ry, rtol=1e-12)


def test_argument_errors():
    x = np.zeros((1, 2, 4, 4))
    u = winograd_weight(np.zeros((3, 2, 3, 3)))
    with pytest.raises(ValueError, match="input channels"):
        winograd_forward(np.zeros((1, 5, 4, 4)), u, padding=(1, 1))
    with pytest.raises(ValueError, match="output size"):
        winograd_forward(np.zeros((1, 2, 2, 2)), u, padding=(0, 0))
    with pytest.raises(ValueError, match="dy has shape"):
        winograd_backward(x, u, np.zeros((1, 3, 3, 3)), padding=(1, 1))


# ---------------------------------------------------------------------- through a network

def _network():
    x = data_layer(name="x", size=3 * 7 * 6, height=7, width=6)
    c1 = img_conv_layer(input=x, filter_size=3, num_filters=4, padding=1, name="c1",
                        act=TanhActivation())
    c2 = img_conv_layer(input=c1, filter_size=3, num_filters=5, padding=0, name="c2",
                        act=LinearActivation(), bias_attr=False)
    return img_conv_layer(input=c2, filter_size=3, num_filters=2, padding=2, name="c3",
                          shared_biases=False, act=LinearActivation())


def test_network_runs_winograd_where_the_rule_says(monkeypatch):
    net = mp.compile(model_of(_network), dtype="float32")
    assert all(net.layers[n].layout != "winograd" for n in ("c1", "c2", "c3"))
    monkeypatch.setattr(WG, "WINOGRAD_MIN_CHANNELS", 1)
    monkeypatch.setattr(WG, "WINOGRAD_MIN_WORK", 0)
    net = mp.compile(model_of(_network), dtype="float32")
    for n in ("c1", "c2", "c3"):
        assert net.layers[n].layout == "winograd"
        assert "winograd" in str(net.layers[n].algorithm)


def test_network_gradients_float64(monkeypatch):
    from tests.runtime.gradcheck import check_network_gradients

    monkeypatch.setattr(WG, "WINOGRAD_MIN_CHANNELS", 1)
    monkeypatch.setattr(WG, "WINOGRAD_MIN_WORK", 0)
    net = mp.compile(model_of(_network), dtype="float64", seed=1)
    assert net.layers["c2"].layout == "winograd"
    feed = {"x": np.random.default_rng(2).uniform(-1, 1, size=(3, 3 * 7 * 6))}
    check_network_gradients(net, feed)


def test_network_matches_im2col(monkeypatch):
    """The same network and parameters with and without Winograd: same outputs and gradients
    (float64), through the runtime's batch chunks."""
    feed = {"x": np.random.default_rng(4).uniform(-1, 1, size=(5, 3 * 7 * 6))}
    results = []
    for minimum in (10 ** 9, 1):
        monkeypatch.setattr(WG, "WINOGRAD_MIN_CHANNELS", minimum)
        monkeypatch.setattr(WG, "WINOGRAD_MIN_WORK", 0)
        net = mp.compile(model_of(_network), dtype="float64", seed=1)
        out = net.forward(feed, training=True)
        seeds = {k: np.ones_like(v) for k, v in out.items()}
        grads = net.backward(seeds, input_grads=True)
        results.append((out, grads))
    (o1, g1), (o2, g2) = results
    for k in o1:
        np.testing.assert_allclose(o2[k], o1[k], rtol=1e-12, atol=1e-12)
    for k in g1.parameters:
        np.testing.assert_allclose(g2.parameters[k], g1.parameters[k], rtol=1e-10,
                                   atol=1e-10)


@pytest.mark.parametrize("case", CASES[:4])
def test_kept_transformed_input(case):
    """The transformed input the forward keeps gives the backward the same gradients."""
    x, w, dy, pad = _data(np.random.default_rng(5), case, np.float64)
    u = winograd_weight(w)
    keep = np.full(WG.winograd_input_shape(x.shape, pad), np.nan)
    ws = Workspace()
    y = winograd_forward(x, u, padding=pad, keep=keep, ws=ws)
    np.testing.assert_array_equal(y, winograd_forward(x, u, padding=pad))
    assert not np.isnan(keep).any()
    dx, dw = winograd_backward(x, u, dy, padding=pad, kept=keep, ws=ws)
    rdx, rdw = winograd_backward(x, u, dy, padding=pad)
    np.testing.assert_array_equal(dx, rdx)
    np.testing.assert_array_equal(dw, rdw)
    into = np.full(x.shape, np.nan)
    assert winograd_backward(x, u, dy, padding=pad, kept=keep, dx_out=into, ws=ws)[0] is into
    np.testing.assert_array_equal(into, rdx)


# ------------------------------------------------------------- the copies' routes, forced

ROUTE_CASES = CASES + [
    (16, 4, 16, 16, 3, (1, 1)),    # 4 KB samples (float32), 16 of them: restaged as they are
    (16, 5, 4, 4, 6, (1, 1)),      # 4x4 maps of 16 samples: both NCHW writers stage
    (9, 3, 5, 3, 2, (0, 1)),       # partial tiles, staged dx (9 samples >= 2 x 3 columns)
]


@pytest.mark.parametrize("staged", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", ROUTE_CASES)
def test_copy_routes_against_reference(monkeypatch, case, dtype, staged):
    """The restaged batch-innermost copies of x and dy (_unaliased) and the staged NCHW
    writers of the output and dx (_NCHWWriter, in blocks of one channel) forced on or off
    for every shape: the same results as the reference."""
    if staged:
        monkeypatch.setattr(WG, "_ALIAS_SAMPLES", 1)
        monkeypatch.setattr(WG, "_ALIAS_BYTES", 1)
        monkeypatch.setattr(WG, "_STAGE_DX", 0)
        monkeypatch.setattr(WG, "_STAGE_OUTPUT", 0)
        monkeypatch.setattr(WG, "_NCHW_BLOCK", 1)
    else:
        monkeypatch.setattr(WG, "_ALIAS_SAMPLES", 10 ** 9)
        monkeypatch.setattr(WG, "_STAGE_DX", 10 ** 9)
        monkeypatch.setattr(WG, "_STAGE_OUTPUT", 10 ** 9)
    x, w, dy, pad = _data(np.random.default_rng(6), case, dtype)
    ry, rdx, rdw = _reference(x, w, dy, pad)
    ws = Workspace()
    u = winograd_weight(w)
    keep = np.full(WG.winograd_input_shape(x.shape, pad), np.nan, dtype)
    out = np.full(ry.shape, np.nan, dtype)
    y = winograd_forward(x, u, padding=pad, out=out, keep=keep, ws=ws)
    dx, dw = winograd_backward(x, u, dy, padding=pad, kept=keep, ws=ws)
    ws.assert_not_aliased(y, dx, dw)
    rtol, atol = (1e-12, 1e-12) if dtype == np.float64 else (1e-4, 1e-5)
    for got, want in ((y, ry), (dx, rdx), (dw, rdw)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * np.abs(want).max())


def test_default_routes_are_taken():
    """The shapes above take the staged routes without forcing (so the rule is exercised)."""
    x = np.zeros((16, 4, 16, 16), np.float32)
    assert WG._unaliased(x, np, None, "t") is not x
    fewer = x[:15]
    assert WG._unaliased(fewer, np, None, "t") is fewer
    odd = np.zeros((16, 3, 16, 16), np.float32)               # 3 KB samples
    assert WG._unaliased(odd, np, None, "t") is odd
    plan = WG._check(np.zeros((16, 5, 4, 4)), (1, 1))
    out = np.zeros((16, 6, 4, 4))
    assert WG._NCHWWriter(out, plan, np, None, WG._STAGE_OUTPUT).stage is not None
    assert WG._NCHWWriter(out[:8], plan, np, None, WG._STAGE_DX).stage is not None
    assert WG._NCHWWriter(out[:7], plan, np, None, WG._STAGE_DX).stage is None
