"""Per-layer golden config tests, as Paddle v1 kept them (spec section 9).

* (a) every config in ``tests/configs/<name>.py`` (and every config-args variant listed in
  ``regenerate.py``) parses to exactly ``tests/configs/golden/<case>.yaml``;
* (b) hand-computed values, written out here as literals from the spec's formulas (spec 1.3,
  1.4, 2.3, 3, 4, 8), so that the goldens are checked facts and not merely captured output;
* (c) every resolved config round-trips through YAML and JSON;
* (d) the config files together call every DSL function and use every argument that changes
  the result.

Goldens are rewritten only on purpose, with ``make goldens`` (``tests/configs/regenerate.py``).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import pytest

import minipaddle
from minipaddle import from_json, from_yaml, to_json, to_yaml

HERE = Path(__file__).resolve().parent

_spec = importlib.util.spec_from_file_location("minipaddle_tests_regenerate_goldens",
                                               HERE / "regenerate.py")
regenerate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = regenerate  # dataclasses look their module up while building
_spec.loader.exec_module(regenerate)

CASES = {case.name: case for case in regenerate.cases()}
CONFIG_FILES = regenerate.config_files()

HINT = ("If this change is intended, regenerate the goldens with `make goldens` (or "
        "`python3 tests/configs/regenerate.py <name>`), read the diff it prints and commit "
        "it; otherwise the code has drifted from the reviewed config.")


@functools.lru_cache(maxsize=None)
def parsed(name: str) -> minipaddle.TrainerConfig:
    """The resolved config of a case (parsed once per session; tests never mutate it)."""
    case = CASES[name]
    return minipaddle.parse_config(case.path, case.config_args)


def model(name: str) -> minipaddle.ModelConfig:
    return parsed(name).model_config


def layer(case: str, name: str):
    return model(case).layer(name)


def param(case: str, name: str):
    return model(case).parameter(name)


def check(obj: Any, **expected: Any) -> None:
    """Compare several fields at once and report every mismatch, not just the first."""
    wrong = {k: (getattr(obj, k), v) for k, v in expected.items() if getattr(obj, k) != v}
    label = getattr(obj, "name", type(obj).__name__)
    assert not wrong, f"{label}: " + "; ".join(
        f"{k} is {got!r}, expected {want!r}" for k, (got, want) in wrong.items())


def conv(case: str, name: str):
    return layer(case, name).inputs[0].conv_conf


def pool(case: str, name: str):
    return layer(case, name).inputs[0].pool_conf


# =============================================================================================
# (a) every config parses to exactly its golden


def test_cases_exist() -> None:
    assert len(CONFIG_FILES) >= 14
    assert len(CASES) == len(CONFIG_FILES) + sum(len(v) for v in regenerate.VARIANTS.values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_matches_golden(name: str) -> None:
    case = CASES[name]
    if not case.golden.exists():
        pytest.fail(f"golden/{name}.yaml is missing for {case.path.name}. {HINT}")
    want = case.golden.read_text(encoding="utf-8")
    got = to_yaml(parsed(name))
    if got != want:
        diff = regenerate.diff(want, got, name, limit=120)
        pytest.fail(f"{case.path.name}"
                    f"{' with ' + repr(case.config_args) if case.config_args else ''} no "
                    f"longer parses to golden/{name}.yaml:\n{diff}\n{HINT}", pytrace=False)
    assert from_yaml(case.golden) == parsed(name)


def test_no_stale_goldens() -> None:
    stale = regenerate.stale_goldens(list(CASES.values()))
    assert not stale, (f"goldens without a config: {[p.name for p in stale]}; delete them "
                       "(`python3 tests/configs/regenerate.py --prune`)")


def test_regenerate_check_mode_writes_nothing(capsys: pytest.CaptureFixture) -> None:
    before = {p.name: p.read_bytes() for p in regenerate.GOLDEN_DIR.glob("*.yaml")}
    assert regenerate.main(["--check", "prelu", "costs"]) == 0
    out = capsys.readouterr().out
    assert "unchanged prelu" in out and "unchanged costs" in out
    assert {p.name: p.read_bytes() for p in regenerate.GOLDEN_DIR.glob("*.yaml")} == before


# =============================================================================================
# (c) lossless round trips


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip(name: str) -> None:
    config = parsed(name)
    assert from_yaml(to_yaml(config)) == config
    assert from_json(to_json(config)) == config
    assert from_json(to_json(config, indent=None)) == config


# =============================================================================================
# (b) hand-computed values.  Spec 2.3: fe = (f - 1) * d + 1; conv out = 1 + floor((img + 2p -
# fe) / s); pool out = 1 + ceil(...) (floor with ceil_mode=False); transposed conv img =
# (out - 1) * s + fe - 2p.  Spec 1.4: conv smart std = sqrt(2 / (filter_size_x^2 *
# channels)), fc smart std = 1 / sqrt(input size); uniform: mean = (max + min) / 2,
# std = mean - min, strategy 1.


def test_img_conv_defaults() -> None:
    # 3 x 32 x 32, filter 5, 16 filters: out = 1 + (32 - 5) = 28.
    check(layer("img_conv", "__conv_0__"), type="exconv", size=16 * 28 * 28, active_type="relu",
          num_filters=16, shared_biases=True, height=28, width=28,
          bias_parameter_name="___conv_0__.wbias")
    check(conv("img_conv", "__conv_0__"), filter_size=5, filter_size_y=5, channels=3,
          filter_channels=3, stride=1, stride_y=1, padding=0, padding_y=0, groups=1,
          img_size=32, img_size_y=32, output_x=28, output_y=28, caffe_mode=True, dilation=1,
          dilation_y=1)
    check(param("img_conv", "___conv_0__.w0"), size=16 * 3 * 5 * 5, dims=[],
          initial_mean=0.0, initial_std=math.sqrt(2 / (25 * 3)), initial_strategy=0,
          initial_smart=False)
    check(param("img_conv", "___conv_0__.wbias"), size=16, dims=[16, 1], initial_mean=0.0,
          initial_std=0.0, initial_strategy=0, initial_smart=False)


def test_img_conv_int_stride_and_padding() -> None:
    # 32, filter 3, stride 2, padding 1: 1 + floor((32 + 2 - 3) / 2) = 1 + 15 = 16.
    check(conv("img_conv", "__conv_1__"), output_x=16, output_y=16, stride=2, stride_y=2,
          padding=1, padding_y=1)
    check(layer("img_conv", "__conv_1__"), size=8 * 16 * 16, active_type="")
    check(param("img_conv", "___conv_1__.w0"), size=8 * 3 * 3 * 3,
          initial_std=math.sqrt(2 / (9 * 3)))


def test_img_conv_pairs_non_square() -> None:
    # rect: W 30, H 20, 2 channels.  filter (3, 5), stride (2, 1), padding (1, 2),
    # dilation (2, 1), groups 2.
    # x: fe = (3 - 1) * 2 + 1 = 5, out = 1 + floor((30 + 2 - 5) / 2) = 14
    # y: fe = 5, out = 1 + floor((20 + 4 - 5) / 1) = 20
    check(conv("img_conv", "conv_pairs"), filter_size=3, filter_size_y=5, stride=2, stride_y=1,
          padding=1, padding_y=2, dilation=2, dilation_y=1, groups=2, channels=2,
          filter_channels=1, img_size=30, img_size_y=20, output_x=14, output_y=20)
    check(layer("img_conv", "conv_pairs"), size=8 * 14 * 20, height=20, width=14)
    # weight = num_filters * filter_channels * fx * fy; std uses only fx and all channels.
    check(param("img_conv", "_conv_pairs.w0"), size=8 * 1 * 3 * 5, dims=[],
          initial_std=math.sqrt(2 / (3 * 3 * 2)))


def test_img_conv_y_arguments_unshared_bias_explicit_type() -> None:
    # x: filter 3, dilation 2 -> fe 5, padding 1, stride 2: 1 + floor(27 / 2) = 14
    # y: filter_size_y 2, dilation_y 3 -> fe 4, padding_y 0, stride_y 3: 1 + floor(16 / 3) = 6
    check(conv("img_conv", "conv_y_args"), filter_size=3, filter_size_y=2, stride=2,
          stride_y=3, padding=1, padding_y=0, dilation=2, dilation_y=3, output_x=14,
          output_y=6, filter_channels=2)
    check(layer("img_conv", "conv_y_args"), type="exconv", size=4 * 14 * 6, height=6, width=14,
          shared_biases=False, active_type="sigmoid")
    check(param("img_conv", "_conv_y_args.w0"), size=4 * 2 * 3 * 2,
          initial_std=math.sqrt(2 / (3 * 3 * 2)))  # filter_size_y ignored
    # Unshared bias: one per output value, still a column.
    check(param("img_conv", "_conv_y_args.wbias"), size=336, dims=[336, 1])


def test_img_conv_list_pairs_y_override_no_bias_gaussian() -> None:
    # filter [2, 2] with filter_size_y=4 (wins), stride [1, 2], padding [0, 1]:
    # x: 1 + (32 - 2) / 1 = 31; y: 1 + floor((32 + 2 - 4) / 2) = 16
    check(conv("img_conv", "__conv_2__"), filter_size=2, filter_size_y=4, stride=1,
          stride_y=2, padding=0, padding_y=1, output_x=31, output_y=16)
    check(layer("img_conv", "__conv_2__"), size=6 * 31 * 16, bias_parameter_name=None)
    check(param("img_conv", "___conv_2__.w0"), size=6 * 3 * 2 * 4, initial_mean=0.0,
          initial_std=0.02, initial_strategy=0, initial_smart=False)
    assert "___conv_2__.wbias" not in {p.name for p in model("img_conv").parameters}


def test_img_conv_depthwise_uniform_init() -> None:
    # Input __conv_1__: 8 channels of 16 x 16 (num_channels inferred); groups 8.
    check(conv("img_conv", "__conv_3__"), channels=8, groups=8, filter_channels=1,
          output_x=16, output_y=16)
    check(layer("img_conv", "__conv_3__"), size=16 * 16 * 16, drop_rate=0.2)
    # Uniform on [-0.25, 0.75]: mean (0.75 + -0.25) / 2 = 0.25, std 0.25 - (-0.25) = 0.5.
    check(param("img_conv", "___conv_3__.w0"), size=16 * 1 * 3 * 3, initial_mean=0.25,
          initial_std=0.5, initial_strategy=1, initial_smart=False)
    check(param("img_conv", "___conv_3__.wbias"), size=16, dims=[16, 1], initial_mean=0.1,
          initial_std=0.0)


def test_img_conv_groups_smart_std_ignores_groups() -> None:
    check(conv("img_conv", "conv_groups"), groups=3, filter_channels=1, output_x=32)
    check(param("img_conv", "_conv_groups.w0"), size=6 * 1 * 3 * 3,
          initial_std=math.sqrt(2 / (9 * 3)))


def test_img_trans_conv() -> None:
    # 8 x 8 input, filter 4, stride 2, padding 1: img = (8 - 1) * 2 + 4 - 2 = 16.
    check(conv("img_trans_conv", "__conv_0__"), output_x=8, output_y=8, img_size=16,
          img_size_y=16, channels=16, filter_channels=3)
    check(layer("img_trans_conv", "__conv_0__"), type="exconvt", size=3 * 16 * 16, height=16,
          width=16, num_filters=3)
    # weight = channels * filter_channels * fx * fy; std uses the deconv's input channels.
    check(param("img_trans_conv", "___conv_0__.w0"), size=16 * 3 * 4 * 4,
          initial_std=math.sqrt(2 / (4 * 4 * 16)))
    check(param("img_trans_conv", "___conv_0__.wbias"), size=3, dims=[3, 1])

    # testConvTransLayer: x (8 - 1) * 2 + 2 - 0 = 16, y (8 - 1) * 2 + 4 - 2 = 16, weight 384.
    check(conv("img_trans_conv", "deconv_y"), filter_size=2, filter_size_y=4, padding=0,
          padding_y=1, img_size=16, img_size_y=16)
    check(layer("img_trans_conv", "deconv_y"), size=768)
    check(param("img_trans_conv", "_deconv_y.w0"), size=384,
          initial_std=math.sqrt(2 / (2 * 2 * 16)))

    # W 7, H 5, 4 channels; filter (3, 2), stride (2, 3), padding (1, 0), dilation (2, 1):
    # x: fe 5, (7 - 1) * 2 + 5 - 2 = 15;  y: fe 2, (5 - 1) * 3 + 2 - 0 = 14.
    check(conv("img_trans_conv", "deconv_pairs"), output_x=7, output_y=5, img_size=15,
          img_size_y=14, groups=2, filter_channels=6 // 2, dilation=2, dilation_y=1)
    check(layer("img_trans_conv", "deconv_pairs"), type="exconvt", size=6 * 15 * 14,
          height=14, width=15, shared_biases=False)
    check(param("img_trans_conv", "_deconv_pairs.w0"), size=4 * 3 * 3 * 2,
          initial_std=math.sqrt(2 / (3 * 3 * 4)))
    check(param("img_trans_conv", "_deconv_pairs.wbias"), size=1260, dims=[1260, 1])

    # An ordinary conv after the deconv: 16 - 3 + 1 = 14, channels 3 from num_filters.
    check(conv("img_trans_conv", "__conv_1__"), channels=3, img_size=16, output_x=14)
    check(layer("img_trans_conv", "__conv_1__"), type="exconv", size=4 * 14 * 14)


def test_img_pool_ceil_and_floor() -> None:
    c = "img_pool"
    # 14, window 3, stride 2: ceil 1 + ceil(11 / 2) = 7; floor 1 + floor(11 / 2) = 6.
    check(pool(c, "__pool_0__"), pool_type="max-projection", channels=4, size_x=3, size_y=3,
          stride=2, stride_y=2, padding=0, padding_y=0, img_size=14, img_size_y=14,
          output_x=7, output_y=7, exclude_mode=None)
    check(layer(c, "__pool_0__"), type="pool", size=4 * 7 * 7, height=7, width=7)
    check(pool(c, "pool_floor"), output_x=6, output_y=6)
    check(layer(c, "pool_floor"), size=4 * 6 * 6)
    # stride defaults to 1: 1 + ceil((14 - 2) / 1) = 13.
    check(pool(c, "__pool_1__"), stride=1, stride_y=1, output_x=13, output_y=13)
    check(layer(c, "__pool_1__"), size=4 * 13 * 13)
    # padding 1: (14 + 2 - 3) / 2 = 6.5 -> ceil 8, floor 7.
    check(pool(c, "avg_pad_ceil"), pool_type="avg-projection", padding=1, padding_y=1,
          output_x=8, output_y=8, exclude_mode=False)
    check(layer(c, "avg_pad_ceil"), size=4 * 8 * 8)
    check(pool(c, "avg_pad_floor"), output_x=7, output_y=7, exclude_mode=True)
    check(layer(c, "avg_pad_floor"), size=4 * 7 * 7)


def test_img_pool_per_axis_and_types() -> None:
    c = "img_pool"
    # rect W 13, H 10.  x: window 3, stride 2, padding 1 -> 1 + ceil(12 / 2) = 7 (both);
    # y: window 2, stride 3, padding 0 -> (10 - 2) / 3 = 2.67: ceil 4, floor 3.
    check(pool(c, "cudnn_max_rect"), pool_type="cudnn-max-pool", channels=2, size_x=3,
          size_y=2, stride=2, stride_y=3, padding=1, padding_y=0, img_size=13, img_size_y=10,
          output_x=7, output_y=4)
    check(layer(c, "cudnn_max_rect"), size=2 * 7 * 4, height=4, width=7)
    check(pool(c, "cudnn_avg_rect"), pool_type="cudnn-avg-pool", output_x=7, output_y=3)
    check(layer(c, "cudnn_avg_rect"), size=2 * 7 * 3)
    # 2/2 ceil: x 1 + ceil(11 / 2) = 7, y 1 + ceil(8 / 2) = 5.
    check(pool(c, "max_mask"), pool_type="max-pool-with-mask", output_x=7, output_y=5)
    check(layer(c, "max_mask"), size=2 * 7 * 5)


def test_batch_norm() -> None:
    c = "batch_norm"
    # conv output: 8 channels, H 16, W 12 (padding 1 keeps the size).
    check(layer(c, "__batch_norm_0__"), type="batch_norm", size=8 * 16 * 12,
          active_type="relu", height=16, width=12, depth=1, epsilon=1e-5,
          moving_average_fraction=0.9, use_global_stats=None,
          bias_parameter_name="___batch_norm_0__.wbias")
    bn_inputs = layer(c, "__batch_norm_0__").inputs
    assert [i.input_layer_name for i in bn_inputs] == ["__conv_0__"] * 3
    check(bn_inputs[0].image_conf, channels=8, img_size=12, img_size_y=16)
    check(param(c, "___batch_norm_0__.w0"), size=8, dims=[], initial_mean=1.0,
          initial_std=0.0, is_static=None)
    for stat in ("___batch_norm_0__.w1", "___batch_norm_0__.w2"):
        check(param(c, stat), size=8, dims=[1, 8], initial_mean=0.0, initial_std=0.0,
              is_static=True, is_shared=True)
    check(param(c, "___batch_norm_0__.wbias"), size=8, dims=[1, 8], initial_std=0.0)

    check(layer(c, "bn_custom"), active_type="tanh", epsilon=1e-3,
          moving_average_fraction=0.99, use_global_stats=False, drop_rate=0.5,
          error_clipping_threshold=10.0)
    assert [i.input_parameter_name for i in layer(c, "bn_custom").inputs] == [
        "_bn_custom.w0", "bn_mean", "bn_var"]
    check(param(c, "_bn_custom.w0"), initial_mean=0.5, initial_std=0.1, decay_rate=0.0)
    check(param(c, "_bn_custom.wbias"), learning_rate=2.0)

    # Vector input: channels = input size 32, image 1 x 1, no height/width, no bias.
    check(layer(c, "__batch_norm_1__"), size=32, height=None, width=None,
          bias_parameter_name=None, use_global_stats=True)
    check(layer(c, "__batch_norm_1__").inputs[0].image_conf, channels=32, img_size=1,
          img_size_y=1)
    # MomentumOptimizer(momentum=0.9) is the global default of every parameter created later.
    assert {p.momentum for p in model(c).parameters} == {0.9}


def test_img_cmrnorm() -> None:
    c = "norm_layers"
    check(layer(c, "__crmnorm_0__").inputs[0].norm_conf, norm_type="cmrnorm-projection",
          channels=16, size=5, scale=0.001 / 5, pow=0.75, output_x=14, img_size=14,
          output_y=7, img_size_y=7, blocked=False)
    check(layer(c, "__crmnorm_0__"), type="norm", size=16 * 7 * 14, height=7, width=14)
    check(layer(c, "lrn3").inputs[0].norm_conf, size=3, scale=0.0128 / 3, pow=0.75)
    check(layer(c, "__crmnorm_1__").inputs[0].norm_conf, channels=8, size=4, scale=0.002 / 4,
          pow=0.5)
    check(layer(c, "__crmnorm_1__"), size=8 * 7 * 14)
    check(param(c, "___conv_0__.w0"), size=8 * 16 * 3 * 3,
          initial_std=math.sqrt(2 / (3 * 3 * 16)))


def test_default_settings_without_settings_call() -> None:
    # spec 8b.9: config_parser's DEFAULT_SETTING; batch_size is left unset.
    check(parsed("norm_layers").opt_config, algorithm="async_sgd", learning_method="momentum",
          learning_rate=1.0, learning_rate_schedule="poly", learning_rate_decay_a=0.0,
          learning_rate_decay_b=0.0, learning_rate_args="", batch_size=None,
          average_window=0.0, max_average_window=None, do_average_in_cpu=False,
          ada_epsilon=1e-6, ada_rou=0.95, adam_beta1=0.9, adam_beta2=0.999,
          adam_epsilon=1e-8, gradient_clipping_threshold=None,
          async_lagged_grad_discard_ratio=1.5, delta_add_rate=1.0,
          shrink_parameter_value=0.0, l1weight=0.1, l2weight=0.0, l2weight_zero_iter=0,
          c1=1e-4, backoff=0.5, owlqn_steps=10, max_backoff=5)
    for p in model("norm_layers").parameters:
        check(p, momentum=None, decay_rate=None, gradient_clipping_threshold=None)


def test_maxout_spp_pad_bilinear() -> None:
    c = "image_reshape"
    # conv: 8 channels, H 12, W 10.
    check(layer(c, "__maxout_layer_0__"), type="maxout", size=(8 // 2) * 12 * 10, height=12,
          width=10)
    check(layer(c, "__maxout_layer_0__").inputs[0].maxout_conf, groups=2)
    check(layer(c, "__maxout_layer_0__").inputs[0].maxout_conf.image_conf, channels=8,
          img_size=10, img_size_y=12)
    # pool after maxout with num_channels=4: x 1 + ceil(8 / 2) = 5, y 1 + ceil(10 / 2) = 6.
    check(pool(c, "__pool_0__"), channels=4, output_x=5, output_y=6)
    check(layer(c, "__pool_0__"), size=4 * 5 * 6)
    check(layer(c, "maxout4"), size=2 * 12 * 10)
    # spp: (4^h - 1) / 3 bins: h 3 -> 21, h 2 -> 5.
    check(layer(c, "__spp_0__"), type="spp", size=8 * 21, height=1, width=21)
    check(layer(c, "__spp_0__").inputs[0].spp_conf, pool_type="max-projection",
          pyramid_height=3)
    check(layer(c, "spp_avg"), size=8 * 5, height=1, width=5)
    check(layer(c, "spp_avg").inputs[0].spp_conf, pool_type="avg-projection")
    # pad: C 8 + 1 + 2 = 11, H 12 + 0 + 1 = 13, W 10 + 2 + 3 = 15.
    check(layer(c, "__pad_0__"), type="pad", size=11 * 13 * 15, height=13, width=15)
    check(layer(c, "__pad_0__").inputs[0].pad_conf, pad_c=[1, 2], pad_h=[0, 1], pad_w=[2, 3])
    check(layer(c, "pad_h_only"), size=8 * 14 * 10, height=14, width=10)
    check(layer(c, "pad_h_only").inputs[0].pad_conf, pad_c=[0, 0], pad_h=[1, 1], pad_w=[0, 0])
    # the pad layer carries 11 channels to the next conv.
    check(conv(c, "__conv_1__"), channels=11, img_size=15, img_size_y=13, output_x=15,
          output_y=13)
    check(param(c, "___conv_1__.w0"), size=4 * 11, initial_std=math.sqrt(2 / (1 * 1 * 11)))
    # bilinear: C * out_y * out_x.
    check(layer(c, "__bilinear_interp_layer_0__"), type="bilinear_interp", size=8 * 24 * 20,
          height=24, width=20)
    check(layer(c, "__bilinear_interp_layer_0__").inputs[0].bilinear_interp_conf,
          out_size_x=20, out_size_y=24)


def test_concat_addto_dropout() -> None:
    c = "combine"
    check(layer(c, "__concat_0__"), type="concat", size=256 + 256, active_type="", height=8,
          width=8, depth=1)
    check(layer(c, "__addto_0__"), type="addto", size=256, active_type="relu", height=8,
          width=8, depth=1, bias_parameter_name=None)
    check(layer(c, "__dropout_0__"), type="addto", size=256, active_type="", drop_rate=0.5)
    check(pool(c, "__pool_0__"), channels=4, output_x=4)  # addto keeps num_filters
    check(pool(c, "pool_cat"), channels=8, output_x=4)
    # plain vectors: height 0, width 0, depth 1 written.
    check(layer(c, "vcat"), size=20, height=0, width=0, depth=1, active_type="relu",
          error_clipping_threshold=1.0)
    check(layer(c, "vadd"), size=10, height=0, width=0, depth=1, drop_rate=0.25,
          error_clipping_threshold=5.0, bias_parameter_name="_vadd.wbias")
    check(param(c, "_vadd.wbias"), size=10, dims=[1, 10], initial_std=0.0)


def test_prelu() -> None:
    c = "prelu"  # 3 channels of 4 x 6 = 72 values
    for name, partial_sum in (("__prelu_layer_0__", 1), ("prelu_ps", 24),
                              ("prelu_shared", 72), ("prelu_channel", 24)):
        check(layer(c, name), type="prelu", size=72, partial_sum=partial_sum, height=4, width=6)
        n = 72 // partial_sum
        weight = param(c, layer(c, name).inputs[0].input_parameter_name)
        check(weight, size=n, dims=[1, n], initial_std=0.0,
              initial_mean=0.1 if name == "prelu_channel" else 0.25)


def test_costs() -> None:
    c = "costs"
    check(layer(c, "__cost_0__"), type="multi-class-cross-entropy", size=1, coeff=1.0)
    check(layer(c, "__cross_entropy_0__"), type="multi-class-cross-entropy", coeff=0.5)
    assert [i.input_layer_name for i in layer(c, "__cross_entropy_0__").inputs] == [
        "__fc_layer_0__", "label", "weight"]
    check(layer(c, "__square_error_cost_0__"), type="square_error", size=1, coeff=1.0)
    # regression_cost is square_error_cost: same counter.
    check(layer(c, "__square_error_cost_1__"), type="square_error", coeff=2.0)
    (evaluator,) = model(c).evaluators
    check(evaluator, name="classification_error_evaluator", type="classification_error",
          input_layers=["__fc_layer_0__", "label"])
    assert model(c).sub_models[0].evaluator_names == ["classification_error_evaluator"]
    assert model(c).input_layer_names == ["x", "label", "weight", "target"]
    check(param(c, "___fc_layer_0__.w0"), size=20 * 5, dims=[20, 5], initial_smart=True,
          initial_std=1 / math.sqrt(20))


def test_fc_and_params() -> None:
    c = "fc_and_params"
    defaults = {"momentum": 0.9, "decay_rate": 0.0005, "gradient_clipping_threshold": 25.0}
    check(layer(c, "__fc_layer_0__"), type="fc", size=64, active_type="tanh", height=None)
    check(param(c, "___fc_layer_0__.w0"), size=100 * 64, dims=[100, 64], initial_mean=0.0,
          initial_std=1 / math.sqrt(100), initial_strategy=0, initial_smart=True, **defaults)
    check(param(c, "___fc_layer_0__.wbias"), size=64, dims=[1, 64], initial_std=0.0,
          initial_smart=False, **defaults)
    # Per-parameter values override the settings() defaults.
    check(param(c, "_gauss.w0"), initial_mean=0.0, initial_std=0.02, initial_smart=False,
          decay_rate=0.001, learning_rate=0.5, momentum=0.5, gradient_clipping_threshold=5.0)
    check(param(c, "_gauss.wbias"), initial_mean=0.1, initial_std=0.0, learning_rate=2.0,
          momentum=0.9, decay_rate=0.0005)
    # Uniform on [-0.5, 1.5]: mean 0.5, std 1.0.
    check(param(c, "_uniform.w0"), initial_mean=0.5, initial_std=1.0, initial_strategy=1,
          initial_smart=False)
    # Static: the ParamAttr's l2/learning rate/momentum are not copied (spec 1.4, 8b.7); the
    # global defaults are still written by Parameter().
    check(param(c, "_frozen.w0"), is_static=True, learning_rate=None, initial_std=0.1,
          **defaults)
    check(layer(c, "frozen"), bias_parameter_name=None)
    # Sharing by name: one parameter, both layers use it.
    names = [p.name for p in model(c).parameters]
    assert names.count("shared_w") == 1 and names.count("shared_bias") == 1
    for name in ("shared_a", "shared_b"):
        check(layer(c, name), bias_parameter_name="shared_bias")
        assert layer(c, name).inputs[0].input_parameter_name == "shared_w"
    check(param(c, "shared_w"), size=64 * 10, dims=[64, 10], initial_std=1 / math.sqrt(64))
    # Two inputs, one weight each.
    check(param(c, "___fc_layer_1__.w0"), dims=[100, 8], initial_std=1 / math.sqrt(100))
    check(param(c, "___fc_layer_1__.w1"), dims=[50, 8], size=400,
          initial_std=1 / math.sqrt(50))
    check(param(c, "___fc_layer_2__.w0"), initial_std=0.01, initial_smart=False)
    check(param(c, "___fc_layer_2__.w1"), initial_std=1 / math.sqrt(50), initial_smart=True)
    check(layer(c, "__fc_layer_2__"), drop_rate=0.3, error_clipping_threshold=10.0)
    check(parsed(c).opt_config, gradient_clipping_threshold=25.0, learning_method="momentum",
          algorithm="sgd")


def test_network_helpers() -> None:
    c = "networks"
    # simple_img_conv_pool: 28 - 5 + 1 = 24, pool 2/2 -> 12.
    check(layer(c, "__conv_pool_0___conv"), size=8 * 24 * 24, active_type="relu")
    check(param(c, "___conv_pool_0___conv.w0"), size=8 * 1 * 5 * 5,
          initial_std=math.sqrt(2 / (5 * 5 * 1)))
    check(layer(c, "__conv_pool_0___pool"), size=8 * 12 * 12)
    # pool_stride defaults to 1: 12 - 3 + 1 = 10, average pooling.
    check(pool(c, "conv_pool_named_pool"), pool_type="avg-projection", stride=1, output_x=10)
    check(conv(c, "conv_pool_named_conv"), groups=2, filter_channels=4, output_x=12)
    check(layer(c, "conv_pool_named_conv"), shared_biases=False, bias_parameter_name=None)
    check(param(c, "_conv_pool_named_conv.w0"), size=16 * 4 * 3 * 3, initial_std=0.01)
    # img_conv_bn_pool: conv linear, bn relu, pool 12 -> 6.
    check(layer(c, "__conv_bn_pool_0___conv"), active_type="")
    check(layer(c, "__conv_bn_pool_0___bn"), type="batch_norm", active_type="relu")
    check(layer(c, "__conv_bn_pool_0___pool"), size=16 * 6 * 6)
    # img_conv_group: auto names, batch norm only after the first conv, drop 0.5 on it.
    check(layer(c, "__conv_0__"), active_type="", size=16 * 6 * 6)
    check(layer(c, "__batch_norm_0__"), active_type="relu", drop_rate=0.5)
    check(layer(c, "__conv_1__"), active_type="relu", size=32 * 6 * 6)
    check(layer(c, "__pool_0__"), size=32 * 3 * 3)
    assert "__batch_norm_1__" not in [layer_.name for layer_ in model(c).layers]
    # img_separable_conv: depthwise groups 8 -> 16 maps, then 1x1 to 12.
    check(conv(c, "__separable_conv_0___depthwise_conv"), groups=8, channels=8,
          filter_channels=1)
    check(layer(c, "__separable_conv_0___depthwise_conv"), num_filters=16, active_type="")
    check(param(c, "___separable_conv_0___depthwise_conv.w0"), size=16 * 1 * 3 * 3,
          initial_std=math.sqrt(2 / (3 * 3 * 8)))
    check(conv(c, "__separable_conv_0___pointwise_conv"), filter_size=1, channels=16)
    check(param(c, "___separable_conv_0___pointwise_conv.w0"), size=12 * 16,
          initial_std=math.sqrt(2 / (1 * 1 * 16)))


def test_vgg_networks() -> None:
    c = "vgg"
    layers = {layer_.name: layer_ for layer_ in model(c).layers}
    # small_vgg: 10 convs with batch norm, 4 group pools + 1 extra pool: 32 -> 1.
    drops = [layers[f"__batch_norm_{i}__"].drop_rate for i in range(10)]
    assert drops == [0.3, None, 0.4, None, 0.4, 0.4, None, 0.4, 0.4, None]
    assert [layers[f"__pool_{i}__"].width for i in range(5)] == [16, 8, 4, 2, 1]
    check(layers["__dropout_0__"], drop_rate=0.5, size=512)
    check(layers["__fc_layer_0__"], size=512, active_type="", drop_rate=0.5)
    check(layers["__batch_norm_10__"], size=512, active_type="relu")
    check(layers["__fc_layer_1__"], size=10, active_type="softmax")
    # vgg_16_network: 13 relu convs, 5 pools, fc 4096 x 2 with dropout, fc 10 softmax.
    assert [layers[f"__conv_{i}__"].num_filters for i in range(10, 23)] == (
        [64] * 2 + [128] * 2 + [256] * 3 + [512] * 6)
    assert all(layers[f"__conv_{i}__"].active_type == "relu" for i in range(10, 23))
    assert [layers[f"__pool_{i}__"].width for i in range(5, 10)] == [16, 8, 4, 2, 1]
    check(layers["__fc_layer_2__"], size=4096, active_type="relu", drop_rate=0.5)
    check(layers["__fc_layer_3__"], size=4096, active_type="relu", drop_rate=0.5)
    check(param(c, "___fc_layer_3__.w0"), dims=[4096, 4096], initial_std=1 / math.sqrt(4096))
    check(layers["__fc_layer_4__"], size=10, active_type="softmax")
    # L2Regularization(0.0005 * 128) and momentum 0.9 reach every parameter.
    assert {(p.decay_rate, p.momentum) for p in model(c).parameters} == {(0.0005 * 128, 0.9)}


OPTIMIZER_EXPECTATIONS = {
    # method: (case, learning_method and its fields, schedule fields)
    "momentum": ("optimizers", {"learning_method": "momentum", "algorithm": "sgd"},
                 {"learning_rate_schedule": "poly", "learning_rate_decay_a": 0.1,
                  "learning_rate_decay_b": 0.5}),
    "adam": ("optimizers.method-adam",
             {"learning_method": "adam", "adam_beta1": 0.8, "adam_beta2": 0.99,
              "adam_epsilon": 1e-6},
             {"learning_rate_schedule": "constant"}),
    "adamax": ("optimizers.method-adamax",
               {"learning_method": "adamax", "adam_beta1": 0.85, "adam_beta2": 0.995,
                "adam_epsilon": 1e-8},
               {"learning_rate_schedule": "exp", "learning_rate_decay_a": 0.5,
                "learning_rate_decay_b": 10000.0}),
    "adagrad": ("optimizers.method-adagrad",
                {"learning_method": "adagrad", "algorithm": "async_sgd", "ada_rou": 0.95,
                 "ada_epsilon": 1e-6},
                {"learning_rate_schedule": "discexp", "learning_rate_decay_a": 0.5,
                 "learning_rate_decay_b": 20000.0}),
    "decayed_adagrad": ("optimizers.method-decayed_adagrad",
                        {"learning_method": "decayed_adagrad", "ada_rou": 0.9,
                         "ada_epsilon": 1e-5},
                        {"learning_rate_schedule": "linear", "learning_rate_decay_a": 1e-7,
                         "learning_rate_decay_b": 1e-4}),
    "adadelta": ("optimizers.method-adadelta",
                 {"learning_method": "adadelta", "ada_rou": 0.8, "ada_epsilon": 1e-4},
                 {"learning_rate_schedule": "caffe_poly",
                  "learning_rate_decay_a": 1000000.0, "learning_rate_decay_b": 0.9}),
    "rmsprop": ("optimizers.method-rmsprop",
                {"learning_method": "rmsprop", "ada_rou": 0.7, "ada_epsilon": 1e-3},
                {"learning_rate_schedule": "manual",
                 "learning_rate_args": "1000:1.0,2000:0.5,3000:0.25"}),
}


@pytest.mark.parametrize("method", sorted(OPTIMIZER_EXPECTATIONS))
def test_optimizers(method: str) -> None:
    case, method_fields, schedule_fields = OPTIMIZER_EXPECTATIONS[method]
    opt = parsed(case).opt_config
    check(opt, batch_size=128, learning_rate=0.1 / 128, average_window=0.5,
          max_average_window=10000, do_average_in_cpu=True, gradient_clipping_threshold=10.0,
          **{"algorithm": "sgd", **method_fields}, **schedule_fields)
    # L2Regularization is a per-parameter default (decay_rate), never opt_config's l2weight.
    check(opt, l2weight=0.0)
    hidden_w = param(case, "___fc_layer_0__.w0")
    check(hidden_w, momentum=0.0, decay_rate=0.0, gradient_clipping_threshold=10.0)
    for name in ("___fc_layer_0__.wbias", "___fc_layer_1__.w0", "___fc_layer_1__.wbias"):
        check(param(case, name), decay_rate=0.0005 * 128, gradient_clipping_threshold=10.0,
              momentum=0.9 if method == "momentum" else None)


def test_paddle_demo_mnist() -> None:
    c = "paddle_demo_mnist"
    # 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool (ceil: 1 + ceil(9 / 2))-> 6 -conv3-> 4
    # -pool-> 2 -conv1-> 2 -pool-> 1; 128 maps throughout.
    assert [layer(c, f"__conv_{i}__").width for i in range(4)] == [26, 11, 4, 2]
    assert [layer(c, f"__pool_{i}__").width for i in range(4)] == [13, 6, 2, 1]
    check(pool(c, "__pool_1__"), img_size=11, output_x=6, output_y=6)
    check(layer(c, "__pool_3__"), size=128)
    check(param(c, "___conv_0__.w0"), size=128 * 1 * 3 * 3, initial_std=math.sqrt(2 / 9))
    check(param(c, "___conv_1__.w0"), size=128 * 128 * 3 * 3,
          initial_std=math.sqrt(2 / (9 * 128)))
    check(param(c, "___conv_3__.w0"), size=128 * 128, initial_std=math.sqrt(2 / 128))
    check(param(c, "___fc_layer_0__.w0"), dims=[128, 10], initial_std=1 / math.sqrt(128))
    assert model(c).input_layer_names == ["pixel", "label"]
    assert model(c).output_layer_names == ["__cost_0__"]
    config = parsed(c)
    check(config.opt_config, batch_size=50, learning_rate=0.001, learning_method="adam")
    check(config.data_config, type="py2", files="./data/train.list",
          load_data_module="mnist_provider", load_data_object="process")
    check(config.test_data_config, files="./data/test.list", for_test=True)

    predict = parsed("paddle_demo_mnist.is_predict-1")
    assert predict.model_config.input_layer_names == ["pixel"]
    assert predict.model_config.output_layer_names == ["__fc_layer_0__"]
    assert predict.data_config is None and predict.test_data_config is None
    assert predict.model_config.evaluators == []
    assert "label" not in [layer_.name for layer_ in predict.model_config.layers]


AUTO_NAMES = {
    "img_conv": ["__conv_0__", "__conv_3__"],
    "img_pool": ["__pool_0__", "__pool_1__"],
    "batch_norm": ["__batch_norm_0__", "__batch_norm_1__", "__fc_layer_0__"],
    "norm_layers": ["__crmnorm_0__", "__crmnorm_1__"],
    "image_reshape": ["__maxout_layer_0__", "__spp_0__", "__pad_0__",
                      "__bilinear_interp_layer_0__"],
    "combine": ["__concat_0__", "__addto_0__", "__dropout_0__"],
    "prelu": ["__prelu_layer_0__"],
    "costs": ["__cost_0__", "__cross_entropy_0__", "__square_error_cost_0__",
              "__square_error_cost_1__"],
    "networks": ["__conv_pool_0___conv", "__conv_pool_0___pool", "__conv_bn_pool_0___conv",
                 "__conv_bn_pool_0___bn", "__conv_bn_pool_0___pool",
                 "__separable_conv_0___depthwise_conv", "__separable_conv_0___pointwise_conv"],
}


@pytest.mark.parametrize("case", sorted(AUTO_NAMES))
def test_auto_names(case: str) -> None:
    layer_names = [layer_.name for layer_ in model(case).layers]
    for name in AUTO_NAMES[case]:
        assert name in layer_names
    # Parameters of auto-named layers carry three leading underscores (spec 1.3).
    for layer_ in model(case).layers:
        for input_ in layer_.inputs:
            pname = input_.input_parameter_name
            if pname and layer_.name.startswith("__") and "shared" not in pname \
                    and pname not in ("bn_mean", "bn_var"):
                assert pname.startswith(f"_{layer_.name}.w"), pname


def test_paddle_style_configs_resolve_to_minipaddle() -> None:
    paddle_style = [p for p in CONFIG_FILES
                    if "from paddle.trainer_config_helpers import *" in p.read_text()]
    assert len(paddle_style) >= 2, [p.name for p in paddle_style]
    assert "paddle_demo_mnist.py" in [p.name for p in paddle_style]
    had_paddle = "paddle" in sys.modules
    for path in paddle_style:
        assert minipaddle.parse_config(path).model_config.layers
    assert ("paddle" in sys.modules) == had_paddle, "parse_config left a 'paddle' module behind"


# =============================================================================================
# (d) coverage of the DSL by the config files


REQUIRED_CALLS = [
    # layers
    "data_layer", "fc_layer", "img_conv_layer", "img_pool_layer", "batch_norm_layer",
    "img_cmrnorm_layer", "maxout_layer", "spp_layer", "pad_layer", "bilinear_interp_layer",
    "concat_layer", "addto_layer", "dropout_layer", "prelu_layer",
    # costs
    "classification_cost", "cross_entropy", "square_error_cost", "regression_cost",
    # networks
    "simple_img_conv_pool", "img_conv_bn_pool", "img_conv_group", "img_separable_conv",
    "small_vgg", "vgg_16_network",
    # settings and optimizers
    "settings", "MomentumOptimizer", "AdamOptimizer", "AdamaxOptimizer", "AdaGradOptimizer",
    "DecayedAdaGradOptimizer", "AdaDeltaOptimizer", "RMSPropOptimizer", "L2Regularization",
    "ModelAverage",
    # graph and config plumbing
    "outputs", "inputs", "get_config_arg", "define_py_data_sources2",
    # attributes and pool types
    "ParamAttr", "ExtraAttr", "MaxPooling", "AvgPooling", "CudnnMaxPooling", "CudnnAvgPooling",
    "MaxWithMaskPooling",
]

#: (function, keyword) pairs that must appear in some call.
REQUIRED_KEYWORDS = {
    "img_conv_layer": ["filter_size", "filter_size_y", "stride", "stride_y", "padding",
                       "padding_y", "dilation", "dilation_y", "groups", "trans",
                       "shared_biases", "layer_type", "num_channels", "param_attr",
                       "bias_attr", "layer_attr", "act"],
    "img_pool_layer": ["pool_size_y", "stride_y", "padding_y", "ceil_mode", "exclude_mode",
                       "pool_type", "num_channels", "padding"],
    "batch_norm_layer": ["num_channels", "batch_norm_type", "epsilon",
                         "moving_average_fraction", "use_global_stats", "mean_var_names",
                         "param_attr", "bias_attr", "layer_attr"],
    "ParamAttr": ["initial_std", "initial_mean", "initial_min", "initial_max", "is_static",
                  "l2_rate", "learning_rate", "momentum", "name",
                  "gradient_clipping_threshold"],
    "ExtraAttr": ["drop_rate", "error_clipping_threshold"],
    "settings": ["learning_rate_decay_a", "learning_rate_decay_b", "learning_rate_schedule",
                 "learning_rate_args", "learning_method", "regularization", "model_average",
                 "gradient_clipping_threshold", "is_async"],
    "prelu_layer": ["partial_sum", "channel_shared", "num_channels", "param_attr"],
    "classification_cost": [], "cross_entropy": ["weight", "coeff"],
    "regression_cost": ["weight", "coeff"],
}

#: keyword values that must appear literally (the non-default branches).
REQUIRED_VALUES = [("trans", True), ("shared_biases", False), ("ceil_mode", False),
                   ("ceil_mode", True), ("exclude_mode", True), ("exclude_mode", False),
                   ("is_static", True), ("layer_type", "exconv"), ("layer_type", "exconvt"),
                   ("channel_shared", True), ("channel_shared", False), ("bias_attr", False)]

#: geometric arguments given both as an int and as an (x, y) pair somewhere.
INT_AND_PAIR = ["filter_size", "stride", "padding", "dilation"]


def _calls() -> list[tuple[str, ast.Call]]:
    found = []
    for path in CONFIG_FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name:
                    found.append((name, node))
    return found


def test_configs_call_every_dsl_function() -> None:
    called = {name for name, _ in _calls()}
    missing = [name for name in REQUIRED_CALLS if name not in called]
    assert not missing, f"no config in tests/configs calls {missing}"
    for name in REQUIRED_CALLS:  # the list names real DSL entries
        assert hasattr(minipaddle, name), name


def test_configs_use_every_argument_that_matters() -> None:
    keywords: dict[str, set[str]] = {}
    values: set[tuple[str, Any]] = set()
    shapes: dict[str, set[str]] = {}
    for name, call in _calls():
        for kw in call.keywords:
            if kw.arg is None:
                continue
            keywords.setdefault(name, set()).add(kw.arg)
            if isinstance(kw.value, ast.Constant):
                values.add((kw.arg, kw.value.value))
            if name == "img_conv_layer" and kw.arg in INT_AND_PAIR:
                kind = ("pair" if isinstance(kw.value, (ast.Tuple, ast.List)) else
                        "int" if isinstance(kw.value, ast.Constant) else "other")
                shapes.setdefault(kw.arg, set()).add(kind)
    missing = [f"{fn}({kw}=...)" for fn, kws in REQUIRED_KEYWORDS.items()
               for kw in kws if kw not in keywords.get(fn, set())]
    missing += [f"{fn}(...)" for fn in REQUIRED_KEYWORDS if fn not in keywords]
    assert not missing, f"no config uses {missing}"
    missing_values = [f"{k}={v!r}" for k, v in REQUIRED_VALUES if (k, v) not in values]
    assert not missing_values, f"no config passes {missing_values}"
    for arg in INT_AND_PAIR:
        assert {"int", "pair"} <= shapes.get(arg, set()), (arg, shapes.get(arg))


def test_int_arguments_where_paddle_converts_or_divides() -> None:
    """Paddle wrote float(coeff) and float(error_clipping_threshold); its uniform-init mean
    used Python 2's floor division, where we use true division (docs/paddle_compat.md)."""
    from minipaddle import (ExtraAttr, ParamAttr, data_layer, fc_layer, parse_config,
                            square_error_cost)

    def net() -> None:
        x = data_layer(name="x", size=4)
        y = fc_layer(input=x, size=4, name="y",
                     param_attr=ParamAttr(initial_min=-1, initial_max=2),
                     layer_attr=ExtraAttr(error_clipping_threshold=10))
        square_error_cost(input=y, label=data_layer(name="t", size=4), coeff=2, name="cost")

    mc = parse_config(net).model_config
    coeff = mc.layer("cost").coeff
    assert coeff == 2.0 and isinstance(coeff, float)
    clip = mc.layer("y").error_clipping_threshold
    assert clip == 10.0 and isinstance(clip, float)
    w = mc.parameter("_y.w0")
    # true division: mean (2 + -1) / 2 = 0.5, std 0.5 - (-1) = 1.5 (Paddle: 0 and 1)
    assert (w.initial_mean, w.initial_std, w.initial_strategy) == (0.5, 1.5, 1)
