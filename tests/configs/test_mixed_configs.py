"""Hand-derived config fields of tests/configs/mixed.py from Paddle's MixedLayer and projection
rules (config_parser): sizes, input order (an operator's first operand in its place, the
others appended), proj_conf names, parameter names, sizes, dims and initial std, shared
biases.  The golden itself is compared by test_goldens.py."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import minipaddle

CONFIG = Path(__file__).resolve().parent / "mixed.py"


@functools.lru_cache(maxsize=None)
def model() -> minipaddle.ModelConfig:
    return minipaddle.parse_config(str(CONFIG)).model_config


def layer(name: str):
    return model().layer(name)


def param(name: str):
    return next(p for p in model().parameters if p.name == name)


def check(obj: Any, **expected: Any) -> None:
    wrong = {k: (getattr(obj, k), v) for k, v in expected.items() if getattr(obj, k) != v}
    assert not wrong, f"{getattr(obj, 'name', obj)}: " + "; ".join(
        f"{k} is {got!r}, expected {want!r}" for k, (got, want) in wrong.items())


def terms(name: str) -> list[tuple]:
    return [(i.input_layer_name, i.input_parameter_name,
             i.proj_conf.type if i.proj_conf else None,
             i.proj_conf.name if i.proj_conf else None) for i in layer(name).inputs]


def test_embedding_is_a_table_projection():
    check(layer("emb"), type="mixed", size=6, active_type="")
    assert terms("emb") == [("words", "_emb.w0", "table", "_emb.w0")]
    check(param("_emb.w0"), size=30 * 6, dims=[30, 6], initial_smart=True,
          initial_std=1 / math.sqrt(30))


def test_with_block_projections_and_parameters():
    check(layer("sum"), size=12, active_type="tanh", bias_parameter_name="_sum.wbias",
          bias_size=12, shared_biases=None)
    # the projection name is always _<layer>.w<i>; the weight is a named ParamAttr's
    assert terms("sum") == [("vec", None, "identity", "_sum.w0"),
                            ("emb", "_sum.w1", "fc", "_sum.w1"),
                            ("other", "shared_t", "trans_fc", "_sum.w2"),
                            ("other", "_sum.w3", "dot_mul", "_sum.w3"),
                            ("vec", "_sum.w4", "scaling", "_sum.w4")]
    check(param("_sum.w1"), size=72, dims=[6, 12], initial_std=1 / math.sqrt(6))
    check(param("shared_t"), size=144, dims=[12, 12])          # trans: [out, in]
    check(param("_sum.w3"), size=12, dims=[1, 12], initial_std=1.0)   # spec quirk 10
    check(param("_sum.w4"), size=1, dims=[1, 1], initial_std=1.0)
    check(param("_sum.wbias"), size=12, dims=[1, 12], initial_std=0.0, initial_smart=False)


def test_operator_operands_and_offset_identity():
    mixed = layer("__mixed_0__")
    check(mixed, size=12, drop_rate=0.1)
    # dotmul_operator(vec, other) first, the table second: other goes last
    assert [i.input_layer_name for i in mixed.inputs] == ["vec", "words", "other"]
    op, = mixed.operator_confs
    check(op, type="dot_mul", input_indices=[0, 2], input_sizes=[12, 12], output_size=12,
          dotmul_scale=0.5)
    part = layer("__mixed_1__")
    check(part, size=4)
    check(part.inputs[0].proj_conf, type="identity_offset", offset=3, input_size=12,
          output_size=4)


def test_conv_projections_share_one_bias_per_filter():
    convs = layer("convs")
    check(convs, size=5 * 36, shared_biases=True, bias_size=10)
    conf = convs.inputs[1].proj_conf
    check(conf, type="conv", num_filters=5, output_size=180)
    check(conf.conv_conf, filter_size=1, filter_size_y=3, padding=0, padding_y=1,
          output_x=6, output_y=6, filter_channels=3)
    # smart std sqrt(2 / (filter_size_x^2 * channels)), no dims (spec 1.4)
    check(param("_convs.w0"), size=5 * 3 * 9, dims=[], initial_std=math.sqrt(2 / 27),
          initial_smart=False)
    check(param("_convs.w1"), size=5 * 3 * 3, initial_std=0.02)
    check(param("_convs.wbias"), size=10, dims=[1, 10])


def test_transposed_conv_projection_and_conv_operator():
    up = layer("__mixed_2__")
    check(up, size=4 * 12 * 12, shared_biases=None)
    conf = up.inputs[0].proj_conf
    check(conf, type="convt", num_filters=4)
    check(conf.conv_conf, channels=3, filter_channels=4, output_x=6, img_size=12)
    check(param("___mixed_2__.w0"), size=3 * 4 * 4, initial_std=math.sqrt(2 / (4 * 3)))
    per_sample = layer("__mixed_3__")
    check(per_sample, size=4 * 4 * 4)
    assert [i.input_layer_name for i in per_sample.inputs] == ["image", "filters"]
    assert all(i.input_parameter_name is None for i in per_sample.inputs)
    op, = per_sample.operator_confs
    check(op, type="conv", input_indices=[0, 1], input_sizes=[108, 108], output_size=64,
          num_filters=4)
    assert op.conv_conf.output_x == 4 and op.conv_conf.get("dilation") == 1


def test_slice_projection_in_values():
    conf = layer("__mixed_4__").inputs[0].proj_conf
    check(conf, type="slice", output_size=4 * 36)
    assert [(s.start, s.end) for s in conf.slices] == [(0, 72), (144, 216)]


def test_gated_unit_and_repeat():
    name = "__gated_unit_layer_0__"
    check(layer(f"{name}_input_proj"), type="fc", size=5, active_type="relu")
    check(layer(f"{name}_gate"), type="fc", size=5, active_type="sigmoid")
    op, = layer(f"{name}_gated_act").operator_confs
    check(op, type="dot_mul", input_indices=[0, 1], dotmul_scale=1)
    check(layer("__repeat_layer_0__"), type="featmap_expand", size=15, num_filters=3,
          user_arg=None, active_type="")
    check(layer("cols"), size=10, num_filters=2, user_arg="as_col_vec")
