"""An evaluator type defined in this test only, through the public extension points: its
facts on the config floor (which input is an integer label) and its class on the train floor
(registered by decorator).  Nothing in the package names it: the proof that a new evaluator
type is one place per floor.

``toy_label_sum``: the sum of the labels it reads, per sample."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
from minipaddle.config import ConfigError, EvaluatorConfig
from minipaddle.config.evaluators import declare_evaluator, evaluator_facts, withdraw_evaluator
from minipaddle.train.evaluators import (
    EVALUATORS, Evaluator, add_counts, build_evaluators, count_size, counts_of,
    register_evaluator, unregister_evaluator,
)

TOY = "toy_label_sum"


class ToyLabelSum(Evaluator):
    def __init__(self, config: EvaluatorConfig):
        self.name, self.config = TOY, config
        self.output, self.label = config.input_layers
        self.inputs = [self.output]
        self.fields = ("total", "per_class", "count")
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0.0
        self.per_class = np.zeros(3)

    def add(self, outputs, labels) -> None:
        label = np.asarray(labels[self.label]).reshape(-1)
        self.total += float(label.sum())
        self.per_class += np.bincount(label, minlength=3)
        self.count += len(label)

    def value(self) -> float:
        return self.total / self.count if self.count else 0.0


@pytest.fixture
def toy_evaluator():
    declare_evaluator(TOY, label_inputs=(1,))
    register_evaluator(TOY)(ToyLabelSum)
    try:
        yield
    finally:
        unregister_evaluator(TOY)
        withdraw_evaluator(TOY)


def network():
    from minipaddle import SoftmaxActivation, data_layer, fc_layer, outputs
    x = data_layer(name="x", size=4)
    data_layer(name="y", size=3)
    outputs(fc_layer(name="p", input=x, size=3, act=SoftmaxActivation()))


def test_toy_evaluator_reads_an_integer_label_slot(toy_evaluator):
    model = mp.parse_config(network).model_config
    model.evaluators.append(EvaluatorConfig(name="toy", type=TOY, input_layers=["p", "y"]))
    net = mp.compile(model, dtype="float64")
    # the declared label input makes "y" an integer slot with the first input's 3 classes
    assert net.label_slots == {"y": 3}
    with pytest.raises(ValueError, match=r"label 3 is outside \[0, 3\)"):
        net.forward({"x": np.zeros((2, 4)), "y": np.array([0, 3])}, fetch=["p", "y"])

    evs = build_evaluators(model.evaluators, [])
    assert [type(e) for e in evs] == [ToyLabelSum]
    labels = [np.array([0, 2, 2]), np.array([1, 1])]
    for y in labels:
        feed = {"x": np.ones((len(y), 4)), "y": y}
        evs[0].add(net.forward(feed, fetch=["p"]), feed)
    assert evs[0].value() == pytest.approx(6 / 5)
    # counts: numbers and arrays flattened, and they add up
    assert count_size(evs) == 5 and counts_of(evs) == [6.0, 1.0, 2.0, 2.0, 5.0]
    add_counts(evs, [1.0, 1.0, 0.0, 0.0, 1.0])
    assert counts_of(evs) == [7.0, 2.0, 2.0, 2.0, 6.0]
    add_counts(evs, [0.0] * 5, reset=True)
    assert counts_of(evs) == [0.0] * 5


def test_toy_evaluator_is_gone_after_the_test():
    assert TOY not in EVALUATORS and evaluator_facts(TOY).label_inputs == ()
    config = EvaluatorConfig(name="toy", type=TOY, input_layers=["p", "y"])
    with pytest.raises(ConfigError, match="type 'toy_label_sum' is not supported"):
        build_evaluators([config], [])
