"""mixed_layer at run time: each projection and operator against a NumPy reference written
here, the float64 gradient check through the network, and (spec 7.3, Paddle's
test_NetworkCompare img_conv_a vs img_conv_b) a conv_projection mixed layer equal to
img_conv_layer with the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import (
    IdentityActivation, LinearActivation, TanhActivation,
    conv_operator, conv_projection, data_layer, dotmul_operator, dotmul_projection,
    embedding_layer, full_matrix_projection, gated_unit_layer, identity_projection,
    img_conv_layer, mixed_layer, outputs, repeat_layer, scaling_projection, slice_projection,
    table_projection, trans_full_matrix_projection,
)

from gradcheck import check_network_gradients

RNG = np.random.default_rng(7)


def compiled(network, seed=1):
    return mp.compile(mp.parse_config(network), dtype="float64", seed=seed)


def vector_network():
    x = data_layer(name="x", size=8)
    y = data_layer(name="y", size=8)
    ids = data_layer(name="ids", size=5)
    with mixed_layer(size=6, bias_attr=True, act=TanhActivation(), name="m") as m:
        m += full_matrix_projection(input=x)
        m += trans_full_matrix_projection(input=y)
        m += table_projection(input=ids)
        m += identity_projection(input=x, offset=2)
    d = mixed_layer(name="d", input=[dotmul_projection(input=x), scaling_projection(input=y),
                                     dotmul_operator(a=x, b=y, scale=0.5),
                                     identity_projection(x)])
    outputs(m, d)


def vector_feed(n=4):
    return {"x": RNG.standard_normal((n, 8)), "y": RNG.standard_normal((n, 8)),
            "ids": np.array([0, 3, 3, 4][:n])}


def test_vector_projections_and_operators_match_a_reference():
    net = compiled(vector_network)
    feed = vector_feed()
    out = net.forward(feed, training=True)
    P = net.parameters
    x, y, ids = feed["x"], feed["y"], feed["ids"]
    assert P["_m.w0"].shape == (8, 6) and P["_m.w1"].shape == (6, 8)
    assert P["_m.w2"].shape == (5, 6) and P["_d.w0"].shape == (8,) and P["_d.w1"].shape == (1,)
    expected = np.empty((4, 6))
    for n in range(4):      # one sample at a time, each term written out
        for j in range(6):
            expected[n, j] = np.tanh(sum(x[n, i] * P["_m.w0"][i, j] for i in range(8))
                                     + sum(y[n, i] * P["_m.w1"][j, i] for i in range(8))
                                     + P["_m.w2"][ids[n], j] + x[n, 2 + j] + P["_m.wbias"][j])
    np.testing.assert_allclose(out["m"], expected, rtol=1e-12)
    np.testing.assert_allclose(out["d"], x * P["_d.w0"] + P["_d.w1"][0] * y + 0.5 * x * y + x,
                               rtol=1e-12)


def test_vector_terms_gradients():
    net = compiled(vector_network)
    feed = vector_feed()
    results = check_network_gradients(net, feed)
    assert {"_m.w0", "_m.w1", "_m.w2", "_m.wbias", "_d.w0", "_d.w1", "input:x",
            "input:y"} <= set(results)
    assert "input:ids" not in results       # ids take no gradient


def test_table_gradient_sums_repeated_ids():
    def network():
        ids = data_layer(name="ids", size=4)
        outputs(embedding_layer(input=ids, size=3, name="emb"))
    net = compiled(network)
    ids = np.array([1, 1, 3])
    net.forward({"ids": ids}, training=True)
    dz = RNG.standard_normal((3, 3))
    grads = net.backward({"emb": dz})
    expected = np.zeros((4, 3))
    for n, i in enumerate(ids):
        expected[i] += dz[n]
    np.testing.assert_allclose(grads.parameters["_emb.w0"], expected)


def conv_pair(trans, groups=1, stride=1, padding=0):
    """A conv_projection mixed layer and the img_conv_layer it should equal.  As in Paddle, a
    first conv projection shares one bias per filter; a transposed one does not (one bias per
    output value: the conv's unshared bias)."""
    def network():
        img = data_layer(name="img", size=4 * 5 * 5, height=5, width=5)
        proj = conv_projection(img, filter_size=3, num_filters=6, num_channels=4, groups=groups,
                               stride=stride, padding=padding, trans=trans)
        mix = mixed_layer(name="mix", input=proj, bias_attr=True, act=TanhActivation())
        conv = img_conv_layer(input=img, filter_size=3, num_filters=6, num_channels=4,
                              groups=groups, stride=stride, padding=padding, trans=trans,
                              act=TanhActivation(), name="conv", shared_biases=not trans)
        outputs(mix, conv)
    return network


@pytest.mark.parametrize("trans,groups,stride,padding",
                         [(False, 1, 1, 0), (False, 2, 2, 1), (True, 1, 2, 1), (True, 2, 1, 0)])
def test_conv_projection_equals_img_conv_layer(trans, groups, stride, padding):
    net = compiled(conv_pair(trans, groups, stride, padding))
    P = net.parameters
    assert P["_mix.w0"].shape == P["_conv.w0"].shape
    bias_size = P["_conv.wbias"].size
    assert P["_mix.wbias"].shape == (bias_size,) and (bias_size == 6) == (not trans)
    P["_mix.w0"] = P["_conv.w0"]
    P["_mix.wbias"] = RNG.standard_normal(bias_size)
    P["_conv.wbias"] = P["_mix.wbias"].reshape(P["_conv.wbias"].shape)
    feed = {"img": RNG.standard_normal((3, 100))}
    out = net.forward(feed, training=True, fetch=["mix", "conv"])
    np.testing.assert_allclose(out["mix"], out["conv"].reshape(3, -1), rtol=1e-12)
    dz = RNG.standard_normal(out["mix"].shape)
    grads = net.backward({"mix": dz, "conv": dz.reshape(out["conv"].shape)})
    np.testing.assert_allclose(grads.parameters["_mix.w0"], grads.parameters["_conv.w0"],
                               rtol=1e-10)
    np.testing.assert_allclose(grads.parameters["_mix.wbias"],
                               grads.parameters["_conv.wbias"].reshape(-1), rtol=1e-10)


def conv_operator_network(trans):
    def network():
        img = data_layer(name="img", size=2 * 4 * 4, height=4, width=4)
        flt = data_layer(name="flt", size=3 * 2 * 2 * 2)
        mixed_layer(name="op", input=conv_operator(img=img, filter=flt, filter_size=2,
                                                   num_filters=3, num_channels=2,
                                                   stride=2 if trans else 1, trans=trans))
    return network


@pytest.mark.parametrize("trans", [False, True])
def test_conv_operator_convolves_each_sample_by_its_own_filters(trans):
    net = compiled(conv_operator_network(trans))
    img, flt = RNG.standard_normal((2, 32)), RNG.standard_normal((2, 24))
    out = net.forward({"img": img, "flt": flt}, fetch=["op"])["op"]
    x = img.reshape(2, 2, 4, 4)
    for n in range(2):      # direct loops: y[f, i, j] = sum w[f, c, a, b] x[c, i + a, j + b]
        if trans:           # w[c, f, a, b]: x[c, i, j] scattered to y[f, 2i + a, 2j + b]
            w = flt[n].reshape(2, 3, 2, 2)
            y = np.zeros((3, 8, 8))
            for c, i, j, f, a, b in np.ndindex(2, 4, 4, 3, 2, 2):
                y[f, 2 * i + a, 2 * j + b] += w[c, f, a, b] * x[n, c, i, j]
        else:
            w = flt[n].reshape(3, 2, 2, 2)
            y = np.zeros((3, 3, 3))
            for f, i, j, c, a, b in np.ndindex(3, 3, 3, 2, 2, 2):
                y[f, i, j] += w[f, c, a, b] * x[n, c, i + a, j + b]
        np.testing.assert_allclose(out[n], y.reshape(-1), rtol=1e-12)
    results = check_network_gradients(net, {"img": img, "flt": flt}, fetch=["op"])
    assert {"input:img", "input:flt"} <= set(results)


def test_conv_projection_gradients_with_a_second_conv_term():
    def network():
        img = data_layer(name="img", size=2 * 4 * 4, height=4, width=4)
        with mixed_layer(name="mix", bias_attr=True) as m:
            m += conv_projection(img, filter_size=3, num_filters=2, padding=1)
            m += conv_projection(img, filter_size=1, num_filters=2)
    net = compiled(network)
    assert net.parameters["_mix.wbias"].shape == (4,)      # one per filter of each term
    results = check_network_gradients(net, {"img": RNG.standard_normal((2, 32))},
                                      fetch=["mix"])
    assert {"_mix.w0", "_mix.w1", "_mix.wbias", "input:img"} <= set(results)


def test_slice_projection_takes_channel_ranges():
    def network():
        img = data_layer(name="img", size=4 * 3 * 3, height=3, width=3)
        conv = img_conv_layer(input=img, filter_size=1, num_filters=4, act=LinearActivation(),
                              name="conv", bias_attr=False)
        mixed_layer(name="s", input=slice_projection(conv, slices=[(0, 1), (2, 4)]))
    net = compiled(network)
    img = RNG.standard_normal((2, 36))
    out = net.forward({"img": img}, fetch=["s", "conv"])
    conv = out["conv"].reshape(2, 4, 9)
    np.testing.assert_allclose(out["s"], np.concatenate([conv[:, 0], conv[:, 2], conv[:, 3]],
                                                        axis=1))
    check_network_gradients(net, {"img": img}, fetch=["s"])


@pytest.mark.parametrize("as_row", [True, False])
def test_repeat_layer(as_row):
    def network():
        x = data_layer(name="x", size=3)
        repeat_layer(x, 2, as_row_vector=as_row, name="r", act=IdentityActivation())
    net = compiled(network)
    x = np.array([[1.0, 2.0, 3.0]])
    out = net.forward({"x": x}, fetch=["r"])["r"]
    expected = [1, 2, 3, 1, 2, 3] if as_row else [1, 1, 2, 2, 3, 3]
    np.testing.assert_allclose(out, [expected])
    results = check_network_gradients(net, {"x": RNG.standard_normal((2, 3))}, fetch=["r"])
    assert "input:x" in results


def test_gated_unit_layer_is_projection_times_sigmoid_gate():
    def network():
        x = data_layer(name="x", size=5)
        gated_unit_layer(input=x, size=4, act=TanhActivation(), name="g")
    net = compiled(network)
    x = RNG.standard_normal((3, 5))
    out = net.forward({"x": x}, fetch=["g_gated_act"])["g_gated_act"]
    P = net.parameters
    proj = np.tanh(x @ P["_g_input_proj.w0"] + P["_g_input_proj.wbias"])
    gate = 1 / (1 + np.exp(-(x @ P["_g_gate.w0"] + P["_g_gate.wbias"])))
    np.testing.assert_allclose(out, proj * gate, rtol=1e-12)
    check_network_gradients(net, {"x": x}, fetch=["g_gated_act"])


def test_table_projection_reads_ids_from_a_data_layer_only():
    def network():
        x = data_layer(name="x", size=4)
        h = mixed_layer(input=identity_projection(x), name="h")
        mixed_layer(input=table_projection(h, size=3), name="t")
    with pytest.raises(mp.ConfigError, match=r"'t'.*'h'.*integer"):
        mp.compile(mp.parse_config(network))


def test_ids_out_of_range_are_refused():
    def network():
        embedding_layer(input=data_layer(name="ids", size=4), size=3, name="emb")
    net = compiled(network)
    with pytest.raises(ValueError, match="ids"):
        net.forward({"ids": np.array([0, 4])}, fetch=["emb"])



def test_concat_of_projections_puts_each_output_in_its_columns():
    def network():
        x = data_layer(name="x", size=4)
        y = data_layer(name="y", size=3)
        mp.concat_layer(name="cat", input=[full_matrix_projection(x, size=2),
                                           identity_projection(y), dotmul_projection(x)],
                        bias_attr=mp.ParamAttr(initial_std=0.5))
    net = compiled(network)
    P = net.parameters
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 3))
    out = net.forward({"x": x, "y": y}, fetch=["cat"])["cat"]
    expected = np.hstack([x @ P["_cat.w0"], y, x * P["_cat.w2"]]) + P["_cat.wbias"]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    results = check_network_gradients(net, {"x": x, "y": y}, fetch=["cat"])
    assert {"_cat.w0", "_cat.w2", "_cat.wbias", "input:x", "input:y"} <= set(results)
