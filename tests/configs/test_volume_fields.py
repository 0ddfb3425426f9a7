"""Hand-derived fields of tests/configs/volume_layers.py (Paddle's parse_conv3d, parse_pool3d,
BatchNormLayer with img3D; spec 1.4, 2.3, 3, 10 quirks 14, 15, 19), and the 3-D layers' clear
errors. Formulas as in test_goldens.py: conv out = 1 + floor((img + 2p - f) / s), pool out
= 1 + ceil(...) (floor with ceil_mode=False), transposed img = (out - 1) * s + f - 2p; conv
smart std = sqrt(2 / (filter_size_x^2 * channels))."""

from __future__ import annotations

import math

import pytest

from minipaddle import (
    AvgPooling, ConfigError, CudnnMaxPooling, batch_norm_layer, data_layer, fc_layer,
    img_conv3d_layer, img_pool3d_layer,
)
from tests.configs.test_goldens import check, conv, layer, param, pool
from tests.dsl_models import model_of

C = "volume_layers"


def test_data_layer_with_depth():
    check(layer(C, "vol"), type="data", size=2 * 4 * 6 * 10, height=6, width=10, depth=4)


def test_conv3d_same_size():
    # 10 x 6 x 4 (x, y, z), filter 3, stride 1, padding 1: 1 + (n + 2 - 3) = n on each axis.
    check(conv(C, "__conv3d_0__"), filter_size=3, filter_size_y=3, filter_size_z=3, channels=2,
          filter_channels=2, stride=1, stride_y=1, stride_z=1, padding=1, padding_y=1,
          padding_z=1, groups=1, img_size=10, img_size_y=6, img_size_z=4, output_x=10,
          output_y=6, output_z=4, caffe_mode=True, dilation=None, dilation_y=None)
    check(layer(C, "__conv3d_0__"), type="conv3d", size=5 * 4 * 6 * 10, active_type="relu",
          num_filters=5, shared_biases=True, height=6, width=10, depth=4,
          bias_parameter_name="___conv3d_0__.wbias")
    check(param(C, "___conv3d_0__.w0"), size=5 * 2 * 27, dims=[], initial_mean=0.0,
          initial_std=math.sqrt(2 / (3 * 3 * 2)), initial_strategy=0, initial_smart=False)
    check(param(C, "___conv3d_0__.wbias"), size=5, dims=[5, 1], initial_std=0.0)


def test_conv3d_per_axis_triples_and_the_zero_padding_quirk():
    # filter (3, 2, 1), stride (2, 1, 2), padding (1, 0, 0): Paddle's Conv3D reads a y or z
    # padding of 0 as the x padding 1 (quirk 19).  x 1 + (10 + 2 - 3) // 2 = 5,
    # y 1 + (6 + 2 - 2) = 7, z 1 + (4 + 2 - 1) // 2 = 3; groups 2: 1 channel per group.
    check(conv(C, "per_axis"), filter_size=3, filter_size_y=2, filter_size_z=1, stride=2,
          stride_y=1, stride_z=2, padding=1, padding_y=1, padding_z=1, groups=2,
          filter_channels=1, output_x=5, output_y=7, output_z=3)
    check(layer(C, "per_axis"), size=4 * 5 * 7 * 3, height=7, width=5, depth=3,
          shared_biases=False, bias_parameter_name=None, active_type="")
    # weight num_filters * filter_channels * 3 * 2 * 1; the std uses filter_size_x only
    check(param(C, "_per_axis.w0"), size=4 * 1 * 6, initial_std=math.sqrt(2 / (9 * 2)))


def test_deconv3d():
    # input 5 x 4 x 6 x 10 (the conv side's output); filter 2, stride 2: img = 2 * out.
    check(conv(C, "up"), channels=5, filter_channels=5, output_x=10, output_y=6, output_z=4,
          img_size=20, img_size_y=12, img_size_z=8, filter_size_z=2, stride_z=2, padding_z=0)
    check(layer(C, "up"), type="deconv3d", size=5 * 20 * 12 * 8, height=12, width=20, depth=8)
    # quirk 14: num_filters * num_filters/groups * filter^3; std with the input channels
    check(param(C, "_up.w0"), size=5 * 5 * 8, initial_std=math.sqrt(2 / (2 * 2 * 5)))
    check(param(C, "_up.wbias"), size=5, dims=[5, 1])


def test_pool3d_ceil_and_floor():
    # up is 20 x 12 x 8; window 3, stride 2, padding 1, ceil: 1 + ceil((n - 1) / 2) -> 11, 7, 5
    check(pool(C, "pooled"), pool_type="max-projection", channels=5, size_x=3, size_y=3,
          size_z=3, stride=2, stride_y=2, stride_z=2, padding=1, padding_y=1, padding_z=1,
          img_size=20, img_size_y=12, img_size_z=8, output_x=11, output_y=7, output_z=5,
          exclude_mode=None)
    check(layer(C, "pooled"), type="pool3d", size=5 * 11 * 7 * 5, height=7, width=11, depth=5)
    # vol 10 x 6 x 4, window (2, 3, 2), stride (2, 3, 1), floor: 5, 2, 3
    check(pool(C, "avg"), pool_type="avg-projection", size_x=2, size_y=3, size_z=2, stride=2,
          stride_y=3, stride_z=1, padding=0, padding_y=0, padding_z=0, output_x=5,
          output_y=2, output_z=3)
    check(layer(C, "avg"), size=2 * 5 * 2 * 3, height=2, width=5, depth=3)


def test_batch_norm3d():
    bn = layer(C, "__batch_norm_0__")
    check(bn, type="batch_norm", size=5 * 11 * 7 * 5, height=7, width=11, depth=5,
          active_type="tanh")
    check(bn.inputs[0].image_conf, channels=5, img_size=11, img_size_y=7, img_size_z=5)
    check(param(C, "___batch_norm_0__.w1"), size=5, dims=[1, 5], is_static=True,
          is_shared=True)


# ----------------------------------------------------------------------------- Paddle quirks

def vol(c=2, d=4, h=6, w=10):
    return data_layer(name="v", size=c * d * h * w, depth=d, height=h, width=w)


def test_pool3d_padding_sequence_is_read_as_paddle_read_it():
    # Paddle's helper unpacks padding (x, y, z) into (padding, padding_y, padding_y): y takes
    # the third item, z the padding_z keyword or else (Pool3d's `v if v else x`) the x value
    def net():
        v = vol()
        return [img_pool3d_layer(input=v, name="a", pool_size=3, padding=[2, 1, 0]),
                img_pool3d_layer(input=v, name="b", pool_size=3, padding=[2, 0, 1],
                                 padding_z=0)]
    m = model_of(net)
    check(m.layer("a").inputs[0].pool_conf, padding=2, padding_y=2, padding_z=2)
    check(m.layer("b").inputs[0].pool_conf, padding=2, padding_y=1, padding_z=2)


def test_pool3d_y_and_z_keywords_are_ignored_as_in_paddle():
    def net():
        return img_pool3d_layer(input=vol(), name="a", pool_size=2, pool_size_y=3, stride_z=2)
    check(model_of(net).layer("a").inputs[0].pool_conf, size_y=2, stride_z=1)


def test_conv3d_on_a_depth_one_image():
    def net():
        x = data_layer(name="img", size=3 * 5 * 5, height=5, width=5)
        return img_conv3d_layer(input=x, name="c", filter_size=[3, 3, 1], num_filters=2)
    c = model_of(net).layer("c")
    check(c.inputs[0].conv_conf, img_size_z=1, output_z=1, output_x=3)
    check(c, depth=1, size=2 * 3 * 3)


# ----------------------------------------------------------------------------- clear errors

@pytest.mark.parametrize("call,pattern", [
    (lambda v: img_conv3d_layer(input=v, filter_size=[3, 3], num_filters=2),
     r"filter_size.*3 items"),
    (lambda v: img_conv3d_layer(input=v, filter_size=3, num_filters=2, trans=True,
                                layer_type="conv3d"),
     r"layer_type='conv3d'.*expected 'deconv3d' with trans=True"),
    (lambda v: img_conv3d_layer(input=v, filter_size=3, num_filters=3, groups=2),
     r"groups=2.*must divide num_filters = 3"),
    (lambda v: img_conv3d_layer(input=v, filter_size=[3, 3, 9], num_filters=2),
     r"filter_size.*along z"),
    (lambda v: img_conv3d_layer(input=fc_layer(input=v, size=8), filter_size=2,
                                num_filters=2, num_channels=2),
     r"needs a volume.*no height and width"),
    (lambda v: img_conv3d_layer(input=v, filter_size=2, num_filters=2, num_channels=3),
     r"is not 3 channels x depth 4 x height 6 x width 10"),
    (lambda v: img_pool3d_layer(input=v, pool_size=2, pool_type=CudnnMaxPooling()),
     r"pool_type.*expected one of MaxPooling, AvgPooling"),
    (lambda v: img_pool3d_layer(input=v, pool_size=[2, 2]),
     r"pool_size=\[2, 2\].*3 items"),
    (lambda v: img_pool3d_layer(input=v, pool_size=[2, 2, 9], pool_type=AvgPooling()),
     r"larger than the padded input along z"),
    (lambda v: img_pool3d_layer(input=v, pool_size=2, stride=[1, 0, 1]),
     r"stride.*positive integers"),
    (lambda v: batch_norm_layer(input=fc_layer(input=v, size=8), img3D=True),
     r"needs a volume"),
])
def test_clear_errors(call, pattern):
    def net():
        return call(vol())
    with pytest.raises(ConfigError, match=pattern):
        model_of(net)
