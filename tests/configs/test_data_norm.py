"""Hand-derived field checks of tests/configs/data_norm.py (its golden YAML is compared by
test_goldens.py): Paddle's raw ``data_norm`` config (DataNormLayer of config_parser: size of
the input, ``data_norm_strategy``, one static parameter of ``5 * size`` values with dims
``[5, size]``), the summary, a YAML model-zoo style load and the argument errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import minipaddle as mp
from minipaddle.config import ConfigError
from minipaddle.config.summary import format_summary

from tests.dsl_models import model_of

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def model():
    return mp.parse_config(str(HERE / "data_norm.py")).model_config


def test_layer_fields(model):
    z = model.layer("__data_norm_layer_0__")
    assert (z.type, z.size, z.active_type, z.data_norm_strategy) == (
        "data_norm", 4, "", "z-score")
    assert [(i.input_layer_name, i.input_parameter_name) for i in z.inputs] == [
        ("dense", "___data_norm_layer_0__.w0")]
    assert z.bias_parameter_name is None
    mm = model.layer("__data_norm_layer_1__")
    assert (mm.size, mm.data_norm_strategy) == (4, "min-max")
    dec = model.layer("scaled")
    assert (dec.size, dec.data_norm_strategy) == (7, "decimal-scaling")
    assert dec.inputs[0].input_parameter_name == "wide_stats"


def test_parameters_are_static_with_paddles_dims(model):
    params = {p.name: p for p in model.parameters}
    z = params["___data_norm_layer_0__.w0"]
    # 5 rows (min, 1/range, mean, 1/std, 1/10^k) of 4 features; the default attribute is
    # smart: std 1/sqrt(dims[0]) = 1/sqrt(5)
    assert (z.size, list(z.dims), z.is_static) == (20, [5, 4], True)
    assert (z.initial_smart, z.initial_mean) == (True, 0.0)
    assert z.initial_std == pytest.approx(1 / math.sqrt(5))
    # a static parameter carries no update settings
    assert z.learning_rate is None and z.momentum is None
    w = params["wide_stats"]
    # the given attribute was not static: the layer makes it so (Paddle's layer forced it)
    assert (w.size, list(w.dims), w.is_static) == (35, [5, 7], True)
    assert (w.initial_mean, w.initial_std, w.initial_smart) == (1.0, 0.0, False)


def test_summary(model):
    rows = {line.split()[0]: line.split() for line in format_summary(model).splitlines()
            if line.strip() and not line.startswith(("-", "=", "layer"))}
    assert rows["__data_norm_layer_0__"][1:5] == ["data_norm", "4", "20", "0"]
    assert rows["scaled"][1:5] == ["data_norm", "7", "35", "0"]
    text = format_summary(model)
    assert "static parameters: 75" in text        # 20 + 20 + 35
    assert "trainable parameters: 32" in text     # fc: 4*2 + 4*2 + 7*2 + 2


YAML = """\
schema_version: 1
kind: model
name: dn
layers:
  - data_layer: {name: x, size: 3}
  - data_norm_layer: {name: n, input: x, data_norm_strategy: min-max}
  - fc_layer: {name: f, input: n, size: 2}
outputs: [f]
"""


def test_yaml_model_zoo_load(tmp_path):
    def dsl():
        from minipaddle import data_layer, data_norm_layer, fc_layer, outputs
        x = data_layer(name="x", size=3)
        n = data_norm_layer(name="n", input=x, data_norm_strategy="min-max")
        outputs(fc_layer(name="f", input=n, size=2))

    path = tmp_path / "dn.yaml"
    path.write_text(YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(dsl).model_config
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.parameters == from_dsl.parameters


@pytest.mark.parametrize("kwargs, message", [
    ({"data_norm_strategy": "zscore"},
     "data_norm_strategy='zscore': expected one of 'z-score', 'min-max', 'decimal-scaling'"),
    ({"data_norm_strategy": "max-min"}, "data_norm_strategy='max-min'"),
])
def test_bad_strategy_is_a_clear_error(kwargs, message):
    def net():
        from minipaddle import data_layer, data_norm_layer
        return data_norm_layer(input=data_layer(name="x", size=3), **kwargs)

    with pytest.raises(ConfigError, match=message):
        model_of(net)


def test_input_must_be_a_data_layer():
    def net():
        from minipaddle import data_layer, data_norm_layer, fc_layer
        return data_norm_layer(input=fc_layer(input=data_layer(name="x", size=3), size=2,
                                              name="h"))

    with pytest.raises(ConfigError, match="input=layer 'h': must be a data layer"):
        model_of(net)


def test_runtime_refuses_a_bad_strategy_in_a_loaded_config(model):
    bad = model.model_copy(deep=True)
    bad.layer("scaled").data_norm_strategy = "log"
    with pytest.raises(ConfigError, match="layer 'scaled' \\(data_norm\\): "
                                          "data_norm_strategy='log': expected one of"):
        mp.compile(bad)
