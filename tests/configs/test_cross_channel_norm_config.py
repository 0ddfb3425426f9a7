"""Hand-derived config fields of tests/configs/cross_channel_norm.py, from Paddle's
cross_channel_norm_layer (trainer_config_helpers) and NormLayer / parse_norm (config_parser):
a ``norm`` layer with norm_type "cross-channel-norm", ``size`` the input's size, scale and
pow 0 (0 / size^2), blocked false, the input's geometry, and a scale parameter of C values
with dims [C, 1].  The golden itself is compared by test_goldens.py."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import minipaddle

CONFIG = Path(__file__).resolve().parent / "cross_channel_norm.py"


@functools.lru_cache(maxsize=None)
def model() -> minipaddle.ModelConfig:
    return minipaddle.parse_config(str(CONFIG)).model_config


def check(obj: Any, **expected: Any) -> None:
    wrong = {k: (getattr(obj, k), v) for k, v in expected.items() if getattr(obj, k) != v}
    assert not wrong, f"{getattr(obj, 'name', obj)}: " + "; ".join(
        f"{k} is {got!r}, expected {want!r}" for k, (got, want) in wrong.items())


def test_ssd_form_after_a_conv() -> None:
    # conv4_3: 8 filters over 6 x 6 (padding 1, filter 3) -> size 8 * 6 * 6 = 288
    layer = model().layer("conv4_3_norm")
    check(layer, type="norm", size=288, active_type="", height=6, width=6)
    (inp,) = layer.inputs
    check(inp, input_layer_name="conv4_3", input_parameter_name="_conv4_3_norm.w0")
    check(inp.norm_conf, norm_type="cross-channel-norm", channels=8, size=288, scale=0.0,
          pow=0.0, blocked=False, output_x=6, img_size=6, output_y=6, img_size_y=6)
    param = model().parameter("_conv4_3_norm.w0")
    check(param, size=8, dims=[8, 1], initial_mean=20, initial_std=0, learning_rate=1.0,
          initial_strategy=0, initial_smart=False, is_static=None)


def test_automatic_name_non_square_image_and_default_attribute() -> None:
    # 2 channels of 3 rows x 5 columns: width 5 (output_x / img_size), height 3
    layer = model().layer("__cross_channel_norm_0__")
    check(layer, type="norm", size=30, active_type="", height=3, width=5)
    (inp,) = layer.inputs
    check(inp, input_layer_name="wide",
          input_parameter_name="___cross_channel_norm_0__.w0")
    check(inp.norm_conf, norm_type="cross-channel-norm", channels=2, size=30, scale=0.0,
          pow=0.0, blocked=False, output_x=5, img_size=5, output_y=3, img_size_y=3)
    # the default attribute: smart initialisation, std 1 / sqrt(dims[0]) = 1 / sqrt(2)
    param = model().parameter("___cross_channel_norm_0__.w0")
    check(param, size=2, dims=[2, 1], initial_mean=0.0, initial_smart=True)
    assert abs(param.initial_std - 2 ** -0.5) < 1e-15


def test_parameter_order_and_outputs() -> None:
    assert [p.name for p in model().parameters] == [
        "_conv4_3.w0", "_conv4_3.wbias", "_conv4_3_norm.w0", "___cross_channel_norm_0__.w0"]
    assert list(model().output_layer_names) == ["conv4_3_norm", "__cross_channel_norm_0__"]
