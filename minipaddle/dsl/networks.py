"""Network helpers of Paddle v1's ``networks.py`` for images (spec section 4)."""

from __future__ import annotations

from typing import Annotated, Any, Optional, Union

from pydantic import Field

from ..config.layers.conv import EXCONV
from ..config.models import Double as Number
from .activations import LinearActivation, ReluActivation, SoftmaxActivation
from .attrs import BiasAttrArg, ExtraLayerAttribute, LayerAttrArg, ParamAttrArg
from .base import (
    Activation, LayerOutput, NonNegInt, NonNegIntOrPair, PosInt, PosIntOrPair, dsl_function,
    fail,
)
from .layers.combine import dropout_layer
from .layers.conv import img_conv_layer
from .layers.fc import fc_layer
from .layers.norm import batch_norm_layer
from .layers.pool import PoolType, img_pool_layer
from .poolings import MaxPooling

Rate = Annotated[Number, Field(ge=0, lt=1)]


@dsl_function(prefix="conv_pool", layer=False)
def simple_img_conv_pool(input: LayerOutput, filter_size: PosIntOrPair, num_filters: PosInt,
                         pool_size: PosInt, name: Optional[str] = None,
                         pool_type: Optional[PoolType] = None, act: Optional[Activation] = None,
                         groups: PosInt = 1, conv_stride: PosIntOrPair = 1,
                         conv_padding: NonNegIntOrPair = 0, bias_attr: BiasAttrArg = None,
                         num_channel: Optional[PosInt] = None, param_attr: ParamAttrArg = None,
                         shared_bias: bool = True, conv_layer_attr: LayerAttrArg = None,
                         pool_stride: PosInt = 1, pool_padding: NonNegInt = 0,
                         pool_layer_attr: LayerAttrArg = None) -> LayerOutput:
    """img_conv_layer ``<name>_conv`` then img_pool_layer ``<name>_pool``.  As in Paddle,
    ``pool_stride`` defaults to 1: say 2 for the usual halving."""
    conv = img_conv_layer(name=f"{name}_conv", input=input, filter_size=filter_size,
                          num_filters=num_filters, num_channels=num_channel, act=act,
                          groups=groups, stride=conv_stride, padding=conv_padding,
                          bias_attr=bias_attr, param_attr=param_attr, shared_biases=shared_bias,
                          layer_attr=conv_layer_attr)
    return img_pool_layer(name=f"{name}_pool", input=conv, pool_size=pool_size,
                          pool_type=pool_type, stride=pool_stride, padding=pool_padding,
                          layer_attr=pool_layer_attr)


@dsl_function(prefix="conv_bn_pool", layer=False)
def img_conv_bn_pool(input: LayerOutput, filter_size: PosIntOrPair, num_filters: PosInt,
                     pool_size: PosInt, name: Optional[str] = None,
                     pool_type: Optional[PoolType] = None, act: Optional[Activation] = None,
                     groups: PosInt = 1, conv_stride: PosIntOrPair = 1,
                     conv_padding: NonNegIntOrPair = 0, conv_bias_attr: BiasAttrArg = None,
                     num_channel: Optional[PosInt] = None, conv_param_attr: ParamAttrArg = None,
                     shared_bias: bool = True, conv_layer_attr: LayerAttrArg = None,
                     bn_param_attr: ParamAttrArg = None, bn_bias_attr: BiasAttrArg = None,
                     bn_layer_attr: LayerAttrArg = None, pool_stride: PosInt = 1,
                     pool_padding: NonNegInt = 0,
                     pool_layer_attr: LayerAttrArg = None) -> LayerOutput:
    """``<name>_conv`` (linear) -> ``<name>_bn`` (act, ReLU by default) -> ``<name>_pool``."""
    conv = img_conv_layer(name=f"{name}_conv", input=input, filter_size=filter_size,
                          num_filters=num_filters, num_channels=num_channel,
                          act=LinearActivation(), groups=groups, stride=conv_stride,
                          padding=conv_padding, bias_attr=conv_bias_attr,
                          param_attr=conv_param_attr, shared_biases=shared_bias,
                          layer_attr=conv_layer_attr)
    bn = batch_norm_layer(name=f"{name}_bn", input=conv, act=act, bias_attr=bn_bias_attr,
                          param_attr=bn_param_attr, layer_attr=bn_layer_attr)
    return img_pool_layer(name=f"{name}_pool", input=bn, pool_type=pool_type,
                          pool_size=pool_size, stride=pool_stride, padding=pool_padding,
                          layer_attr=pool_layer_attr)


def _broadcast(arg: str, value: Any, n: int) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise fail(arg, value, f"a list here needs one entry per conv ({n})")
        return list(value)
    return [value] * n


@dsl_function(named=False, layer=False)
def img_conv_group(input: LayerOutput, conv_num_filter: list[PosInt], pool_size: PosInt,
                   num_channels: Optional[PosInt] = None,
                   conv_padding: Union[NonNegInt, list[NonNegInt]] = 1,
                   conv_filter_size: Union[PosInt, list[PosInt]] = 3,
                   conv_act: Union[Activation, list[Activation], None] = None,
                   conv_with_batchnorm: Union[bool, list[bool]] = False,
                   conv_batchnorm_drop_rate: Union[Rate, list[Rate]] = 0,
                   pool_stride: PosInt = 1, pool_type: Optional[PoolType] = None,
                   param_attr: ParamAttrArg = None) -> LayerOutput:
    """A VGG block: convs (each optionally followed by batch norm), then one pooling layer.
    Scalars are broadcast to every conv; layers get automatic names."""
    n = len(conv_num_filter)
    if n == 0:
        raise fail("conv_num_filter", conv_num_filter, "expected at least one filter count")
    paddings = _broadcast("conv_padding", conv_padding, n)
    sizes = _broadcast("conv_filter_size", conv_filter_size, n)
    acts = _broadcast("conv_act", conv_act or ReluActivation(), n)
    with_bn = _broadcast("conv_with_batchnorm", conv_with_batchnorm, n)
    drops = _broadcast("conv_batchnorm_drop_rate", conv_batchnorm_drop_rate, n)
    tmp = input
    for i in range(n):
        tmp = img_conv_layer(input=tmp, padding=paddings[i], filter_size=sizes[i],
                             num_filters=conv_num_filter[i],
                             num_channels=num_channels if i == 0 else None,
                             param_attr=param_attr,
                             act=LinearActivation() if with_bn[i] else acts[i])
        if with_bn[i]:
            rate = drops[i]
            attr = ExtraLayerAttribute(drop_rate=rate) if abs(rate) >= 1e-5 else None
            tmp = batch_norm_layer(input=tmp, act=acts[i], layer_attr=attr)
    return img_pool_layer(input=tmp, stride=pool_stride, pool_size=pool_size,
                          pool_type=pool_type or MaxPooling())


@dsl_function(prefix="separable_conv", layer=False)
def img_separable_conv(input: LayerOutput, num_channels: PosInt, num_out_channels: PosInt,
                       filter_size: PosIntOrPair, stride: PosIntOrPair = 1,
                       padding: NonNegIntOrPair = 0, depth_multiplier: PosInt = 1,
                       act: Optional[Activation] = None, bias_attr: BiasAttrArg = None,
                       param_attr: ParamAttrArg = None, shared_bias: bool = True,
                       layer_type: str = EXCONV, name: Optional[str] = None) -> LayerOutput:
    """Depthwise conv ``<name>_depthwise_conv`` (groups = channels, linear) followed by a 1x1
    pointwise conv ``<name>_pointwise_conv``."""
    depthwise = img_conv_layer(name=f"{name}_depthwise_conv", input=input,
                               num_channels=num_channels,
                               num_filters=num_channels * depth_multiplier, groups=num_channels,
                               filter_size=filter_size, stride=stride, padding=padding,
                               act=LinearActivation(), bias_attr=bias_attr,
                               param_attr=param_attr, shared_biases=shared_bias,
                               layer_type=layer_type)
    return img_conv_layer(name=f"{name}_pointwise_conv", input=depthwise,
                          num_channels=num_channels * depth_multiplier,
                          num_filters=num_out_channels, filter_size=1, stride=1, padding=0,
                          act=act, bias_attr=bias_attr, param_attr=param_attr,
                          shared_biases=shared_bias)


@dsl_function(named=False, layer=False)
def small_vgg(input_image: LayerOutput, num_channels: PosInt, num_classes: PosInt) -> LayerOutput:
    """Paddle's small VGG for CIFAR: four conv groups with batch norm and dropout, a pooling,
    dropout, fc 512 + batch norm, fc num_classes softmax."""

    def block(ipt: LayerOutput, filters: int, times: int, drops: list[float],
              channels: Optional[int] = None) -> LayerOutput:
        return img_conv_group(input=ipt, num_channels=channels, pool_size=2, pool_stride=2,
                              conv_num_filter=[filters] * times, conv_filter_size=3,
                              conv_act=ReluActivation(), conv_with_batchnorm=True,
                              conv_batchnorm_drop_rate=drops, pool_type=MaxPooling())

    tmp = block(input_image, 64, 2, [0.3, 0], num_channels)
    tmp = block(tmp, 128, 2, [0.4, 0])
    tmp = block(tmp, 256, 3, [0.4, 0.4, 0])
    tmp = block(tmp, 512, 3, [0.4, 0.4, 0])
    tmp = img_pool_layer(input=tmp, stride=2, pool_size=2, pool_type=MaxPooling())
    tmp = dropout_layer(input=tmp, dropout_rate=0.5)
    tmp = fc_layer(input=tmp, size=512, layer_attr=ExtraLayerAttribute(drop_rate=0.5),
                   act=LinearActivation())
    tmp = batch_norm_layer(input=tmp, act=ReluActivation())
    return fc_layer(input=tmp, size=num_classes, act=SoftmaxActivation())


@dsl_function(named=False, layer=False)
def vgg_16_network(input_image: LayerOutput, num_channels: PosInt,
                   num_classes: PosInt = 1000) -> LayerOutput:
    """VGG-16 (configuration D): 13 3x3 convs in five groups, then fc 4096, 4096, classes."""
    tmp = input_image
    for i, filters in enumerate(([64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3)):
        tmp = img_conv_group(input=tmp, num_channels=num_channels if i == 0 else None,
                             conv_padding=1, conv_num_filter=filters, conv_filter_size=3,
                             conv_act=ReluActivation(), pool_size=2, pool_stride=2,
                             pool_type=MaxPooling())
    for _ in range(2):
        tmp = fc_layer(input=tmp, size=4096, act=ReluActivation(),
                       layer_attr=ExtraLayerAttribute(drop_rate=0.5))
    return fc_layer(input=tmp, size=num_classes, act=SoftmaxActivation())
