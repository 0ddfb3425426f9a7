"""Hand-derived config fields of tests/configs/misc.py (conv_shift, sampling_id, print and
define_py_data_sources), from Paddle's trainer_config_helpers, config_parser and
data_sources rules.  The golden itself is compared by test_goldens.py."""

from __future__ import annotations

import functools
from pathlib import Path

import minipaddle

CONFIG = Path(__file__).resolve().parent / "misc.py"


@functools.lru_cache(maxsize=None)
def trainer_config():
    return minipaddle.parse_config(str(CONFIG))


def layer(name: str):
    return trainer_config().model_config.layer(name)


def inputs(name: str) -> list[str]:
    return [inp.input_layer_name for inp in layer(name).inputs]


def test_conv_shift_fields() -> None:
    first = layer("__conv_shift_layer_0__")
    assert (first.type, first.size, first.active_type) == ("conv_shift", 8, "")
    assert inputs(first.name) == ["memory", "kernel"]
    assert all(inp.input_parameter_name is None for inp in first.inputs)
    second = layer("shifted_wide")
    assert (second.size, second.device) == (8, -1)
    assert inputs("shifted_wide") == ["__conv_shift_layer_0__", "wide"]


def test_sampling_id_fields() -> None:
    sampled = layer("__sampling_id_layer_0__")
    assert (sampled.type, sampled.size, sampled.active_type) == ("sampling_id", 4, "")
    assert inputs(sampled.name) == ["__fc_layer_0__"]


def test_print_fields() -> None:
    default = layer("__print_0__")
    # config_parser's PrintLayer: size 0 (not written), one 'layer=NAME %s' line per input
    assert (default.type, default.size, default.active_type) == ("print", None, "")
    assert default.user_arg == "layer=__conv_shift_layer_0__ %s"
    show = layer("show")
    assert show.user_arg == "a=%s ids=%s"
    assert inputs("show") == ["__conv_shift_layer_0__", "__sampling_id_layer_0__"]
    # print layers are in the model (Paddle kept every layer made) but are no outputs
    assert "show" in trainer_config().model_config.sub_models[0].layer_names
    assert "show" not in trainer_config().model_config.output_layer_names


def test_define_py_data_sources_fields() -> None:
    train, test = trainer_config().data_config, trainer_config().test_data_config
    # PyData: type py; train_async for the training source only
    assert (train.type, train.files, train.async_load_data, train.for_test) == (
        "py", "train.list", True, False)
    assert (test.type, test.files, test.async_load_data, test.for_test) == (
        "py", "test.list", False, True)
    assert (train.load_data_object, test.load_data_object) == ("read_train", "read_test")
    # the second source naming the same module gets config_parser's copy name
    assert (train.load_data_module, test.load_data_module) == ("provider", "provider_copy_1")
    assert train.load_data_args == test.load_data_args == '{"words": "dict.txt"}'
    assert (train.data_ratio, train.is_main_data, train.usage_ratio) == (1, True, 1.0)
