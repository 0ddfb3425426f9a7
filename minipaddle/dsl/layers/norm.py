"""batch_norm_layer, img_cmrnorm_layer and cross_channel_norm_layer (spec section 3)."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import Field

from ...config.models import Double as Number
from ...config import ImageConfig, LayerInputConfig, NormConfig
from ..activations import ReluActivation
from ..attrs import BiasAttrArg, LayerAttrArg, ParamAttrArg, ParameterAttribute
from ..base import Activation, LayerOutput, PosInt, dsl_function, fail, make_output
from ..context import current
from ..params import (
    DROPOUT, ERROR_CLIPPING, apply_layer_attr, bias_attr_of, bias_name, create_parameter,
    new_layer_config, weight_name,
)
from .common import image_conf, image_size, infer_channels
from .conv import volume_size

BATCH_NORM_TYPES = ("batch_norm", "cudnn_batch_norm")


@dsl_function(prefix="batch_norm")
def batch_norm_layer(input: LayerOutput, act: Optional[Activation] = None,
                     name: Optional[str] = None, img3D: bool = False,
                     num_channels: Optional[PosInt] = None, bias_attr: BiasAttrArg = None,
                     param_attr: ParamAttrArg = None, layer_attr: LayerAttrArg = None,
                     batch_norm_type: Optional[str] = None,
                     epsilon: Annotated[Number, Field(allow_inf_nan=False)] = 1e-5,
                     moving_average_fraction: Annotated[Number, Field(ge=0, le=1)] = 0.9,
                     use_global_stats: Optional[bool] = None,
                     mean_var_names: Optional[list[str]] = None) -> LayerOutput:
    """Batch normalization over channels (ReLU by default, as in Paddle); ``img3D`` reads the
    input as (C, D, H, W) volumes."""
    act = act or ReluActivation()
    if batch_norm_type is None:
        batch_norm_type = "cudnn_batch_norm" if current().use_gpu else "batch_norm"
    elif batch_norm_type not in BATCH_NORM_TYPES:
        raise fail("batch_norm_type", batch_norm_type,
                   f"expected one of {', '.join(BATCH_NORM_TYPES)} or None")
    if epsilon < 1e-5:
        raise fail("epsilon", epsilon, "must be at least 1e-5 (as Paddle asserts)")
    if mean_var_names is not None and len(mean_var_names) != 2:
        raise fail("mean_var_names", mean_var_names, "expected two names [mean, variance]")

    channels = num_channels or input.num_filters or input.size
    conf, size, shape = (batch_norm3d_geometry(input, channels) if img3D
                         else batch_norm_geometry(input, channels))

    scale_attr = param_attr or ParameterAttribute(initial_mean=1.0, initial_std=0.0)
    scale = create_parameter(scale_attr, weight_name(name, 0), channels)
    shared = None if current().use_gpu else True
    stats = []
    for i in (1, 2):
        stat_name = mean_var_names[i - 1] if mean_var_names else None
        stat_attr = ParameterAttribute(name=stat_name, initial_mean=0.0, initial_std=0.0,
                                       is_static=True)
        stats.append(create_parameter(stat_attr, weight_name(name, i), channels,
                                      [1, channels], argument="mean_var_names",
                                      is_shared=shared))
    params = [scale, *stats]
    inputs = [LayerInputConfig(input_layer_name=input.name, input_parameter_name=scale.name,
                               image_conf=conf)]
    inputs += [LayerInputConfig(input_layer_name=input.name, input_parameter_name=p.name)
               for p in stats]
    values = {"name": name, "type": batch_norm_type, "size": size, "active_type": act.name,
              "inputs": inputs, "use_global_stats": use_global_stats,
              "moving_average_fraction": moving_average_fraction,
              "epsilon": epsilon, **shape}
    battr = bias_attr_of(bias_attr)
    if battr is not None:
        bias = create_parameter(battr, bias_name(name), channels, [1, channels],
                                argument="bias_attr")
        params.append(bias)
        values["bias_parameter_name"] = bias.name
    apply_layer_attr(values, layer_attr, DROPOUT + ERROR_CLIPPING)
    return make_output(new_layer_config(**values), [input], "batch_norm", activation=act,
                       num_filters=channels, parameters=params)


def batch_norm_geometry(input: LayerOutput, channels: int) -> tuple[ImageConfig, int, dict]:
    """A batch norm's image_conf, size and height/width/depth fields (spec 3, batch_norm):
    an input with height or width is normalised as C x H x W, anything else as its size."""
    width, height = image_size(input, channels)
    if input.height or input.width:
        return (image_conf(channels, width, height), channels * width * height,
                {"height": height, "width": width, "depth": 1})
    return image_conf(channels, width, height), input.size or 0, {}


def batch_norm3d_geometry(input: LayerOutput, channels: int) -> tuple[ImageConfig, int, dict]:
    """A 3-D batch norm's image_conf (with img_size_z), size and height/width/depth fields
    (Paddle's parse_image3d: the input's width, height and depth as stated)."""
    width, height, depth = volume_size(input, channels)
    conf = ImageConfig(channels=channels, img_size=width, img_size_y=height, img_size_z=depth)
    return (conf, channels * depth * height * width,
            {"height": height, "width": width, "depth": depth})


def cmrnorm_geometry(input: LayerOutput, channels: int, size: int, scale: float,
                     power: float, blocked: Optional[bool] = False) -> tuple[NormConfig, int]:
    """A cross-map norm's norm_conf and layer size (Paddle's parse_norm): the output has the
    input's shape, and the config stores ``scale / size``."""
    width, height = image_size(input, channels)
    conf = NormConfig(norm_type="cmrnorm-projection", channels=channels, size=size,
                      scale=scale / size, pow=power, output_x=width, img_size=width,
                      blocked=blocked, output_y=height, img_size_y=height)
    return conf, channels * width * height


@dsl_function(prefix="crmnorm")
def img_cmrnorm_layer(input: LayerOutput, size: PosInt,
                      scale: Annotated[Number, Field(ge=0, allow_inf_nan=False)] = 0.0128,
                      power: Annotated[Number, Field(allow_inf_nan=False)] = 0.75,
                      name: Optional[str] = None, num_channels: Optional[PosInt] = None,
                      layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Cross-map response normalization (LRN across channels, Paddle's k = 1).

    The config stores ``scale / size`` as Paddle did (true division, never Python 2's floor).
    """
    channels = infer_channels(input, num_channels)
    norm_conf, out_size = cmrnorm_geometry(input, channels, size, scale, power)
    values = {"name": name, "type": "norm", "size": out_size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name, norm_conf=norm_conf)],
              "height": norm_conf.output_y, "width": norm_conf.output_x}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "norm", num_filters=channels)


def cross_channel_geometry(input: LayerOutput, channels: int, size: int, scale: float,
                           power: float, blocked: Optional[bool]) -> tuple[NormConfig, int]:
    """A cross-channel norm's norm_conf and layer size (Paddle's parse_norm): the output has
    the input's shape, and the config stores ``scale / size**2`` (the helper's scale is 0)."""
    width, height = image_size(input, channels)
    conf = NormConfig(norm_type="cross-channel-norm", channels=channels, size=size,
                      scale=scale / size ** 2, pow=power, output_x=width, img_size=width,
                      blocked=blocked, output_y=height, img_size_y=height)
    return conf, channels * width * height


@dsl_function(prefix="cross_channel_norm")
def cross_channel_norm_layer(input: LayerOutput, name: Optional[str] = None,
                             param_attr: ParamAttrArg = None) -> LayerOutput:
    """SSD's normalisation: at every pixel the input's channel vector divided by its L2 norm,
    times a learned per-channel scale (C values).

    Paddle writes a ``norm`` layer with ``norm_type: "cross-channel-norm"``, ``size`` the
    input's size, ``scale``/``pow`` 0 and the scale parameter ``_<name>.w0`` of dims [C, 1].
    Paddle crashed without ``param_attr``; the default ParameterAttribute is used then.
    """
    if input.num_filters is None:
        raise fail("input", input,
                   f"expected an image layer with a channel count (num_filters), e.g. a conv "
                   f"output; {input.name!r} is a {input.layer_type!r} layer of size "
                   f"{input.size} with none")
    channels = input.num_filters
    conf, size = cross_channel_geometry(input, channels, input.size or 0, 0.0, 0.0, False)
    scale = create_parameter(param_attr or ParameterAttribute(), weight_name(name, 0),
                             channels, [channels, 1])
    values = {"name": name, "type": "norm", "size": size, "active_type": "",
              "inputs": [LayerInputConfig(input_layer_name=input.name,
                                          input_parameter_name=scale.name, norm_conf=conf)],
              "height": conf.output_y, "width": conf.output_x}
    return make_output(new_layer_config(**values), [input], "norm", num_filters=channels,
                       parameters=[scale])
