"""The element-wise and vector layers of issue 16 through the Network: forward against slow
references written here (loops over samples and values), backward by the float64
finite-difference check, the model-zoo YAML form, summary shapes and the argument errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.config import ConfigError
from minipaddle.config.summary import format_summary

from gradcheck import check_network_gradients
from tests.dsl_models import model_of

N = 4


def compiled(fn, seed: int = 1):
    return mp.compile(model_of(fn), dtype="float64", seed=seed)


def random_feed(net, seed: int = 2, low: float = -1.0, high: float = 1.0, n: int = N,
                overrides: dict | None = None) -> dict:
    rng = np.random.default_rng(seed)
    feed = {}
    for name in net.order:
        if net.configs[name].type == "data":
            feed[name] = rng.uniform(low, high, size=(n,) + net.shapes[name])
    feed.update(overrides or {})
    return feed


def forward(net, feed, *names):
    out = net.forward(feed, training=True, fetch=list(names))
    return [out[n] for n in names]


# ------------------------------------------------------------------------------ slope_intercept

def test_slope_intercept_forward_and_gradient():
    def net():
        x = data_layer(name="x", size=12, height=2, width=3)
        a = slope_intercept_layer(input=x, name="a", slope=-1.5, intercept=0.25)
        b = slope_intercept_layer(input=a, name="b")          # Paddle's defaults: identity
        return [a, b]
    net_ = compiled(net)
    feed = random_feed(net_)
    a, b = forward(net_, feed, "a", "b")
    x = feed["x"].reshape(N, 12)
    expected = np.array([[-1.5 * x[n, j] + 0.25 for j in range(12)] for n in range(N)])
    np.testing.assert_allclose(a, expected, rtol=1e-13)
    np.testing.assert_allclose(b, expected, rtol=1e-13)
    check_network_gradients(net_, feed)


# ------------------------------------------------------------------------------------ scaling

def test_scaling_forward_and_gradient():
    def net():
        w = data_layer(name="w", size=1)
        x = data_layer(name="x", size=5)
        return scaling_layer(input=x, weight=w, name="s")
    net_ = compiled(net)
    feed = random_feed(net_)
    (s,) = forward(net_, feed, "s")
    expected = np.array([[feed["w"][n, 0] * feed["x"][n, j] for j in range(5)]
                         for n in range(N)])
    np.testing.assert_allclose(s, expected, rtol=1e-13)
    results = check_network_gradients(net_, feed)
    assert {"input:w", "input:x"} <= set(results)


def test_scaling_refuses_a_weight_wider_than_one():
    w = data_layer(name="w", size=2)
    x = data_layer(name="x", size=5)
    with pytest.raises(ConfigError, match=r"scaling_layer.*weight=.*size 1.*has size 2"):
        scaling_layer(input=x, weight=w)


# -------------------------------------------------------------------------------- scale_shift

def test_scale_shift_forward_and_gradient():
    def net():
        x = data_layer(name="x", size=12, height=2, width=3)
        a = scale_shift_layer(input=x, name="a")
        b = scale_shift_layer(input=x, name="b", bias_attr=False)
        return [a, b]
    net_ = compiled(net)
    assert net_.parameters["_a.w0"].shape == (1,) and net_.parameters["_a.wbias"].shape == (1,)
    assert set(net_.parameters) == {"_a.w0", "_a.wbias", "_b.w0"}
    net_.parameters["_a.wbias"] = np.array([0.75])
    feed = random_feed(net_)
    a, b = forward(net_, feed, "a", "b")
    x = feed["x"].reshape(N, 12)
    wa, ba, wb = (float(net_.parameters[k][0]) for k in ("_a.w0", "_a.wbias", "_b.w0"))
    np.testing.assert_allclose(a, [[wa * v + ba for v in row] for row in x], rtol=1e-13)
    np.testing.assert_allclose(b, [[wb * v for v in row] for row in x], rtol=1e-13)
    results = check_network_gradients(net_, feed)
    assert {"_a.w0", "_a.wbias", "_b.w0", "input:x"} <= set(results)


# --------------------------------------------------------------------------------------- clip

def test_clip_forward_and_gradient():
    def net():
        x = data_layer(name="x", size=7)
        return clip_layer(input=x, min=-0.4, max=0.3, name="c")
    net_ = compiled(net)
    # values kept away from the bounds so the finite difference never crosses a kink
    x = np.array([[-0.9, -0.5, -0.2, 0.0, 0.1, 0.25, 0.8]] * N) + np.arange(N)[:, None] * 0.01
    feed = {"x": x}
    (c,) = forward(net_, feed, "c")
    expected = [[min(max(v, -0.4), 0.3) for v in row] for row in x]
    np.testing.assert_allclose(c, expected, rtol=1e-13)
    net_.forward(feed, training=True)
    grads = net_.backward({"c": np.ones_like(c)}, input_grads=True)
    inside = [[1.0 if -0.4 <= v <= 0.3 else 0.0 for v in row] for row in x]
    np.testing.assert_array_equal(grads.inputs["x"], inside)
    check_network_gradients(net_, feed)


# -------------------------------------------------------------------------------------- power

def test_power_forward_and_gradient():
    def net():
        w = data_layer(name="w", size=1)
        x = data_layer(name="x", size=5)
        return power_layer(input=x, weight=w, name="p")
    net_ = compiled(net)
    feed = random_feed(net_, low=0.3, high=1.5)          # positive bases, as pow needs
    (p,) = forward(net_, feed, "p")
    expected = [[math.pow(feed["x"][n, j], feed["w"][n, 0]) for j in range(5)]
                for n in range(N)]
    np.testing.assert_allclose(p, expected, rtol=1e-13)
    assert {"input:w", "input:x"} <= set(check_network_gradients(net_, feed))


# ------------------------------------------------------------------------------ interpolation

def test_interpolation_forward_and_gradient():
    def net():
        w = data_layer(name="w", size=1)
        x1 = data_layer(name="x1", size=4)
        x2 = data_layer(name="x2", size=4)
        return interpolation_layer(input=[x1, x2], weight=w, name="i")
    net_ = compiled(net)
    feed = random_feed(net_)
    (i,) = forward(net_, feed, "i")
    w, x1, x2 = feed["w"], feed["x1"], feed["x2"]
    expected = [[w[n, 0] * x1[n, j] + (1 - w[n, 0]) * x2[n, j] for j in range(4)]
                for n in range(N)]
    np.testing.assert_allclose(i, expected, rtol=1e-13)
    assert {"input:w", "input:x1", "input:x2"} <= set(check_network_gradients(net_, feed))


# --------------------------------------------------------------------------------- linear_comb

def test_linear_comb_and_convex_comb_forward_and_gradient():
    def net():
        w = data_layer(name="w", size=3)
        v = data_layer(name="v", size=12)
        a = linear_comb_layer(weights=w, vectors=v, name="a")
        b = convex_comb_layer(weights=w, vectors=v, size=4, name="b")
        return [a, b]
    net_ = compiled(net)
    feed = random_feed(net_)
    a, b = forward(net_, feed, "a", "b")
    w, v = feed["w"], feed["v"]
    expected = [[sum(w[n, m] * v[n, m * 4 + j] for m in range(3)) for j in range(4)]
                for n in range(N)]
    np.testing.assert_allclose(a, expected, rtol=1e-13)
    np.testing.assert_allclose(b, expected, rtol=1e-13)
    assert {"input:w", "input:v"} <= set(check_network_gradients(net_, feed))


# ----------------------------------------------------------------------------------- cos_sim

def _cos(u, v):
    dot = sum(a * b for a, b in zip(u, v))
    return dot / math.sqrt(sum(a * a for a in u)) / math.sqrt(sum(b * b for b in v))


def test_cos_sim_both_forms_forward_and_gradient():
    def net():
        a = data_layer(name="a", size=3)
        b = data_layer(name="b", size=3)
        m = data_layer(name="m", size=6)
        plain = cos_sim(a=a, b=b, name="plain")                   # scale 1
        scaled = cos_sim(a=a, b=b, scale=2.5, name="scaled")
        vm = cos_sim(a=a, b=m, size=2, scale=0.5, name="vm")
        return [plain, scaled, vm]
    net_ = compiled(net)
    feed = random_feed(net_)
    plain, scaled, vm = forward(net_, feed, "plain", "scaled", "vm")
    a, b, m = feed["a"], feed["b"], feed["m"]
    np.testing.assert_allclose(plain, [[_cos(a[n], b[n])] for n in range(N)], rtol=1e-12)
    np.testing.assert_allclose(scaled, [[2.5 * _cos(a[n], b[n])] for n in range(N)],
                               rtol=1e-12)
    np.testing.assert_allclose(vm, [[0.5 * _cos(a[n], m[n, 3 * k:3 * k + 3]) for k in range(2)]
                                    for n in range(N)], rtol=1e-12)
    assert {"input:a", "input:b", "input:m"} <= set(check_network_gradients(net_, feed))


# ------------------------------------------------------------------ dot_prod, l2, out_prod

def test_dot_prod_l2_distance_out_prod_forward_and_gradient():
    def net():
        x = data_layer(name="x", size=4)
        y = data_layer(name="y", size=4)
        z = data_layer(name="z", size=3)
        return [dot_prod_layer(input1=x, input2=y, name="dot"),
                l2_distance_layer(x=x, y=y, name="l2"),
                out_prod_layer(input1=x, input2=z, name="outer")]
    net_ = compiled(net)
    feed = random_feed(net_)
    dot, l2, outer = forward(net_, feed, "dot", "l2", "outer")
    x, y, z = feed["x"], feed["y"], feed["z"]
    np.testing.assert_allclose(dot, [[sum(x[n] * y[n])] for n in range(N)], rtol=1e-13)
    np.testing.assert_allclose(l2, [[math.sqrt(sum((x[n] - y[n]) ** 2))] for n in range(N)],
                               rtol=1e-13)
    np.testing.assert_allclose(outer, [[x[n, i] * z[n, j] for i in range(4) for j in range(3)]
                                       for n in range(N)], rtol=1e-13)
    assert {"input:x", "input:y", "input:z"} <= set(check_network_gradients(net_, feed))


# ------------------------------------------------------------------------------------ tensor

def test_tensor_forward_and_gradient():
    def net():
        a = data_layer(name="a", size=3)
        b = data_layer(name="b", size=2)
        t = tensor_layer(a=a, b=b, size=4, name="t")              # linear, with a bias
        u = tensor_layer(a=a, b=b, size=2, name="u", act=TanhActivation(), bias_attr=False)
        return [t, u]
    net_ = compiled(net)
    assert net_.parameters["_t.w0"].shape == (4, 3, 2)
    assert net_.parameters["_t.wbias"].shape == (4,)
    net_.parameters["_t.wbias"] = np.array([0.1, -0.2, 0.3, 0.0])
    feed = random_feed(net_)
    t, u = forward(net_, feed, "t", "u")
    w, bias, w2 = (net_.parameters[k] for k in ("_t.w0", "_t.wbias", "_u.w0"))
    # Paddle's buffer: slice k at offset k * A * B, an A x B matrix
    flat = w.reshape(-1)
    a, b = feed["a"], feed["b"]

    def bilinear(flat_w, n, k):
        return sum(a[n, i] * flat_w[k * 6 + i * 2 + j] * b[n, j]
                   for i in range(3) for j in range(2))
    np.testing.assert_allclose(t, [[bilinear(flat, n, k) + bias[k] for k in range(4)]
                                   for n in range(N)], rtol=1e-12)
    np.testing.assert_allclose(u, [[math.tanh(bilinear(w2.reshape(-1), n, k)) for k in range(2)]
                                   for n in range(N)], rtol=1e-12)
    results = check_network_gradients(net_, feed)
    assert {"_t.w0", "_t.wbias", "_u.w0", "input:a", "input:b"} <= set(results)


# ------------------------------------------------------------------------ factorization_machine

def test_factorization_machine_forward_and_gradient():
    def net():
        x = data_layer(name="x", size=5)
        return factorization_machine(input=x, factor_size=3, name="fm")
    net_ = compiled(net)
    v = net_.parameters["_fm.w0"]
    assert v.shape == (5, 3)
    feed = random_feed(net_)
    (fm,) = forward(net_, feed, "fm")
    x = feed["x"]
    expected = [[sum(float(v[i] @ v[j]) * x[n, i] * x[n, j]
                     for i in range(5) for j in range(i + 1, 5))] for n in range(N)]
    np.testing.assert_allclose(fm, expected, rtol=1e-12)
    assert {"_fm.w0", "input:x"} <= set(check_network_gradients(net_, feed))


# ------------------------------------------------------------------------------- selective_fc

def test_selective_fc_with_and_without_select():
    def net():
        x = data_layer(name="x", size=3)
        y = data_layer(name="y", size=2)
        sel = data_layer(name="sel", size=4)
        masked = selective_fc_layer(input=[x, y], size=4, select=sel, name="masked",
                                    act=LinearActivation())
        plain = selective_fc_layer(input=x, size=4, name="plain")    # tanh, like an fc
        return [masked, plain]
    net_ = compiled(net)
    assert net_.parameters["_masked.w0"].shape == (4, 3)       # stored transposed
    assert net_.parameters["_masked.w1"].shape == (4, 2)
    feed = random_feed(net_)
    feed["sel"] = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 0]], float)
    masked, plain = forward(net_, feed, "masked", "plain")
    w0, w1, bias = (net_.parameters[k] for k in ("_masked.w0", "_masked.w1", "_masked.wbias"))
    x, y, sel = feed["x"], feed["y"], feed["sel"]
    expected = [[sel[n, j] * (sum(x[n, i] * w0[j, i] for i in range(3))
                              + sum(y[n, i] * w1[j, i] for i in range(2)) + bias[j])
                 for j in range(4)] for n in range(N)]
    np.testing.assert_allclose(masked, expected, rtol=1e-12)
    wp, bp = net_.parameters["_plain.w0"], net_.parameters["_plain.wbias"]
    np.testing.assert_allclose(plain, np.tanh(x @ wp.T + bp), rtol=1e-12)
    results = check_network_gradients(net_, feed, frozen=("sel",))
    assert {"_masked.w0", "_masked.w1", "_masked.wbias", "input:x", "input:y"} <= set(results)


# ------------------------------------------------------------------------ maxid and multiplex

def test_maxid_gives_the_index_of_the_largest_value():
    def net():
        x = data_layer(name="x", size=5)
        return maxid_layer(input=x, name="ids")
    net_ = compiled(net)
    x = np.array([[0.1, 0.9, 0.3, 0.9, -1.0], [2.0, 1.0, 0.0, -1.0, 1.5], [-3, -2, -1, -4, -5]],
                 float)
    (ids,) = forward(net_, {"x": x}, "ids")
    expected = [[max(range(5), key=lambda j: (row[j], -j))] for row in x]   # first on ties
    np.testing.assert_array_equal(ids, expected)
    assert net_.shapes["ids"] == (1,)


def test_multiplex_forward_and_gradient():
    def net():
        index = data_layer(name="index", size=1)
        c = [data_layer(name=f"c{k}", size=3) for k in range(3)]
        return multiplex_layer(input=[index] + c, name="mux")
    net_ = compiled(net)
    feed = random_feed(net_, overrides={"index": np.array([[2.0], [0.0], [1.0], [2.0]])})
    (mux,) = forward(net_, feed, "mux")
    picks = [2, 0, 1, 2]
    np.testing.assert_allclose(mux, [feed[f"c{picks[n]}"][n] for n in range(N)], rtol=0)
    net_.forward(feed, training=True)
    grads = net_.backward({"mux": np.ones((N, 3))}, input_grads=True)
    for k in range(3):
        np.testing.assert_array_equal(grads.inputs[f"c{k}"],
                                      [[1.0 * (picks[n] == k)] * 3 for n in range(N)])
    results = check_network_gradients(net_, feed, frozen=("index",))
    assert {"input:c0", "input:c1", "input:c2"} <= set(results)


def test_multiplex_refuses_an_index_out_of_range():
    def net():
        index = data_layer(name="index", size=1)
        return multiplex_layer(input=[index, data_layer(name="a", size=2),
                                      data_layer(name="b", size=2)], name="mux")
    net_ = compiled(net)
    feed = random_feed(net_, overrides={"index": np.array([[0.0], [2.0], [1.0], [0.0]])})
    with pytest.raises(ValueError, match=r"multiplex layer 'mux': index 2 from 'index' is not "
                                         r"an integer in \[0, 2\)"):
        net_.forward(feed)


# ------------------------------------------------------------------ YAML, summary and errors

ZOO_YAML = """\
schema_version: 1
kind: model
name: elementwise_zoo
layers:
  - data_layer: {name: x, size: 6}
  - data_layer: {name: y, size: 6}
  - data_layer: {name: w, size: 1}
  - data_layer: {name: keys, size: 12}
  - data_layer: {name: sel, size: 4}
  - data_layer: {name: index, size: 1}
  - slope_intercept_layer: {name: si, input: x, slope: -1.0, intercept: 2}
  - scaling_layer: {name: sc, input: si, weight: w}
  - scale_shift_layer: {name: ss, input: sc, bias_attr: false}
  - clip_layer: {name: cl, input: ss, min: -1, max: 1}
  - power_layer: {name: pw, input: y, weight: w}
  - interpolation_layer: {name: ip, input: [x, y], weight: w}
  - linear_comb_layer: {name: cc, weights: w, vectors: y}
  - cos_sim: {name: cs, a: x, b: y, scale: 2}
  - cos_sim: {name: cv, a: x, b: keys, size: 2}
  - dot_prod_layer: {name: dp, input1: x, input2: y}
  - l2_distance_layer: {name: l2, x: x, y: y}
  - out_prod_layer: {name: op, input1: x, input2: w}
  - tensor_layer: {name: tl, a: x, b: y, size: 3, act: tanh}
  - factorization_machine: {name: fm, input: x, factor_size: 2, param_attr: {initial_std: 0.1}}
  - selective_fc_layer: {name: sf, input: [x, y], size: 4, select: sel}
  - maxid_layer: {name: mi, input: x}
  - multiplex_layer: {name: mx, input: [index, x, y]}
outputs: [cl, pw, ip, cc, cs, cv, dp, l2, op, tl, fm, sf, mi, mx]
"""


def zoo_network():
    x = data_layer(name="x", size=6)
    y = data_layer(name="y", size=6)
    w = data_layer(name="w", size=1)
    keys = data_layer(name="keys", size=12)
    sel = data_layer(name="sel", size=4)
    index = data_layer(name="index", size=1)
    si = slope_intercept_layer(name="si", input=x, slope=-1.0, intercept=2)
    sc = scaling_layer(name="sc", input=si, weight=w)
    ss = scale_shift_layer(name="ss", input=sc, bias_attr=False)
    outs = [clip_layer(name="cl", input=ss, min=-1, max=1),
            power_layer(name="pw", input=y, weight=w),
            interpolation_layer(name="ip", input=[x, y], weight=w),
            convex_comb_layer(name="cc", weights=w, vectors=y),
            cos_sim(name="cs", a=x, b=y, scale=2),
            cos_sim(name="cv", a=x, b=keys, size=2),
            dot_prod_layer(name="dp", input1=x, input2=y),
            l2_distance_layer(name="l2", x=x, y=y),
            out_prod_layer(name="op", input1=x, input2=w),
            tensor_layer(name="tl", a=x, b=y, size=3, act=TanhActivation()),
            factorization_machine(name="fm", input=x, factor_size=2,
                                  param_attr=ParamAttr(initial_std=0.1)),
            selective_fc_layer(name="sf", input=[x, y], size=4, select=sel),
            maxid_layer(name="mi", input=x),
            multiplex_layer(name="mx", input=[index, x, y])]
    outputs(outs)


def test_yaml_model_zoo_form_equals_the_dsl(tmp_path):
    path = tmp_path / "elementwise.yaml"
    path.write_text(ZOO_YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(zoo_network).model_config
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.parameters == from_dsl.parameters
    net_ = mp.compile(from_yaml, dtype="float64", seed=1)
    feed = random_feed(net_, low=0.2, high=1.0, overrides={
        "index": np.array([[1.0], [0.0], [1.0], [0.0]]),
        "sel": np.array([[1, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 1], [0, 1, 0, 0]], float)})
    out = net_.forward(feed)
    assert out["sf"].shape == (N, 4) and out["mi"].shape == (N, 1) and out["cv"].shape == (N, 2)


def test_summary_shapes_parameters_and_mult_adds():
    summary = format_summary(mp.parse_config(zoo_network).model_config)
    rows = {line.split()[0]: line.split() for line in summary.splitlines() if line.strip()}
    # name, type, shape, parameters, multiply-adds
    assert rows["ss"][1:4] == ["scale_shift", "6", "1"]
    assert rows["cv"][1:4] == ["cos_vm", "2", "0"]
    assert rows["op"][1:3] == ["out_prod", "6"]
    assert rows["tl"][1:] == ["tensor", "3", str(3 * 6 * 6 + 3), str(3 * (6 * 6 + 6))]
    assert rows["fm"][1:] == ["factorization_machine", "1", "12", str(2 * 6 * 2)]
    assert rows["sf"][1:] == ["selective_fc", "4", str(4 * 6 * 2 + 4), str(6 * 4 * 2)]
    assert rows["mi"][1:4] == ["maxid", "1", "0"]
    assert rows["mx"][1:4] == ["multiplex", "6", "0"]


def _layers():
    return {"x": data_layer(name="x", size=6), "y": data_layer(name="y", size=4),
            "w": data_layer(name="w", size=1), "w2": data_layer(name="w2", size=2)}


@pytest.mark.parametrize("call, pattern", [
    (lambda d: scaling_layer(input=d["x"], weight=d["w2"]),
     r"scaling_layer.*weight=.*must have size 1.*'w2' has size 2"),
    (lambda d: power_layer(input=d["x"], weight=d["y"]),
     r"power_layer.*weight=.*the exponent layer must have size 1"),
    (lambda d: interpolation_layer(input=[d["x"], d["y"]], weight=d["w"]),
     r"interpolation_layer.*input=.*'y' has size 4, but 'x' has size 6"),
    (lambda d: interpolation_layer(input=[d["x"]], weight=d["w"]),
     r"interpolation_layer.*input=.*exactly 2 layers, got 1"),
    (lambda d: clip_layer(input=d["x"], min=1, max=1),
     r"clip_layer.*max=1: must be greater than min=1"),
    (lambda d: linear_comb_layer(weights=d["y"], vectors=d["x"]),
     r"linear_comb_layer.*vectors=.*size 6 is not a multiple of the weights' size 4"),
    (lambda d: linear_comb_layer(weights=d["w2"], vectors=d["x"], size=2),
     r"linear_comb_layer.*size=2: must be vectors' size / weights' size = 6 / 2 = 3"),
    (lambda d: cos_sim(a=d["x"], b=d["y"]),
     r"cos_sim.*b=.*'y' has size 4, but 'x' has size 6"),
    (lambda d: cos_sim(a=d["y"], b=d["x"], size=2),
     r"cos_sim.*size=2: b's size 6 must be size x a's size = 2 x 4 = 8"),
    (lambda d: dot_prod_layer(input1=d["x"], input2=d["y"]),
     r"dot_prod_layer.*input2=.*the two inputs must have the same size"),
    (lambda d: l2_distance_layer(x=d["x"], y=d["y"]),
     r"l2_distance_layer.*y=.*the two inputs must have the same size"),
    (lambda d: factorization_machine(input=d["x"], factor_size=0),
     r"factorization_machine.*factor_size"),
    (lambda d: selective_fc_layer(input=d["x"], size=3, select=d["y"]),
     r"selective_fc_layer.*select=.*'y' has size 4, but the layer has size 3"),
    (lambda d: multiplex_layer(input=[d["w"], d["x"]]),
     r"multiplex_layer.*input=.*more than 2 layers.*got 2"),
    (lambda d: multiplex_layer(input=[d["w"], d["x"], d["y"]]),
     r"multiplex_layer.*input=.*candidate 'y' has size 4, but 'x' has size 6"),
    (lambda d: multiplex_layer(input=[d["w2"], d["x"], d["x"]]),
     r"multiplex_layer.*input=.*must have size 1, but layer 'w2' has size 2"),
    (lambda d: l2_distance_layer(x=d["x"], y=d["x"], layer_attr=ExtraAttr(drop_rate=0.5)),
     r"l2_distance_layer.*layer_attr=.*does not support drop_rate"),
])
def test_bad_arguments_are_one_clear_line(call, pattern):
    def config():
        call(_layers())
    with pytest.raises(ConfigError, match=pattern) as info:
        mp.parse_config(config)
    assert "\n" not in str(info.value)
