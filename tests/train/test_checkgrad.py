"""``minipaddle checkgrad`` (Paddle's --job=checkgrad): every shipped network passes as shipped, a
wrong gradient fails, and what cannot be checked is said: parameters no cost depends on, a
network without parameters, tied max-pool windows, where Paddle's rule is not the derivative."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.cli import main
from minipaddle.runtime.layers.fc import FCLayer

ZOO = Path(__file__).resolve().parents[2] / "model_zoo"
#: (file, extra checkgrad options): the 224x224 networks at batch 1, and VGG-16, the slowest
#: (five minutes and 6 GB at the defaults), along one direction per parameter instead of three
ZOO_CHECKS = [
    ("lenet.yaml", []), ("lenet.py", []), ("digits.yaml", []), ("resnet_cifar.yaml", []),
    ("small_vgg.yaml", []), ("alexnet.yaml", ["--batch-size", "1"]),
    ("vgg16.yaml", ["--batch-size", "1", "--directions", "1"]),
]


def rows(out: str) -> dict[str, str]:
    """parameter -> its output line."""
    return {line.split()[0]: line for line in out.splitlines()[1:-1]}


@pytest.mark.parametrize("name, options", ZOO_CHECKS, ids=[n for n, _ in ZOO_CHECKS])
def test_every_shipped_network_passes_checkgrad(capsys, name, options):
    assert main(["checkgrad", str(ZOO / name), *options]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    parameters = {p.name for p in mp.parse_config(ZOO / name).model_config.parameters
                  if not p.is_static}
    checked = rows(out)
    assert set(checked) == parameters
    assert not [line for line in checked.values() if "FAILED" in line or " - " in line]
    assert "all within --tolerance 0.001" in out.splitlines()[-1]
    if name == "small_vgg.yaml":
        # a conv bias in front of batch norm: its gradient is exactly zero and its central
        # difference rounding noise, which the old relative error called 100% wrong
        _, analytic, numeric, error = checked["___conv_0__.wbias"].split()
        assert abs(float(analytic)) < 1e-12 and float(numeric) != 0 and float(error) < 1e-4


@pytest.mark.parametrize("factor, parameter", [(1.01, "_hidden.wbias"), (0.0, "_hidden.wbias"),
                                               (1.005, "_predict.w0")])
def test_a_wrong_gradient_still_fails(monkeypatch, capsys, factor, parameter):
    backward = FCLayer.backward

    def broken(self, xs, z, dz, params, grads, p):
        dxs = backward(self, xs, z, dz, params, grads, p)
        if parameter in grads:
            grads[parameter] = grads[parameter] * factor
        return dxs

    monkeypatch.setattr(FCLayer, "backward", broken)
    assert main(["checkgrad", str(ZOO / "lenet.yaml")]) == 1
    out = capsys.readouterr().out
    failed = [name for name, line in rows(out).items() if "FAILED" in line]
    assert failed == [parameter], out
    assert "1 of 8 above --tolerance 0.001" in out.splitlines()[-1]


def write(tmp_path, text: str) -> str:
    path = tmp_path / "conf.py"
    path.write_text("from paddle.trainer_config_helpers import *\n" + text)
    return str(path)


def test_a_layer_off_the_path_to_the_outputs_is_reported_not_a_key_error(tmp_path, capsys):
    """As in Paddle's test configs, a layer that no output reads (here a prelu) is in the
    model: its parameter is reported as one no cost depends on."""
    path = write(tmp_path, """
settings(batch_size=4)
x = data_layer(name='x', size=3 * 6 * 6, height=6, width=6)
conv = img_conv_layer(input=x, filter_size=3, num_filters=4, num_channels=3, padding=1)
side = prelu_layer(input=conv)
y = fc_layer(input=conv, size=5, act=SoftmaxActivation())
outputs(classification_cost(input=y, label=data_layer(name='label', size=5)))
""")
    assert main(["checkgrad", path]) == 0
    out = capsys.readouterr().out
    line = rows(out)["___prelu_layer_0__.w0"]
    assert line.split()[1:4] == ["-", "-", "-"]
    assert ("no cost depends on it (layer '__prelu_layer_0__' is not on the path to an output)"
            in line)
    assert "all within --tolerance 0.001" in out


def test_a_network_without_trainable_parameters_is_a_clear_error(tmp_path, capsys):
    path = write(tmp_path, """
x = data_layer(name='x', size=3 * 8 * 8, height=8, width=8)
spp = spp_layer(input=x, num_channels=3, pyramid_height=2)
outputs(spp)
""")
    assert main(["checkgrad", path]) == 2
    assert capsys.readouterr().err == ("minipaddle: error: checkgrad: the network has no "
                                       "trainable parameters, so there is no gradient to check\n")


def test_tied_max_pool_windows_are_named_as_the_cause(tmp_path, capsys):
    """An overlapping max pool repeats a window's maximum in neighbouring outputs; a second max
    pool then sees ties, and Paddle's rule gives each tied cell the whole gradient."""
    path = write(tmp_path, """
settings(batch_size=2)
x = data_layer(name='x', size=2 * 9 * 9, height=9, width=9)
conv = img_conv_layer(input=x, filter_size=3, num_filters=3, num_channels=2, padding=1,
                      act=LinearActivation(), name='conv')
over = img_pool_layer(input=conv, pool_size=3, stride=1, pool_type=MaxPooling(), name='over')
again = img_pool_layer(input=over, pool_size=2, stride=2, pool_type=MaxPooling(), name='again')
y = fc_layer(input=again, size=4, act=SoftmaxActivation(), name='y')
outputs(classification_cost(input=y, label=data_layer(name='label', size=4)))
""")
    assert main(["checkgrad", path]) == 1
    out = capsys.readouterr().out
    for parameter in ("_conv.w0", "_conv.wbias"):
        line = rows(out)[parameter]
        assert "FAILED: tied max-pool windows downstream: 'again' (" in line, line
        assert ("Paddle's max-pool gradient goes in full to every tied cell, which is not the "
                "derivative there (docs/paddle_compat.md)") in line
    assert "FAILED" not in rows(out)["_y.w0"]


def test_the_pool_layer_counts_tied_cells():
    model = mp.parse_config(lambda: outputs(img_pool_layer(
        input=data_layer(name="x", size=16, height=4, width=4), pool_size=2, stride=2,
        num_channels=1, pool_type=MaxPooling(), name="p"))).model_config
    pool = mp.compile(model).layers["p"]
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert pool.tied_maxima(x) == 0
    x[0, 0, 0, 0] = x[0, 0, 1, 1]              # the top-left window's maximum, twice
    x[0, 0, 2:, 2:] = 7.0                      # four equal cells: three beyond the first
    assert pool.tied_maxima(x) == 4
