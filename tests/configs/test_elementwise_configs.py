"""Hand-derived config fields of tests/configs/elementwise.py (the element-wise and vector
layers of issue 16), from Paddle's trainer_config_helpers and config_parser rules: types,
sizes, input order, automatic names, parameter names, sizes and dims.  The golden itself is
compared by test_goldens.py."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import minipaddle

CONFIG = Path(__file__).resolve().parent / "elementwise.py"


@functools.lru_cache(maxsize=None)
def model() -> minipaddle.ModelConfig:
    return minipaddle.parse_config(str(CONFIG)).model_config


def layer(name: str):
    return model().layer(name)


def check(obj: Any, **expected: Any) -> None:
    wrong = {k: (getattr(obj, k), v) for k, v in expected.items() if getattr(obj, k) != v}
    assert not wrong, f"{getattr(obj, 'name', obj)}: " + "; ".join(
        f"{k} is {got!r}, expected {want!r}" for k, (got, want) in wrong.items())


def input_names(name: str) -> list[str]:
    return [inp.input_layer_name for inp in layer(name).inputs]


def test_slope_intercept() -> None:
    # defaults 1.0 / 0.0 written out; an int intercept stays an int (Paddle's protostr "1")
    check(layer("__slope_intercept_layer_0__"), type="slope_intercept", size=6, slope=1.0,
          intercept=0.0, active_type="")
    flipped = layer("flipped")
    check(flipped, size=24, slope=-2.0, intercept=1, device=-1)
    assert isinstance(flipped.intercept, int)
    assert input_names("flipped") == ["picture"]


def test_scaling() -> None:
    check(layer("__scaling_layer_0__"), type="scaling", size=6, active_type="")
    assert input_names("__scaling_layer_0__") == ["gate", "vec"]       # [weight, input]
    check(layer("scaled_picture"), size=24)
    assert input_names("scaled_picture") == ["gate", "flipped"]


def param(name: str):
    return model().parameter(name)


def test_scale_shift() -> None:
    check(layer("__scale_shift_0__"), type="scale_shift", size=6, active_type="",
          bias_parameter_name="___scale_shift_0__.wbias")
    assert layer("__scale_shift_0__").inputs[0].input_parameter_name == "___scale_shift_0__.w0"
    # ParamAttr() is smart: mean 0, std 1/sqrt(dims[0]) = 1/sqrt(1)
    check(param("___scale_shift_0__.w0"), size=1, dims=[1, 1], initial_smart=True,
          initial_std=1.0, initial_mean=0.0)
    check(param("___scale_shift_0__.wbias"), size=1, dims=[1, 1], initial_std=0.0,
          initial_smart=False)
    check(layer("scale_only"), bias_parameter_name=None)
    check(param("_scale_only.w0"), initial_mean=1.0, initial_std=0.0, initial_smart=False)


def test_clip() -> None:
    clip = layer("__clip_0__")
    check(clip, type="clip", size=6, active_type="")
    check(clip.inputs[0].clip_conf, min=-10, max=10)
    assert isinstance(clip.inputs[0].clip_conf.min, int)
    check(layer("clipped_f").inputs[0].clip_conf, min=-0.5, max=2.5)


def test_power_and_interpolation() -> None:
    check(layer("__power_layer_0__"), type="power", size=6)
    assert input_names("__power_layer_0__") == ["gate", "vec"]
    check(layer("__interpolation_layer_0__"), type="interpolation", size=6, device=-1)
    assert input_names("__interpolation_layer_0__") == ["gate", "vec", "other"]


def test_linear_comb() -> None:
    # size = vectors' size / weights' size = 12 / 3
    check(layer("__linear_comb_layer_0__"), type="convex_comb", size=4, active_type="")
    assert input_names("__linear_comb_layer_0__") == ["comb_weights", "comb_vectors"]
    check(layer("convex"), type="convex_comb", size=4)


def test_cos_sim() -> None:
    cos = layer("__cos_sim_0__")
    check(cos, type="cos", size=1, cos_scale=1)
    assert isinstance(cos.cos_scale, int)                # Paddle's protostr "cos_scale: 1"
    check(layer("cos_vm"), type="cos_vm", size=3, cos_scale=5.0)
    assert input_names("cos_vm") == ["vec", "keys"]


def test_dot_prod_l2_distance_out_prod() -> None:
    check(layer("__dot_prod_layer_0__"), type="dot_prod", size=1)
    check(layer("__l2_distance_layer_0__"), type="l2_distance", size=1)
    check(layer("__out_prod_layer_0__"), type="out_prod", size=6 * 3)
    assert input_names("__out_prod_layer_0__") == ["vec", "comb_weights"]


def test_tensor() -> None:
    check(layer("__tensor_layer_0__"), type="tensor", size=5, active_type="",
          bias_parameter_name="___tensor_layer_0__.wbias")
    assert [i.input_parameter_name for i in layer("__tensor_layer_0__").inputs] == [
        "___tensor_layer_0__.w0", None]
    # size x A x B values, dims [A, B, size]; smart std 1/sqrt(A)
    check(param("___tensor_layer_0__.w0"), size=5 * 6 * 3, dims=[6, 3, 5],
          initial_std=1 / math.sqrt(6))
    check(param("___tensor_layer_0__.wbias"), size=5, dims=[1, 5])
    check(layer("bilinear_tanh"), active_type="tanh", bias_parameter_name=None, drop_rate=0.5)
    check(param("_bilinear_tanh.w0"), size=2 * 6 * 6, dims=[6, 6, 2])


def test_factorization_machine() -> None:
    check(layer("__factorization_machine_0__"), type="factorization_machine", size=1,
          active_type="", factor_size=4)
    check(param("___factorization_machine_0__.w0"), size=24, dims=[6, 4],
          initial_std=1 / math.sqrt(6), initial_smart=True)
    check(layer("fm_sigmoid"), active_type="sigmoid", factor_size=2)
    check(param("_fm_sigmoid.w0"), size=12, dims=[6, 2], initial_std=0.1, initial_mean=0.0)


def test_selective_fc() -> None:
    sel = layer("__selective_fc_layer_0__")
    check(sel, type="selective_fc", size=5, active_type="tanh",
          selective_fc_pass_generation=False, has_selected_colums=True,
          selective_fc_full_mul_ratio=0.5, bias_parameter_name="___selective_fc_layer_0__.wbias")
    assert input_names("__selective_fc_layer_0__") == ["vec", "other", "columns"]
    assert sel.inputs[2].input_parameter_name is None
    # transposed weights: dims [size, input size], smart std 1/sqrt(size)
    for i in (0, 1):
        check(param(f"___selective_fc_layer_0__.w{i}"), size=30, dims=[5, 6],
              initial_std=1 / math.sqrt(5))
    check(param("___selective_fc_layer_0__.wbias"), size=5, dims=[1, 5])
    plain = layer("sel_fc_plain")
    check(plain, active_type="", selective_fc_pass_generation=True, has_selected_colums=False,
          selective_fc_full_mul_ratio=0.02, bias_parameter_name=None)
    assert input_names("sel_fc_plain") == ["vec"]


def test_maxid_and_multiplex() -> None:
    check(layer("__maxid_layer_0__"), type="maxid", size=6, beam_size=None, active_type="")
    check(layer("__multiplex_layer_0__"), type="multiplex", size=6)
    assert input_names("__multiplex_layer_0__") == ["index", "vec", "other",
                                                     "__slope_intercept_layer_0__"]
