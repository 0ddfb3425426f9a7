"""conv_shift, sampling_id and print through the Network: forward against slow references
written here, backward by the float64 finite-difference check, sampling's reproducibility
and distribution, what print writes and when, the model-zoo YAML form, summary shapes and
the argument errors."""

from __future__ import annotations

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


# --------------------------------------------------------------------------------- conv_shift

def slow_conv_shift(a, b):
    m, k = len(a), len(b)
    return [sum(a[(i + j - (k - 1) // 2) % m] * b[j] for j in range(k)) for i in range(m)]


def test_conv_shift_forward_and_gradient():
    def net():
        a = data_layer(name="a", size=6)
        b = data_layer(name="b", size=3)
        h = fc_layer(input=a, size=5, act=TanhActivation(), name="h")
        return [conv_shift_layer(a=a, b=b, name="c"),
                conv_shift_layer(a=h, b=b, name="d")]       # a computed input, with weights
    net_ = compiled(net)
    rng = np.random.default_rng(3)
    feed = {"a": rng.uniform(-1, 1, size=(N, 6)), "b": rng.uniform(-1, 1, size=(N, 3))}
    out = net_.forward(feed, training=True, fetch=["c", "d", "h"])
    expected = [slow_conv_shift(feed["a"][n], feed["b"][n]) for n in range(N)]
    np.testing.assert_allclose(out["c"], expected, rtol=1e-12)
    expected_d = [slow_conv_shift(out["h"][n], feed["b"][n]) for n in range(N)]
    np.testing.assert_allclose(out["d"], expected_d, rtol=1e-12)
    results = check_network_gradients(net_, feed)
    assert {"input:a", "input:b", "_h.w0", "_h.wbias"} <= set(results)


def test_conv_shift_refuses_an_even_kernel():
    a = data_layer(name="memory", size=6)
    b = data_layer(name="even", size=4)
    with pytest.raises(ConfigError, match=r"conv_shift_layer.*b=.*size 4.*odd size"):
        conv_shift_layer(a=a, b=b)


# -------------------------------------------------------------------------------- sampling_id

def sampling_net():
    x = data_layer(name="x", size=5)
    p = fc_layer(input=x, size=4, act=SoftmaxActivation(), name="p")
    return sampling_id_layer(input=p, name="s")


def test_sampling_id_is_reproducible_from_the_seed_and_in_range():
    feed = {"x": np.random.default_rng(0).normal(size=(64, 5))}
    first = compiled(sampling_net, seed=7).forward(feed)["s"]
    again = compiled(sampling_net, seed=7).forward(feed)["s"]
    assert first.shape == (64, 1)
    np.testing.assert_array_equal(first, again)
    assert set(np.unique(first)) <= {0.0, 1.0, 2.0, 3.0}
    net_ = compiled(sampling_net, seed=7)
    draws = [net_.forward(feed)["s"] for _ in range(3)]
    assert not all(np.array_equal(draws[0], d) for d in draws[1:])   # fresh draws per pass


def test_sampling_id_follows_the_distribution():
    def net():
        p = data_layer(name="p", size=3)
        return sampling_id_layer(input=p, name="s")
    net_ = compiled(net, seed=11)
    probs = np.array([0.6, 0.1, 0.3])
    ids = net_.forward({"p": np.tile(probs, (30000, 1))})["s"][:, 0].astype(int)
    np.testing.assert_allclose(np.bincount(ids, minlength=3) / 30000, probs, atol=0.015)
    # one-hot rows always give their one id
    onehot = np.eye(3)[[2, 0, 1, 2]]
    np.testing.assert_array_equal(net_.forward({"p": onehot})["s"][:, 0], [2, 0, 1, 2])


def test_sampling_id_takes_no_gradient_and_a_check_pass_is_deterministic():
    def net():
        x = data_layer(name="x", size=5)
        p = fc_layer(input=x, size=4, act=SoftmaxActivation(), name="p")
        s = sampling_id_layer(input=p, name="s")
        return [s, fc_layer(input=p, size=2, name="after")]
    net_ = compiled(net)
    feed = {"x": np.random.default_rng(1).normal(size=(N, 5))}
    one = net_.forward(feed, training="check", fetch=["s"])["s"]
    two = net_.forward(feed, training="check", fetch=["s"])["s"]
    np.testing.assert_array_equal(one, two)
    results = check_network_gradients(net_, feed, fetch=["after"])
    assert {"_after.w0", "_p.w0"} <= set(results)
    net_.forward(feed, training=True)
    grads = net_.backward({"s": np.ones((N, 1))}, input_grads=True)
    assert not grads.parameters and not np.any(grads.inputs["x"])   # nothing flows back


# -------------------------------------------------------------------------------------- print

def test_print_writes_one_block_per_forward(capsys):
    def net():
        x = data_layer(name="x", size=3)
        y = slope_intercept_layer(input=x, slope=2.0, name="y")
        assert print_layer(input=[x, y], name="show") is None     # Paddle returned nothing
        printer_layer(input=y, format="doubled: %s", name="again")
        return y
    net_ = compiled(net)
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.25]])
    out = net_.forward({"x": x})
    np.testing.assert_array_equal(out["y"], 2 * x)
    err = capsys.readouterr().err
    assert err == ("[print show]\n"
                   "layer=x value:\n1 2 3\n0.5 -1 0.25\n\n"
                   "layer=y value:\n2 4 6\n1 -2 0.5\n"
                   "[print again]\n"
                   "doubled: value:\n2 4 6\n1 -2 0.5\n")


def test_print_runs_only_when_its_inputs_are_computed(capsys):
    def net():
        x = data_layer(name="x", size=2)
        z = data_layer(name="z", size=2)
        y = slope_intercept_layer(input=x, name="y")
        w = slope_intercept_layer(input=z, name="w")
        print_layer(input=w, name="watch_w")
        return [y, w]
    net_ = compiled(net)
    feed = {"x": np.ones((1, 2)), "z": np.ones((1, 2))}
    net_.forward(feed, fetch=["y"])
    assert capsys.readouterr().err == ""
    net_.forward(feed, fetch=["w"], training=True)
    assert "[print watch_w]" in capsys.readouterr().err
    net_.backward({"w": np.ones((1, 2))})        # a print layer has nothing to give back


def test_print_refuses_a_format_that_does_not_fit_the_inputs():
    x = data_layer(name="printed", size=3)
    with pytest.raises(ConfigError, match=r"print_layer.*format=.*1 '%s'.*2 input"):
        print_layer(input=[x, x], format="only %s")


# ------------------------------------------------------------------ YAML, summary and errors

ZOO_YAML = """\
schema_version: 1
kind: model
name: misc_zoo
layers:
  - data_layer: {name: a, size: 6}
  - data_layer: {name: b, size: 3}
  - conv_shift_layer: {name: c, a: a, b: b}
  - fc_layer: {name: p, input: c, size: 4, act: softmax}
  - sampling_id_layer: {name: s, input: p}
  - print_layer: {name: show, input: [c, s], format: "c=%s s=%s"}
outputs: [c, s]
"""


def zoo_network():
    a = data_layer(name="a", size=6)
    b = data_layer(name="b", size=3)
    c = conv_shift_layer(name="c", a=a, b=b)
    p = fc_layer(name="p", input=c, size=4, act=SoftmaxActivation())
    s = sampling_id_layer(name="s", input=p)
    print_layer(name="show", input=[c, s], format="c=%s s=%s")
    outputs(c, s)


def test_yaml_model_zoo_form_equals_the_dsl(tmp_path, capsys):
    path = tmp_path / "misc.yaml"
    path.write_text(ZOO_YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(zoo_network).model_config
    assert from_yaml.layers == from_dsl.layers
    net_ = mp.compile(from_yaml, dtype="float64", seed=1)
    rng = np.random.default_rng(0)
    out = net_.forward({"a": rng.normal(size=(N, 6)), "b": rng.normal(size=(N, 3))})
    assert out["c"].shape == (N, 6) and out["s"].shape == (N, 1)
    assert capsys.readouterr().err.startswith("[print show]\nc=value:\n")


def test_summary_shapes_and_mult_adds():
    summary = format_summary(mp.parse_config(zoo_network).model_config)
    rows = {line.split()[0]: line.split() for line in summary.splitlines() if line.strip()}
    assert rows["c"][1:] == ["conv_shift", "6", "0", str(6 * 3)]
    assert rows["s"][1:4] == ["sampling_id", "1", "0"]
    assert rows["show"][1:4] == ["print", "0", "0"]


def test_print_layer_takes_layers_only():
    with pytest.raises(ConfigError, match=r"print_layer.*input"):
        print_layer(input="x")
