"""mixed_layer in the DSL: the YAML model-zoo form (projections as one-key mappings), the
summary's shapes, parameters and multiply-adds, and one-line errors naming the layer, the
argument and what was expected."""

from __future__ import annotations

import re

import pytest

import minipaddle as mp
from minipaddle import (
    ExtraAttr, conv_operator, conv_projection, data_layer, dotmul_operator,
    full_matrix_projection, identity_projection, img_conv_layer, mixed_layer, outputs,
    repeat_layer, scaling_projection, slice_projection, table_projection,
    trans_full_matrix_projection,
)
from minipaddle.config.summary import format_summary

YAML = """\
schema_version: 1
kind: model
name: mixed
layers:
  - data_layer: {name: x, size: 6}
  - data_layer: {name: y, size: 6}
  - data_layer: {name: ids, size: 10}
  - mixed_layer:
      name: m
      size: 4
      act: tanh
      bias_attr: true
      input:
        - full_matrix_projection: {input: x}
        - trans_full_matrix_projection: {input: y}
        - table_projection: {input: ids}
        - identity_projection: {input: x, offset: 2}
  - mixed_layer:
      name: p
      input: [{dotmul_operator: {a: x, b: y, scale: 2}}, {scaling_projection: {input: x}}]
  - repeat_layer: {name: r, input: m, num_repeats: 3}
  - gated_unit_layer: {name: g, input: p, size: 3}
outputs: [r, g_gated_act]
"""


def dsl_network():
    x = data_layer(name="x", size=6)
    y = data_layer(name="y", size=6)
    ids = data_layer(name="ids", size=10)
    m = mixed_layer(name="m", size=4, act=mp.TanhActivation(), bias_attr=True,
                    input=[full_matrix_projection(input=x),
                           trans_full_matrix_projection(input=y),
                           table_projection(input=ids), identity_projection(input=x, offset=2)])
    p = mixed_layer(name="p", input=[dotmul_operator(a=x, b=y, scale=2),
                                     scaling_projection(input=x)])
    r = repeat_layer(name="r", input=m, num_repeats=3)
    g = mp.gated_unit_layer(name="g", input=p, size=3)
    outputs(r, g)


def test_yaml_form_equals_the_dsl(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(dsl_network).model_config
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.parameters == from_dsl.parameters
    net = mp.compile(from_yaml, dtype="float64")
    assert net.shapes["r"] == (12,) and net.parameters["_m.w2"].shape == (10, 4)


def test_summary_shapes_parameters_and_mult_adds():
    def network():
        img = data_layer(name="img", size=2 * 5 * 5, height=5, width=5)
        flt = data_layer(name="flt", size=3 * 2 * 3 * 3)
        x = data_layer(name="x", size=6)
        with mixed_layer(name="c", bias_attr=True) as c:
            c += conv_projection(img, filter_size=3, num_filters=3)
        mixed_layer(name="o", input=conv_operator(img=img, filter=flt, filter_size=3,
                                                  num_filters=3))
        mixed_layer(name="v", size=4, input=full_matrix_projection(x))
        outputs(c)
    text = format_summary(mp.parse_config(network).model_config)
    rows = {line.split()[0]: line.split() for line in text.splitlines()
            if line.split()[:1] in (["c"], ["o"], ["v"])}
    # conv projection: 3 filters x 2 channels x 3x3 weights + 3 shared biases; per output
    # value 2*9 multiply-adds, 3 x 3 x 3 outputs
    assert rows["c"][1:] == ["mixed", "27", "57", f"{27 * 18:,}"]
    assert rows["o"][1:] == ["mixed", "27", "0", f"{27 * 18:,}"]
    assert rows["v"][1:] == ["mixed", "4", "24", "24"]


ERRORS = {
    "size mismatch": (lambda x, c: mixed_layer(size=3, input=identity_projection(x)),
                      r"mixed_layer '__mixed_0__': input=identity_projection\(input='x'\): "
                      r".*gives size 4, but the layer's size is 3"),
    "no size": (lambda x, c: mixed_layer(input=full_matrix_projection(x)),
                r"mixed_layer '__mixed_0__': size=0: cannot infer the layer's size"),
    "a layer as a term": (lambda x, c: mixed_layer(input=[x]),
                          r"input=\[layer 'x'\]: layer 'x' is not a projection or operator; "
                          r".*identity_projection\(input=x\)"),
    "dotmul sizes": (lambda x, c: dotmul_operator(x, c),
                     r"dotmul_operator: b=layer 'c': size 36 differs from a's \('x'\) size 4"),
    "slice of a data layer": (lambda x, c: slice_projection(x, slices=[(0, 1)]),
                              r"slice_projection: input=layer 'x': .*convolution layer"),
    "slice past the channels": (lambda x, c: slice_projection(c, slices=[(0, 2), (3, 5)]),
                                r"slice_projection: slices=.*ends at channel 5, past the 4"),
    "slices overlap": (lambda x, c: slice_projection(c, slices=[(1, 3), (2, 4)]),
                       r"slice_projection: slices\[1\]=\(2, 4\): each slice needs 3 <= start"),
    "offset past the input": (lambda x, c: mixed_layer(size=4, input=identity_projection(
                                  x, offset=1)), r"offset 1 \+ the layer's size 4 is past"),
    "conv operator filter size": (lambda x, c: conv_operator(img=c, filter=x, filter_size=3,
                                                             num_filters=2),
                                  r"conv_operator: filter=layer 'x': size 4 is not the 72"),
    "conv first with another term": (lambda x, c: mixed_layer(input=[
        conv_projection(c, filter_size=1, num_filters=4), identity_projection(c)]),
        r"first input is a conv_projection .* every input must be a conv_projection"),
    "layer_attr": (lambda x, c: mixed_layer(input=identity_projection(x),
                                            layer_attr=ExtraAttr(drop_rate=0.5)) and
                   repeat_layer(x, 2, layer_attr=ExtraAttr(drop_rate=0.5)),
                   r"repeat_layer '__repeat_layer_0__': layer_attr=.*does not support "
                   r"drop_rate"),
    "negative size": (lambda x, c: full_matrix_projection(x, size=-1),
                      r"full_matrix_projection: size=-1: expected a value greater than"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_name_the_layer_argument_and_expectation(case):
    build, pattern = ERRORS[case]

    def network():
        x = data_layer(name="x", size=4)
        img = data_layer(name="img", size=4 * 3 * 3, height=3, width=3)
        c = img_conv_layer(input=img, filter_size=1, num_filters=4, name="c")
        build(x, c)
    with pytest.raises(mp.ConfigError) as err:
        mp.parse_config(network)
    message = str(err.value)
    assert "\n" not in message and re.search(pattern, message), message
    assert "test_mixed_dsl.py" in message        # the user's file and line


def test_with_block_errors():
    def add_after_close():
        x = data_layer(name="x", size=4)
        with mixed_layer(size=4, name="m") as m:
            m += identity_projection(x)
        m += identity_projection(x)
    with pytest.raises(mp.ConfigError, match=r"mixed_layer 'm': cannot add identity_projection"
                                             r".*with-block closed"):
        mp.parse_config(add_after_close)

    def empty():
        with mixed_layer(size=4, name="m"):
            pass
    with pytest.raises(mp.ConfigError, match=r"mixed_layer 'm': .*no projection or operator"):
        mp.parse_config(empty)

    def add_a_layer():
        x = data_layer(name="x", size=4)
        with mixed_layer(size=4, name="m") as m:
            m += x
    with pytest.raises(mp.ConfigError, match=r"mixed_layer 'm': \+= takes a projection"):
        mp.parse_config(add_a_layer)

    def use_before_written():
        x = data_layer(name="x", size=4)
        m = mixed_layer(size=4, name="m")
        m += identity_projection(x)
        mp.fc_layer(input=m, size=2, name="f")
    with pytest.raises(mp.ConfigError, match=r"fc_layer 'f': input=layer 'm': this mixed layer "
                                             r"is not written yet"):
        mp.parse_config(use_before_written)
