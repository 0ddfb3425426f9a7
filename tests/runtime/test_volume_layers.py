"""The 3-D layers through the Network API: conv3d, deconv3d, pool3d and 3-D batch norm.
Float64 gradient checks (spec 7.1's way), forwards against references written here (deconv3d
in Paddle's weight layout, batch norm in NumPy), summary shapes and multiply-adds, the YAML
model-zoo form, and the clear errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.config.summary import summarize

from gradcheck import check_network_gradients
from tests.dsl_models import model_of

N = 2


def volume(name: str, c: int, d: int, h: int, w: int):
    return data_layer(name=name, size=c * d * h * w, depth=d, height=h, width=w)


def build(fn, seed: int = 1):
    return mp.compile(model_of(fn), dtype="float64", seed=seed)


def feed_for(net, seed: int = 2) -> dict:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-1, 1, size=(N,) + net.shapes[name])
            for name in net.order if net.configs[name].type == "data"}


def check(fn, **kw):
    net = build(fn)
    return check_network_gradients(net, feed_for(net), **kw)


# ------------------------------------------------------------------------- gradient checks

def test_conv3d_gradients_strided_padded_grouped():
    def net():
        x = volume("x", 4, 4, 5, 6)
        a = img_conv3d_layer(input=x, filter_size=[3, 2, 2], num_filters=6, stride=[2, 1, 2],
                             padding=[1, 1, 0], groups=2, act=TanhActivation())
        b = img_conv3d_layer(input=x, filter_size=1, num_filters=3, shared_biases=False,
                             act=LinearActivation())
        return [a, b]
    check(net)


def test_deconv3d_gradients_grouped_and_unshared_bias():
    def net():
        x = volume("x", 4, 2, 3, 3)
        a = img_conv3d_layer(input=x, filter_size=[2, 3, 2], num_filters=4, stride=2,
                             padding=[0, 1, 0], groups=2, trans=True, act=TanhActivation())
        b = img_conv3d_layer(input=x, filter_size=2, num_filters=4, stride=1, trans=True,
                             shared_biases=False, act=LinearActivation())
        return [a, b]
    check(net)


@pytest.mark.parametrize("pool_type", [MaxPooling(), AvgPooling()])
def test_pool3d_gradients(pool_type):
    def net():
        x = volume("x", 2, 5, 6, 7)
        c = img_conv3d_layer(input=x, filter_size=2, num_filters=3, act=TanhActivation())
        a = img_pool3d_layer(input=c, pool_size=3, stride=2, padding=1, pool_type=pool_type)
        b = img_pool3d_layer(input=c, pool_size=[2, 3, 2], stride=[2, 2, 1],
                             pool_type=pool_type, ceil_mode=False)
        return [a, b]
    check(net)


@pytest.mark.parametrize("global_stats", [None, True])
def test_batch_norm3d_gradients(global_stats):
    def net():
        x = volume("x", 3, 3, 4, 5)
        return batch_norm_layer(input=x, img3D=True, act=TanhActivation(),
                                use_global_stats=global_stats)
    check(net)


# ------------------------------------------------------------------------- forward references

def test_batch_norm3d_forward_is_numpy_batch_norm_per_channel():
    def net():
        x = volume("x", 3, 2, 3, 4)
        return batch_norm_layer(input=x, name="bn", img3D=True, act=LinearActivation())
    net_ = build(net)
    rng = np.random.default_rng(7)
    gamma, beta = rng.uniform(0.5, 1.5, 3), rng.uniform(-1, 1, 3)
    net_.parameters["_bn.w0"] = gamma
    net_.parameters["_bn.wbias"] = beta
    x = rng.standard_normal((4, 3, 2, 3, 4))
    y = net_.forward({"x": x}, training=True)["bn"]
    mean = x.mean(axis=(0, 2, 3, 4), keepdims=True)
    var = x.var(axis=(0, 2, 3, 4), keepdims=True)
    ref = (x - mean) / np.sqrt(var + 1e-5) * gamma.reshape(1, 3, 1, 1, 1) \
        + beta.reshape(1, 3, 1, 1, 1)
    np.testing.assert_allclose(np.asarray(y).reshape(ref.shape), ref, rtol=1e-10, atol=1e-12)
    # the moving statistics follow the batch's per-channel mean and variance
    np.testing.assert_allclose(net_.parameters["_bn.w1"], 0.1 * mean.reshape(3), rtol=1e-10)


def test_deconv3d_reads_its_weight_in_paddles_layout():
    # Paddle's DeConv3DLayer: colBuf (F*k^3 rows, per group K = F/G*k^3) = W_g (K x C/G) @
    # x_g, then col2vol: y[f, i*s - p + k] += W[f, k, m] * x[g*C/G + m, i] (f in group g).
    F, G, k, s, p = 4, 2, 2, 2, 1
    def net():
        x = volume("x", F, 2, 3, 2)
        return img_conv3d_layer(input=x, name="up", filter_size=k, num_filters=F, stride=s,
                                padding=p, groups=G, trans=True, bias_attr=False,
                                act=LinearActivation())
    net_ = build(net)
    w = net_.parameters["_up.w0"]
    assert w.shape == (F, k, k, k, F // G)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, F, 2, 3, 2))
    out = tuple((i - 1) * s + k - 2 * p for i in (2, 3, 2))
    ref = np.zeros((2, F) + out)
    M = F // G
    for n, c, iz, iy, ix in itertools.product(range(2), range(F), range(2), range(3), range(2)):
        g, m = divmod(c, M)
        for f_local, kz, ky, kx in itertools.product(range(F // G), range(k), range(k),
                                                     range(k)):
            z, yy, xx = iz * s - p + kz, iy * s - p + ky, ix * s - p + kx
            if 0 <= z < out[0] and 0 <= yy < out[1] and 0 <= xx < out[2]:
                f = g * (F // G) + f_local
                ref[n, f, z, yy, xx] += w[f, kz, ky, kx, m] * x[n, c, iz, iy, ix]
    y = net_.forward({"x": x})["up"]
    np.testing.assert_allclose(np.asarray(y).reshape(ref.shape), ref, rtol=1e-12, atol=1e-12)


def test_conv3d_forward_adds_the_bias_per_filter():
    def net():
        x = volume("x", 2, 3, 3, 3)
        return img_conv3d_layer(input=x, name="c", filter_size=3, num_filters=2,
                                act=LinearActivation())
    net_ = build(net)
    w = net_.parameters["_c.w0"]
    b = np.array([0.5, -2.0])
    net_.parameters["_c.wbias"] = b
    x = np.random.default_rng(9).standard_normal((1, 2, 3, 3, 3))
    y = np.asarray(net_.forward({"x": x})["c"]).reshape(1, 2)
    np.testing.assert_allclose(y, np.einsum("fczyx,nczyx->nf", w, x) + b, rtol=1e-12)


# ------------------------------------------------------------------------- summary, YAML

def test_summary_shapes_and_mult_adds():
    def net():
        x = volume("x", 2, 4, 6, 10)
        c = img_conv3d_layer(input=x, name="c", filter_size=[3, 2, 1], num_filters=4,
                             stride=[2, 1, 2], padding=[1, 1, 1], groups=2)
        up = img_conv3d_layer(input=c, name="up", filter_size=2, num_filters=4, stride=2,
                              trans=True)
        p = img_pool3d_layer(input=up, name="p", pool_size=2, stride=2)
        bn = batch_norm_layer(input=p, name="bn", img3D=True)
        return bn
    rows = {r.name: r for r in summarize(model_of(net))}
    # c: x 1 + (10 + 2 - 3) // 2 = 5, y 1 + (6 + 2 - 2) = 7, z 1 + (4 + 2 - 1) // 2 = 3
    assert rows["x"].shape == "2x4x6x10"
    assert rows["c"].shape == "4x3x7x5"
    # 4 filters x 105 outputs x (1 channel per group x 3*2*1 taps)
    assert (rows["c"].mult_adds, rows["c"].trainable) == (4 * 105 * 6, 4 * 6 + 4)
    # up: (out - 1) * 2 + 2: 6, 14, 10; every input cell of 4 channels scatters 4 x 8 taps
    assert rows["up"].shape == "4x6x14x10"
    assert (rows["up"].mult_adds, rows["up"].trainable) == (4 * 105 * 4 * 8, 4 * 4 * 8 + 4)
    assert rows["p"].shape == "4x3x7x5" and rows["p"].mult_adds == 0


YAML = """\
schema_version: 1
kind: model
name: volumes
layers:
  - data_layer: {name: vol, size: 480, depth: 4, height: 6, width: 10}
  - img_conv3d_layer: {name: c, input: vol, filter_size: [3, 3, 1], num_filters: 4,
                       padding: 1, act: tanh}
  - img_pool3d_layer: {name: p, input: c, pool_size: 2, stride: 2, pool_type: avg}
  - batch_norm_layer: {name: bn, input: p, img3D: true}
  - img_conv3d_layer: {name: up, input: bn, filter_size: 2, num_filters: 4, stride: 2,
                       trans: true, act: linear}
outputs: [up]
"""


def test_yaml_model_equals_the_dsl(tmp_path):
    path = tmp_path / "volumes.yaml"
    path.write_text(YAML)
    from_yaml = mp.parse_config(str(path)).model_config

    def net():
        vol = volume("vol", 2, 4, 6, 10)
        c = img_conv3d_layer(name="c", input=vol, filter_size=[3, 3, 1], num_filters=4,
                             padding=1, act=TanhActivation())
        p = img_pool3d_layer(name="p", input=c, pool_size=2, stride=2, pool_type=AvgPooling())
        bn = batch_norm_layer(name="bn", input=p, img3D=True)
        return img_conv3d_layer(name="up", input=bn, filter_size=2, num_filters=4, stride=2,
                                trans=True, act=LinearActivation())
    from_dsl = model_of(net)
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.parameters == from_dsl.parameters
    net_ = mp.compile(from_yaml, dtype="float64", seed=3)
    y = net_.forward(feed_for(net_))["up"]
    # c: z 4 + 2 - 1 + 1 = 6 (filter 1, padding 1), y 6, x 10; p: 3, 3, 5; up: 6, 6, 10
    assert np.asarray(y).shape == (N, 4, 6, 6, 10)


# ------------------------------------------------------------------------- errors

def test_deconv3d_with_channels_other_than_filters_is_refused_at_compile():
    def net():
        x = volume("x", 3, 2, 2, 2)
        return img_conv3d_layer(input=x, name="up", filter_size=2, num_filters=4, trans=True)
    model = model_of(net)          # the config is Paddle's (its parameter has 4 * 4 * 8 values)
    assert model.parameter("_up.w0").size == 4 * 4 * 8
    with pytest.raises(ConfigError, match=r"'up'.*num_channels=3.*num_filters=4"):
        mp.compile(model)
