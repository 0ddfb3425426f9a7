"""define_py_data_sources, Paddle's older form of define_py_data_sources2: the DataConfig
fields Paddle's PyData wrote (type py, train_async, a module named twice loaded as
``<module>_copy_<k>``), the (train, test) pairs, and its clear errors."""

from __future__ import annotations

import pytest

from minipaddle import ConfigError, parse_config
from minipaddle.dsl import define_py_data_sources, define_py_data_sources2


def config(**kwargs):
    def net():
        define_py_data_sources(**kwargs)
    return parse_config(net)


def test_defaults_write_pydata_sources():
    tc = config(train_list="train.list", test_list="test.list", module="prov", obj="process")
    train, test = tc.data_config, tc.test_data_config
    assert (train.type, train.async_load_data, train.for_test) == ("py", False, False)
    assert (test.type, test.async_load_data, test.for_test) == ("py", False, True)
    # one module for both: the test source's is config_parser's copy (the 1 module so far)
    assert (train.load_data_module, test.load_data_module) == ("prov", "prov_copy_1")
    assert train.load_data_object == test.load_data_object == "process"
    assert train.load_data_args == test.load_data_args == ""


def test_pairs_train_async_and_args():
    tc = config(train_list="a.list", test_list="b.list", module=("m1", "m2"),
                obj=["f1", "f2"], args=("x=1", {"k": 2}), train_async=True)
    train, test = tc.data_config, tc.test_data_config
    assert (train.load_data_module, test.load_data_module) == ("m1", "m2")
    assert (train.load_data_object, test.load_data_object) == ("f1", "f2")
    assert (train.load_data_args, test.load_data_args) == ("x=1", '{"k": 2}')
    assert (train.async_load_data, test.async_load_data) == (True, False)


def test_one_source_only_and_the_newer_form_unchanged():
    tc = config(train_list=None, test_list="t.list", module="m", obj="f")
    assert tc.data_config is None and tc.test_data_config.load_data_module == "m"

    def newer():
        define_py_data_sources2("train.list", "test.list", module="m", obj="f")
    tc2 = parse_config(newer)
    assert (tc2.data_config.type, tc2.test_data_config.load_data_module) == ("py2", "m")


@pytest.mark.parametrize("kwargs,match", [
    (dict(train_list=None, test_list=None, module="m", obj="f"),
     r"train_list and test_list are both None"),
    (dict(train_list="t", test_list=None, module=None, obj="f"), r"module=None: expected a string"),
    (dict(train_list="t", test_list=None, module="m", obj="f", data_cls=dict),
     r"data_cls=.*PyData sources only"),
])
def test_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        config(**kwargs)
