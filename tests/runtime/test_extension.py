"""A layer type defined in this test only, through the public extension points, runs through
the whole house: its facts (config floor), a DSL function (floor 2, and with it the YAML
model-zoo reader), ``summary``, a runtime class (floor 3), compile, forward, backward and the
gradient check.  Nothing in the package names it: the proof that a new layer type is one
place per floor.

``toy_scale``: y[n, c, ...] = x[n, c, ...] * w[c] + b[c] over an image input."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pytest

import minipaddle as mp
from minipaddle.config import LayerConfig, LayerInputConfig, ModelConfig
from minipaddle.config.layers import declare, facts_of, image_shape, withdraw
from minipaddle.config.summary import format_summary
from minipaddle.dsl.activations import LinearActivation
from minipaddle.dsl.attrs import BiasAttrArg, ParamAttrArg, ParameterAttribute
from minipaddle.dsl.base import REGISTRY, Activation, LayerOutput, PosInt, dsl_function, make_output
from minipaddle.dsl.layers.common import image_size, infer_channels
from minipaddle.dsl.params import (
    bias_attr_of, bias_name, create_parameter, new_layer_config, weight_name,
)
from minipaddle.runtime.layers.base import RuntimeLayer, accumulate
from minipaddle.runtime.registry import register, unregister

from gradcheck import check_network_gradients

TOY = "toy_scale"


# -- floor 1: the type's facts --------------------------------------------------------------
def toy_parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, tuple[int, ...]]:
    channels = (image_shape(layer)[0],)
    shapes = {layer.inputs[0].input_parameter_name: channels}
    if layer.bias_parameter_name:
        shapes[layer.bias_parameter_name] = channels
    return shapes


def declare_facts() -> None:
    declare(TOY, parameters=toy_parameters, display="scaling",
            mult_adds=lambda layer, model: layer.size or 0)


# -- floor 2: the DSL function (the YAML reader finds it by name) ----------------------------
def define_dsl_function():
    @dsl_function(prefix="toy_scale")
    def toy_scale_layer(input: LayerOutput, name: Optional[str] = None,
                        num_channels: Optional[PosInt] = None, act: Optional[Activation] = None,
                        param_attr: ParamAttrArg = None,
                        bias_attr: BiasAttrArg = None) -> LayerOutput:
        """Scale (and shift) each channel of an image by a learned factor."""
        act = act or LinearActivation()
        channels = infer_channels(input, num_channels)
        width, height = image_size(input, channels)
        weight = create_parameter(param_attr or ParameterAttribute(initial_mean=1.0,
                                                                   initial_std=0.1),
                                  weight_name(name, 0), channels, [channels, 1])
        values = {"name": name, "type": TOY, "size": channels * width * height,
                  "active_type": act.name, "height": height, "width": width,
                  "inputs": [LayerInputConfig(input_layer_name=input.name,
                                              input_parameter_name=weight.name)]}
        params = [weight]
        battr = bias_attr_of(bias_attr)
        if battr is not None:
            bias = create_parameter(battr, bias_name(name), channels, [channels, 1],
                                    argument="bias_attr")
            params.append(bias)
            values["bias_parameter_name"] = bias.name
        return make_output(new_layer_config(**values), [input], TOY, activation=act,
                           parameters=params)

    return toy_scale_layer


# -- floor 3: the runtime layer --------------------------------------------------------------
class ToyScaleLayer(RuntimeLayer):
    def _scale(self, params, ndim):
        shape = (1, -1) + (1,) * (ndim - 2)
        w = params[self.weight_name(0)].reshape(shape)
        b = params[self.bias_name].reshape(shape) if self.bias_name else None
        return w, b

    def forward(self, xs, params, p):
        x = xs[0].reshape((xs[0].shape[0],) + self.out_shape)
        w, b = self._scale(params, x.ndim)
        return x * w + b if b is not None else x * w

    def backward(self, xs, z, dz, params, grads, p):
        x = xs[0].reshape(dz.shape)
        w, _ = self._scale(params, x.ndim)
        spatial = (0,) + tuple(range(2, x.ndim))
        accumulate(grads, self.weight_name(0), (dz * x).sum(axis=spatial))
        accumulate(grads, self.bias_name, dz.sum(axis=spatial) if self.bias_name else None)
        return [(dz * w).reshape(xs[0].shape)]


@pytest.fixture
def toy_layer():
    """The toy type, defined for one test and withdrawn after it (other tests list the
    registered types)."""
    declare_facts()
    register(TOY)(ToyScaleLayer)
    function = define_dsl_function()
    try:
        yield function
    finally:
        REGISTRY.pop("toy_scale_layer", None)
        unregister(TOY)
        withdraw(TOY)


YAML = """\
schema_version: 1
kind: model
name: toy
layers:
  - data_layer: {name: pixel, size: 48, height: 4, width: 4}
  - data_layer: {name: label, size: 3}
  - toy_scale_layer: {name: scaled, input: pixel, num_channels: 3, act: relu, bias_attr: true}
  - fc_layer: {name: predict, input: scaled, size: 3, act: softmax}
  - classification_cost: {name: cost, input: predict, label: label}
outputs: [cost]
"""


def dsl_network(toy_scale_layer):
    def network():
        from minipaddle import (
            classification_cost, data_layer, fc_layer, outputs, ReluActivation,
            SoftmaxActivation,
        )
        pixel = data_layer(name="pixel", size=48, height=4, width=4)
        label = data_layer(name="label", size=3)
        scaled = toy_scale_layer(name="scaled", input=pixel, num_channels=3,
                                 act=ReluActivation(), bias_attr=True)
        predict = fc_layer(name="predict", input=scaled, size=3, act=SoftmaxActivation())
        outputs(classification_cost(name="cost", input=predict, label=label))
    return network


def test_toy_layer_through_every_floor(toy_layer, tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(dsl_network(toy_layer)).model_config
    assert from_dsl.layers == from_yaml.layers
    assert from_dsl.parameters == from_yaml.parameters
    model = from_yaml
    toy = model.layer("scaled")
    assert toy.type == TOY and facts_of(TOY).family == "scaling"

    # summary: the shape rule, the parameters (3 scales + 3 shifts), the declared mult-adds
    summary = format_summary(model)
    row = next(line for line in summary.splitlines() if line.startswith("scaled "))
    assert row.split() == ["scaled", TOY, "3x4x4", "6", "48"]

    # compile, forward against a NumPy reference, backward
    net = mp.compile(model, dtype="float64", seed=3)
    assert net.shapes["scaled"] == (3, 4, 4)
    assert net.parameters["_scaled.w0"].shape == (3,)
    rng = np.random.default_rng(0)
    feed = {"pixel": rng.uniform(-1, 1, size=(5, 48)), "label": rng.integers(0, 3, size=5)}
    out = net.forward(feed, training=True, fetch=["scaled", "cost"])
    w, b = net.parameters["_scaled.w0"], net.parameters["_scaled.wbias"]
    expected = np.maximum(feed["pixel"].reshape(5, 3, 4, 4) * w[:, None, None]
                          + b[:, None, None], 0)
    np.testing.assert_allclose(out["scaled"], expected, rtol=1e-12)
    grads = net.backward()
    assert set(grads.parameters) == set(net.parameters)

    # the gradient check of the whole network, the toy layer's parameters and input included
    results = check_network_gradients(net, feed)
    assert {"_scaled.w0", "_scaled.wbias", "input:pixel"} <= set(results)


def test_toy_layer_is_gone_after_the_test():
    assert "toy_scale_layer" not in REGISTRY and facts_of(TOY).parameters(
        LayerConfig(name="x", type=TOY), ModelConfig()) == {}
