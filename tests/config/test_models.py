"""The config models: protobuf defaults, dumps, text format, document kinds."""

import math
import struct

import pytest

import minipaddle as mp
from minipaddle.config import (
    ConfigError, ConvConfig, LayerConfig, ModelConfig, OptimizationConfig, ParameterConfig,
    TrainerConfig, from_document, to_document,
)
from minipaddle.config.formulas import cnn_image_size, cnn_output_size, spp_width
from minipaddle.config.protostr import format_double


def test_unset_fields_are_none_and_get_returns_proto_defaults():
    p = ParameterConfig(name="w", size=4)
    assert p.learning_rate is None and p.initial_std is None
    assert p.get("learning_rate") == 1.0
    assert p.get("initial_std") == 0.01
    assert p.get("momentum") == 0.0
    assert p.get("num_batches_regularization") == 1
    assert LayerConfig(name="l", type="fc").get("coeff") == 1.0
    assert OptimizationConfig().get("learning_rate_schedule") == "constant"
    assert OptimizationConfig().get("adam_beta2") == 0.999
    with pytest.raises(ConfigError, match="no field 'bogus'"):
        p.get("bogus")


def test_dump_leaves_unset_fields_out():
    p = ParameterConfig(name="w", size=4, initial_std=0.5)
    assert p.dump() == {"name": "w", "size": 4, "initial_std": 0.5, "dims": []}


def test_models_are_strict():
    with pytest.raises(Exception):
        ParameterConfig(name="w", size="4")
    with pytest.raises(Exception):
        ParameterConfig(name="w", size=4, unknown_field=1)


def test_trainer_config_model_config_attribute():
    tc = TrainerConfig(model_config=ModelConfig(), opt_config=OptimizationConfig())
    assert isinstance(tc.model_config, ModelConfig)
    assert "model_config" in tc.dump()
    assert isinstance(TrainerConfig.model_config, dict)  # pydantic's settings on the class


def test_document_kinds_and_version():
    mc = ModelConfig()
    doc = to_document(mc)
    assert doc["kind"] == "model_config" and doc["schema_version"] == 1
    assert from_document(doc) == mc
    with pytest.raises(ConfigError, match="kind 'banana'"):
        from_document({**doc, "kind": "banana"}, "f.yaml")
    with pytest.raises(ConfigError, match="schema_version 99"):
        from_document({**doc, "schema_version": 99}, "f.yaml")
    with pytest.raises(ConfigError, match=r"f.yaml: invalid model_config: layers\[0\]"):
        from_document({**doc, "layers": [{"name": "x"}]}, "f.yaml")


@pytest.mark.parametrize("value,text", [
    (math.sqrt(2 / (32 * 32 * 1)), "0.0441941738242"), (1e-5, "1e-05"), (0.0, "0.0"),
    (0.9, "0.9"), (0.0128 / 32, "0.0004"), (1.0, "1.0"), (-2.5, "-2.5"), (1e16, "1e+16"),
    (0.001, "0.001")])
def test_doubles_print_like_python2_str(value, text):
    assert format_double(value) == text


def test_protostr_prints_fields_in_proto_order():
    conv = ConvConfig(filter_size=3, channels=1, stride=1, padding=0, groups=1,
                      filter_size_y=3, padding_y=0, stride_y=1, dilation=1, dilation_y=1,
                      output_x=2, img_size=4, filter_channels=1, output_y=2, img_size_y=4)
    text = mp.to_protostr(conv)
    keys = [line.split(":")[0] for line in text.strip().splitlines()]
    assert keys == ["filter_size", "channels", "stride", "padding", "groups",
                    "filter_channels", "output_x", "img_size", "caffe_mode", "filter_size_y",
                    "padding_y", "stride_y", "output_y", "img_size_y", "dilation", "dilation_y"]
    assert "caffe_mode: true" in text


def test_protostr_repeated_and_nested():
    p = ParameterConfig(name="b", size=3, initial_mean=0.0, initial_std=0.0, dims=[3, 1],
                        initial_strategy=0, initial_smart=False)
    assert mp.to_protostr(p) == (
        'name: "b"\nsize: 3\ninitial_mean: 0.0\ninitial_std: 0.0\ndims: 3\ndims: 1\n'
        'initial_strategy: 0\ninitial_smart: false\n\n')


@pytest.mark.parametrize("img,f,p,s,caffe,d,expected", [
    (28, 5, 0, 1, True, 1, 24), (256, 32, 1, 1, True, 1, 227), (227, 32, 0, 1, False, 1, 196),
    (5, 2, 0, 2, True, 1, 2), (5, 2, 0, 2, False, 1, 3), (16, 2, 0, 2, True, 2, 7),
    (8, 2, 1, 2, True, 2, 4), (3, 5, 0, 1, True, 1, -1), (3, 4, 0, 1, True, 1, 0)])
def test_cnn_output_size(img, f, p, s, caffe, d, expected):
    assert cnn_output_size(img, f, p, s, caffe, d) == expected


def test_cnn_image_size_and_spp():
    assert cnn_image_size(8, 2, 0, 2) == 16      # testConvTransLayer x
    assert cnn_image_size(8, 4, 1, 2) == 16      # testConvTransLayer y
    assert cnn_image_size(16, 3, 0, 2) == 33
    assert [spp_width(h) for h in (1, 2, 3)] == [1, 5, 21]


def test_every_field_carries_a_distinct_proto_number_in_increasing_order():
    # the binary format and the protostr printer both walk the fields in declared order
    from minipaddle.config import models
    from minipaddle.config.models import PROTO_NUMBER, ProtoModel

    for model in vars(models).values():
        if not (isinstance(model, type) and issubclass(model, ProtoModel)) or model is ProtoModel:
            continue
        numbers = [(info.json_schema_extra or {}).get(PROTO_NUMBER)
                   for info in model.model_fields.values()]
        numbers = [n for n in numbers if n is not None]
        assert numbers == sorted(set(numbers)), model.__name__


def test_float_fields_are_32_bit_on_the_wire_and_unset_repeated_fields_stay_unset():
    from minipaddle.config.models import LayerConfig, LayerInputConfig, PriorBoxConfig
    from minipaddle.config.protobin import from_protobin, to_protobin

    box = PriorBoxConfig(min_size=[30], max_size=[60], aspect_ratio=[2.0],
                         variance=[0.1, 0.1, 0.2, 0.2])
    layer = LayerConfig(name="p", type="priorbox",
                        inputs=[LayerInputConfig(input_layer_name="x", priorbox_conf=box)])
    data = to_protobin(layer)
    # variance: 4 entries, each a tag byte and 4 bytes (a double would take 8)
    variance_bytes = b"".join(b"\x25" + struct.pack("<f", v) for v in (0.1, 0.1, 0.2, 0.2))
    assert variance_bytes in data
    back = from_protobin(LayerConfig, data)
    assert back.inputs[0].priorbox_conf.variance == [struct.unpack("<f", struct.pack("<f", v))[0]
                                                     for v in (0.1, 0.1, 0.2, 0.2)]
    # offset/shape/operator_confs are repeated fields nobody set: absent, not []
    assert "offset" not in back.dump() and "operator_confs" not in back.dump()
