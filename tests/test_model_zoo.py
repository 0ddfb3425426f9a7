"""The shipped model zoo: every file parses, has exactly the parameter counts worked out by hand,
has the layer shapes its architecture promises, and survives YAML/JSON round trips."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import minipaddle
from minipaddle.config import read_yaml_file
from minipaddle.config.summary import parameter_totals

ZOO = Path(__file__).resolve().parent.parent / "model_zoo"


def conv(in_channels: int, filters: int, k: int, groups: int = 1, bias: bool = True) -> int:
    """Weights (+ one shared bias per filter) of a k x k convolution."""
    return filters * (in_channels // groups) * k * k + (filters if bias else 0)


def fc(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# file -> (trainable, static), each worked out by hand below.
LENET = conv(1, 20, 5) + conv(20, 50, 5) + fc(50 * 4 * 4, 500) + fc(500, 10)
ALEXNET = (conv(3, 96, 11) + conv(96, 256, 5, groups=2) + conv(256, 384, 3)
           + conv(384, 384, 3, groups=2) + conv(384, 256, 3, groups=2)
           + fc(256 * 6 * 6, 4096) + fc(4096, 4096) + fc(4096, 1000))
SMALL_VGG_CONVS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256),
                   (256, 256), (256, 512), (512, 512), (512, 512)]
# each conv (with bias) is followed by a batch norm: scale + shift trainable, mean + var static
SMALL_VGG = (sum(conv(c, f, 3) + 2 * f for c, f in SMALL_VGG_CONVS)
             + fc(512, 512) + 2 * 512 + fc(512, 10))
SMALL_VGG_STATIC = 2 * (sum(f for _, f in SMALL_VGG_CONVS) + 512)
VGG16_CONVS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
               (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
VGG16 = (sum(conv(c, f, 3) for c, f in VGG16_CONVS) + fc(512 * 7 * 7, 4096) + fc(4096, 4096)
         + fc(4096, 1000))


def _resnet20() -> tuple[int, int]:
    trainable = conv(3, 16, 3, bias=False) + 2 * 16
    bn_channels = 16
    prev = 16
    for filters in (16, 32, 64):
        for block in range(3):
            trainable += conv(prev, filters, 3, bias=False) + 2 * filters
            trainable += conv(filters, filters, 3, bias=False) + 2 * filters
            bn_channels += 2 * filters
            if prev != filters:  # projection shortcut
                trainable += conv(prev, filters, 1, bias=False) + 2 * filters
                bn_channels += filters
            prev = filters
    return trainable + fc(64, 10), 2 * bn_channels


RESNET20, RESNET20_STATIC = _resnet20()
DIGITS = conv(1, 16, 3) + conv(16, 32, 3) + fc(32 * 2 * 2, 64) + fc(64, 10)

EXPECTED = {
    "lenet.yaml": (LENET, 0),
    "lenet.py": (LENET, 0),
    "alexnet.yaml": (ALEXNET, 0),
    "small_vgg.yaml": (SMALL_VGG, SMALL_VGG_STATIC),
    "vgg16.yaml": (VGG16, 0),
    "resnet_cifar.yaml": (RESNET20, RESNET20_STATIC),
    "digits.yaml": (DIGITS, 0),
}
YAML_FILES = sorted(name for name in EXPECTED if name.endswith(".yaml"))
# detection networks (not classifiers: tested at the end of this file)
SSD_SHAPES = conv(1, 8, 3) + conv(8, 16, 3) + conv(16, 32, 3) + 2 * conv(32, 16, 3)
DETECTION = {"ssd_shapes.yaml": (SSD_SHAPES, 0)}


@functools.lru_cache(maxsize=None)
def parsed(name: str) -> minipaddle.TrainerConfig:
    return minipaddle.parse_config(ZOO / name)


def chw(cfg: minipaddle.TrainerConfig, layer: str) -> tuple[int, int, int]:
    """(channels, height, width) of an image layer, from its size, height and width."""
    config = cfg.model_config.layer(layer)
    assert config.height and config.width, f"{layer} carries no height/width"
    channels, rest = divmod(config.size, config.height * config.width)
    assert rest == 0
    return channels, config.height, config.width


def layer_params(cfg: minipaddle.TrainerConfig, layer: str) -> int:
    model = cfg.model_config
    config = model.layer(layer)
    names = [i.input_parameter_name for i in config.inputs if i.input_parameter_name]
    names += [config.bias_parameter_name] if config.bias_parameter_name else []
    return sum(model.parameter(n).size for n in names)


# -- every file ---------------------------------------------------------------------------------


def test_the_hand_counts_match_the_published_ones():
    assert (LENET, ALEXNET, VGG16, DIGITS) == (431_080, 60_965_224, 138_357_544, 13_706)
    assert (SMALL_VGG, SMALL_VGG_STATIC) == (7_909_450, 6_400)
    assert (RESNET20, RESNET20_STATIC) == (272_474, 1_568)


def test_every_shipped_file_is_covered():
    shipped = {p.name for p in ZOO.iterdir() if p.suffix in (".yaml", ".yml", ".py", ".json")}
    assert shipped == set(EXPECTED) | set(DETECTION)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parameter_counts(name):
    assert parameter_totals(parsed(name).model_config) == EXPECTED[name]


@pytest.mark.parametrize("name", YAML_FILES)
def test_yaml_files_have_the_documented_top_level_keys(name):
    doc = read_yaml_file(ZOO / name)
    assert doc["schema_version"] == 1
    assert doc["kind"] == "model"
    assert doc["name"] == Path(name).stem
    assert isinstance(doc["description"], str) and doc["description"]
    assert {"batch_size", "learning_rate", "learning_method"} <= set(doc["settings"])
    assert doc["layers"] and doc["outputs"] == ["cost"]
    opt = parsed(name).opt_config
    assert opt.batch_size == doc["settings"]["batch_size"]
    assert opt.learning_rate == doc["settings"]["learning_rate"]
    assert opt.learning_method == "momentum"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_model_ends_in_a_classification_cost(name):
    model = parsed(name).model_config
    assert model.output_layer_names == ["cost"]
    cost = model.layer("cost")
    assert cost.type == "multi-class-cross-entropy"
    predict = model.layer(cost.inputs[0].input_layer_name)
    label = model.layer(cost.inputs[1].input_layer_name)
    assert predict.active_type == "softmax"
    assert label.type == "data" and label.size == predict.size
    assert [e.type for e in model.evaluators] == ["classification_error"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_yaml_and_json_round_trips(name):
    cfg = parsed(name)
    assert minipaddle.from_yaml(minipaddle.to_yaml(cfg)) == cfg
    assert minipaddle.from_json(minipaddle.to_json(cfg)) == cfg


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_resolved_dump_parses_back_equal(name, tmp_path):
    cfg = parsed(name)
    dump = tmp_path / "resolved.yaml"
    dump.write_text(minipaddle.to_yaml(cfg))
    assert read_yaml_file(dump)["kind"] == "trainer_config"
    assert minipaddle.parse_config(dump) == cfg


# -- LeNet ------------------------------------------------------------------------------------


def test_lenet_python_and_yaml_twins_resolve_equal():
    assert minipaddle.parse_config(ZOO / "lenet.py") == minipaddle.parse_config(ZOO / "lenet.yaml")


def test_lenet_shapes():
    cfg = parsed("lenet.yaml")
    assert chw(cfg, "pixel") == (1, 28, 28)
    assert chw(cfg, "conv1_conv") == (20, 24, 24)  # 28 - 5 + 1
    assert chw(cfg, "conv1_pool") == (20, 12, 12)
    assert chw(cfg, "conv2_conv") == (50, 8, 8)  # 12 - 5 + 1
    assert chw(cfg, "conv2_pool") == (50, 4, 4)
    model = cfg.model_config
    assert [model.layer(n).size for n in ("hidden", "predict")] == [500, 10]
    assert layer_params(cfg, "hidden") == 800 * 500 + 500
    assert layer_params(cfg, "conv2_conv") == 50 * 20 * 25 + 50


def test_parse_config_accepts_a_loaded_model_mapping():
    doc = read_yaml_file(ZOO / "lenet.yaml")
    assert minipaddle.parse_config(doc) == parsed("lenet.yaml")
    (hidden,) = [e["fc_layer"] for e in doc["layers"] if e.get("fc_layer", {}).get("name")
                 == "hidden"]
    hidden["size"] = 300
    cfg = minipaddle.parse_config(doc)
    assert cfg.model_config.layer("hidden").size == 300
    # hidden: 800 x 500 + 500 -> 800 x 300 + 300; predict: 500 x 10 + 10 -> 300 x 10 + 10
    expected = LENET - fc(800, 500) - fc(500, 10) + fc(800, 300) + fc(300, 10)
    assert expected == 268_880
    assert parameter_totals(cfg.model_config) == (expected, 0)


# -- AlexNet ----------------------------------------------------------------------------------


def test_alexnet_shapes():
    cfg = parsed("alexnet.yaml")
    assert chw(cfg, "image") == (3, 227, 227)
    assert chw(cfg, "conv1") == (96, 55, 55)  # (227 - 11) / 4 + 1
    assert chw(cfg, "norm1") == (96, 55, 55)
    assert chw(cfg, "pool1") == (96, 27, 27)  # (55 - 3) / 2 + 1
    assert chw(cfg, "conv2") == (256, 27, 27)
    assert chw(cfg, "pool2") == (256, 13, 13)
    for name, filters in (("conv3", 384), ("conv4", 384), ("conv5", 256)):
        assert chw(cfg, name) == (filters, 13, 13)
    assert chw(cfg, "pool5") == (256, 6, 6)
    assert cfg.model_config.layer("fc6").inputs[0].input_layer_name == "pool5"


def test_alexnet_groups_lrn_and_dropout():
    cfg = parsed("alexnet.yaml")
    model = cfg.model_config
    groups = {n: model.layer(n).inputs[0].conv_conf.groups
              for n in ("conv1", "conv2", "conv3", "conv4", "conv5")}
    assert groups == {"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}
    assert model.layer("conv2").inputs[0].conv_conf.filter_channels == 48
    assert layer_params(cfg, "conv2") == 256 * 48 * 25 + 256
    assert layer_params(cfg, "fc6") == 9216 * 4096 + 4096
    for name in ("norm1", "norm2"):
        norm = model.layer(name).inputs[0].norm_conf
        assert norm.norm_type == "cmrnorm-projection"
        assert (norm.size, norm.pow) == (5, 0.75)
        assert norm.scale == pytest.approx(0.0001 / 5)
    assert [model.layer(n).drop_rate for n in ("fc6", "fc7")] == [0.5, 0.5]
    assert not model.layer("fc8").drop_rate  # written only when non-zero, as in Paddle


# -- VGG --------------------------------------------------------------------------------------


def _of_type(cfg: minipaddle.TrainerConfig, kind: str) -> list[str]:
    return [layer.name for layer in cfg.model_config.layers if layer.type == kind]


def test_small_vgg_structure():
    cfg = parsed("small_vgg.yaml")
    convs, pools = _of_type(cfg, "exconv"), _of_type(cfg, "pool")
    assert [chw(cfg, n)[0] for n in convs] == [f for _, f in SMALL_VGG_CONVS]
    assert len(_of_type(cfg, "batch_norm")) == 11
    assert [chw(cfg, n) for n in pools] == [(64, 16, 16), (128, 8, 8), (256, 4, 4),
                                            (512, 2, 2), (512, 1, 1)]
    assert cfg.model_config.layer("cost").inputs[0].input_layer_name == "__fc_layer_1__"


def test_vgg16_structure():
    cfg = parsed("vgg16.yaml")
    convs, pools = _of_type(cfg, "exconv"), _of_type(cfg, "pool")
    assert [chw(cfg, n)[0] for n in convs] == [f for _, f in VGG16_CONVS]
    assert [chw(cfg, n) for n in pools] == [(64, 112, 112), (128, 56, 56), (256, 28, 28),
                                            (512, 14, 14), (512, 7, 7)]
    model = cfg.model_config
    assert [model.layer(n).size for n in _of_type(cfg, "fc")] == [4096, 4096, 1000]
    assert layer_params(cfg, "__fc_layer_0__") == 512 * 7 * 7 * 4096 + 4096


# -- ResNet-20 --------------------------------------------------------------------------------


def test_resnet_shapes():
    cfg = parsed("resnet_cifar.yaml")
    assert chw(cfg, "conv1_bn") == (16, 32, 32)
    for stage, shape in ((1, (16, 32, 32)), (2, (32, 16, 16)), (3, (64, 8, 8))):
        for block in (1, 2, 3):
            assert chw(cfg, f"stage{stage}_block{block}_add") == shape
    assert chw(cfg, "stage2_block1_proj") == (32, 16, 16)
    assert chw(cfg, "stage3_block1_proj") == (64, 8, 8)
    model = cfg.model_config
    pool = model.layer("global_pool")
    conf = pool.inputs[0].pool_conf
    assert pool.inputs[0].input_layer_name == "stage3_block3_add"
    assert (conf.channels, conf.img_size_y, conf.img_size) == (64, 8, 8)
    assert (conf.pool_type, conf.output_x, conf.output_y) == ("avg-projection", 1, 1)
    assert pool.size == 64


def test_resnet_blocks():
    cfg = parsed("resnet_cifar.yaml")
    model = cfg.model_config
    convs = _of_type(cfg, "exconv")
    assert len(convs) == 1 + 2 * 9 + 2
    assert len(_of_type(cfg, "batch_norm")) == len(convs)
    for name in convs:
        layer = model.layer(name)
        assert layer.bias_parameter_name is None and layer.active_type == ""
    adds = _of_type(cfg, "addto")
    assert len(adds) == 9
    for name in adds:
        layer = model.layer(name)
        assert layer.active_type == "relu"
        residual, shortcut = (i.input_layer_name for i in layer.inputs)
        assert residual == name.replace("_add", "_bn2")
        assert model.layer(residual).active_type == ""
    shortcuts = {n: model.layer(n).inputs[1].input_layer_name for n in adds}
    assert shortcuts["stage1_block1_add"] == "conv1_bn"
    assert shortcuts["stage2_block1_add"] == "stage2_block1_proj_bn"
    assert shortcuts["stage2_block2_add"] == "stage2_block1_add"
    assert shortcuts["stage3_block1_add"] == "stage3_block1_proj_bn"
    assert model.layer("stage3_block1_proj").inputs[0].input_layer_name == "stage2_block3_add"
    assert layer_params(cfg, "stage3_block1_proj") == 32 * 64
    assert [model.layer(n).inputs[0].conv_conf.stride for n in
            ("stage1_block1_conv1", "stage2_block1_conv1", "stage2_block1_conv2",
             "stage3_block1_conv1", "stage3_block1_proj")] == [1, 2, 1, 2, 2]


# -- digits -----------------------------------------------------------------------------------


def test_digits_shapes():
    cfg = parsed("digits.yaml")
    assert chw(cfg, "pixel") == (1, 8, 8)
    assert chw(cfg, "conv1") == (16, 8, 8)
    assert chw(cfg, "pool1") == (16, 4, 4)
    assert chw(cfg, "conv2") == (32, 4, 4)
    assert chw(cfg, "pool2") == (32, 2, 2)
    assert layer_params(cfg, "hidden") == 128 * 64 + 64


# -- SSD on the generated shapes set --------------------------------------------------------------


def test_ssd_shapes():
    cfg = parsed("ssd_shapes.yaml")
    model = cfg.model_config
    assert SSD_SHAPES == 15_136
    assert parameter_totals(model) == DETECTION["ssd_shapes.yaml"]
    assert chw(cfg, "stage3_pool") == (32, 6, 6)
    # 6 x 6 locations x 4 priors (min square, max square, ratio 2 and 1/2) x 8 numbers
    assert model.layer("priors").size == 6 * 6 * 4 * 8
    assert chw(cfg, "loc") == (4 * 4, 6, 6) and chw(cfg, "conf") == (4 * 4, 6, 6)
    assert model.output_layer_names == ["loss"]
    assert model.layer("loss").type == "multibox_loss"
    assert model.layer("detections").size == 20 * 7
    assert [(e.type, e.input_layers) for e in model.evaluators] == [
        ("detection_map", ["detections", "label", "label"])]
    assert minipaddle.from_yaml(minipaddle.to_yaml(cfg)) == cfg
    assert minipaddle.from_json(minipaddle.to_json(cfg)) == cfg
