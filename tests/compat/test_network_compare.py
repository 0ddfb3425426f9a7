"""Network-compare pairs, as Paddle's test_NetworkCompare ran its `.conf` pairs: two configs of
one network (helpers vs the raw config-parser forms, today's helpers vs the 2016 spellings)
get the same parameters and the same input, and must give the same outputs and the same
parameter and input gradients."""

import warnings
from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp

CONFIGS = Path(__file__).parent / "configs"


def compile_pair(name):
    a = mp.parse_config(str(CONFIGS / f"{name}_a.conf"))
    b = mp.parse_config(str(CONFIGS / f"{name}_b.conf"))
    net_a = mp.compile(a, dtype="float64", seed=1)
    with warnings.catch_warnings():     # the cuDNN pool types run as their CPU counterparts
        warnings.simplefilter("ignore", RuntimeWarning)
        net_b = mp.compile(b, dtype="float64", seed=2)
    assert {k: v.shape for k, v in net_a.parameters.items()} == \
        {k: v.shape for k, v in net_b.parameters.items()}
    for key, value in net_a.parameters.items():
        net_b.parameters[key] = value
    return a, b, net_a, net_b


def compare(net_a, net_b, feed, seeds=None):
    """Forward both in training mode, backward with the same output gradients (or the cost's
    ones), and compare every output and gradient."""
    outs = net_a.model.output_layer_names
    assert outs == net_b.model.output_layer_names
    ya = net_a.forward(feed, training=True, fetch=outs)
    yb = net_b.forward(feed, training=True, fetch=outs)
    for name in outs:
        assert np.abs(ya[name]).max() > 0, name
        np.testing.assert_allclose(yb[name], ya[name], rtol=1e-12, atol=1e-12, err_msg=name)
    ga, gb = net_a.backward(seeds, input_grads=True), net_b.backward(seeds, input_grads=True)
    assert set(ga.parameters) == set(gb.parameters)
    for name, grad in ga.parameters.items():
        assert np.abs(grad).max() > 0, name
        np.testing.assert_allclose(gb.parameters[name], grad, rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    for name, grad in ga.inputs.items():
        np.testing.assert_allclose(gb.inputs[name], grad, rtol=1e-12, atol=1e-12,
                                   err_msg=name)


def test_conv_pair_raw_forms_build_the_helpers_layers_and_compute_the_same():
    a, b, net_a, net_b = compile_pair("conv_compare")
    # the raw Layer/Input/Conv forms emit exactly the helpers' LayerConfigs
    assert b.model_config.layers == a.model_config.layers
    assert b.model_config.input_layer_names == a.model_config.input_layer_names == ["pixels"]
    assert [(p.name, p.size, p.dims) for p in b.model_config.parameters] == \
        [(p.name, p.size, p.dims) for p in a.model_config.parameters]
    # raw parameters take the global defaults: normal, mean 0, std 0.01 (not the helpers'
    # smart conv init, not the helpers' zero bias)
    raw = b.model_config.parameter("_grouped.w0")
    assert (raw.initial_mean, raw.initial_std, raw.initial_smart) == (0.0, 0.01, False)
    assert b.model_config.parameter("_grouped.wbias").initial_std == 0.01
    assert a.model_config.parameter("_grouped.wbias").initial_std == 0.0
    rng = np.random.default_rng(0)
    feed = {"pixels": rng.normal(size=(5, 8 * 6 * 6))}
    seeds = {"joined": rng.normal(size=(5, 10 * 36)), "grouped": rng.normal(size=(5, 6 * 9))}
    compare(net_a, net_b, feed, seeds)


def test_pool_pair_img_width_gives_the_height_and_width_of_a_flat_input():
    a, b, net_a, net_b = compile_pair("pool_compare")
    for name in ("maxpool", "avgpool"):
        conf_a = a.model_config.layer(name).inputs[0].pool_conf
        conf_b = b.model_config.layer(name).inputs[0].pool_conf
        assert (conf_b.img_size, conf_b.img_size_y) == (16, 14)        # width, height
        assert conf_b.model_copy(update={"pool_type": conf_a.pool_type}) == conf_a
    assert b.model_config.layer("maxpool").inputs[0].pool_conf.pool_type == "cudnn-max-pool"
    rng = np.random.default_rng(1)
    feed = {"input": rng.normal(size=(3, 8 * 14 * 16))}
    seeds = {name: rng.normal(size=(3, a.model_config.layer(name).size))
             for name in ("maxpool", "avgpool")}
    compare(net_a, net_b, feed, seeds)


def test_norm_pair_batch_norm_pool_norm_fc_and_cost_in_raw_forms():
    a, b, net_a, net_b = compile_pair("norm_compare")
    assert b.model_config.layers == a.model_config.layers
    assert b.model_config.input_layer_names == ["image", "label"]
    assert b.opt_config.algorithm == "sgd" and b.opt_config.learning_method == "momentum"
    rng = np.random.default_rng(2)
    feed = {"image": rng.normal(size=(6, 3 * 8 * 8)), "label": rng.integers(0, 5, size=6)}
    compare(net_a, net_b, feed)
