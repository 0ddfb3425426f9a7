"""Numerical gradient checks (float64) of every runtime layer through the Network API, on the
configurations Paddle's test_LayerGrad used (spec 7.1) and a few more."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403

from gradcheck import check_network_gradients
from tests.dsl_models import model_of

N = 3


def build(fn, seed: int = 1):
    return mp.compile(model_of(fn), dtype="float64", seed=seed)


def image(name: str, c: int, h: int, w: int):
    return data_layer(name=name, size=c * h * w, height=h, width=w)


def feed_for(net, n: int = N, seed: int = 2, positive: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    feed = {}
    for name in net.order:
        if net.configs[name].type != "data":
            continue
        if name in net.label_slots:
            feed[name] = rng.integers(0, net.label_slots[name], size=n)
        else:
            shape = (n,) + net.shapes[name]
            # Paddle's test inputs: sigmoid(U(0,1) - 0.5); plain U(-1, 1) exercises signs
            feed[name] = (rng.uniform(0.2, 1.0, size=shape) if positive
                          else rng.uniform(-1, 1, size=shape))
    return feed


def check(fn, **kw):
    net = build(fn)
    return check_network_gradients(net, feed_for(net, positive=kw.pop("positive", False)),
                                   **kw)


def test_conv_dilated_padded_strided():
    # testConvLayer: 3x16x16, 16 filters 2x2, padding (0, 1), stride 2, dilation 2 -> 7x8
    def net():
        x = image("x", 3, 16, 16)
        return img_conv_layer(input=x, filter_size=2, num_filters=16, padding=0, padding_y=1,
                              stride=2, dilation=2, act=LinearActivation())
    check(net)


def test_conv_depthwise_groups_16():
    # testDepthwiseConvLayer: 16 channels 8 (y) x 16 (x), groups 16, 32 filters 2 (x) x 3 (y)
    def net():
        x = data_layer(name="x", size=16 * 8 * 16, height=8, width=16)
        return img_conv_layer(input=x, filter_size=2, filter_size_y=3, num_filters=32,
                              groups=16, padding=0, padding_y=1, stride=2,
                              act=TanhActivation())
    check(net)


def test_conv_transposed():
    # testConvTransLayer: 16 channels on 8x8, 3 filters 2 (x) x 4 (y), pad (0, 1), stride 2
    def net():
        x = image("x", 16, 8, 8)
        return img_conv_layer(input=x, filter_size=2, filter_size_y=4, num_filters=3,
                              padding=0, padding_y=1, stride=2, trans=True,
                              act=LinearActivation())
    check(net)


def test_conv_transposed_grouped_unshared_bias():
    def net():
        x = image("x", 4, 5, 6)
        return img_conv_layer(input=x, filter_size=3, num_filters=6, groups=2, stride=2,
                              padding=1, trans=True, shared_biases=False,
                              act=SigmoidActivation())
    check(net)


def test_conv_grouped_unshared_bias_non_square():
    def net():
        x = data_layer(name="x", size=4 * 7 * 9, height=7, width=9)
        return img_conv_layer(input=x, filter_size=(3, 2), num_filters=6, groups=2,
                              stride=(1, 2), padding=(1, 0), shared_biases=False,
                              act=LinearActivation())
    check(net)


@pytest.mark.parametrize("pool_type,exclude", [("max", None), ("avg", True), ("avg", False),
                                               (MaxWithMaskPooling(), None)])
def test_pool(pool_type, exclude):
    # 16 ch 14x14, kernel 3, stride 2, pad 0, ceil -> 7x7 (spec 7.1); here with padding 1 too
    def net():
        x = image("x", 4, 14, 14)
        a = img_pool_layer(input=x, pool_size=3, stride=2, pool_type=pool_type,
                           exclude_mode=exclude)
        b = img_pool_layer(input=x, pool_size=3, stride=2, padding=1, pool_type=pool_type,
                           exclude_mode=exclude, ceil_mode=False)
        return [a, b]
    check(net)


def test_cmrnorm():
    # 16 ch 14 (x) x 7 (y), size 5, scale 0.001, pow 0.75, relu; plus an even size
    def net():
        x = data_layer(name="x", size=16 * 7 * 14, height=7, width=14)
        a = img_cmrnorm_layer(input=x, size=5, scale=0.001, power=0.75)
        b = img_cmrnorm_layer(input=x, size=4, scale=0.5, power=0.75)
        return [a, b]
    check(net)


@pytest.mark.parametrize("global_stats", [None, True])
def test_batch_norm(global_stats):
    # 10 ch 16x8 (spec 7.1), and on a plain vector
    def net():
        x = data_layer(name="x", size=10 * 8 * 16, height=8, width=16)
        a = batch_norm_layer(input=x, act=TanhActivation(), use_global_stats=global_stats)
        v = data_layer(name="v", size=6)
        b = batch_norm_layer(input=v, act=LinearActivation(), use_global_stats=global_stats)
        return [a, b]
    check(net)


def test_maxout_bilinear_spp_pad_prelu():
    def net():
        x = image("x", 4, 8, 8)
        conv = img_conv_layer(input=x, filter_size=3, num_filters=4, padding=1,
                              act=LinearActivation())
        m = maxout_layer(input=conv, groups=2)
        b1 = bilinear_interp_layer(input=conv, out_size_x=8, out_size_y=8)
        b2 = bilinear_interp_layer(input=conv, out_size_x=13, out_size_y=5)
        s = spp_layer(input=x, pyramid_height=3, pool_type=AvgPooling())
        s2 = spp_layer(input=x, pyramid_height=2)
        pd = pad_layer(input=x, pad_c=[1, 2], pad_h=[2, 3], pad_w=[3, 5])
        pr = prelu_layer(input=x, partial_sum=16)
        pr2 = prelu_layer(input=x, channel_shared=True)
        return [m, b1, b2, s, s2, pd, pr, pr2]
    check(net)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "softmax", "relu", "brelu", "softrelu",
                                 "stanh", "abs", "square", "exp", "log", "sqrt", "reciprocal",
                                 "softsign", "linear"])
def test_activations_through_fc(act):
    positive = act in ("log", "sqrt", "reciprocal")

    def net():
        x = data_layer(name="x", size=5)
        if positive:  # keep the pre-activation positive: non-negative weights and inputs
            attr = ParamAttr(initial_min=0.1, initial_max=1.0)
            return fc_layer(input=x, size=4, act=act, param_attr=attr,
                            bias_attr=ParamAttr(initial_mean=0.5, initial_std=0.0))
        return fc_layer(input=x, size=4, act=act)
    check(net, positive=positive)


def test_fc_several_inputs_concat_addto_dropout():
    def net():
        a = data_layer(name="a", size=4)
        b = image("b", 2, 3, 3)
        f = fc_layer(input=[a, b], size=5, act=TanhActivation(),
                     layer_attr=ExtraAttr(drop_rate=0.3))
        c = concat_layer(input=[f, a])
        d = dropout_layer(input=c, dropout_rate=0.5)
        # a random bias keeps the ReLU off its kink where dropout zeroed both inputs
        s = addto_layer(input=[d, c], act=ReluActivation(),
                        bias_attr=ParamAttr(initial_mean=0.0, initial_std=0.5))
        return s
    check(net)


def test_image_concat_and_addto_keep_channels():
    def net():
        x = image("x", 2, 4, 4)
        c1 = img_conv_layer(input=x, filter_size=1, num_filters=3, act=LinearActivation())
        c2 = img_conv_layer(input=x, filter_size=3, num_filters=2, padding=1)
        cat = concat_layer(input=[c1, c2])
        add = addto_layer(input=[c1, c1])
        return [cat, add]
    check(net)


def cost_net(coeff):
    def net():
        x = data_layer(name="x", size=6)
        lab = data_layer(name="lab", size=3)
        w = data_layer(name="w", size=1)
        t = data_layer(name="t", size=3)
        p = fc_layer(input=x, size=3, act=SoftmaxActivation())
        c1 = classification_cost(input=p, label=lab, weight=w, coeff=coeff)
        r = fc_layer(input=x, size=3, act=LinearActivation())
        c2 = square_error_cost(input=r, label=t, weight=w, coeff=coeff)
        c3 = cross_entropy(input=p, label=lab)
        return [c1, c2, c3]
    return net


def test_costs_with_weight():
    check(cost_net(1.0), positive=True)


def test_coeff_scales_the_gradient_only():
    one, two = build(cost_net(1.0)), build(cost_net(2.0))
    feed = feed_for(one, positive=True)
    costs = ["__cost_0__", "__square_error_cost_0__"]
    out1 = one.forward(feed, training=True, fetch=costs)
    g1 = one.backward({k: np.ones_like(v) for k, v in out1.items()})
    out2 = two.forward(feed, training=True, fetch=costs)
    g2 = two.backward({k: np.ones_like(v) for k, v in out2.items()})
    for k in costs:
        np.testing.assert_array_equal(out1[k], out2[k])          # the cost is not scaled
    for name, grad in g1.parameters.items():
        np.testing.assert_allclose(g2.parameters[name], 2 * grad, rtol=1e-12)


def test_shared_parameter_gradients_sum():
    def net():
        a = data_layer(name="a", size=4)
        b = data_layer(name="b", size=4)
        fa = fc_layer(input=a, size=3, param_attr=ParamAttr(name="shared"))
        fb = fc_layer(input=b, size=3, param_attr=ParamAttr(name="shared"))
        return addto_layer(input=[fa, fb])
    results = check(net)
    assert "shared" in results


def test_error_clipping_clips_the_output_gradient():
    def net():
        x = data_layer(name="x", size=3)
        return fc_layer(input=x, size=2, act=LinearActivation(), name="f",
                        layer_attr=ExtraAttr(error_clipping_threshold=0.5))
    net_ = build(net)
    feed = {"x": np.ones((1, 3))}
    net_.forward(feed, training=True)
    g = net_.backward({"f": np.array([[3.0, -0.2]])})
    # the bias gradient is the clipped output gradient
    np.testing.assert_allclose(g.parameters["_f.wbias"], [0.5, -0.2])
