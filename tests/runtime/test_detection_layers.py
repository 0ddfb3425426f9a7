"""Detection layers through the house: config fields derived by hand (tests/configs/
detection.py), the YAML form, ``summary``, compile, forward against the kernels on inputs
gathered here by explicit loops, the multibox loss gradient through the network by float64
finite differences, the dense detection output, and the clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle.config import ConfigError
from minipaddle.config.summary import format_summary
from minipaddle.kernels import detection as K

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def config():
    return mp.parse_config(str(CONFIGS / "detection.py")).model_config


def test_fields_by_hand(config):
    fine = config.layer("__priorbox_0__")
    # 8 x 8 locations x (2 ratios x 2 + 1) priors x 4 numbers x 2 (box, variances)
    assert (fine.type, fine.size, fine.active_type) == ("priorbox", 8 * 8 * 5 * 4 * 2, "")
    assert [i.input_layer_name for i in fine.inputs] == ["fine", "image"]
    conf = fine.inputs[0].priorbox_conf
    assert (conf.min_size, conf.max_size, conf.aspect_ratio, conf.variance) == (
        [6], [], [2.0, 3.0], [0.1, 0.1, 0.2, 0.2])
    coarse = config.layer("coarse_priors")
    assert coarse.size == 4 * 4 * (2 + 1 + 1) * 4 * 2
    loss = config.layer("__multibox_loss_0__")
    assert (loss.type, loss.size) == ("multibox_loss", 1)
    assert [i.input_layer_name for i in loss.inputs] == [
        "priors", "boxes", "fine_loc", "coarse_loc", "fine_conf", "coarse_conf"]
    m = loss.inputs[0].multibox_loss_conf
    assert (m.num_classes, m.overlap_threshold, m.neg_pos_ratio, m.neg_overlap,
            m.background_id, m.input_num) == (3, 0.6, 2.0, 0.4, 2, 2)
    assert isinstance(m.neg_pos_ratio, float)            # Paddle's float field, given 2
    assert m.height is None and m.width is None
    det = config.layer("detections")
    assert (det.type, det.size) == ("detection_output", 10 * 7)
    d = det.inputs[0].detection_output_conf
    assert (d.num_classes, d.nms_threshold, d.nms_top_k, d.keep_top_k, d.confidence_threshold,
            d.background_id, d.input_num) == (3, 0.5, 100, 10, 0.2, 2, 2)
    (ev,) = config.evaluators
    assert (ev.name, ev.type, ev.input_layers) == (
        "__detection_map_evaluator_0__", "detection_map", ["detections", "boxes", "boxes"])
    assert (ev.overlap_threshold, ev.background_id, ev.evaluate_difficult, ev.ap_type) == (
        0.6, 2, True, "Integral")


def test_summary_shapes(config):
    rows = {line.split()[0]: line.split() for line in format_summary(config).splitlines()
            if line and line.split()[0] in ("__priorbox_0__", "coarse_priors", "priors",
                                            "__multibox_loss_0__", "detections")}
    assert rows["__priorbox_0__"][1:4] == ["priorbox", "2560", "0"]
    assert rows["priors"][2] == str(2560 + 512)
    assert rows["__multibox_loss_0__"][1:4] == ["multibox_loss", "1", "0"]
    assert rows["detections"][1:4] == ["detection_output", "70", "0"]


YAML = """\
schema_version: 1
kind: model
name: tiny_ssd
layers:
  - data_layer: {name: image, size: 256, height: 16, width: 16}
  - data_layer: {name: boxes, size: 18}
  - img_conv_layer: {name: feat, input: image, filter_size: 3, num_filters: 4, stride: 4,
                     padding: 1, num_channels: 1, act: linear}
  - img_conv_layer: {name: loc, input: feat, filter_size: 3, padding: 1, num_filters: 12,
                     act: linear}
  - img_conv_layer: {name: conf, input: feat, filter_size: 3, padding: 1, num_filters: 9,
                     act: linear}
  - priorbox_layer: {name: priors, input: feat, image: image, aspect_ratio: [2.0],
                     variance: [0.1, 0.1, 0.2, 0.2], min_size: [6]}
  - multibox_loss_layer: {name: loss, input_loc: [loc], input_conf: [conf], priorbox: priors,
                          label: boxes, num_classes: 3}
  - detection_output_layer: {name: det, input_loc: loc, input_conf: conf, priorbox: priors,
                             num_classes: 3, keep_top_k: 5, confidence_threshold: 0.3}
  - detection_map_evaluator: {name: map, input: det, label: boxes}
outputs: [loss]
"""


def tiny_dsl():
    from minipaddle import (LinearActivation, data_layer, detection_map_evaluator,
                            detection_output_layer, img_conv_layer, multibox_loss_layer,
                            outputs, priorbox_layer)
    image = data_layer(name="image", size=256, height=16, width=16)
    boxes = data_layer(name="boxes", size=18)
    feat = img_conv_layer(name="feat", input=image, filter_size=3, num_filters=4, stride=4,
                          padding=1, num_channels=1, act=LinearActivation())
    loc = img_conv_layer(name="loc", input=feat, filter_size=3, padding=1, num_filters=12,
                         act=LinearActivation())
    conf = img_conv_layer(name="conf", input=feat, filter_size=3, padding=1, num_filters=9,
                          act=LinearActivation())
    priors = priorbox_layer(name="priors", input=feat, image=image, aspect_ratio=[2.0],
                            variance=[0.1, 0.1, 0.2, 0.2], min_size=[6])
    loss = multibox_loss_layer(name="loss", input_loc=[loc], input_conf=[conf],
                               priorbox=priors, label=boxes, num_classes=3)
    det = detection_output_layer(name="det", input_loc=loc, input_conf=conf, priorbox=priors,
                                 num_classes=3, keep_top_k=5, confidence_threshold=0.3)
    detection_map_evaluator(name="map", input=det, label=boxes)
    outputs(loss)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("zoo") / "tiny.yaml"
    path.write_text(YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(tiny_dsl).model_config
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.evaluators == from_dsl.evaluators
    return from_yaml


def _feed(rng, n=3):
    boxes = np.full((n, 3, 6), -1.0)
    boxes[0, 0] = [1, 0.1, 0.1, 0.45, 0.5, 0]
    boxes[0, 1] = [2, 0.5, 0.55, 0.9, 0.8, 0]
    boxes[1, 2] = [2, 0.2, 0.3, 0.6, 0.6, 0]       # padding rows may come first
    # sample 2 has no ground truth
    return {"image": rng.uniform(size=(n, 1, 16, 16)), "boxes": boxes.reshape(n, -1)}


def _gather(x):
    """NCHW -> per sample, locations in row order, channels fastest: by loops."""
    n, c, h, w = x.shape
    return np.array([[x[s, k, i, j] for i in range(h) for j in range(w) for k in range(c)]
                     for s in range(n)])


def test_forward_matches_the_kernels(tiny):
    net = mp.compile(tiny, dtype="float64", seed=2)
    feed = _feed(np.random.default_rng(0))
    out = net.forward(feed, fetch=["priors", "loc", "conf", "loss", "det"])
    priors = K.prior_boxes((4, 4), (16, 16), [6], [], [2.0], [0.1, 0.1, 0.2, 0.2],
                           dtype=np.float64)
    assert out["priors"].shape == (3, 16 * 3 * 8)     # ratios 2, 1/2 and 1
    for row in out["priors"]:
        np.testing.assert_allclose(row, priors.reshape(-1))
    loc = _gather(out["loc"]).reshape(3, -1, 4)
    conf = _gather(out["conf"]).reshape(3, -1, 3)
    gts = [np.array([[1, 0.1, 0.1, 0.45, 0.5, 0], [2, 0.5, 0.55, 0.9, 0.8, 0]]),
           np.array([[2, 0.2, 0.3, 0.6, 0.6, 0]]), np.zeros((0, 6))]
    loss, _ = K.multibox_loss_forward(loc, conf, priors, gts, 3, 0.5, 3.0, 0.5, 0)
    np.testing.assert_allclose(out["loss"], np.full((3, 1), float(loss)), rtol=1e-12)
    det = out["det"].reshape(3, 5, 7)
    want = K.detection_output(loc, conf, priors, 3, 0, 0.3, 400, 0.45, 5)
    for s in range(3):
        k = len(want[s])
        np.testing.assert_allclose(det[s, :k], want[s], rtol=1e-12)
        assert (det[s, k:, 0] == s).all() and (det[s, k:, 1] == -1).all()
        assert not det[s, k:, 2:].any()


def test_multibox_gradient_by_finite_differences(tiny):
    """Directional derivatives of the batch's loss (row 0 of the output) along a random
    direction per parameter, against backward() seeded with ones (Paddle's gradient)."""
    net = mp.compile(tiny, dtype="float64", seed=4)
    feed = _feed(np.random.default_rng(1))
    rng = np.random.default_rng(5)

    def loss():
        return float(net.forward(feed, training="check", fetch=["loss"])["loss"][0, 0])

    loss()
    grads = net.backward().parameters
    assert set(grads) == {"_feat.w0", "_feat.wbias", "_loc.w0", "_loc.wbias", "_conf.w0",
                          "_conf.wbias"}
    eps = 1e-6
    for name, param in net.parameters.items():
        d = rng.standard_normal(param.shape)
        orig = param.copy()
        param[...] = orig + eps * d
        plus = loss()
        param[...] = orig - eps * d
        minus = loss()
        param[...] = orig
        numeric = (plus - minus) / (2 * eps)
        assert float(np.sum(grads[name] * d)) == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_output_gradient_scales_by_its_mean(tiny):
    net = mp.compile(tiny, dtype="float64", seed=4)
    feed = _feed(np.random.default_rng(1))
    net.forward(feed, training=True, fetch=["loss"])
    ones = net.backward().parameters["_loc.w0"].copy()
    net.forward(feed, training=True, fetch=["loss"])
    scaled = net.backward({"loss": np.array([[1.0], [2.0], [3.0]])}).parameters["_loc.w0"]
    np.testing.assert_allclose(scaled, 2.0 * ones, rtol=1e-12)


def test_compile_checks_the_prior_count():
    from minipaddle import data_layer, multibox_loss_layer, outputs

    def net():
        priors = data_layer(name="priors", size=32)          # 4 priors
        loc = data_layer(name="loc", size=16)
        conf = data_layer(name="conf", size=8)               # 4 x 21 expected
        label = data_layer(name="label", size=24)
        outputs(multibox_loss_layer(input_loc=loc, input_conf=conf, priorbox=priors,
                                    label=label, num_classes=21, name="mbl"))

    config = mp.parse_config(net)                             # Paddle's parser accepts it
    with pytest.raises(ConfigError, match=r"layer 'mbl'.* 4 priors.*84 confidence.*give 16 "
                                          r"and 8"):
        mp.compile(config)


# --- errors ----------------------------------------------------------------------------------

def _errors_net(call):
    from minipaddle import data_layer, img_conv_layer

    def net():
        image = data_layer(name="image", size=3 * 16 * 16, height=16, width=16)
        flat = data_layer(name="flat", size=12)
        feat = img_conv_layer(input=image, name="feat", filter_size=3, num_filters=4,
                              padding=1, stride=4)
        call(image=image, flat=flat, feat=feat)
    return net


def _priorbox(**overrides):
    from minipaddle import priorbox_layer

    def call(image, flat, feat):
        args = dict(input=feat, image=image, aspect_ratio=[2.0], variance=[0.1] * 4,
                    min_size=[4], name="pb")
        args.update({k: {"image": image, "flat": flat, "feat": feat}.get(v, v)
                     if isinstance(v, str) else v for k, v in overrides.items()})
        priorbox_layer(**args)
    return call


@pytest.mark.parametrize("overrides,message", [
    ({"image": "feat"}, r"priorbox_layer 'pb': image=layer 'feat': must be a data layer"),
    ({"image": "flat"}, r"image=layer 'flat': data layer 'flat' must set height and width"),
    ({"variance": [0.1, 0.2]}, r"variance=\[0.1, 0.2\]: expected 4 values"),
    ({"min_size": [4, 8]}, r"min_size=\[4, 8\]: expected exactly one min size"),
    ({"max_size": [8, 9]}, r"max_size=\[8, 9\]: expected at most one"),
    ({"aspect_ratio": [1.0, 2.0]}, r"aspect_ratio=\[1.0, 2.0\]: must not contain 1"),
    ({"aspect_ratio": [0.0]}, r"aspect_ratio\[0\]=0.0: expected a value greater than 0"),
    ({"input": "flat"}, r"input=layer 'flat': layer 'flat' carries no channel count"),
])
def test_priorbox_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        mp.parse_config(_errors_net(_priorbox(**overrides)))


def _multibox(**overrides):
    from minipaddle import detection_output_layer, multibox_loss_layer, priorbox_layer

    def call(image, flat, feat):
        pb = priorbox_layer(input=feat, image=image, aspect_ratio=[2.0], variance=[0.1] * 4,
                            min_size=[4], name="pb")
        args = dict(input_loc=feat, input_conf=feat, priorbox=pb, label=flat, num_classes=3,
                    name="mbl")
        fn = overrides.pop("fn", "loss")
        args.update({k: {"flat": flat, "feat": feat}.get(v, v) if isinstance(v, str) else v
                     for k, v in overrides.items()})
        if fn == "loss":
            multibox_loss_layer(**args)
        else:
            args.pop("label")
            detection_output_layer(**args)
    return call


@pytest.mark.parametrize("overrides,message", [
    ({"background_id": 3}, r"multibox_loss_layer 'mbl': background_id=3: must be below "
                           r"num_classes \(3\)"),
    ({"input_conf": []}, r"input_conf=\[\]: expected as many confidence inputs as location "
                         r"inputs \(1\), got 0"),
    ({"label": "feat"}, r"label=layer 'feat': size 64 is not a multiple of 6"),
    ({"fn": "det", "background_id": 5}, r"detection_output_layer 'mbl': background_id=5"),
    ({"fn": "det", "keep_top_k": 0}, r"keep_top_k=0: expected a value greater than 0"),
])
def test_multibox_and_detection_output_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        mp.parse_config(_errors_net(_multibox(**overrides)))


def test_detection_map_evaluator_errors():
    from minipaddle import detection_map_evaluator

    def bad_input(image, flat, feat):
        detection_map_evaluator(input=feat, label=flat, name="ev")

    def bad_type(image, flat, feat):
        detection_map_evaluator(input=feat, label=flat, ap_type="voc")

    with pytest.raises(ConfigError, match=r"input=layer 'feat': must be a detection_output "
                                          r"layer, but 'feat' is a 'conv' layer"):
        mp.parse_config(_errors_net(bad_input))
    with pytest.raises(ConfigError, match=r"ap_type='voc': expected '11point' or 'Integral'"):
        mp.parse_config(_errors_net(bad_type))


def test_two_feature_maps_follow_the_concatenated_priors(config):
    """tests/configs/detection.py: priors of an 8x8 and a 4x4 map concatenated; the loc and
    conf lists are gathered in the same order (each map location by location)."""
    net = mp.compile(config, dtype="float64", seed=3)
    rng = np.random.default_rng(2)
    boxes = np.full((2, 5, 6), -1.0)
    boxes[0, 0] = [0, 0.1, 0.1, 0.3, 0.35, 0]
    boxes[0, 1] = [1, 0.4, 0.3, 0.95, 0.9, 1]
    boxes[1, 0] = [1, 0.2, 0.5, 0.7, 0.9, 0]
    feed = {"image": rng.uniform(size=(2, 3, 32, 32)), "boxes": boxes.reshape(2, -1)}
    names = ["priors", "fine_loc", "coarse_loc", "fine_conf", "coarse_conf", "detections"]
    out = net.forward(feed, fetch=names + ["__multibox_loss_0__"])
    priors = out["priors"][0].reshape(-1, 8)
    assert priors.shape == (8 * 8 * 5 + 4 * 4 * 4, 8)
    np.testing.assert_allclose(priors[:320], K.prior_boxes(
        (8, 8), (32, 32), [6], [], [2.0, 3.0], [0.1, 0.1, 0.2, 0.2], dtype=np.float64))
    loc = np.concatenate([_gather(out["fine_loc"]), _gather(out["coarse_loc"])], axis=1)
    conf = np.concatenate([_gather(out["fine_conf"]), _gather(out["coarse_conf"])], axis=1)
    loc, conf = loc.reshape(2, -1, 4), conf.reshape(2, -1, 3)
    gts = K.ground_truth_rows(feed["boxes"])
    loss, state = K.multibox_loss_forward(loc, conf, priors, gts, 3, 0.6, 2.0, 0.4, 2)
    assert state.num_matches > 0
    np.testing.assert_allclose(out["__multibox_loss_0__"][:, 0], float(loss), rtol=1e-12)
    want = K.detection_output(loc, conf, priors, 3, 2, 0.2, 100, 0.5, 10)
    det = out["detections"].reshape(2, 10, 7)
    for s in range(2):
        np.testing.assert_allclose(det[s, :len(want[s])], want[s], rtol=1e-12)


@pytest.mark.parametrize("row,what", [([3, 0.1, 0.1, 0.5, 0.5, 0], "integer label in"),
                                      ([1.5, 0.1, 0.1, 0.5, 0.5, 0], "integer label in"),
                                      ([1, 0.5, 0.1, 0.5, 0.5, 0], "xmin < xmax")])
def test_bad_ground_truth_is_named(tiny, row, what):
    net = mp.compile(tiny, seed=1)
    feed = _feed(np.random.default_rng(0))
    feed["boxes"][1, 6:12] = row
    with pytest.raises(ValueError, match=r"layer 'loss': sample 1 of label 'boxes' has the "
                                         r"ground-truth row .*" + what):
        net.forward(feed, fetch=["loss"])
