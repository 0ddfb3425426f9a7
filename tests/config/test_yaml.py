"""Model-zoo YAML: YAML 1.1 traps the strict loader must avoid, and error reports that name the
file, the entry and the key.

Files are written to tmp_path: either derived from model_zoo/lenet.yaml (loaded with
read_yaml_file, changed as data and re-dumped) or written by hand where the point is how a
plain scalar is spelled.
"""

from __future__ import annotations

import copy
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

import minipaddle
from minipaddle import ConfigError, parse_config
from minipaddle.config import load_yaml, read_yaml_file

LENET = Path(__file__).resolve().parents[2] / "model_zoo" / "lenet.yaml"

# layers of lenet.yaml, by index:
# 0 data_layer pixel, 1 data_layer label, 2 simple_img_conv_pool conv1,
# 3 simple_img_conv_pool conv2, 4 fc_layer hidden, 5 fc_layer predict, 6 classification_cost cost


@pytest.fixture(scope="module")
def lenet() -> dict:
    return read_yaml_file(LENET)


def lenet_doc(lenet: dict) -> dict:
    return copy.deepcopy(lenet)


def write(tmp_path: Path, text, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def dump(tmp_path: Path, doc: dict, name: str = "model.yaml") -> Path:
    return write(tmp_path, yaml.safe_dump(doc, sort_keys=False), name)


def fails(path: Path, *parts: str) -> ConfigError:
    """parse_config(path) raises a ConfigError whose message starts with the file and
    contains every regex in ``parts`` (in order)."""
    with pytest.raises(ConfigError) as ei:
        parse_config(path)
    message = str(ei.value)
    assert message.startswith(str(path)), message
    pattern = ".*".join(parts)
    assert re.search(pattern, message, re.S), f"{pattern!r} not in {message!r}"
    return ei.value


def entry(index: int, function: str, name: str | None = None) -> str:
    """Regex for the entry label 'layers[i] (function 'name')'."""
    label = f"{function} {name!r}" if name is not None else function
    return re.escape(f"layers[{index}] ({label})")


def key(name: str) -> str:
    return re.escape(f", key {name!r}")


def tiny(layers: str, settings: str = "{batch_size: 16}", outputs: str = "[cost]") -> str:
    """A hand-written model: ``layers`` is the YAML text of the list items."""
    return textwrap.dedent("""\
        schema_version: 1
        kind: model
        name: tiny
        settings: {settings}
        layers:
        {layers}
        outputs: {outputs}
        """).format(settings=settings, outputs=outputs,
                    layers=textwrap.dedent(layers).strip())


TINY_TAIL = """\
- fc_layer: {name: predict, input: HIDDEN, size: 10, act: softmax}
- data_layer: {name: label, size: 10}
- classification_cost: {name: cost, input: predict, label: label}
"""


# ---------------------------------------------------------------------------------------------
# controls


def test_lenet_loads_and_round_trips_through_a_dump(lenet, tmp_path):
    original = parse_config(LENET)
    redumped = parse_config(dump(tmp_path, lenet_doc(lenet)))
    assert redumped == original
    assert [layer.name for layer in original.model_config.layers][-3:] == [
        "hidden", "predict", "cost"]


def test_tiny_model_helper_is_valid(tmp_path):
    text = tiny("- data_layer: {name: pixel, size: 64, height: 8, width: 8}\n"
                + TINY_TAIL.replace("HIDDEN", "pixel"))
    config = parse_config(write(tmp_path, text))
    assert [layer.name for layer in config.model_config.layers] == [
        "pixel", "predict", "label", "cost"]


# ---------------------------------------------------------------------------------------------
# YAML 1.1 traps


def test_exponent_without_dot_is_a_float(tmp_path):
    # YAML 1.1 (PyYAML's default resolver) reads 1e-3 as the string '1e-3'.
    assert load_yaml("x: 1e-3") == {"x": 0.001}
    text = tiny("- data_layer: {name: pixel, size: 64}\n" + TINY_TAIL.replace("HIDDEN", "pixel"),
                settings="{batch_size: 16, learning_rate: 1e-3}")
    config = parse_config(write(tmp_path, text))
    assert config.opt_config.learning_rate == 0.001
    assert isinstance(config.opt_config.learning_rate, float)


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "y", "n", "On", "YES"])
def test_yes_no_on_off_stay_strings_as_layer_names(tmp_path, word):
    assert load_yaml(f"name: {word}") == {"name": word}
    text = tiny(f"- data_layer: {{name: pixel, size: 64}}\n"
                f"- fc_layer: {{name: {word}, input: pixel, size: 32, act: relu}}\n"
                + TINY_TAIL.replace("HIDDEN", word))
    config = parse_config(write(tmp_path, text))
    names = [layer.name for layer in config.model_config.layers]
    assert names[1] == word
    assert config.model_config.layers[2].inputs[0].input_layer_name == word


CONV_ENTRY = ("- data_layer: {name: pixel, size: 64, height: 8, width: 8}\n"
              "- img_conv_layer: {name: conv, input: pixel, filter_size: 3, num_filters: 2, "
              "shared_biases: SHARED}\n")


def test_shared_biases_yes_is_a_string_not_a_bool(tmp_path):
    path = write(tmp_path, tiny(CONV_ENTRY.replace("SHARED", "yes")
                                + TINY_TAIL.replace("HIDDEN", "conv")))
    err = fails(path, entry(1, "img_conv_layer", "conv"), key("shared_biases"),
                r"shared_biases='yes'", r"expected a valid boolean")
    assert err.argument == "shared_biases"


@pytest.mark.parametrize("word", ["no", "on", "off", "True "])
def test_other_yaml11_booleans_are_strings_too(tmp_path, word):
    path = write(tmp_path, tiny(CONV_ENTRY.replace("SHARED", word)
                                + TINY_TAIL.replace("HIDDEN", "conv")))
    if word.strip() == "True":
        # a real YAML 1.2 boolean: accepted
        assert parse_config(path).model_config.layers[1].shared_biases is True
    else:
        fails(path, entry(1, "img_conv_layer", "conv"), key("shared_biases"),
              re.escape(f"shared_biases={word!r}"))


def test_shared_biases_false_is_a_bool(tmp_path):
    path = write(tmp_path, tiny(CONV_ENTRY.replace("SHARED", "false")
                                + TINY_TAIL.replace("HIDDEN", "conv")))
    assert parse_config(path).model_config.layers[1].shared_biases is False


def test_leading_zero_is_decimal_not_octal(tmp_path):
    # YAML 1.1 reads 010 as octal 8.
    assert load_yaml("size: 010") == {"size": 10}
    text = tiny("- data_layer: {name: pixel, size: 064}\n"
                "- fc_layer: {name: hidden, input: pixel, size: 010, act: relu}\n"
                + TINY_TAIL.replace("HIDDEN", "hidden"))
    layers = parse_config(write(tmp_path, text)).model_config.layers
    assert (layers[0].size, layers[1].size) == (64, 10)


def test_date_stays_a_string(tmp_path):
    # YAML 1.1 reads 2001-01-01 as datetime.date.
    assert load_yaml("name: 2001-01-01") == {"name": "2001-01-01"}
    text = tiny("- data_layer: {name: pixel, size: 64}\n"
                "- fc_layer: {name: 2001-01-01, input: pixel, size: 16, act: relu}\n"
                + TINY_TAIL.replace("HIDDEN", "2001-01-01"))
    layers = parse_config(write(tmp_path, text)).model_config.layers
    assert layers[1].name == "2001-01-01"
    assert layers[2].inputs[0].input_layer_name == "2001-01-01"


def test_quoted_number_is_not_coerced(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["size"] = "500"
    path = dump(tmp_path, doc)
    assert "size: '500'" in path.read_text()
    err = fails(path, entry(4, "fc_layer", "hidden"), key("size"), r"size='500'",
                r"expected a valid integer")
    assert (err.layer, err.argument) == ("hidden", "size")


def test_hand_written_double_quoted_size(tmp_path):
    text = tiny('- data_layer: {name: pixel, size: "784"}\n'
                + TINY_TAIL.replace("HIDDEN", "pixel"))
    fails(write(tmp_path, text), entry(0, "data_layer", "pixel"), key("size"),
          r"size='784'", r"expected a valid integer")


def test_float_size_is_not_coerced(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["size"] = 500.0
    fails(dump(tmp_path, doc), entry(4, "fc_layer", "hidden"), key("size"), r"size=500\.0",
          r"expected a valid integer")


# ---------------------------------------------------------------------------------------------
# syntax-level errors: the file and the line


def test_truncated_file(tmp_path):
    text = LENET.read_text()
    cut = text.index("size: 784")  # in the middle of the first layer entry's flow mapping
    path = write(tmp_path, text[:cut + len("size: 7")])
    with pytest.raises(ConfigError) as ei:
        parse_config(path)
    message = str(ei.value)
    line = text[:cut].count("\n") + 1
    assert re.match(rf"{re.escape(str(path))}:{line}: invalid YAML", message), message


def test_truncated_file_at_a_layer_boundary_is_a_model_error(lenet, tmp_path):
    # Cut after the conv layers: valid YAML, but 'outputs' names the missing 'cost'.
    text = LENET.read_text()
    path = write(tmp_path, text[:text.index("  - fc_layer: {name: hidden")] + "outputs: [cost]\n")
    fails(path, r"outputs", r"no layer named 'cost'")


def test_non_utf8_bytes(tmp_path):
    raw = LENET.read_bytes().replace(b"name: lenet", b"name: len\xff\xfeet")
    path = write(tmp_path, raw)
    offset = raw.index(b"\xff")
    fails(path, rf"not UTF-8 text: byte {offset} is 0xff")


@pytest.mark.parametrize("old, new", [
    ("size: 500", "size: &big 500"),
    ("- data_layer: {name: label, size: 10}", "- data_layer: &lab {name: label, size: 10}"),
], ids=["scalar-anchor", "mapping-anchor"])
def test_anchors_refused(tmp_path, old, new):
    text = LENET.read_text()
    assert old in text
    changed = text.replace(old, new)
    line = changed[:changed.index("&")].count("\n") + 1
    fails(write(tmp_path, changed), rf":{line}: invalid YAML: anchors and aliases")


def test_alias_refused(tmp_path):
    text = LENET.read_text().replace("size: 500", "size: &big 500").replace(
        "size: 10, act: softmax", "size: *big, act: softmax")
    fails(write(tmp_path, text), r"invalid YAML: anchors and aliases")


def test_merge_key_alias_refused(tmp_path):
    text = tiny("- data_layer: &d {name: pixel, size: 64}\n"
                "- data_layer: {<<: *d, name: pixel2}\n"
                + TINY_TAIL.replace("HIDDEN", "pixel"))
    fails(write(tmp_path, text), r"anchors and aliases")


PAYLOADS = [
    '!!python/object/apply:os.system ["touch {target}"]',
    '!!python/object/apply:subprocess.check_call [["touch", "{target}"]]',
    '!!python/object/new:os.system ["touch {target}"]',
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=["apply-os.system", "apply-subprocess",
                                                   "new-os.system"])
def test_python_tags_refused_and_nothing_runs(lenet, tmp_path, payload):
    target = tmp_path / "pwned"
    text = LENET.read_text().replace("name: lenet", "name: " + payload.format(target=target))
    path = write(tmp_path, text)
    line = text[:text.index("!!python")].count("\n") + 1
    fails(path, rf":{line}: invalid YAML: could not determine a constructor for the tag "
          r"'tag:yaml\.org,2002:python/")
    with pytest.raises(ConfigError, match="invalid YAML"):
        read_yaml_file(path)
    with pytest.raises(ConfigError, match="invalid YAML"):
        minipaddle.from_yaml(path)
    assert not target.exists(), "the YAML tag ran code"


@pytest.mark.skipif(shutil.which("touch") is None, reason="needs the touch command")
def test_python_tag_payload_is_live_under_an_unsafe_loader(tmp_path):
    # Control for the test above: the very same payload does run under PyYAML's unsafe
    # loader, so 'the file was not created' really means minipaddle ran nothing.
    target = tmp_path / "control"
    yaml.unsafe_load(f'name: !!python/object/apply:os.system ["touch {target}"]')
    assert target.exists()


# ---------------------------------------------------------------------------------------------
# document-level errors


def test_unknown_top_level_key(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["extra"] = 1
    fails(dump(tmp_path, doc), re.escape("key 'extra'"), r"unknown top-level key 'extra'",
          r"allowed: schema_version, kind")


def test_unknown_top_level_key_suggests(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["output"] = doc.pop("outputs")
    fails(dump(tmp_path, doc), re.escape("key 'output'"),
          re.escape("(did you mean 'outputs'"))


def test_wrong_kind_trainer_config_with_garbage(tmp_path):
    path = write(tmp_path, "schema_version: 1\nkind: trainer_config\nfoo: bar\n")
    fails(path, r"invalid trainer_config", r"(?i:foo: extra inputs are not permitted)")


def test_wrong_kind_banana(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["kind"] = "banana"
    fails(dump(tmp_path, doc), r"kind 'banana'", r"expected 'model'")


def test_wrong_schema_version(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["schema_version"] = 2
    fails(dump(tmp_path, doc), re.escape("key 'schema_version'"), r"schema_version 2")


def test_document_not_a_mapping(tmp_path):
    fails(write(tmp_path, "- just\n- a list\n"), r"expected a mapping with a 'kind' key")


# ---------------------------------------------------------------------------------------------
# entry-level errors


def test_unknown_layer_function_suggests(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4] = {"fc_layr": doc["layers"][4]["fc_layer"]}
    fails(dump(tmp_path, doc), entry(4, "fc_layr"), r"unknown layer function 'fc_layr'",
          re.escape("(did you mean 'fc_layer'"))


def test_settings_is_not_a_layer_function(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"].insert(2, {"settings": {"batch_size": 3}})
    fails(dump(tmp_path, doc), entry(2, "settings"), r"unknown layer function 'settings'")


def test_reference_to_missing_layer(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][5]["fc_layer"]["input"] = "hiden"
    fails(dump(tmp_path, doc), entry(5, "fc_layer", "predict"), key("input"),
          r"no layer named 'hiden'", re.escape("(did you mean 'hidden'"))


def test_reference_to_missing_layer_in_a_list(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][5]["fc_layer"]["input"] = ["hidden", "nope"]
    fails(dump(tmp_path, doc), entry(5, "fc_layer", "predict"), key("input"),
          r"no layer named 'nope'")


def test_reference_to_later_layer(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][3]["simple_img_conv_pool"]["input"] = "hidden"
    fails(dump(tmp_path, doc), entry(3, "simple_img_conv_pool", "conv2"), key("input"),
          r"layer 'hidden' is defined later, at layers\[4\]")


def test_reference_to_itself(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["input"] = "hidden"
    fails(dump(tmp_path, doc), entry(4, "fc_layer", "hidden"), key("input"),
          r"layer 'hidden' refers to itself")


def test_duplicate_names(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["name"] = "conv1"
    doc["layers"][5]["fc_layer"]["input"] = "conv1"
    fails(dump(tmp_path, doc), entry(4, "fc_layer", "conv1"), key("name"),
          r"duplicate name 'conv1': layers\[2\] already defines it")


def test_duplicate_data_layer_names(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][1]["data_layer"]["name"] = "pixel"
    fails(dump(tmp_path, doc), entry(1, "data_layer", "pixel"), key("name"),
          r"duplicate name 'pixel'")


def test_negative_size(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["size"] = -5
    fails(dump(tmp_path, doc), entry(4, "fc_layer", "hidden"), key("size"), r"size=-5",
          r"greater than 0")


def test_huge_data_layer_size(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][1]["data_layer"]["size"] = 10 ** 30
    path = dump(tmp_path, doc)
    assert "size: 1000000000000000000000000000000" in path.read_text()
    fails(path, entry(1, "data_layer", "label"), key("size"),
          r"size=1000000000000000000000000000000", r"more than a config can describe")


def test_huge_fc_size_is_a_clear_error(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["size"] = 10 ** 30
    fails(dump(tmp_path, doc), entry(4, "fc_layer", "hidden"), r"more than")


def test_huge_fc_size_names_the_size_key(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["size"] = 10 ** 30
    fails(dump(tmp_path, doc), entry(4, "fc_layer", "hidden"), key("size"))


def test_huge_float_is_not_infinity(lenet, tmp_path):
    doc = lenet_doc(lenet)
    path = dump(tmp_path, doc)
    text, count = re.subn(r"(?m)^(\s*)learning_rate: \S+$", r"\1learning_rate: 1e999",
                          path.read_text())
    assert count == 1
    fails(write(tmp_path, text), r"settings", key("learning_rate"), r"finite")


def test_layer_entry_not_a_mapping(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4] = "fc_layer"
    fails(dump(tmp_path, doc), re.escape("layers[4]: "), r"each entry is a mapping",
          r"got str 'fc_layer'")


def test_layer_entry_with_two_functions(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["dropout_layer"] = {"dropout_rate": 0.5}
    fails(dump(tmp_path, doc), re.escape("layers[4]: "), r"each entry is a mapping of one")


def test_layer_args_not_a_mapping(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4] = {"fc_layer": [1, 2]}
    fails(dump(tmp_path, doc), entry(4, "fc_layer"), r"arguments of fc_layer must be a mapping",
          r"got list \[1, 2\]")


def test_unknown_argument_in_entry(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["sise"] = 5
    fails(dump(tmp_path, doc), entry(4, "fc_layer", "hidden"), r"unknown argument 'sise'")


def test_layers_not_a_list(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"] = {"fc_layer": {"size": 3}}
    fails(dump(tmp_path, doc), re.escape("key 'layers'"), r"non-empty list")


def test_dsl_error_in_entry_names_entry_key_and_value(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][2]["simple_img_conv_pool"]["pool_type"] = "maxx"
    fails(dump(tmp_path, doc), entry(2, "simple_img_conv_pool", "conv1"), key("pool_type"),
          r"pool_type='maxx'", r"unknown pool type")


def test_dsl_error_has_no_python_location(lenet, tmp_path):
    # Errors from a YAML file name the file and the entry, never a Python file:line.
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["act"] = "relux"
    err = fails(dump(tmp_path, doc), entry(4, "fc_layer", "hidden"), key("act"),
                r"unknown activation 'relux'")
    assert ".py:" not in str(err)


# ---------------------------------------------------------------------------------------------
# mappings built into objects, duplicate keys, tags beyond plain data, inner layers


def test_param_attr_mapping_with_unknown_key(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["layers"][4]["fc_layer"]["param_attr"] = {"initial_sdt": 0.1}
    fails(dump(tmp_path, doc), entry(4, "fc_layer", "hidden"), key("param_attr"),
          r"unknown key 'initial_sdt' for ParameterAttribute", re.escape("'initial_std'"))


@pytest.mark.parametrize("method,message", [
    ("adamax", r"learning method 'adamax' needs 'beta1', 'beta2'"),
    ({"adam": {"beta": 0.8}}, r"unknown key 'beta' for learning method 'adam'"),
    ({"adam": {}, "momentum": {}}, r"exactly one key"),
    ("sgd", r"unknown learning method 'sgd'"),
])
def test_learning_method_mapping_errors(lenet, tmp_path, method, message):
    doc = lenet_doc(lenet)
    doc["settings"]["learning_method"] = method
    fails(dump(tmp_path, doc), r"settings", key("learning_method"), message)


def test_regularization_list_and_model_average(lenet, tmp_path):
    doc = lenet_doc(lenet)
    doc["settings"]["regularization"] = [{"l2": 0.5}]
    doc["settings"]["model_average"] = {"average_window": 0.5, "max_average_window": 100}
    tc = parse_config(dump(tmp_path, doc))
    assert tc.model_config.parameter("_hidden.w0").decay_rate == 0.5
    assert (tc.opt_config.average_window, tc.opt_config.max_average_window) == (0.5, 100)
    doc["settings"]["model_average"] = {"window": 0.5}
    fails(dump(tmp_path, doc), key("model_average"), r"unknown key 'window' for ModelAverage")


def test_duplicate_mapping_keys_are_refused(tmp_path):
    text = LENET.read_text().replace("{name: hidden, input: conv2,",
                                     "{name: hidden, name: other, input: conv2,")
    fails(write(tmp_path, text), r":\d+: invalid YAML: duplicate key 'name'")


@pytest.mark.parametrize("tagged", ["!!binary aGk=", "!!set {a}", "!!timestamp 2001-01-01",
                                    "!custom 3"])
def test_tags_beyond_plain_data_are_refused(tagged):
    with pytest.raises(ConfigError, match="could not determine a constructor"):
        load_yaml(f"a: {tagged}\n")


def test_entries_may_refer_to_a_helpers_inner_layers(lenet, tmp_path):
    doc = lenet_doc(lenet)
    # conv1's inner conv layer (before its pooling), by its real name
    doc["layers"].insert(5, {"fc_layer": {"name": "side", "input": "conv1_conv", "size": 4}})
    tc = parse_config(dump(tmp_path, doc))
    assert tc.model_config.layer("side").inputs[0].input_layer_name == "conv1_conv"
