"""cross_channel_norm_layer (SSD's L2 normalisation across channels, a ``norm`` layer of
norm_type "cross-channel-norm") through the Network: forward against a slow per-pixel loop
written here, backward by the float64 finite-difference check (input and scale), the
model-zoo YAML form, summary shapes, parameters and multiply-adds, and the errors."""

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

N = 3


def slow_cross_channel_norm(x, scale):
    """y[n, c, i, j] = scale[c] * x[n, c, i, j] / sqrt(sum_c' x[n, c', i, j]^2 + 1e-6)."""
    n_, c_, h_, w_ = x.shape
    y = np.zeros_like(x)
    for n in range(n_):
        for i in range(h_):
            for j in range(w_):
                norm = math.sqrt(sum(x[n, c, i, j] ** 2 for c in range(c_)) + 1e-6)
                for c in range(c_):
                    y[n, c, i, j] = scale[c] * x[n, c, i, j] / norm
    return y


def image_net():
    x = data_layer(name="x", size=3 * 2 * 4, height=2, width=4)
    return cross_channel_norm_layer(input=x, name="ccn",
                                    param_attr=ParamAttr(initial_mean=20, initial_std=0))


def test_forward_matches_a_slow_loop_and_the_scale_is_per_channel():
    net = mp.compile(model_of(image_net), dtype="float64", seed=1)
    assert net.parameters["_ccn.w0"].shape == (3,)
    np.testing.assert_array_equal(net.parameters["_ccn.w0"], [20.0, 20.0, 20.0])
    net.parameters["_ccn.w0"][...] = [0.5, -2.0, 3.0]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 3, 2, 4))
    y = net.forward({"x": x}, fetch=["ccn"])["ccn"]
    np.testing.assert_allclose(y.reshape(N, 3, 2, 4),
                               slow_cross_channel_norm(x, [0.5, -2.0, 3.0]), rtol=1e-12)


def test_gradients_of_input_and_scale_through_a_conv():
    def net():
        x = data_layer(name="x", size=2 * 3 * 3, height=3, width=3)
        conv = img_conv_layer(input=x, filter_size=2, num_filters=4, name="conv",
                              act=TanhActivation())
        return cross_channel_norm_layer(input=conv, name="ccn",
                                        param_attr=ParamAttr(initial_mean=1.0,
                                                             initial_std=0.5))
    net_ = mp.compile(model_of(net), dtype="float64", seed=3)
    assert net_.shapes["ccn"] == (4, 2, 2)
    feed = {"x": np.random.default_rng(4).uniform(-1, 1, size=(N, 2, 3, 3))}
    results = check_network_gradients(net_, feed)
    assert {"_ccn.w0", "_conv.w0", "input:x"} <= set(results)


def test_gradient_with_a_non_uniform_scale_on_a_data_layer():
    # Paddle's backward is exact only for a uniform scale; ours is the true gradient
    net = mp.compile(model_of(image_net), dtype="float64", seed=1)
    net.parameters["_ccn.w0"][...] = [0.3, -1.5, 2.0]
    feed = {"x": np.random.default_rng(5).standard_normal((N, 3, 2, 4))}
    results = check_network_gradients(net, feed)
    assert {"_ccn.w0", "input:x"} <= set(results)


# ------------------------------------------------------------------ YAML, summary and errors

ZOO_YAML = """\
schema_version: 1
kind: model
name: ssd_norm_zoo
layers:
  - data_layer: {name: image, size: 48, height: 4, width: 4}
  - img_conv_layer: {name: conv, input: image, filter_size: 3, num_filters: 6, padding: 1,
                   act: linear}
  - cross_channel_norm_layer:
      name: conv_norm
      input: conv
      param_attr: {initial_mean: 20, initial_std: 0}
  - cross_channel_norm_layer: {input: image}
outputs: [conv_norm, __cross_channel_norm_0__]
"""


def zoo_network():
    image = data_layer(name="image", size=48, height=4, width=4)
    conv = img_conv_layer(name="conv", input=image, filter_size=3, num_filters=6, padding=1,
                          act=LinearActivation())
    outputs(cross_channel_norm_layer(name="conv_norm", input=conv,
                                     param_attr=ParamAttr(initial_mean=20, initial_std=0)),
            cross_channel_norm_layer(input=image))


def test_yaml_model_zoo_form_equals_the_dsl(tmp_path):
    path = tmp_path / "ssd_norm.yaml"
    path.write_text(ZOO_YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(zoo_network).model_config
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.parameters == from_dsl.parameters
    net = mp.compile(from_yaml, dtype="float64", seed=1)
    out = net.forward({"image": np.random.default_rng(6).standard_normal((N, 3, 4, 4))},
                      fetch=["conv", "conv_norm", "__cross_channel_norm_0__"])
    assert out["conv_norm"].shape == (N, 6, 4, 4)
    # a scale of 20: every pixel's channel vector has norm 20 sqrt(s / (s + 1e-6)), s the
    # squared norm of the conv's channel vector there
    s = (out["conv"].reshape(N, 6, 16) ** 2).sum(axis=1)
    norms = np.sqrt((out["conv_norm"].reshape(N, 6, 16) ** 2).sum(axis=1))
    np.testing.assert_allclose(norms, 20.0 * np.sqrt(s / (s + 1e-6)), rtol=1e-12)


def test_summary_shapes_parameters_and_mult_adds():
    summary = format_summary(mp.parse_config(zoo_network).model_config)
    rows = {line.split()[0]: line.split() for line in summary.splitlines() if line.strip()}
    # name, type, shape, parameters (C scale values), multiply-adds (2 per value)
    assert rows["conv_norm"][1:] == ["norm", "6x4x4", "6", str(2 * 6 * 4 * 4)]
    assert rows["__cross_channel_norm_0__"][1:] == ["norm", "3x4x4", "3", str(2 * 3 * 4 * 4)]


def test_cmrnorm_keeps_no_parameter_and_no_mult_adds():
    def config():
        x = data_layer(name="x", size=48, height=4, width=4)
        outputs(img_cmrnorm_layer(input=x, size=3, name="lrn", num_channels=3))
    rows = {line.split()[0]: line.split()
            for line in format_summary(mp.parse_config(config).model_config).splitlines()
            if line.strip()}
    assert rows["lrn"][1:] == ["norm", "3x4x4", "0", "0"]


@pytest.mark.parametrize("make, pattern", [
    (lambda: data_layer(name="flat", size=12),
     r"cross_channel_norm_layer.*input=.*image layer with a channel count.*'flat' is a "
     r"'data' layer of size 12 with none"),
    (lambda: fc_layer(input=data_layer(name="v", size=4), size=8, name="hidden"),
     r"cross_channel_norm_layer.*input=.*'hidden' is a 'fc' layer of size 8 with none"),
])
def test_a_non_image_input_is_one_clear_line(make, pattern):
    def config():
        cross_channel_norm_layer(input=make())
    with pytest.raises(ConfigError, match=pattern) as info:
        mp.parse_config(config)
    assert "\n" not in str(info.value)


def test_the_runtime_refuses_a_norm_type_it_does_not_run():
    model = model_of(image_net)
    layer = model.layer("ccn")
    layer.inputs[0].norm_conf.norm_type = "rnorm"
    with pytest.raises(ConfigError, match=r"layer 'ccn': norm_type 'rnorm' is not supported "
                                          r"\(expected one of cmrnorm-projection, "
                                          r"cross-channel-norm\)"):
        mp.compile(model, dtype="float64")


RAW_CONFIG = """\
Layer(name="x", type="data", size=24, height=2, width=4)
Layer(name="ccn", type="norm",
      inputs=Input("x", initial_mean=20, initial_std=0,
                   norm=Norm("cross-channel-norm", channels=3, size=24, scale=0, pow=0,
                             blocked=False)))
Outputs("ccn")
"""


def test_the_raw_form_is_the_helpers_layer(tmp_path):
    # config_parser's own form (what the helper wrote through Layer()): the same layer and
    # parameter shape; the scale Paddle's parse_norm stores is scale / size^2
    path = tmp_path / "raw.py"
    path.write_text(RAW_CONFIG)
    raw = mp.parse_config(str(path)).model_config
    helper = model_of(image_net)
    assert raw.layer("ccn") == helper.layer("ccn")
    check = raw.parameter("_ccn.w0")
    assert (check.size, list(check.dims), check.initial_mean, check.initial_std) == (
        3, [3, 1], 20, 0)
    scaled = path.read_text().replace("scale=0,", "scale=144,")
    path.write_text(scaled)
    assert mp.parse_config(str(path)).model_config.layer("ccn").inputs[0].norm_conf.scale == 0.25
    net = mp.compile(raw, dtype="float64", seed=1)
    x = np.random.default_rng(7).standard_normal((N, 3, 2, 4))
    np.testing.assert_allclose(net.forward({"x": x}, fetch=["ccn"])["ccn"].reshape(x.shape),
                               slow_cross_channel_norm(x, [20.0] * 3), rtol=1e-12)


def test_the_norm_type_picks_the_class_and_copies_keep_it():
    import copy

    def config():
        x = data_layer(name="x", size=24, height=2, width=4)
        outputs(cross_channel_norm_layer(input=x, name="ccn"),
                img_cmrnorm_layer(input=x, size=3, name="lrn"))
    net = mp.compile(mp.parse_config(config).model_config, dtype="float64")
    kinds = {name: type(net.layers[name]).__name__ for name in ("ccn", "lrn")}
    assert kinds == {"ccn": "CrossChannelNormLayer", "lrn": "CrossMapNormLayer"}
    assert type(copy.deepcopy(net.layers["ccn"])).__name__ == "CrossChannelNormLayer"
