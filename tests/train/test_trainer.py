"""The Trainer: learning on real data, events, slots, checkpoints and exact resume."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
import minipaddle.cli
from minipaddle import *  # noqa: F403
from minipaddle.train import checkpoint
from minipaddle.train.events import (
    BeginIteration, BeginPass, EndForwardBackward, EndIteration, EndPass,
)
from minipaddle.train.trainer import Trainer

ZOO = Path(__file__).resolve().parents[2] / "model_zoo"


def test_lenet_learns_mnist5k():
    """End to end on real digits: two passes already prove learning (>= 90% test accuracy);
    the full run's accuracy bar (97%) is measured in README/bench, not asserted here."""
    trainer = Trainer(mp.parse_config(ZOO / "lenet.yaml"), "mnist5k", seed=1)
    result = trainer.train(num_passes=2)
    assert result.test_accuracy >= 0.90, result.test_metrics
    assert result.passes[1].metrics["cost"] < result.passes[0].metrics["cost"]


def rich_net():
    """Momentum, L2, dropout, batch norm, clipping and ModelAverage: every piece of state a
    resume must restore."""
    settings(batch_size=50, learning_rate=0.05 / 50, learning_method=MomentumOptimizer(0.9),
             regularization=L2Regularization(0.001 * 50), model_average=ModelAverage(0.5),
             gradient_clipping_threshold=50.0)
    pixel = data_layer(name="pixel", size=64, height=8, width=8)
    label = data_layer(name="label", size=10)
    conv = img_conv_layer(input=pixel, filter_size=3, num_filters=8, padding=1,
                          act=LinearActivation())
    bn = batch_norm_layer(input=conv, act=ReluActivation())
    pool = img_pool_layer(input=bn, pool_size=2, stride=2)
    hidden = fc_layer(input=pool, size=32, act=ReluActivation(),
                      layer_attr=ExtraAttr(drop_rate=0.3))
    predict = fc_layer(input=hidden, size=10, act=SoftmaxActivation())
    outputs(classification_cost(input=predict, label=label))


def test_resume_is_bit_for_bit(tmp_path):
    config = mp.parse_config(rich_net)
    straight = Trainer(config, "digits", seed=5, save_dir=tmp_path / "a")
    straight.train(num_passes=3)

    first = Trainer(config, "digits", seed=5, save_dir=tmp_path / "b")
    first.train(num_passes=1)
    assert checkpoint.latest_checkpoint(tmp_path / "b").name == "pass-00000"
    resumed = Trainer(config, "digits", seed=5, save_dir=tmp_path / "b")
    assert resumed.resume() == 1
    resumed.train(num_passes=3)
    for name, value in straight.net.parameters.items():
        np.testing.assert_array_equal(resumed.net.parameters[name], value, err_msg=name)
    # ModelAverage on: the saved parameter files hold the averaged weights
    saved = checkpoint.load_parameters(tmp_path / "a" / "pass-00002",
                                       {k: v.shape for k, v in straight.net.parameters.items()})
    averaged = straight.updater.averaged_values(
        {k: v for k, v in straight.net.parameters.items()
         if k not in straight.net.parameters.static})
    for name, value in averaged.items():
        np.testing.assert_array_equal(saved[name], value.astype(np.float32))


def test_events_arrive_in_order():
    seen = []
    trainer = Trainer(mp.parse_config(ZOO / "digits.yaml"), "digits", seed=1,
                      event_handler=seen.append)
    trainer.train(num_passes=1)
    kinds = [type(e) for e in seen]
    assert kinds[0] is BeginPass and kinds[-1] is EndPass
    assert kinds[1:-1] == [BeginIteration, EndForwardBackward, EndIteration] * (
        len(kinds[1:-1]) // 3)
    batches = (len(trainer.train_data) + 31) // 32
    assert kinds.count(EndIteration) == batches
    end = seen[-1]
    assert set(end.metrics) == {"cost", "classification_error"}
    assert end.samples == len(trainer.train_data)
    # per batch: the running pass metrics and the batch's own; the last batch alone differs
    last = seen[-2]
    assert set(last.batch_metrics) == set(last.metrics) and last.metrics == end.metrics
    assert last.batch_metrics["cost"] == pytest.approx(last.cost)
    assert 0 <= end.test_metrics["classification_error"] <= 1


def test_data_size_mismatch_names_both_sizes():
    with pytest.raises(ConfigError, match=r"data layer 'pixel' has size 784.*64 values.*784 vs 64"):
        Trainer(mp.parse_config(ZOO / "lenet.yaml"), "digits")


def test_python_data_provider_config_needs_a_data_set(tmp_path):
    path = tmp_path / "conf.py"
    path.write_text("from paddle.trainer_config_helpers import *\n"
                    "define_py_data_sources2('train.list', None, module='prov', obj='process')\n"
                    "settings(batch_size=8)\n"
                    "x = data_layer(name='x', size=64, height=8, width=8)\n"
                    "y = fc_layer(input=x, size=10, act=SoftmaxActivation())\n"
                    "outputs(classification_cost(input=y, label=data_layer(name='l', size=10)))\n")
    with pytest.raises(ConfigError, match="cannot run Python data providers"):
        Trainer(mp.parse_config(str(path)), None)


def test_missing_settings_and_async_warn():
    def net():
        x = data_layer(name="x", size=64, height=8, width=8)
        y = fc_layer(input=x, size=10, act=SoftmaxActivation())
        outputs(classification_cost(input=y, label=data_layer(name="l", size=10)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = Trainer(mp.parse_config(net), "digits")
    messages = " ".join(str(w.message) for w in caught)
    assert "never calls settings()" in messages and "async_sgd runs as synchronous" in messages
    assert trainer.batch_size == 64


def test_checkpoint_files_load_as_an_initial_model(tmp_path):
    config = mp.parse_config(ZOO / "digits.yaml")
    trainer = Trainer(config, "digits", seed=2, save_dir=tmp_path)
    trainer.train(num_passes=1)
    other = Trainer(config, "digits", seed=9)
    other.load_model(tmp_path / "pass-00000")
    for name, value in trainer.net.parameters.items():
        np.testing.assert_array_equal(other.net.parameters[name], value)
    assert other.test() == trainer.test()


@pytest.fixture
def two_passes(tmp_path):
    """A save directory with pass-00000 and pass-00001 of the digits network."""
    config = mp.parse_config(ZOO / "digits.yaml")
    trainer = Trainer(config, "digits", seed=2, save_dir=tmp_path)
    trainer.train(num_passes=2)
    trainer.close()
    return config, tmp_path


def test_resume_over_a_corrupt_latest_pass_warns_naming_it(two_passes):
    config, save = two_passes
    bad = save / "pass-00001"
    (bad / "_conv1.w0").write_bytes((bad / "_conv1.w0").read_bytes()[:40])     # truncated
    trainer = Trainer(config, "digits", seed=2, save_dir=save)
    with pytest.warns(UserWarning, match=r"--resume skips .*pass-00001, which is not a "
                      r"complete checkpoint \(_conv1.w0 has 40 bytes, .* says 592\)"):
        assert trainer.resume() == 1


@pytest.mark.parametrize("key, value, expected", [
    ("shuffle_rng", 5, "key 'shuffle_rng' is 5, expected the random-generator state"),
    ("network_rng", {"bit_generator": "PCG64"}, "key 'network_rng' is .*expected the random"),
    ("pass_id", "2", "key 'pass_id' is '2', expected a non-negative integer"),
    ("batch_count", -1, "key 'batch_count' is -1, expected a non-negative integer"),
    ("pass_id", 7, "key 'pass_id' is 7, expected 2 \\(the pass after pass-00001\\)"),
    ("pass_id", None, "missing 'pass_id'; only a checkpoint minipaddle wrote can be resumed"),
])
def test_a_hand_edited_meta_names_the_file_the_key_and_what_was_expected(two_passes, key,
                                                                        value, expected):
    config, save = two_passes
    meta_path = save / "pass-00001" / checkpoint.META_FILE
    meta = json.loads(meta_path.read_text())
    if value is None:
        del meta[key]
    else:
        meta[key] = value
    meta_path.write_text(json.dumps(meta))
    trainer = Trainer(config, "digits", seed=2, save_dir=save)
    with pytest.raises(ConfigError, match=f"checkpoint meta {meta_path}: {expected}"):
        trainer.resume()


def test_non_finite_parameter_values_are_refused_on_load(two_passes, capsys):
    config, save = two_passes
    shapes = {p.name: (p.size,) for p in config.model_config.parameters}
    values = checkpoint.load_parameters(save / "pass-00001", shapes)["_hidden.w0"]
    values[:3] = np.nan
    values[5] = np.inf
    checkpoint.write_paddle_parameter(save / "pass-00001" / "_hidden.w0", values)
    with pytest.raises(ConfigError, match=r"_hidden.w0: 4 of its 8192 values are NaN or "
                                          r"infinite"):
        checkpoint.load_parameters(save / "pass-00001", shapes)
    assert mp.cli.main(["test", str(ZOO / "digits.yaml"), "--data", "digits",
                        "--model", str(save / "pass-00001")]) == 2
    assert "4 of its 8192 values are NaN or infinite" in capsys.readouterr().err
