"""The geometry layers of issue 16 as YAML model-zoo entries (the same config as the DSL
calls), and their clear one-line errors for bad arguments."""

from __future__ import annotations

import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.config import ConfigError

YAML = """\
schema_version: 1
kind: model
name: geometry
layers:
  - data_layer: {name: image, size: 96, height: 8, width: 4}
  - data_layer: {name: reference, size: 24, height: 4, width: 2}
  - data_layer: {name: indices, size: 6}
  - data_layer: {name: rois, size: 5}
  - crop_layer: {name: crop, input: [image, reference], offset: [1, 1], shape: []}
  - img_pool_layer: {name: pool, input: image, num_channels: 3, pool_size: 2, stride: 2,
                     pool_type: max-pool-with-mask}
  - upsample_layer: {name: up, input: [pool, pool], scale: 2}
  - rotate_layer: {name: rot, input: image, height: 8, width: 4}
  - switch_order_layer: {name: nhwc, input: image, reshape_axis: 1}
  - resize_layer: {name: rs, input: image, size: 32}
  - scale_sub_region_layer: {name: ssr, input: image, indices: indices, value: 2.0}
  - roi_pool_layer: {name: roi, input: image, rois: rois, pooled_width: 2, pooled_height: 2,
                     spatial_scale: 1.0, num_channels: 3}
  - block_expand_layer: {name: blocks, input: image, num_channels: 3, block_x: 2, block_y: 2,
                         stride_x: 2, stride_y: 2}
  - trans_layer: {name: t, input: indices}
  - fc_layer: {name: out, input: blocks, size: 2, act: softmax}
outputs: [crop, up, rot, nhwc, rs, ssr, roi, t, out]
"""


def dsl_network():
    image = data_layer(name="image", size=96, height=8, width=4)
    reference = data_layer(name="reference", size=24, height=4, width=2)
    indices = data_layer(name="indices", size=6)
    rois = data_layer(name="rois", size=5)
    crop = crop_layer(name="crop", input=[image, reference], offset=[1, 1], shape=[])
    pool = img_pool_layer(name="pool", input=image, num_channels=3, pool_size=2, stride=2,
                          pool_type=MaxWithMaskPooling())
    up = upsample_layer(name="up", input=[pool, pool], scale=2)
    rot = rotate_layer(name="rot", input=image, height=8, width=4)
    nhwc = switch_order_layer(name="nhwc", input=image, reshape_axis=1)
    rs = resize_layer(name="rs", input=image, size=32)
    ssr = scale_sub_region_layer(name="ssr", input=image, indices=indices, value=2.0)
    roi = roi_pool_layer(name="roi", input=image, rois=rois, pooled_width=2, pooled_height=2,
                         spatial_scale=1.0, num_channels=3)
    blocks = block_expand_layer(name="blocks", input=image, num_channels=3, block_x=2,
                                block_y=2, stride_x=2, stride_y=2)
    t = trans_layer(name="t", input=indices)
    out = fc_layer(name="out", input=blocks, size=2, act=SoftmaxActivation())
    outputs(crop, up, rot, nhwc, rs, ssr, roi, t, out)


def test_yaml_model_equals_the_dsl_calls(tmp_path):
    path = tmp_path / "geometry.yaml"
    path.write_text(YAML)
    from_yaml = mp.parse_config(str(path)).model_config
    from_dsl = mp.parse_config(dsl_network).model_config
    assert from_yaml.layers == from_dsl.layers
    assert from_yaml.parameters == from_dsl.parameters
    # 4 x 2 blocks of 3 x 2 x 2 feed the fc
    assert from_yaml.layer("blocks").size == 8 * 12
    assert from_yaml.parameter("_out.w0").size == 8 * 12 * 2


def parse(fn):
    return mp.parse_config(fn)


def expect_error(fn, *fragments):
    with pytest.raises(ConfigError) as info:
        parse(fn)
    message = str(info.value)
    assert "\n" not in message.strip(), message
    for fragment in fragments:
        assert fragment in message, message


def image():
    return data_layer(name="image", size=96, height=8, width=4)


def test_crop_errors():
    expect_error(lambda: crop_layer(input=image(), offset=[0, 0]),
                 "crop_layer", "shape=None", "Paddle's crop_layer fails")
    expect_error(lambda: crop_layer(input=image(), offset=[0, 0], axis=0, shape=[1, 3, 2, 2]),
                 "axis=0", "never cropped")
    expect_error(lambda: crop_layer(input=image(), offset=[0], shape=[1, 3, 2, 2]),
                 "offset=[0]", "expected 2 entries")
    expect_error(lambda: crop_layer(input=image(), offset=[0, 0], shape=[3, 2, 2]),
                 "shape=[3, 2, 2]", "[N, C, H, W]")
    expect_error(lambda: crop_layer(input=image(), offset=[0, 0], shape=[1, 2, 2, 2]),
                 "axes before axis 2 are not cropped")
    expect_error(lambda: crop_layer(input=image(), offset=[7, 0], shape=[1, 3, 2, 2]),
                 "offset=[7, 0]", "passes the input's 8")
    expect_error(lambda: crop_layer(input=data_layer(name="v", size=12), offset=[0, 0],
                                    shape=[1, 3, 2, 2]),
                 "no height and width")


def test_upsample_errors():
    def pooled(kind=None):
        return img_pool_layer(input=image(), name="pool", num_channels=3, pool_size=2,
                              stride=2, pool_type=kind or MaxWithMaskPooling())

    expect_error(lambda: upsample_layer(input=[pooled(), pooled_again()]), "scale")
    expect_error(lambda: upsample_layer(input=[pooled(MaxPooling())] * 2, scale=2),
                 "MaxWithMaskPooling", "'max-projection'")
    expect_error(lambda: upsample_layer(input=[image(), image_again()], scale=2),
                 "img_pool_layer", "'data'")
    expect_error(lambda: upsample_layer(input=[pooled()] * 2, scale=3),
                 "scale=3", "12x6", "8x4")
    expect_error(lambda: upsample_layer(input=[pooled()] * 2, scale=3, pad_out_x=True),
                 "pad_out_x=True", "scale 2")


def pooled_again():
    return data_layer(name="other", size=1)


def image_again():
    return data_layer(name="image2", size=96, height=8, width=4)


def test_other_errors():
    expect_error(lambda: rotate_layer(input=image(), height=5, width=4), "height=5",
                 "divide the input size 96")
    expect_error(lambda: switch_order_layer(input=image()), "reshape_axis=None",
                 "1, 2 or 3")
    expect_error(lambda: switch_order_layer(input=image(), reshape_axis=4), "reshape_axis=4")
    expect_error(lambda: scale_sub_region_layer(input=image(),
                                                indices=data_layer(name="i", size=6), value=0),
                 "value=0", "expected a float")
    expect_error(lambda: scale_sub_region_layer(input=image(),
                                                indices=data_layer(name="i", size=4),
                                                value=1.0),
                 "indices=", "size 6")
    expect_error(lambda: roi_pool_layer(input=image(), rois=data_layer(name="r", size=4),
                                        pooled_width=2, pooled_height=2, spatial_scale=1.0,
                                        num_channels=3),
                 "rois=", "at least 5 values")
    expect_error(lambda: block_expand_layer(input=image(), num_channels=3, block_x=2,
                                            block_y=2),
                 "stride_x=0", "must be positive")
    expect_error(lambda: block_expand_layer(input=image(), num_channels=3, block_x=9,
                                            block_y=2, stride_x=1, stride_y=1),
                 "block_x=9", "larger than the padded image")
