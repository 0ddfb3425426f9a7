"""Hand-derived config fields of tests/configs/sampled_cost.py (hsigmoid, nce_layer), from
Paddle's trainer_config_helpers (hsigmoid, nce_layer) and config_parser
(HierarchicalSigmoidLayer, NCELayer).  The golden itself is compared by test_goldens.py."""

from __future__ import annotations

import functools
from pathlib import Path

import minipaddle

CONFIG = Path(__file__).resolve().parent / "sampled_cost.py"


@functools.lru_cache(maxsize=None)
def trainer_config():
    return minipaddle.parse_config(str(CONFIG))


def layer(name: str):
    return trainer_config().model_config.layer(name)


def param(name: str):
    return next(p for p in trainer_config().model_config.parameters if p.name == name)


def inputs(name: str) -> list[tuple[str, object]]:
    return [(inp.input_layer_name, inp.input_parameter_name) for inp in layer(name).inputs]


def test_hsigmoid_fields() -> None:
    tree = layer("__hsigmoid_0__")
    # size 1 (one cost), no activation, num_classes = the label's size 7
    assert (tree.type, tree.size, tree.active_type, tree.num_classes) == ("hsigmoid", 1, "", 7)
    assert inputs(tree.name) == [("__fc_layer_0__", "___hsigmoid_0__.w0"), ("word_id", None)]
    assert tree.bias_parameter_name == "___hsigmoid_0__.wbias"
    # weight (num_classes - 1) x in = 6 x 4, smart init std 1/sqrt(6); bias 1 x 6, zero
    w = param("___hsigmoid_0__.w0")
    assert (w.size, list(w.dims), w.initial_smart) == (24, [6, 4], True)
    assert abs(w.initial_std - 6 ** -0.5) < 1e-12
    b = param("___hsigmoid_0__.wbias")
    assert (b.size, list(b.dims), b.initial_std) == (6, [1, 6], 0.0)
    two = layer("tree_two")
    assert inputs("tree_two") == [("__fc_layer_0__", "tree_w0"), ("context", "_tree_two.w1"),
                                  ("word_id", None)]
    assert two.bias_parameter_name is None and two.num_classes == 7
    assert list(param("_tree_two.w1").dims) == [6, 6] and param("_tree_two.w1").initial_std == 0.5


def test_nce_fields() -> None:
    noise = layer("__nce_layer_0__")
    assert (noise.type, noise.size, noise.active_type) == ("nce", 1, "sigmoid")
    assert (noise.num_classes, noise.num_neg_samples, noise.neg_sampling_dist) == (7, 10, None)
    assert inputs(noise.name) == [("__fc_layer_0__", "___nce_layer_0__.w0"), ("word_id", None)]
    # weight num_classes x in = 7 x 4; bias 1 x 7
    assert list(param("___nce_layer_0__.w0").dims) == [7, 4]
    assert list(param("___nce_layer_0__.wbias").dims) == [1, 7]
    two = layer("noise_two")
    assert inputs("noise_two") == [("__fc_layer_0__", "_noise_two.w0"),
                                   ("context", "_noise_two.w1"), ("word_id", None),
                                   ("sample_weight", None)]
    assert two.num_neg_samples == 3
    assert two.neg_sampling_dist == [0.25, 0.25, 0.125, 0.125, 0.125, 0.0625, 0.0625]
    assert list(param("_noise_two.w1").dims) == [7, 6]
    assert param("_noise_two.wbias").initial_std == 0.1


def test_label_slots_and_parameter_shapes() -> None:
    net = minipaddle.compile(trainer_config().model_config, dtype="float64", seed=0)
    assert net.label_slots == {"word_id": 7}
    assert net.parameters["_noise_two.w1"].shape == (7, 6)
    assert net.parameters["___hsigmoid_0__.wbias"].shape == (6,)
