"""Hand-derived config fields of tests/configs/geometry.py (the geometry layers of issue
16), from Paddle v1's config_parser rules (spec section 3; docs/layers.md); the golden
(tests/configs/golden/geometry.yaml) is compared by test_goldens.py."""

from __future__ import annotations

import functools
from pathlib import Path

import minipaddle

HERE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def model():
    return minipaddle.parse_config(str(HERE / "geometry.py")).model_config


def fields(obj, **expected):
    wrong = {k: (getattr(obj, k), v) for k, v in expected.items() if getattr(obj, k) != v}
    assert not wrong, f"{getattr(obj, 'name', type(obj).__name__)}: {wrong}"


def layer(name):
    return model().layer(name)


def test_crop_fields():
    # reference 3 x 5 x 4: its size, height and width; image_conf of the 3 x 8 x 6 input
    fields(layer("__crop_layer_0__"), type="crop", size=60, height=5, width=4, axis=2,
           offset=[2, 1], shape=None, active_type="")
    fields(layer("__crop_layer_0__").inputs[0].image_conf, channels=3, img_size=6,
           img_size_y=8)
    assert layer("__crop_layer_0__").inputs[1].image_conf is None
    # shape [N, C, H, W]: size C * H * W = 2 * 4 * 6, height and width shape[-2:]
    fields(layer("crop_by_shape"), size=48, height=4, width=6, axis=1, offset=[1, 3, 0],
           shape=[1, 2, 4, 6])


def test_upsample_fields():
    up = layer("__upsample_0__")
    # pool: 3 x 4 x 3; scale 2 -> 8 x 6; size 3 * 8 * 6; depth copied (1)
    fields(up, type="upsample", size=144, height=8, width=6, depth=1)
    conf = up.inputs[0].upsample_conf
    fields(conf, scale=2, scale_y=2, pad_out_x=False, pad_out_y=False, upsample_size=None,
           upsample_size_y=None)
    fields(conf.image_conf, channels=3, img_size=3, img_size_y=4)
    assert [i.input_layer_name for i in up.inputs] == ["__pool_0__", "__pool_0__"]
    by_size = layer("unpool_by_size").inputs[0].upsample_conf
    fields(by_size, scale=None, scale_y=None, upsample_size=6, upsample_size_y=6)
    fields(layer("unpool_by_size"), size=2 * 6 * 6, height=6, width=6)


def test_rotate_switch_order_resize_trans_fields():
    # rotate keeps the input plane's height and width, as Paddle's RotateLayer config did
    fields(layer("__rotate_layer_0__"), type="rotate", size=144, height=8, width=6)
    nhwc = layer("__switch_order_0__")
    fields(nhwc, type="switch_order", size=144, height=None, width=None, active_type="")
    fields(nhwc.reshape_conf, height_axis=[0], width_axis=[1, 2, 3])
    fields(layer("nhwc_axis2"), size=144, active_type="relu")
    fields(layer("nhwc_axis2").reshape_conf, height_axis=[0, 1], width_axis=[2, 3])
    fields(layer("__resize_0__"), type="resize", size=16, height=None)
    fields(layer("__trans_layer_0__"), type="trans", size=16)


def test_scale_sub_region_and_roi_pool_fields():
    ssr = layer("__scale_sub_region_0__")
    fields(ssr, type="scale_sub_region", size=144, height=8, width=6)
    fields(ssr.inputs[0].scale_sub_region_conf, value=0.5)
    fields(ssr.inputs[0].scale_sub_region_conf.image_conf, channels=3, img_size=6,
           img_size_y=8)
    roi = layer("__roi_pool_0__")
    # channels from the conv (3), 2 x 3 bins
    fields(roi, type="roi_pool", size=3 * 2 * 3, height=2, width=3)
    fields(roi.inputs[0].roi_pool_conf, pooled_width=3, pooled_height=2, spatial_scale=0.25,
           height=None, width=None)
    assert roi.inputs[1].input_layer_name == "rois"


def test_block_expand_fields():
    be = layer("__block_expand_layer_0__")
    # x: 1 + ceil((6 + 2 - 2) / 2) = 4; y: 1 + ceil((8 - 3) / 2) = 4; 16 blocks of 3 * 3 * 2
    fields(be, type="blockexpand", size=16 * 18, height=None, width=None)
    fields(be.inputs[0].block_expand_conf, channels=3, block_x=2, block_y=3, stride_x=2,
           stride_y=2, padding_x=1, padding_y=0, output_x=4, output_y=4, img_size_x=6,
           img_size_y=8)


def test_summary_shapes():
    from minipaddle.config.summary import format_summary
    rows = {line.split()[0]: line.split()[2] for line in format_summary(model()).splitlines()
            if line.startswith(("__", "crop_", "unpool", "nhwc"))}
    assert rows["__crop_layer_0__"] == "3x5x4"
    assert rows["crop_by_shape"] == "2x4x6"
    assert rows["__upsample_0__"] == "3x8x6"
    assert rows["__rotate_layer_0__"] == "3x6x8"          # the turned planes
    assert rows["__switch_order_0__"] == "144"
    assert rows["__resize_0__"] == "16"
    assert rows["__scale_sub_region_0__"] == "3x8x6"
    assert rows["__roi_pool_0__"] == "3x2x3"
    assert rows["__block_expand_layer_0__"] == "288"
    assert rows["__trans_layer_0__"] == "16"
