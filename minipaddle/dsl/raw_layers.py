"""The raw ``Layer(type=...)`` forms of Paddle's config parser: one builder per config type.

A builder takes the arguments Paddle's layer class for its type took and emits the LayerConfig
the helper of that type emits, through the same geometry functions (``conv_geometry``,
``pool_geometry``, ...).  Where the raw parser meant something else than the helpers, the raw
meaning is kept:

* parameters take what their ``Input``/``Bias`` says and the global defaults for the rest
  (normal, mean 0, std 0.01 unless ``default_initial_*`` says otherwise), biases included:
  not the helpers' smart or zero initialisation;
* a convolution's bias is one per output value unless ``shared_biases=True``;
* batch norm normalises with the moving statistics unless ``use_global_stats=False``;
* ``addto`` has a bias unless ``bias=False``; a cost's ``coeff`` defaults to 1.0;
* ``active_type`` is written as given (``"linear"`` stays ``"linear"``).
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, validate_call

from ..config import LayerConfig, LayerInputConfig, ParameterConfig
from ..config.models import Double as Number
from ..config.serialize import describe_validation_error
from .activations import activation_by_name
from .attrs import ExtraLayerAttribute
from .base import LayerOutput, PosInt, Size, fail, make_output
from .context import current
from .layers.common import shape_fields
from .layers.conv import CONV_TYPES, CONVT_TYPES, conv_config_type, conv_geometry
from .layers.data import data_layer
from .layers.norm import batch_norm_geometry, cmrnorm_geometry, cross_channel_geometry
from .layers.pool import IMAGE_POOL_TYPES, pool_geometry
from .params import bias_name, define_parameter, new_layer_config, weight_name
from .raw import Bias, Input, RawForm

BiasArg = Union[bool, Bias]


class LayerArgs(BaseModel):
    """Paddle's LayerBase arguments, which most layer types take besides their own."""

    model_config = ConfigDict(strict=True, extra="forbid")
    active_type: str = ""
    drop_rate: Annotated[Number, Field(ge=0, lt=1)] = 0.0
    coeff: Optional[Annotated[Number, Field(allow_inf_nan=False)]] = None
    error_clipping_threshold: Optional[Annotated[Number, Field(ge=0)]] = None
    device: Optional[int] = None


BASE_ARGS = tuple(LayerArgs.model_fields)


@dataclass(frozen=True)
class RawBuilder:
    build: Callable[..., LayerOutput]
    base: tuple[str, ...]        # the LayerBase arguments the type takes

    @property
    def own_args(self) -> list[inspect.Parameter]:
        params = inspect.signature(self.build).parameters.values()
        return [p for p in params if p.name not in ("name", "type", "base")]


#: config type -> builder
RAW_LAYERS: dict[str, RawBuilder] = {}


def raw_layer(*types: str, base: tuple[str, ...] = BASE_ARGS):
    def register(fn: Callable[..., LayerOutput]) -> Callable[..., LayerOutput]:
        checked = validate_call(config=ConfigDict(strict=True, arbitrary_types_allowed=True))(fn)
        for kind in types:
            RAW_LAYERS[kind] = RawBuilder(checked, base)
        return fn
    return register


def build_layer(name: Any, kind: Any, xargs: dict[str, Any]) -> LayerOutput:
    """``Layer(name=name, type=kind, **xargs)`` (inside the ``Layer`` call's context)."""
    if not isinstance(name, str) or not name:
        raise fail("name", name, "expected a layer name (a non-empty string)")
    builder = RAW_LAYERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise fail("type", kind, f"the raw form of this layer type is not implemented in "
                   f"minipaddle; implemented: {', '.join(sorted(RAW_LAYERS))} (the helper "
                   "functions cover more types)")
    existing = current().layers.get(name)
    if existing is not None:
        raise fail("name", name, f"duplicate layer name {name!r}: a layer of type "
                   f"{existing.type!r} already has it")
    own = {p.name: p for p in builder.own_args}
    known = list(own) + list(builder.base)
    for key in xargs:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            raise fail(None, None, f"unknown argument {key!r} for a {kind!r} layer"
                       f"{f' (did you mean {close[0]!r}?)' if close else ''}; known: "
                       f"{', '.join(known)}")
    missing = [n for n, p in own.items() if p.default is inspect.Parameter.empty
               and n not in xargs]
    if missing:
        raise fail(None, None, f"a {kind!r} layer needs {', '.join(map(repr, missing))}")
    try:
        base = LayerArgs(**{k: v for k, v in xargs.items() if k in builder.base})
        args = {k: v for k, v in xargs.items() if k in own}
        if "type" in inspect.signature(builder.build).parameters:
            args["type"] = kind
        return builder.build(name=name, base=base, **args)
    except ValidationError as err:
        raise fail(None, None, describe_validation_error(err)) from None


# ---------------------------------------------------------------------------------------------
# inputs, parameters, configs


def _resolve(inputs: Any, kind: str, single: bool = False) -> list[tuple[Input, LayerOutput]]:
    """Paddle's LayerBase inputs: layer names or ``Input(...)``s, of existing layers."""
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if not items:
        raise fail("inputs", inputs, "expected at least one input")
    if single and len(items) > 1:
        raise fail("inputs", inputs, f"minipaddle's {kind!r} layers take one input, got "
                   f"{len(items)}")
    ctx = current()
    resolved = []
    for item in items:
        if isinstance(item, str):
            item = Input(item)
        if not isinstance(item, Input):
            raise fail("inputs", item, "expected a layer name or an Input(...)")
        source = ctx.layer_outputs.get(item.input_layer_name)
        if source is None:
            raise fail("inputs", item.input_layer_name,
                       f"unknown input layer {item.input_layer_name!r}: a layer must be "
                       "defined before a layer reads it")
        resolved.append((item, source))
    return resolved


def _single(inputs: Any, kind: str, part: str, form: str) -> tuple[Input, LayerOutput, Any]:
    """The one input of an image layer and its ``part`` (``conv``, ``pool``, ...)."""
    (item, source), = _resolve(inputs, kind, single=True)
    value = getattr(item, part)
    if value is None:
        raise fail("inputs", item.input_layer_name, f"a {kind!r} layer's Input needs "
                   f"{part}={form}")
    return item, source, value


def _shared(name: str, size: int, dims: list[int], argument: str) -> Optional[ParameterConfig]:
    existing = current().parameters.get(name)
    if existing is not None and (existing.size != size or list(existing.dims) != dims):
        raise fail(argument, name, f"parameter {name!r} is shared but this layer needs size "
                   f"{size} dims {dims}, while it was created with size {existing.size} "
                   f"dims {list(existing.dims)}")
    return existing


def _input_parameter(layer: str, index: int, item: RawForm, size: int,
                     dims: list[int]) -> ParameterConfig:
    """Paddle's create_input_parameter: the input's own parameter, or a shared one."""
    name = item.parameter_name or weight_name(layer, index)
    existing = _shared(name, size, dims, "inputs")
    if existing is not None:
        return existing
    return define_parameter(name, size, dims, argument="inputs", **item.parameter_fields())


def _bias_parameter(layer: str, bias: BiasArg, size: int,
                    dims: list[int]) -> Optional[ParameterConfig]:
    """Paddle's create_bias_parameter: ``True`` is ``Bias()``, ``False`` no bias."""
    if bias is False:
        return None
    bias = Bias() if bias is True else bias
    name = bias.parameter_name or bias_name(layer)
    return (_shared(name, size, dims, "bias")
            or define_parameter(name, size, dims, argument="bias", **bias.parameter_fields()))


def _config(name: str, kind: str, base: LayerArgs, inputs: list[LayerInputConfig],
            bias: Optional[ParameterConfig] = None, **values: Any) -> LayerConfig:
    try:
        activation_by_name(base.active_type)
    except ValueError as err:
        raise fail("active_type", base.active_type, str(err)) from None
    return new_layer_config(
        name=name, type=kind, active_type=base.active_type, inputs=inputs,
        bias_parameter_name=bias.name if bias is not None else None,
        drop_rate=base.drop_rate or None, device=base.device,
        coeff=None if base.coeff is None else float(base.coeff),
        error_clipping_threshold=base.error_clipping_threshold, **values)


def _output(config: LayerConfig, parents: list[LayerOutput], base: LayerArgs,
            params: list[Optional[ParameterConfig]],
            num_filters: Optional[int] = None) -> LayerOutput:
    return make_output(config, parents, config.type,
                       activation=activation_by_name(base.active_type),
                       num_filters=num_filters, parameters=[p for p in params if p])


def _xy(x: Optional[int], y: Optional[int], unset: int) -> tuple[int, int]:
    """An (x, y) pair: y follows x, an unset x is the protobuf default."""
    x = unset if x is None else x
    return x, x if y is None else y


# ---------------------------------------------------------------------------------------------
# the builders


@raw_layer("data", base=("device",))
def _data(name: str, base: LayerArgs, size: Size, depth: Optional[PosInt] = None,
          height: Optional[PosInt] = None, width: Optional[PosInt] = None) -> LayerOutput:
    if not (height and width):          # Paddle's DataLayer takes the two together only
        height = width = None
    attr = ExtraLayerAttribute(device=base.device) if base.device is not None else None
    return data_layer(name=name, size=size, depth=depth, height=height, width=width,
                      layer_attr=attr)


@raw_layer("fc")
def _fc(name: str, base: LayerArgs, size: Size, inputs: Any,
        bias: BiasArg = True) -> LayerOutput:
    sources = _resolve(inputs, "fc")
    params, layer_inputs = [], []
    for i, (item, source) in enumerate(sources):
        in_size = source.size or 0
        param = _input_parameter(name, i, item, in_size * size, [in_size, size])
        params.append(param)
        layer_inputs.append(LayerInputConfig(input_layer_name=source.name,
                                             input_parameter_name=param.name))
    b = _bias_parameter(name, bias, size, [1, size])
    config = _config(name, "fc", base, layer_inputs, b, size=size)
    return _output(config, [s for _, s in sources], base, params + [b])


@raw_layer("conv", "convt", *CONV_TYPES, *CONVT_TYPES)
def _conv(name: str, type: str, base: LayerArgs, inputs: Any,  # noqa: A002
          bias: BiasArg = True, num_filters: Optional[PosInt] = None,
          shared_biases: bool = False) -> LayerOutput:
    trans = type.endswith("convt")
    item, source, conv = _single(inputs, type, "conv", "Conv(filter_size=..., channels=...)")
    if num_filters is None:
        raise fail("num_filters", None, "is required (a positive int)")
    if not conv.caffe_mode:
        raise fail("inputs", item.input_layer_name, "Conv(caffe_mode=False) (output sizes "
                   "rounded up) is not implemented in minipaddle")
    dilation = ((conv.dilation, conv.dilation if conv.dilation_y is None else conv.dilation_y)
                if conv.dilation else (None, None))
    geo = conv_geometry(source, conv.channels, num_filters, conv.groups or 1,
                        _xy(conv.filter_size, conv.filter_size_y, 1),
                        _xy(conv.stride, conv.stride_y, 1), _xy(conv.padding, conv.padding_y, 0),
                        dilation, trans)
    weight = _input_parameter(name, 0, item, geo.weight_size, [])
    bias_size = num_filters if shared_biases else geo.size
    b = _bias_parameter(name, bias, bias_size, [bias_size, 1])
    kind = conv_config_type(None if type in ("conv", "convt") else type, trans)
    config = _config(name, kind, base, [LayerInputConfig(
        input_layer_name=source.name, input_parameter_name=weight.name, conv_conf=geo.conf)],
        b, size=geo.size, num_filters=num_filters, shared_biases=shared_biases,
        height=geo.height, width=geo.width)
    return _output(config, [source], base, [weight, b], num_filters)


@raw_layer("pool")
def _pool(name: str, base: LayerArgs, inputs: Any, ceil_mode: bool = True,
          exclude_mode: Optional[bool] = None) -> LayerOutput:
    item, source, pool = _single(inputs, "pool", "pool", "Pool(pool_type=..., channels=..., "
                                 "size_x=...)")
    kinds = tuple(IMAGE_POOL_TYPES.values())
    if pool.pool_type not in kinds:
        raise fail("inputs", pool.pool_type, f"Pool(pool_type=...) must be one of "
                   f"{', '.join(kinds)}")
    if pool.start:
        raise fail("inputs", pool.start, "Pool(start=...) is deprecated in pooling (Paddle "
                   "refused it too)")
    geo = pool_geometry(source, pool.pool_type, pool.channels, (pool.size_x, pool.size_y),
                        _xy(pool.stride, pool.stride_y, 1), _xy(pool.padding, pool.padding_y, 0),
                        ceil_mode, exclude_mode)
    config = _config(name, "pool", base, [LayerInputConfig(input_layer_name=source.name,
                                                           pool_conf=geo.conf)],
                     size=geo.size, height=geo.height, width=geo.width)
    return _output(config, [source], base, [], pool.channels)


def _cmrnorm_input(name: str, item: Input, source: LayerOutput, norm: Any):
    conf, size = cmrnorm_geometry(source, norm.channels, norm.size, norm.scale, norm.pow,
                                  norm.blocked)
    return conf, size, None


def _cross_channel_input(name: str, item: Input, source: LayerOutput, norm: Any):
    """Paddle's NormLayer for cross-channel-norm: a scale of C values, dims [C, 1]."""
    conf, size = cross_channel_geometry(source, norm.channels, norm.size, norm.scale,
                                        norm.pow, norm.blocked)
    return conf, size, _input_parameter(name, 0, item, norm.channels, [norm.channels, 1])


#: Norm(norm_type=...) -> (name, item, source, norm) -> (norm_conf, size, parameter or None)
RAW_NORM_TYPES = {"cmrnorm-projection": _cmrnorm_input,
                  "cross-channel-norm": _cross_channel_input}


@raw_layer("norm")
def _norm(name: str, base: LayerArgs, inputs: Any) -> LayerOutput:
    item, source, norm = _single(inputs, "norm", "norm", "Norm(norm_type=..., channels=..., "
                                 "size=..., scale=..., pow=...)")
    build = RAW_NORM_TYPES.get(norm.norm_type)
    if build is None:
        raise fail("inputs", norm.norm_type, "Norm(norm_type=...): only "
                   f"{' and '.join(repr(k) for k in RAW_NORM_TYPES)} are implemented in "
                   "minipaddle (not 'rnorm')")
    conf, size, param = build(name, item, source, norm)
    config = _config(name, "norm", base, [LayerInputConfig(
        input_layer_name=source.name, input_parameter_name=param.name if param else None,
        norm_conf=conf)], size=size, height=conf.output_y, width=conf.output_x)
    return _output(config, [source], base, [param], norm.channels)


@raw_layer("batch_norm")
def _batch_norm(name: str, base: LayerArgs, inputs: Any, bias: BiasArg = True,
                img3D: bool = False, use_global_stats: Optional[bool] = True,  # noqa: N803
                epsilon: Optional[Number] = 1e-5,
                moving_average_fraction: Optional[Number] = 0.9,
                batch_norm_type: Optional[str] = None,
                mean_var_names: Optional[list[str]] = None) -> LayerOutput:
    if img3D:
        raise fail("img3D", img3D, "3-D batch norm is not implemented in minipaddle")
    if batch_norm_type not in (None, "batch_norm", "cudnn_batch_norm"):
        raise fail("batch_norm_type", batch_norm_type,
                   "expected batch_norm, cudnn_batch_norm or None")
    if epsilon is not None and epsilon < 1e-5:
        raise fail("epsilon", epsilon, "must be at least 1e-5 (as Paddle asserts)")
    if mean_var_names is not None and len(mean_var_names) != 2:
        raise fail("mean_var_names", mean_var_names, "expected two names [mean, variance]")
    item, source, image = _single(inputs, "batch_norm", "image", "Image(channels=...)")
    gpu = current().use_gpu
    channels = image.channels
    conf, size, shape = batch_norm_geometry(source, channels)
    scale = _input_parameter(name, 0, item, channels, [])
    names = mean_var_names or [None, None]
    stats = [_input_parameter(name, i, Input(source.name, names[i - 1], initial_std=0.0,
                                             initial_mean=0.0, is_static=True,
                                             is_shared=None if gpu else True),
                              channels, [1, channels]) for i in (1, 2)]
    b = _bias_parameter(name, bias, channels, [1, channels])
    layer_inputs = [LayerInputConfig(input_layer_name=source.name,
                                     input_parameter_name=scale.name, image_conf=conf)]
    layer_inputs += [LayerInputConfig(input_layer_name=source.name,
                                      input_parameter_name=p.name) for p in stats]
    kind = "cudnn_batch_norm" if gpu and batch_norm_type != "batch_norm" else "batch_norm"
    config = _config(name, kind, base, layer_inputs, b, size=size,
                     use_global_stats=use_global_stats, epsilon=epsilon,
                     moving_average_fraction=moving_average_fraction, **shape)
    return _output(config, [source], base, [scale, *stats, b], channels)


@raw_layer("addto")
def _addto(name: str, base: LayerArgs, inputs: Any, bias: BiasArg = True) -> LayerOutput:
    sources = [s for _, s in _resolve(inputs, "addto")]
    size = sources[0].size or 0
    for other in sources[1:]:
        if other.size != size:
            raise fail("inputs", other, f"size {other.size} differs from the first input "
                       f"{sources[0].name!r}'s size {size}; addto adds equal-sized inputs")
    shaped = [s for s in sources if s.height]       # Paddle keeps the last one with a height
    b = _bias_parameter(name, bias, size, [1, size])
    config = _config(name, "addto", base,
                     [LayerInputConfig(input_layer_name=s.name) for s in sources], b,
                     size=size, **shape_fields(shaped[-1] if shaped else sources[0]))
    filters = [s.num_filters for s in sources if s.num_filters is not None]
    return _output(config, sources, base, [b], filters[-1] if filters else None)


@raw_layer("concat")
def _concat(name: str, base: LayerArgs, inputs: Any, bias: BiasArg = False) -> LayerOutput:
    if bias is not False:
        raise fail("bias", bias, "a concat layer has no bias (Paddle refused it too)")
    sources = [s for _, s in _resolve(inputs, "concat")]
    shape = shape_fields(sources[0])
    for other in sources[1:]:
        if shape_fields(other) != shape:
            raise fail("inputs", other, f"height/width/depth differ from the first input "
                       f"{sources[0].name!r}'s; concat joins inputs of one shape")
    config = _config(name, "concat", base,
                     [LayerInputConfig(input_layer_name=s.name) for s in sources],
                     size=sum(s.size or 0 for s in sources), **shape)
    return _output(config, sources, base, [])


@raw_layer("multi-class-cross-entropy", "square_error", base=("device", "coeff"))
def _cost(name: str, type: str, base: LayerArgs, inputs: Any) -> LayerOutput:  # noqa: A002
    sources = [s for _, s in _resolve(inputs, type)]
    if len(sources) not in (2, 3):
        raise fail("inputs", inputs, "a cost takes [input, label] or [input, label, weight]")
    if base.coeff is None:                # Paddle's cost layers: coeff=1.0 by default
        base = base.model_copy(update={"coeff": 1.0})
    config = _config(name, type, base,
                     [LayerInputConfig(input_layer_name=s.name) for s in sources], size=1)
    return _output(config, sources, base, [])
