"""Paddle's layer_math: the layers ``+ - *`` and the unary functions build (hand-derived from
Paddle's layer_math.py, tests/configs/layer_math.py), and the values they compute against
NumPy, with the float64 gradient check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import data_layer, layer_math, outputs

from tests.runtime.gradcheck import check_network_gradients

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "layer_math.py"


def test_the_layers_arithmetic_builds():
    model = mp.parse_config(str(CONFIG)).model_config
    kinds = {l.name: (l.type, l.active_type, [i.input_layer_name for i in l.inputs])
             for l in model.layers}
    assert kinds["__abs_0__"] == ("mixed", "abs", ["a"])
    assert kinds["__sqrt_0__"] == ("mixed", "sqrt", ["__abs_0__"])
    assert kinds["__mixed_0__"] == ("mixed", "", ["__sqrt_0__", "smooth"])
    # 3 - t * 0.5: slope 0.5, then 3 - u = (-u) + 3
    si = [model.layer(f"__slope_intercept_layer_{k}__") for k in range(4)]
    assert [(l.slope, l.intercept) for l in si] == [(0.5, 0.0), (-1.0, 0.0), (1.0, 3),
                                                    (-1.0, 0.0)]
    assert kinds["__scaling_layer_0__"] == ("scaling", "", ["s", "__mixed_1__"])
    assert kinds["__repeat_layer_0__"][2] == ["s"]
    assert model.layer("__repeat_layer_0__").num_filters == 5
    assert kinds["__mixed_2__"][2] == ["__mixed_1__", "__repeat_layer_0__"]
    terms = model.layer("__mixed_2__").inputs
    assert [t.proj_conf.type for t in terms] == ["identity", "identity"]


def test_values_and_gradients():
    net = mp.compile(mp.parse_config(str(CONFIG)), dtype="float64")
    rng = np.random.default_rng(5)
    feed = {"a": rng.uniform(0.5, 2, (3, 5)) * rng.choice([-1, 1], (3, 5)),
            "b": rng.standard_normal((3, 5)), "s": rng.uniform(1, 2, (3, 1))}
    out = net.forward(feed)
    a, b, s = feed["a"], feed["b"], feed["s"]
    diff = 3 - (np.sqrt(np.abs(a)) + 1 / (1 + np.exp(-b))) * 0.5 - b
    np.testing.assert_allclose(out["__scaling_layer_0__"], s * diff, rtol=1e-12)
    np.testing.assert_allclose(out["__mixed_2__"], diff + s, rtol=1e-12)
    results = check_network_gradients(net, feed)
    assert {"input:a", "input:b", "input:s"} <= set(results)


@pytest.mark.parametrize("op,expected", [
    ("exp", "exponential"), ("log", "log"), ("abs", "abs"), ("sigmoid", "sigmoid"),
    ("tanh", "tanh"), ("square", "square"), ("relu", "relu"), ("sqrt", "sqrt"),
    ("reciprocal", "reciprocal")])
def test_unary_functions(op, expected):
    def network():
        outputs(getattr(layer_math, op)(data_layer(name="x", size=3)))
    layer = mp.parse_config(network).model_config.layer(f"__{op}_0__")
    assert (layer.type, layer.active_type, layer.size) == ("mixed", expected, 3)
    assert layer.inputs[0].proj_conf.type == "identity"


@pytest.mark.parametrize("expression,pattern", [
    ("x + y", r"layer_math 'x': cannot add layers of sizes 3 and 4 \('y'\)"),
    ("x * y", r"layer_math 'x': cannot multiply layers of sizes 3 and 4 .*dotmul_operator"),
    ("x - 'a'", r"layer_math 'x': a layer can be subtracted from a layer or a number, got "
                r"str"),
])
def test_errors(expression, pattern):
    def network():
        x = data_layer(name="x", size=3)
        y = data_layer(name="y", size=4)
        eval(expression, {"x": x, "y": y})  # noqa: S307 - the expression under test
    with pytest.raises(mp.ConfigError, match=pattern) as err:
        mp.parse_config(network)
    assert str(err.value).startswith("<string>:1: ")      # the line of the expression
