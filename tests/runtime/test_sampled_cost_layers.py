"""hsigmoid and nce through the Network: forward against slow per-sample loops written here
(nce with the draw the layer made), backward by the float64 finite-difference check, the
draw's reproducibility and distribution, parameter shapes, label slots, the summary, the
model-zoo YAML form and the argument errors."""

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

N = 5


def compiled(fn, seed: int = 1):
    return mp.compile(model_of(fn), dtype="float64", seed=seed)


def softrelu(z):
    return math.log(1 + math.exp(z))


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


# ----------------------------------------------------------------------------------- hsigmoid

def slow_hsigmoid(xs, ws, b, label, classes):
    """Paddle's SimpleCode walk, one step at a time; unused columns of the longest path add
    softrelu(0) = log 2 each, as Paddle's row sum does."""
    code = label + classes
    longest = len(bin(classes - 1)) - 2
    length = len(bin(code)) - 3
    cost = 0.0
    for j in range(longest):
        if j >= length:
            cost += math.log(2)
            continue
        node = (code >> (j + 1)) - 1
        bit = (code >> j) & 1
        z = sum(float(np.dot(w[node], x)) for w, x in zip(ws, xs)) + (b[node] if b is not None
                                                                      else 0.0)
        z = min(max(z, -40.0), 40.0)
        cost += softrelu(z) - bit * z
    return cost


def hsigmoid_net():
    x = data_layer(name="x", size=4)
    y = data_layer(name="y", size=3)
    h = fc_layer(input=x, size=3, act=TanhActivation(), name="h")
    cls = data_layer(name="cls", size=6)
    return [hsigmoid(input=[h, y], label=cls, name="hs"),
            hsigmoid(input=x, label=cls, num_classes=6, bias_attr=False, name="hs2")]


def test_hsigmoid_facts_forward_and_gradient():
    n = compiled(hsigmoid_net)
    assert n.label_slots == {"cls": 6}
    assert n.parameters["_hs.w0"].shape == (5, 3) and n.parameters["_hs.w1"].shape == (5, 3)
    assert n.parameters["_hs.wbias"].shape == (5,)
    assert n.parameters["_hs2.w0"].shape == (5, 4) and "_hs2.wbias" not in n.parameters
    rng = np.random.default_rng(0)
    feed = {"x": rng.uniform(-1, 1, (N, 4)), "y": rng.uniform(-1, 1, (N, 3)),
            "cls": np.array([0, 1, 2, 5, 3])}
    n.parameters["_hs.wbias"][...] = rng.normal(size=5)
    out = n.forward(feed, fetch=["hs", "hs2", "h"])
    assert out["hs"].shape == (N, 1)
    p = n.parameters
    for i in range(N):
        want = slow_hsigmoid([out["h"][i], feed["y"][i]], [p["_hs.w0"], p["_hs.w1"]],
                             p["_hs.wbias"], int(feed["cls"][i]), 6)
        assert out["hs"][i, 0] == pytest.approx(want, rel=1e-12)
        want2 = slow_hsigmoid([feed["x"][i]], [p["_hs2.w0"]], None, int(feed["cls"][i]), 6)
        assert out["hs2"][i, 0] == pytest.approx(want2, rel=1e-12)
    results = check_network_gradients(n, feed)
    assert {"input:x", "input:y", "_hs.w0", "_hs.w1", "_hs.wbias", "_hs2.w0"} <= set(results)


def test_hsigmoid_probabilities_sum_to_one_over_a_power_of_two():
    """With 8 classes every path has length 3: exp(-cost) is a distribution over classes."""
    def net():
        x = data_layer(name="x", size=3)
        return hsigmoid(input=x, label=data_layer(name="c", size=8), name="hs")
    n = compiled(net)
    x = np.random.default_rng(1).normal(size=(1, 3))
    total = sum(math.exp(-n.forward({"x": x, "c": np.array([c])})["hs"][0, 0])
                for c in range(8))
    assert total == pytest.approx(1.0, rel=1e-12)


def test_hsigmoid_clips_large_scores():
    """Class 1 of 3 (code 0b100) walks nodes 1 then 0, both with bit 0: at a score of 100
    each step costs softrelu(40) once clipped, as in Paddle."""
    def net():
        x = data_layer(name="x", size=1)
        return hsigmoid(input=x, label=data_layer(name="c", size=3), bias_attr=False,
                        name="hs")
    n = compiled(net)
    n.parameters["_hs.w0"][...] = 100.0
    cost = n.forward({"x": np.ones((1, 1)), "c": np.array([1])})["hs"][0, 0]
    assert cost == pytest.approx(2 * softrelu(40.0), rel=1e-12)


def test_hsigmoid_errors():
    x = data_layer(name="hx", size=4)
    with pytest.raises(ConfigError, match=r"hsigmoid.*num_classes=2.*more than 2"):
        hsigmoid(input=x, label=data_layer(name="two", size=2))
    with pytest.raises(ConfigError, match=r"hsigmoid.*label=.*must be a data layer.*'fc'"):
        hsigmoid(input=x, label=fc_layer(input=x, size=5), num_classes=5)
    with pytest.raises(ConfigError, match=r"hsigmoid.*param_attr.*2 inputs"):
        hsigmoid(input=[x, x], label=data_layer(name="hc", size=5), param_attr=[ParamAttr()])


def test_hsigmoid_refuses_a_label_out_of_range():
    n = compiled(hsigmoid_net)
    feed = {"x": np.zeros((1, 4)), "y": np.zeros((1, 3)), "cls": np.array([6])}
    with pytest.raises(ValueError, match=r"'cls'.*label 6.*\[0, 6\)"):
        n.forward(feed, fetch=["hs"])


# ---------------------------------------------------------------------------------------- nce

def nce_net(dist=None, weighted=False):
    def net():
        x = data_layer(name="x", size=4)
        y = data_layer(name="y", size=2)
        h = fc_layer(input=x, size=3, act=TanhActivation(), name="h")
        lab = data_layer(name="lab", size=5)
        w = data_layer(name="w", size=1) if weighted else None
        return nce_layer(input=[h, y], label=lab, weight=w, num_neg_samples=3,
                         neg_distribution=dist, name="nce")
    return net


def slow_nce(xs, ws, b, classes, k, dist, num_classes):
    cost = 0.0
    for j, c in enumerate(classes):
        o = sigmoid(sum(float(np.dot(w[c], x)) for w, x in zip(ws, xs)) + b[c])
        q = dist[c] if dist is not None else 1.0 / num_classes
        bq = k * q
        cost += -math.log(o / (o + bq)) if j == 0 else -math.log(bq / (o + bq))
    return cost


@pytest.mark.parametrize("dist,weighted", [(None, False), ([0.1, 0.2, 0.3, 0.15, 0.25], True)])
def test_nce_facts_forward_and_gradient(dist, weighted):
    n = compiled(nce_net(dist, weighted))
    assert n.label_slots == {"lab": 5}
    assert n.parameters["_nce.w0"].shape == (5, 3) and n.parameters["_nce.w1"].shape == (5, 2)
    assert n.parameters["_nce.wbias"].shape == (5,)
    rng = np.random.default_rng(2)
    n.parameters["_nce.wbias"][...] = rng.normal(size=5)
    feed = {"x": rng.uniform(-1, 1, (N, 4)), "y": rng.uniform(-1, 1, (N, 2)),
            "lab": rng.integers(0, 5, size=N)}
    if weighted:
        feed["w"] = rng.uniform(0.5, 2.0, (N, 1))
    out = n.forward(feed, fetch=["nce", "h"])
    classes = np.asarray(n.layers["nce"].cache["classes"])
    assert classes.shape == (N, 4)
    np.testing.assert_array_equal(classes[:, 0], feed["lab"])
    p = n.parameters
    for i in range(N):
        want = slow_nce([out["h"][i], feed["y"][i]], [p["_nce.w0"], p["_nce.w1"]],
                        p["_nce.wbias"], classes[i], 3, dist, 5)
        if weighted:
            want *= feed["w"][i, 0]
        assert out["nce"][i, 0] == pytest.approx(want, rel=1e-12)
    results = check_network_gradients(n, feed)
    assert {"input:x", "input:y", "_nce.w0", "_nce.w1", "_nce.wbias"} <= set(results)
    if weighted:
        assert "input:w" in results


def test_nce_draws_are_reproducible_and_follow_the_distribution():
    dist = [0.7, 0.1, 0.1, 0.05, 0.05]
    feed = {"x": np.zeros((400, 4)), "y": np.zeros((400, 2)), "lab": np.zeros(400, int)}

    def draw(net_):
        net_.forward(feed, fetch=["nce"])
        return np.asarray(net_.layers["nce"].cache["classes"])[:, 1:]
    first, again = draw(compiled(nce_net(dist), seed=4)), draw(compiled(nce_net(dist), seed=4))
    np.testing.assert_array_equal(first, again)
    counts = np.bincount(first.reshape(-1), minlength=5) / first.size
    np.testing.assert_allclose(counts, dist, atol=0.03)
    uniform = draw(compiled(nce_net(), seed=4))
    np.testing.assert_allclose(np.bincount(uniform.reshape(-1), minlength=5) / uniform.size,
                               [0.2] * 5, atol=0.03)


def test_nce_errors():
    x = data_layer(name="nx", size=4)
    lab = data_layer(name="nlab", size=5)
    with pytest.raises(ConfigError, match=r"nce_layer.*num_classes=1.*at least 2"):
        nce_layer(input=x, label=lab, num_classes=1)
    with pytest.raises(ConfigError, match=r"nce_layer.*label=.*must be a data layer.*'fc'"):
        nce_layer(input=x, label=fc_layer(input=x, size=5), num_classes=5)
    with pytest.raises(ConfigError, match=r"nce_layer.*neg_distribution.*one probability"):
        nce_layer(input=x, label=lab, neg_distribution=[0.5, 0.5])
    with pytest.raises(ConfigError, match=r"nce_layer.*neg_distribution.*summing to 1"):
        nce_layer(input=x, label=lab, neg_distribution=[0.1] * 5)
    with pytest.raises(ConfigError, match=r"nce_layer.*weight=.*size 1"):
        nce_layer(input=x, label=lab, weight=data_layer(name="w2", size=2))


# ------------------------------------------------------------------------- summary and YAML

def test_summary_shapes_and_mult_adds():
    from minipaddle.config.layers import facts_of  # noqa: PLC0415
    hs_model, nce_model = model_of(hsigmoid_net), model_of(nce_net())
    rows = {line.split()[0]: line.split()[1:] for model in (hs_model, nce_model)
            for line in format_summary(model).splitlines() if line.strip()}
    # type, output, parameters, multiply-adds: weights (5, 3) + (5, 3) + bias 5
    assert rows["hs"] == ["hsigmoid", "1", "35", "18"]
    assert rows["hs2"] == ["hsigmoid", "1", "20", "12"]
    assert rows["nce"] == ["nce", "1", "30", "20"]                  # (5, 3) + (5, 2) + 5
    # hsigmoid: 3 steps (6 classes) x (3 + 3) inputs; nce: (1 + 3) scored x (3 + 2)
    assert facts_of("hsigmoid").mult_adds(hs_model.layer("hs"), hs_model) == 18
    assert facts_of("nce").mult_adds(nce_model.layer("nce"), nce_model) == 20


ZOO_YAML = """\
schema_version: 1
kind: model
name: sampled_cost_zoo
layers:
  - data_layer: {name: x, size: 4}
  - data_layer: {name: lab, size: 6}
  - hsigmoid: {name: hs, input: x, label: lab}
  - nce_layer: {name: nce, input: x, label: lab, num_neg_samples: 2}
outputs: [hs, nce]
"""


def zoo_network():
    x = data_layer(name="x", size=4)
    lab = data_layer(name="lab", size=6)
    hs = hsigmoid(name="hs", input=x, label=lab)
    nce = nce_layer(name="nce", input=x, label=lab, num_neg_samples=2)
    outputs(hs, nce)


def test_yaml_model_zoo_form_equals_the_dsl(tmp_path):
    path = tmp_path / "sampled.yaml"
    path.write_text(ZOO_YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(zoo_network).model_config
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.layer("hs").num_classes == 6 and from_yaml.layer("nce").num_neg_samples == 2
    n = mp.compile(from_yaml, dtype="float64", seed=0)
    out = n.forward({"x": np.ones((2, 4)), "lab": np.array([0, 5])})
    assert out["hs"].shape == (2, 1) and out["nce"].shape == (2, 1)
