"""Bad feeds and absurd sizes are refused with clear errors before anything is computed."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403


def small():
    x = data_layer(name="x", size=4)
    y = fc_layer(input=x, size=3, act=SoftmaxActivation(), name="y")
    outputs(classification_cost(input=y, label=data_layer(name="lab", size=3)))


@pytest.mark.parametrize("value,message", [
    (np.array([[1.0, np.nan, 0, 0]]), r"data layer 'x': the feed contains nan \(sample 0\)"),
    (np.array([[0, 0, 0, 0], [1.0, 2, np.inf, 0]]), r"contains inf \(sample 1\)"),
    (np.array([[1 + 2j, 0, 0, 0]]), r"expected a numeric array, got dtype complex128"),
    (np.array([[True, False, True, False]]), r"expected a numeric array, got dtype bool"),
    (np.array([["a", "b", "c", "d"]]), r"expected a numeric array"),
])
def test_bad_dense_feeds_name_the_data_layer(value, message):
    net = mp.compile(mp.parse_config(small))
    with pytest.raises(ValueError, match=message):
        net.forward({"x": value}, fetch=["y"])


def test_no_partial_state_after_a_bad_feed():
    def bn():
        x = data_layer(name="x", size=2)
        outputs(batch_norm_layer(input=x, name="b"))

    net = mp.compile(mp.parse_config(bn))
    before = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.raises(ValueError):
        net.forward({"x": np.array([[1.0, np.nan]])}, training=True)
    for name, value in net.parameters.items():
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(RuntimeError, match="needs a preceding forward"):
        net.backward()


def test_absurd_parameters_fail_at_compile_naming_layer_and_bytes(monkeypatch):
    def huge():
        x = data_layer(name="x", size=100_000)
        outputs(fc_layer(input=x, size=100_000, name="wide"))      # 4e10 bytes of weights

    config = mp.parse_config(huge)
    monkeypatch.setenv("MINIPADDLE_MAX_BYTES", str(1 << 30))
    with pytest.raises(ConfigError, match=r"parameters need 40,000,400,000 bytes, more than "
                                          r"the 1,073,741,824 bytes available \(largest: "
                                          r"'_wide.w0' with 40,000,000,000 bytes\)"):
        mp.compile(config)


def test_absurd_activation_fails_at_compile(monkeypatch):
    def tall():
        x = data_layer(name="x", size=3 * 4 * 4, height=4, width=4)
        outputs(img_conv_layer(input=x, name="up", filter_size=4, stride=4000,
                               num_filters=2, trans=True, bias_attr=False))

    config = mp.parse_config(tall)
    monkeypatch.setenv("MINIPADDLE_MAX_BYTES", str(1 << 28))
    with pytest.raises(ConfigError, match=r"layer 'up': one sample needs [\d,]+ bytes "
                                          r"\([\d,]+ for its output and [\d,]+ for its "
                                          r"im2col working buffer\)"):
        mp.compile(config)


def test_batch_too_large_for_memory_fails_before_computing(monkeypatch):
    net = mp.compile(mp.parse_config(small))
    monkeypatch.setenv("MINIPADDLE_MAX_BYTES", "64")
    with pytest.raises(ValueError, match=r"layer '(x|y)': a batch of 10 needs \d+ bytes"):
        net.forward({"x": np.zeros((10, 4))}, fetch=["y"])
