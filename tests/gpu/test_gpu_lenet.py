"""A LeNet (model_zoo/lenet.yaml with ``use_gpu=1``, as ``--use-gpu`` parses it, and dropout
on its hidden layer) trained for one pass on ``cpu`` and on a GPU backend from the same seed:
the same initial parameters, data order and dropout masks (all drawn on the host), so the
per-batch costs, the final parameters and the optimizer state agree within float32 tolerance.
The emulated runs use 256 training images; a checkpoint written from the device resumes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import minipaddle as mp
from minipaddle.runtime.backend import to_host
from minipaddle.train.datasets import Dataset, load_dataset
from minipaddle.train.events import EndIteration
from minipaddle.train.trainer import Trainer

from gpu_support import assert_close

LENET = Path(__file__).resolve().parents[2] / "model_zoo" / "lenet.yaml"
#: training amplifies rounding differences a little (4 momentum steps)
TRAIN_RTOL = 1e-3


def lenet_with_dropout():
    config = mp.parse_config(str(LENET), config_args="use_gpu=1")
    config = config.model_copy(deep=True)
    hidden = next(layer for layer in config.model_config.layers if layer.name == "hidden")
    hidden.drop_rate = 0.5
    return config


def subset(data: Dataset, n: int) -> Dataset:
    return Dataset(data.name, data.images[:n], data.labels[:n], data.num_classes)


def train_one_pass(config, data, device, save_dir=None):
    costs = []

    def handler(event):
        if isinstance(event, EndIteration):
            costs.append(event.cost)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # cuDNN types on the CPU
        trainer = Trainer(config, data, seed=3, device=device, save_dir=save_dir,
                          event_handler=handler)
        result = trainer.train(1)
    return trainer, costs, result


def test_lenet_one_pass_matches_the_cpu(device, tmp_path):
    config = lenet_with_dropout()
    train, test = load_dataset("mnist5k")
    data = (subset(train, 256), subset(test, 128))
    cpu, cpu_costs, cpu_result = train_one_pass(config, data, "cpu")
    dev, dev_costs, dev_result = train_one_pass(config, data, device, save_dir=tmp_path)
    assert len(cpu_costs) == 4
    np.testing.assert_allclose(dev_costs, cpu_costs, rtol=TRAIN_RTOL)
    for name, value in cpu.net.parameters.items():
        assert_close(dev.net.parameters[name], value, TRAIN_RTOL, f"parameter {name!r}")
    cpu_state, dev_state = cpu.updater.state_dict(), dev.updater.state_dict()
    assert sorted(dev_state) == sorted(cpu_state)
    for key, value in cpu_state.items():
        assert isinstance(dev_state[key], np.ndarray)        # host copies
        assert_close(dev_state[key], value, TRAIN_RTOL, f"optimizer state {key!r}")
    assert abs(dev_result.test_accuracy - cpu_result.test_accuracy) <= 2 / 128
    # the checkpoint was written from host copies and resumes on the device as it was saved
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        again = Trainer(config, data, seed=3, device=device, save_dir=tmp_path)
    assert again.resume() == 1
    for name, value in dev.net.parameters.items():
        np.testing.assert_array_equal(to_host(again.net.parameters[name]), to_host(value))
