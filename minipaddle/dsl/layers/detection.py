"""SSD detection (Paddle v1's trainer_config_helpers): ``priorbox_layer``,
``multibox_loss_layer``, ``detection_output_layer`` and ``detection_map_evaluator``.

The ground truth is a dense data layer of ``max_boxes * 6`` values per image: rows
``[label, xmin, ymin, xmax, ymax, difficult]`` in normalised coordinates, a row with a
negative label being padding (Paddle fed a sequence of such rows; docs/paddle_compat.md).
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from ...config import EvaluatorConfig, LayerInputConfig
from ...config.models import DetectionOutputConfig, MultiBoxLossConfig, PriorBoxConfig
from ..base import LayerOutput, NonNegInt, PosInt, as_list, dsl_function, fail, make_output
from ..context import current
from ..params import new_layer_config

Ratio = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[Union[int, float], Field(ge=0, allow_inf_nan=False)]
Boxes = Union[LayerOutput, list[LayerOutput], tuple[LayerOutput, ...]]


@dsl_function(prefix="priorbox")
def priorbox_layer(input: LayerOutput, image: LayerOutput, aspect_ratio: list[Ratio],
                   variance: list[Union[int, float]], min_size: list[PosInt],
                   max_size: list[PosInt] = [],  # noqa: B006 - Paddle's default
                   name: Optional[str] = None) -> LayerOutput:
    """The SSD priors of ``input``'s feature map over ``image``: per location
    ``2 * len(aspect_ratio) + 1 + len(max_size)`` boxes of 8 numbers (box, variances)."""
    if image.layer_type != "data":
        raise fail("image", image, f"must be a data layer (the network's input image), but "
                   f"{image.name!r} is a {image.layer_type!r} layer")
    if not image.height or not image.width:
        raise fail("image", image, f"data layer {image.name!r} must set height and width")
    if len(variance) != 4:
        raise fail("variance", variance, f"expected 4 values (xmin, ymin, xmax, ymax "
                   f"variances), got {len(variance)}")
    if len(min_size) != 1:
        raise fail("min_size", min_size, "expected exactly one min size (Paddle's runtime "
                   "writes more boxes than the layer's size for several; use one priorbox "
                   "layer per size)")
    if len(max_size) > 1:
        raise fail("max_size", max_size, "expected at most one max size, paired with the "
                   "min size")
    if any(abs(a - 1.0) < 1e-6 for a in aspect_ratio):
        raise fail("aspect_ratio", aspect_ratio, "must not contain 1 (the square is always "
                   "made; list only the other ratios, whose reciprocals are added too)")
    if input.num_filters is None:
        raise fail("input", input, f"layer {input.name!r} carries no channel count; the "
                   "priorbox input must be a convolution or image layer")
    num_filters = (len(aspect_ratio) * 2 + 1 + len(max_size)) * 4
    size = (input.size // input.num_filters) * num_filters * 2
    conf = PriorBoxConfig(min_size=list(min_size), max_size=list(max_size),
                          aspect_ratio=[float(a) for a in aspect_ratio],
                          variance=[float(v) for v in variance])
    config = new_layer_config(
        name=name, type="priorbox", size=size, active_type="",
        inputs=[LayerInputConfig(input_layer_name=input.name, priorbox_conf=conf),
                LayerInputConfig(input_layer_name=image.name)])
    return make_output(config, [input, image], "priorbox", num_filters=num_filters)


def _pairs(input_loc: Boxes, input_conf: Boxes) -> tuple[list, list]:
    locs, confs = as_list(input_loc), as_list(input_conf)
    if len(locs) != len(confs):
        raise fail("input_conf", confs, f"expected as many confidence inputs as location "
                   f"inputs ({len(locs)}), got {len(confs)}")
    if not locs:
        raise fail("input_loc", locs, "expected at least one location input")
    return locs, confs


def _background(num_classes: int, background_id: int) -> None:
    if background_id >= num_classes:
        raise fail("background_id", background_id, f"must be below num_classes "
                   f"({num_classes})")


@dsl_function(prefix="multibox_loss")
def multibox_loss_layer(input_loc: Boxes, input_conf: Boxes, priorbox: LayerOutput,
                        label: LayerOutput, num_classes: PosInt,
                        overlap_threshold: Fraction = 0.5, neg_pos_ratio: Fraction = 3.0,
                        neg_overlap: Fraction = 0.5, background_id: NonNegInt = 0,
                        name: Optional[str] = None) -> LayerOutput:
    """SSD's loss: smooth L1 on the matched priors' encoded offsets plus softmax
    cross-entropy on matches and mined negatives, over the number of matches."""
    locs, confs = _pairs(input_loc, input_conf)
    _background(num_classes, background_id)
    if label.size is None or label.size % 6:
        raise fail("label", label, f"size {label.size} is not a multiple of 6; the ground "
                   "truth is max_boxes rows of [label, xmin, ymin, xmax, ymax, difficult]")
    conf = MultiBoxLossConfig(num_classes=num_classes,
                              overlap_threshold=float(overlap_threshold),
                              neg_pos_ratio=float(neg_pos_ratio),
                              neg_overlap=float(neg_overlap), background_id=background_id,
                              input_num=len(locs))
    parents = [priorbox, label] + locs + confs
    inputs = [LayerInputConfig(input_layer_name=priorbox.name, multibox_loss_conf=conf)]
    inputs += [LayerInputConfig(input_layer_name=p.name) for p in parents[1:]]
    config = new_layer_config(name=name, type="multibox_loss", size=1, active_type="",
                              inputs=inputs)
    return make_output(config, parents, "multibox_loss")


@dsl_function(prefix="detection_output")
def detection_output_layer(input_loc: Boxes, input_conf: Boxes, priorbox: LayerOutput,
                           num_classes: PosInt, nms_threshold: Fraction = 0.45,
                           nms_top_k: NonNegInt = 400, keep_top_k: PosInt = 200,
                           confidence_threshold: Fraction = 0.01,
                           background_id: NonNegInt = 0,
                           name: Optional[str] = None) -> LayerOutput:
    """Decoded boxes, softmax scores, per-class NMS and the ``keep_top_k`` best: per image
    ``keep_top_k`` rows ``[image, label, score, xmin, ymin, xmax, ymax]``, unused rows with
    label -1."""
    locs, confs = _pairs(input_loc, input_conf)
    _background(num_classes, background_id)
    conf = DetectionOutputConfig(num_classes=num_classes, nms_threshold=float(nms_threshold),
                                 nms_top_k=nms_top_k, background_id=background_id,
                                 input_num=len(locs), keep_top_k=keep_top_k,
                                 confidence_threshold=float(confidence_threshold))
    parents = [priorbox] + locs + confs
    inputs = [LayerInputConfig(input_layer_name=priorbox.name, detection_output_conf=conf)]
    inputs += [LayerInputConfig(input_layer_name=p.name) for p in parents[1:]]
    config = new_layer_config(name=name, type="detection_output", size=keep_top_k * 7,
                              active_type="", inputs=inputs)
    return make_output(config, parents, "detection_output")


@dsl_function(layer=False)
def detection_map_evaluator(input: LayerOutput, label: LayerOutput,
                            overlap_threshold: Fraction = 0.5, background_id: NonNegInt = 0,
                            evaluate_difficult: bool = False,
                            ap_type: Literal["11point", "Integral"] = "11point",
                            name: Optional[str] = None) -> EvaluatorConfig:
    """Mean average precision (in percent, as Paddle printed it) of a detection_output
    layer's detections against the ground-truth label layer."""
    if input.layer_type != "detection_output":
        raise fail("input", input, f"must be a detection_output layer, but {input.name!r} is "
                   f"a {input.layer_type!r} layer")
    # Paddle's helper appends the label to the inputs and evaluator_base appends it again:
    # its configs list the label twice
    config = EvaluatorConfig(name=name, type="detection_map",
                             input_layers=[input.name, label.name, label.name],
                             overlap_threshold=overlap_threshold,     # a double: kept as given
                             background_id=background_id,
                             evaluate_difficult=evaluate_difficult, ap_type=ap_type)
    current().evaluators.append(config)
    input._evaluators.append(config)
    return config
