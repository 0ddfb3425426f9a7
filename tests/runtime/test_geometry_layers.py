"""The geometry layers of issue 16 through the Network API: forward against slow references
written here (direct loops over Paddle's formulas, docs/layer_notes_16.md), and float64
gradient checks through the network (every dense input is perturbed, as in Paddle's
test_LayerGrad; the index inputs of scale_sub_region and roi_pool sit off their rounding
points so that a tiny step never moves a region)."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403

from gradcheck import check_network_gradients
from tests.dsl_models import model_of

N = 3


def compiled(fn, seed: int = 1):
    return mp.compile(model_of(fn), dtype="float64", seed=seed)


def image(name: str, c: int, h: int, w: int):
    return data_layer(name=name, size=c * h * w, height=h, width=w)


def uniform(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape)


def forward(fn, feed, names):
    net = compiled(fn)
    return net.forward(feed, training=True, fetch=list(names))


# ------------------------------------------------------------------------------------------ crop

def crop_net():
    x = image("x", 3, 6, 5)
    ref = image("ref", 3, 4, 2)
    by_ref = crop_layer(input=[x, ref], offset=[1, 2], shape=[], name="by_ref")
    by_shape = crop_layer(input=x, offset=[1, 2, 3], axis=1, shape=[0, 2, 2, 2],
                          name="by_shape")
    return [by_ref, by_shape]


def test_crop_forward():
    x = uniform(N, 3, 6, 5)
    out = forward(crop_net, {"x": x, "ref": np.zeros((N, 24))}, ["by_ref", "by_shape"])
    by_ref = np.empty((N, 3, 4, 2))
    by_shape = np.empty((N, 2, 2, 2))
    for n, c, i, j in np.ndindex(N, 3, 4, 2):
        by_ref[n, c, i, j] = x[n, c, 1 + i, 2 + j]
    for n, c, i, j in np.ndindex(N, 2, 2, 2):
        by_shape[n, c, i, j] = x[n, 1 + c, 2 + i, 3 + j]
    np.testing.assert_array_equal(out["by_ref"], by_ref)
    np.testing.assert_array_equal(out["by_shape"], by_shape)


def test_crop_gradients():
    check_network_gradients(compiled(crop_net), {"x": uniform(N, 90), "ref": uniform(N, 24)})


# -------------------------------------------------------------------------------------- upsample

def upsample_net(values=False, padding=0):
    """2x2 max pools of a 7 x 5 (or, padded, a 6 x 6 3x3-window) image and their unpooling:
    by the scale with pad_out (7 = 2 x 4 - 1), or by upsample_size."""
    def net():
        if padding:
            x = image("x", 2, 6, 6)
            pool = img_pool_layer(input=x, pool_size=3, stride=2, padding=padding,
                                  pool_type=MaxWithMaskPooling(), name="pool")
            return upsample_layer(input=[pool, pool], upsample_size=6, name="up")
        x = image("x", 2, 7, 5)
        pool = img_pool_layer(input=x, pool_size=2, stride=2, name="pool",
                              pool_type=MaxWithMaskPooling())
        source = image("v", 2, 4, 3) if values else pool
        return upsample_layer(input=[source, pool], scale=2, pad_out_x=True, pad_out_y=True,
                              name="up")
    return net


def slow_unpool(x, values, pool_size, stride, padding, out_hw):
    """Paddle's max-pool-with-mask windows (clipped to the image, first maximum in row-major
    order), then each value written at its window's maximum."""
    n_, c_, h_, w_ = x.shape
    oh, ow = values.shape[2:]
    out = np.zeros((n_, c_) + out_hw)
    for n, c, i, j in np.ndindex(n_, c_, oh, ow):
        h0, w0 = i * stride - padding, j * stride - padding
        best, at = -np.inf, None
        for h in range(max(h0, 0), min(h0 + pool_size, h_)):
            for w in range(max(w0, 0), min(w0 + pool_size, w_)):
                if x[n, c, h, w] > best:
                    best, at = x[n, c, h, w], (h, w)
        out[n, c, at[0], at[1]] = values[n, c, i, j]
    return out


@pytest.mark.parametrize("padding", [0, 1])
def test_upsample_of_its_own_pool_forward(padding):
    side = (6, 6) if padding else (7, 5)
    x = uniform(N, 2, *side, seed=1)
    net = compiled(upsample_net(padding=padding))
    out = net.forward({"x": x}, fetch=["pool", "up"])
    expect = slow_unpool(x, out["pool"], 3 if padding else 2, 2, padding, side)
    np.testing.assert_array_equal(out["up"], expect)


def test_upsample_other_values_pad_out_x_forward_and_gradients():
    x, v = uniform(N, 2, 7, 5, seed=2), uniform(N, 2, 4, 3, seed=3)
    net = compiled(upsample_net(values=True))
    out = net.forward({"x": x, "v": v}, fetch=["up"])["up"]
    assert out.shape == (N, 2, 7, 5)
    np.testing.assert_array_equal(out, slow_unpool(x, v, 2, 2, 0, (7, 5)))
    check_network_gradients(net, {"x": x, "v": v})


def test_upsample_mask_sees_the_relu_moved_after_the_pool():
    """A relu conv read only by the max pool has its relu moved after the pooling
    (docs/runtime.md); the mask must still be that of the relu'd values."""
    def net():
        x = image("x", 1, 4, 4)
        conv = img_conv_layer(input=x, filter_size=1, num_filters=2, act=ReluActivation(),
                              name="conv", param_attr=ParamAttr(initial_std=1.0))
        pool = img_pool_layer(input=conv, pool_size=2, stride=2, name="pool",
                              pool_type=MaxWithMaskPooling())
        return upsample_layer(input=[pool, pool], scale=2, name="up")

    x = uniform(N, 16, seed=4)
    model = model_of(net)
    net_ = mp.compile(model, dtype="float64", seed=3)
    conv = net_.forward({"x": x}, fetch=["conv"])["conv"]      # relu applied
    up = net_.forward({"x": x}, fetch=["up"])["up"]             # relu moved
    pool = net_.forward({"x": x}, fetch=["pool"])["pool"]
    np.testing.assert_array_equal(up, slow_unpool(conv, pool, 2, 2, 0, (4, 4)))


def test_upsample_gradients():
    # non-overlapping windows: where overlapping windows share a maximum, two values land on
    # one cell and Paddle's backward (kept) passes that cell's gradient to both
    check_network_gradients(compiled(upsample_net()), {"x": uniform(N, 70, seed=5)})


# ------------------------------------------------------------------------ rotate, switch_order

def rotate_net():
    return rotate_layer(input=image("x", 2, 3, 4), height=3, width=4, name="rot")


def test_rotate_forward_and_gradients():
    x = uniform(N, 2, 3, 4)
    out = forward(rotate_net, {"x": x}, ["rot"])["rot"]
    expect = np.empty((N, 2, 4, 3))
    for n, c, j, i in np.ndindex(N, 2, 4, 3):
        expect[n, c, j, i] = x[n, c, 3 - 1 - i, j]
    np.testing.assert_array_equal(out, expect)
    check_network_gradients(compiled(rotate_net), {"x": x})


def switch_net():
    return switch_order_layer(input=image("x", 3, 2, 4), reshape_axis=1, name="nhwc")


def test_switch_order_forward_and_gradients():
    x = uniform(N, 3, 2, 4)
    out = forward(switch_net, {"x": x}, ["nhwc"])["nhwc"]
    expect = np.empty((N, 24))
    for n, c, h, w in np.ndindex(N, 3, 2, 4):
        expect[n, (h * 4 + w) * 3 + c] = x[n, c, h, w]
    np.testing.assert_array_equal(out, expect)
    check_network_gradients(compiled(switch_net), {"x": x})


# ------------------------------------------------------------------------------- resize, trans

def test_resize_regroups_the_batch_matrix():
    def net():
        return resize_layer(input=data_layer(name="x", size=6), size=9, name="rs")

    x = uniform(N, 6)
    net_ = compiled(net)
    out = net_.forward({"x": x}, fetch=["rs"])["rs"]
    assert out.shape == (2, 9)
    np.testing.assert_array_equal(out, x.reshape(-1)[:18].reshape(2, 9))
    check_network_gradients(net_, {"x": x})
    with pytest.raises(ValueError, match=r"resize_layer 'rs'.* not a multiple of size 9"):
        net_.forward({"x": uniform(2, 6)}, fetch=["rs"])


def test_resize_feeds_an_fc():
    def net():
        rs = resize_layer(input=data_layer(name="x", size=6), size=2)
        return fc_layer(input=rs, size=1, act=LinearActivation(), name="out")

    net_ = compiled(net)
    x = uniform(N, 6)
    out = net_.forward({"x": x}, fetch=["out"])["out"]
    w, b = net_.parameters["_out.w0"], net_.parameters["_out.wbias"]
    np.testing.assert_allclose(out, x.reshape(9, 2) @ w + b, rtol=1e-12)
    check_network_gradients(net_, {"x": x})


def test_trans_transposes_a_square_batch():
    def net():
        return trans_layer(input=data_layer(name="x", size=N), name="t")

    x = uniform(N, N)
    net_ = compiled(net)
    np.testing.assert_array_equal(net_.forward({"x": x}, fetch=["t"])["t"], x.T)
    check_network_gradients(net_, {"x": x})
    with pytest.raises(ValueError, match=r"trans_layer 't'.*batch size equals the input "
                                         r"size 3"):
        net_.forward({"x": uniform(2, N)}, fetch=["t"])


# -------------------------------------------------------------------------- scale_sub_region

def region_net():
    x = image("x", 3, 4, 5)
    idx = data_layer(name="idx", size=6)
    return scale_sub_region_layer(input=x, indices=idx, value=-2.5, name="ssr")


def test_scale_sub_region_forward():
    x = uniform(N, 3, 4, 5)
    idx = np.array([[1, 2, 2, 3, 1, 5], [3, 3, 1, 4, 4, 4], [2, 1, 1, 1, 1, 1]], float)
    out = forward(region_net, {"x": x, "idx": idx}, ["ssr"])["ssr"]
    expect = x.copy()
    for n, c, h, w in np.ndindex(N, 3, 4, 5):
        c0, c1, h0, h1, w0, w1 = idx[n].astype(int)
        if c0 <= c + 1 <= c1 and h0 <= h + 1 <= h1 and w0 <= w + 1 <= w1:
            expect[n, c, h, w] = -2.5 * x[n, c, h, w]
    np.testing.assert_array_equal(out, expect)


def test_scale_sub_region_gradients():
    idx = np.array([[1, 2, 2, 3, 1, 5], [3, 3, 1, 4, 4, 4], [2, 3, 1, 2, 2, 5]], float) + 0.3
    check_network_gradients(compiled(region_net), {"x": uniform(N, 60), "idx": idx})


# ------------------------------------------------------------------------------------ roi_pool

def roi_net():
    x = image("x", 2, 6, 7)
    rois = data_layer(name="rois", size=5)
    return roi_pool_layer(input=x, rois=rois, pooled_width=3, pooled_height=2,
                          spatial_scale=0.5, num_channels=2, name="roi")


def slow_roi_pool(x, rois, ph_n, pw_n, scale):
    """Paddle's ROIPoolLayer: corners scaled and rounded half away from zero, bins of
    (size / pooled) cells clipped to the image, the running maximum starting at 0."""
    _, c_, h_, w_ = x.shape
    out = np.zeros((len(rois), c_, ph_n, pw_n))
    for r, roi in enumerate(rois):
        b = int(roi[0])
        x0, y0, x1, y1 = (int(np.floor(v * scale + 0.5)) for v in roi[1:5])
        rh, rw = max(y1 - y0 + 1, 1), max(x1 - x0 + 1, 1)
        for c, ph, pw in np.ndindex(c_, ph_n, pw_n):
            hs = min(max(int(np.floor(ph * rh / ph_n)) + y0, 0), h_)
            he = min(max(int(np.ceil((ph + 1) * rh / ph_n)) + y0, 0), h_)
            ws = min(max(int(np.floor(pw * rw / pw_n)) + x0, 0), w_)
            we = min(max(int(np.ceil((pw + 1) * rw / pw_n)) + x0, 0), w_)
            best = 0.0
            for h in range(hs, he):
                for w in range(ws, we):
                    best = max(best, x[b, c, h, w])
            out[r, c, ph, pw] = best
    return out


def test_roi_pool_forward():
    x = uniform(N, 2, 6, 7)
    rois = np.array([[0, 0, 0, 12, 10], [2, 3, 1, 9, 7], [1, 6, 4, 6, 4]], float)
    out = forward(roi_net, {"x": x, "rois": rois}, ["roi"])["roi"]
    np.testing.assert_array_equal(out, slow_roi_pool(x, rois, 2, 3, 0.5))


def test_roi_pool_gradients():
    rois = np.array([[0.3, 0.2, 0.2, 12.2, 10.2], [2.3, 3.2, 1.2, 9.2, 7.2],
                     [1.3, 2.2, 2.2, 8.2, 6.2]])
    x = np.random.default_rng(3).uniform(0.1, 1, size=(N, 84))     # no all-negative bin
    check_network_gradients(compiled(roi_net), {"x": x, "rois": rois})


# -------------------------------------------------------------------------------- block_expand

def block_net():
    x = image("x", 2, 5, 6)
    return block_expand_layer(input=x, num_channels=2, block_x=3, block_y=2, stride_x=2,
                              stride_y=2, padding_x=1, padding_y=0, name="blocks")


def test_block_expand_forward_in_paddles_time_step_order():
    x = uniform(N, 2, 5, 6)
    out = forward(block_net, {"x": x}, ["blocks"])["blocks"]
    oh, ow = 1 + -(-(5 - 2) // 2), 1 + -(-(6 + 2 - 3) // 2)        # 3 x 4 blocks
    expect = np.zeros((N, oh * ow, 2, 2, 3))
    for n, i, j, c, u, v in np.ndindex(N, oh, ow, 2, 2, 3):
        h, w = i * 2 + u, j * 2 - 1 + v
        if 0 <= h < 5 and 0 <= w < 6:
            expect[n, i * ow + j, c, u, v] = x[n, c, h, w]
    assert out.shape == (N, oh * ow * 12)
    np.testing.assert_array_equal(out, expect.reshape(N, -1))


def test_block_expand_feeds_fc_and_gradients():
    def net():
        blocks = block_net()
        return fc_layer(input=blocks, size=4, act=TanhActivation())

    check_network_gradients(compiled(net), {"x": uniform(N, 60)})


def test_a_layer_after_rotate_reads_the_turned_plane():
    """rotate's config keeps the input's 3 x 5 (as Paddle's); the next image layer infers
    the turned 5 x 3 plane."""
    def net():
        x = image("x", 2, 3, 5)
        r = rotate_layer(input=x, height=3, width=5, name="r")
        return img_conv_layer(input=r, filter_size=1, num_channels=2, num_filters=2,
                              act=LinearActivation(), bias_attr=False, name="c")

    model = model_of(net)
    assert (model.layer("r").height, model.layer("r").width) == (3, 5)
    conf = model.layer("c").inputs[0].conv_conf
    assert (conf.img_size_y, conf.img_size) == (5, 3)
    net_ = mp.compile(model, dtype="float64", seed=0)
    out = net_.forward({"x": uniform(N, 30)}, fetch=["r", "c"])
    w = net_.parameters["_c.w0"].reshape(2, 2)
    np.testing.assert_allclose(out["c"], np.einsum("oc,nchw->nohw", w, out["r"]), rtol=1e-12)
