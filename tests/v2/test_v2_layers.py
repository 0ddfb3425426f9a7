"""paddle.layer / networks / topology: v2 names over v1 functions, mixing v1 and v2, input
order, clear errors for names minipaddle lacks, the inference file."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

import minipaddle
from minipaddle.config import ConfigError, to_protostr


def test_v2_names_follow_paddles_renaming_rule(paddle):
    import minipaddle.dsl as dsl

    assert paddle.layer.fc.__wrapped__ is dsl.fc_layer
    assert paddle.layer.cross_entropy_cost.__wrapped__ is dsl.cross_entropy
    assert paddle.layer.classification_cost.__wrapped__ is dsl.classification_cost
    assert paddle.networks.img_conv_group is dsl.img_conv_group        # unwrapped, as Paddle
    assert paddle.activation.Relu is dsl.ReluActivation
    assert paddle.pooling.Max is dsl.MaxPooling and paddle.pooling.BasePool is dsl.BasePoolingType
    assert paddle.attr.Extra is dsl.ExtraLayerAttribute
    with pytest.raises(NotImplementedError, match=r"paddle\.v2\.layer\.lstmemory is part of "
                                                  "Paddle's v2 API but not implemented"):
        paddle.layer.lstmemory(input=None)
    with pytest.raises(AttributeError, match=r"paddle\.v2\.layer has no attribute 'fcc' "
                                             r"\(did you mean 'fc'\?\)"):
        paddle.layer.fcc
    with pytest.raises(AttributeError, match=r"paddle\.v2\.dataset\.imdb is part of Paddle"):
        paddle.dataset.imdb


def test_integer_value_makes_a_data_layer_of_its_range(paddle):
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    assert label.size == 10 and paddle.layer.get_layer("label") is label
    with pytest.raises(NotImplementedError, match="sequence input types"):
        paddle.layer.data(name="s", type=paddle.data_type.dense_vector_sequence(3))
    with pytest.raises(TypeError, match="expected an input type"):
        paddle.layer.data(name="t", type=784)


def test_v1_and_v2_calls_mix(paddle):
    img = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    pool = paddle.networks.simple_img_conv_pool(
        input=img, filter_size=5, num_filters=20, num_channel=1, pool_size=2, pool_stride=2,
        act=paddle.activation.Relu())
    conv = minipaddle.img_conv_layer(input=pool, filter_size=3, num_filters=8, stride=1)
    out = paddle.layer.fc(input=conv, size=10, act=minipaddle.SoftmaxActivation())
    assert isinstance(out, paddle.config_base.Layer)
    model = paddle.topology.Topology(out).proto()
    assert [layer.name for layer in model.layers] == [
        "pixel", "__conv_pool_0___conv", "__conv_pool_0___pool", "__conv_0__", "__fc_layer_0__"]
    assert model.layer("__conv_0__").inputs[0].conv_conf.img_size == 12


def test_inputs_are_data_layers_in_creation_order_and_extras_are_not_outputs(paddle):
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(3))
    unused = paddle.layer.data(name="unused", type=paddle.data_type.dense_vector(2))
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(4))
    predict = paddle.layer.fc(input=x, size=3, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=predict, label=label)
    extra = paddle.layer.fc(input=x, size=2)
    topo = paddle.topology.Topology(cost, extra_layers=[extra])
    model = topo.proto()
    assert model.input_layer_names == ["label", "x"]     # creation order, unused left out
    assert model.output_layer_names == [cost.name]
    assert extra.name in [layer.name for layer in model.layers]
    assert [e.name for e in model.evaluators] == ["classification_error_evaluator"]
    assert [(n, repr(t)) for n, t in topo.data_type()] == [
        ("label", "integer_value(3)"), ("x", "dense_vector(4)")]
    assert unused.name not in topo.data_layers()


def test_a_v1_data_layer_has_no_input_type(paddle):
    x = minipaddle.data_layer(name="x", size=4)
    out = paddle.layer.fc(input=x, size=2)
    with pytest.raises(ConfigError, match="'x' has no input type: it was made by v1's "
                                          "data_layer"):
        paddle.topology.Topology(out).data_type()


def test_num_channel_that_does_not_divide_the_input_is_a_config_error(paddle):
    img = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    with pytest.raises(ConfigError, match=r"test_v2_layers\.py:\d+: .*size 784 is not divisible "
                                          "by 3 channels"):
        paddle.networks.simple_img_conv_pool(input=img, filter_size=5, num_filters=4,
                                             num_channel=3, pool_size=2, pool_stride=2)


def test_inference_file_round_trip(paddle):
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(13))
    y = paddle.layer.fc(input=x, size=2, act=paddle.activation.Linear())
    topo = paddle.topology.Topology(layers=y)
    buf = io.BytesIO()
    topo.serialize_for_inference(buf)
    blob = pickle.loads(buf.getvalue())
    assert set(blob) == {"protobin", "data_type"} and buf.getvalue()[:2] == b"\x80\x02"
    params = paddle.parameters.create(y)
    w = np.arange(26, dtype=np.float32).reshape(13, 2) / 10
    params.set(params.keys()[0], w)
    params.set(params.keys()[1], np.ones((1, 2), dtype=np.float32))
    inference = paddle.inference.Inference(parameters=params, fileobj=io.BytesIO(buf.getvalue()))
    sample = np.linspace(0, 1, 13, dtype=np.float32)
    got = inference.infer(input=[(sample,), (sample * 2,)])
    np.testing.assert_allclose(got, np.stack([sample, sample * 2]) @ w + 1, rtol=1e-5)
    assert to_protostr(topo.proto()) == to_protostr(
        paddle.topology.load_inference(io.BytesIO(buf.getvalue()))[0])
    with pytest.raises(ConfigError, match="not an inference topology file"):
        paddle.topology.load_inference(io.BytesIO(pickle.dumps({"protobin": b"", "x": 1})))


def test_infer_stacks_several_outputs_row_wise(paddle):
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(3))
    a = paddle.layer.fc(input=x, size=2, bias_attr=False, act=paddle.activation.Linear())
    b = paddle.layer.fc(input=x, size=2, bias_attr=False, act=paddle.activation.Linear())
    c = paddle.layer.fc(input=x, size=4, bias_attr=False, act=paddle.activation.Linear())
    params = paddle.parameters.create([a, b, c])
    for i, name in enumerate(params.keys()):
        params.set(name, np.full(params.get_shape(name), i + 1, dtype=np.float32))
    rows = [(np.ones(3, dtype=np.float32),)] * 5
    out = paddle.infer(output_layer=[a, b], parameters=params, input=rows)
    assert out.shape == (10, 2) and out[:5].tolist() == [[3, 3]] * 5 and out[5:].max() == 6
    with pytest.raises(ValueError, match="different widths"):
        paddle.infer(output_layer=[a, c], parameters=params, input=rows)
    with pytest.raises(ValueError, match="field 'id' needs an id-producing layer"):
        paddle.infer(output_layer=a, parameters=params, input=rows, field="id")
