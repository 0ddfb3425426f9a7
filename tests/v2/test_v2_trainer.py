"""trainer.SGD: the same ModelConfig and the same training as the v1 DSL through the one
Trainer loop; events, costs and metrics as Paddle's v2; optimizer defaults; saving."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pytest

import minipaddle
from minipaddle import dsl
from minipaddle.config import ConfigError, to_protostr
from minipaddle.train.trainer import Trainer
from minipaddle.v2.data_feeder import DataFeeder
from minipaddle.v2.parameters import Parameters

LR, L2 = 0.01 / 32, 0.0005 * 32


def v1_lenet():
    dsl.settings(batch_size=32, learning_rate=LR,
                 learning_method=dsl.MomentumOptimizer(momentum=0.9),
                 regularization=dsl.L2Regularization(L2))
    img = dsl.data_layer(name="pixel", size=784)
    label = dsl.data_layer(name="label", size=10)
    c1 = dsl.simple_img_conv_pool(input=img, filter_size=5, num_filters=20, num_channel=1,
                                  pool_size=2, pool_stride=2, act=dsl.ReluActivation())
    c2 = dsl.simple_img_conv_pool(input=c1, filter_size=5, num_filters=50, num_channel=20,
                                  pool_size=2, pool_stride=2, act=dsl.ReluActivation())
    predict = dsl.fc_layer(input=c2, size=10, act=dsl.SoftmaxActivation())
    dsl.outputs(dsl.classification_cost(input=predict, label=label))


def v2_lenet(paddle):
    img = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    c1 = paddle.networks.simple_img_conv_pool(
        input=img, filter_size=5, num_filters=20, num_channel=1, pool_size=2, pool_stride=2,
        act=paddle.activation.Relu())
    c2 = paddle.networks.simple_img_conv_pool(
        input=c1, filter_size=5, num_filters=50, num_channel=20, pool_size=2, pool_stride=2,
        act=paddle.activation.Relu())
    predict = paddle.layer.fc(input=c2, size=10, act=paddle.activation.Softmax())
    return paddle.layer.classification_cost(input=predict, label=label), predict


def digits(n=256):
    data = minipaddle.train.datasets.load_dataset("mnist5k")[0]
    return [(data.images[i].ravel() * 2 - 1, int(data.labels[i])) for i in range(n)]


def test_v1_and_v2_definitions_give_one_config_and_train_to_identical_parameters(paddle):
    # the CPU backend's threads as `minipaddle train`'s default (the batch split is the same)
    paddle.init(seed=1, trainer_count=min(2, os.cpu_count() or 1))
    v1 = minipaddle.parse_config(v1_lenet)
    cost, _ = v2_lenet(paddle)
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(
        cost=cost, parameters=params,
        update_equation=paddle.optimizer.Momentum(
            learning_rate=LR, momentum=0.9,
            regularization=paddle.optimizer.L2Regularization(rate=L2)))
    assert to_protostr(trainer.get_topology_proto()) == to_protostr(v1.model_config)
    samples = digits()
    batches = [samples[i:i + 32] for i in range(0, len(samples), 32)]
    trainer.train(reader=lambda: iter(batches), num_passes=2, event_handler=lambda e: None)

    loop = Trainer(v1, None, seed=1)
    feeder = DataFeeder([("pixel", paddle.data_type.dense_vector(784)),
                         ("label", paddle.data_type.integer_value(10))])
    loop.train(2, reader=lambda: (feeder(b) for b in batches))
    for name, value in loop.net.parameters.items():
        np.testing.assert_array_equal(params.get(name), np.asarray(value).ravel(), err_msg=name)
    assert not np.array_equal(params.get(name), np.zeros_like(params.get(name)))


def test_events_costs_and_metrics_are_paddles(paddle):
    cost, predict = v2_lenet(paddle)
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=params,
                                 update_equation=paddle.optimizer.Momentum(learning_rate=LR,
                                                                           momentum=0.9))
    samples = digits(100)
    seen = []

    def handler(event):
        if isinstance(event, paddle.event.EndForwardBackward):
            # gradients of this batch, before the update: the cost the event will report
            seen.append(("fb", event.batch_id, params.get_grad(params.keys()[0]).copy()))
        seen.append(event)

    trainer.train(reader=paddle.batch(lambda: iter(samples), 40), num_passes=1,
                  event_handler=handler)
    kinds = [type(e).__name__ if not isinstance(e, tuple) else "grad" for e in seen]
    assert kinds == ["BeginPass"] + ["BeginIteration", "grad", "EndForwardBackward",
                                     "EndIteration"] * 3 + ["EndPass"]
    ends = [e for e in seen if isinstance(e, paddle.event.EndIteration)]
    assert [e.batch_id for e in ends] == [0, 1, 2] and ends[2].pass_id == 0
    assert set(ends[0].metrics) == {"classification_error_evaluator"}
    assert 0 <= ends[0].metrics["classification_error_evaluator"] <= 1
    assert np.any(seen[2][2] != 0)
    # the test cost is the sample-weighted mean cross entropy: check it through infer
    result = trainer.test(reader=paddle.batch(lambda: iter(samples), 30))
    probs = paddle.infer(output_layer=predict, parameters=params,
                         input=[(s[0],) for s in samples])
    labels = np.array([s[1] for s in samples])
    expected = -np.log(probs[np.arange(len(samples)), labels]).mean()
    assert result.cost == pytest.approx(float(expected), rel=1e-4)
    errors = float(np.mean(probs.argmax(axis=1) != labels))
    assert result.metrics == {"classification_error_evaluator": pytest.approx(errors)}


def test_optimizer_defaults_reach_parameters_whose_value_is_zero(paddle):
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(4))
    y = paddle.layer.data(name="y", type=paddle.data_type.dense_vector(1))
    a = paddle.layer.fc(input=x, size=1, act=paddle.activation.Linear(),
                        param_attr=paddle.attr.Param(l2_rate=0, momentum=0.5),
                        bias_attr=paddle.attr.Param(l2_rate=0.01, initial_std=0))
    cost = paddle.layer.square_error_cost(input=a, label=y)
    optimizer = paddle.optimizer.Momentum(momentum=0.9,
                                          regularization=paddle.optimizer.L2Regularization(8e-4))
    assert optimizer.opt_config.learning_rate == 1e-3 and optimizer.opt_config.batch_size == 1
    trainer = paddle.trainer.SGD(cost=cost, parameters=paddle.parameters.create(cost),
                                 update_equation=optimizer)
    w, b = trainer.get_topology_proto().parameters
    assert (w.momentum, w.decay_rate) == (0.5, 8e-4)     # explicit 0 overwritten, as Paddle
    assert (b.momentum, b.decay_rate) == (0.9, 0.01)
    with pytest.raises(ConfigError, match=r"Momentum: unknown argument 'learning_rat'"):
        paddle.optimizer.Momentum(learning_rat=0.1)
    with pytest.raises(TypeError, match="learning_method is given by the class"):
        paddle.optimizer.Adam(learning_method="adam")


def test_reader_mistakes_and_model_average_saving(paddle):
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(3))
    y = paddle.layer.data(name="y", type=paddle.data_type.dense_vector(1))
    out = paddle.layer.fc(input=x, size=1, act=paddle.activation.Linear())
    cost = paddle.layer.square_error_cost(input=out, label=y)
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(
        cost=cost, parameters=params,
        update_equation=paddle.optimizer.Momentum(
            learning_rate=0.05, model_average=paddle.optimizer.ModelAverage(0.5)))
    rows = [(np.array([i, 1.0, -i], dtype=np.float32) / 4, np.array([i / 4.0])) for i in range(8)]
    with pytest.raises(TypeError, match="reader\\(\\) must return an iterator"):
        trainer.train(reader=lambda: [rows], num_passes=1)
    with pytest.raises(ValueError, match=r"'x' \(dense_vector\(3\), sample 0 of the batch\): "
                                         r"expected 3 values"):
        trainer.train(reader=lambda: iter([[(np.zeros(4), np.zeros(1))]]),
                      event_handler=lambda e: None)
    trainer.train(reader=paddle.batch(lambda: iter(rows), 4), num_passes=3,
                  event_handler=lambda e: None)
    buf = io.BytesIO()
    trainer.save_parameter_to_tar(buf)
    saved = Parameters.from_tar(io.BytesIO(buf.getvalue()))
    averaged = trainer._loop.parameter_values(averaged=True)
    for name in params.keys():
        np.testing.assert_array_equal(saved.get(name).ravel(), averaged[name].ravel())
    assert not np.array_equal(saved.get(params.keys()[0]).ravel(), params.get(params.keys()[0]))
    raw = io.BytesIO()
    params.to_tar(raw)                                   # raw weights, as Paddle's to_tar
    assert Parameters.from_tar(io.BytesIO(raw.getvalue())).get(params.keys()[0]).ravel(
        ).tolist() == params.get(params.keys()[0]).tolist()
    assert math.isfinite(trainer.test(reader=paddle.batch(lambda: iter(rows), 3)).cost)
    with pytest.raises(ValueError, match="no samples"):
        trainer.test(reader=lambda: iter([]))
