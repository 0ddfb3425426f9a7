"""Paddle's raw config-parser names (``python/paddle/trainer/config_parser.py``).

Paddle executed every config file in a namespace holding its parser's own names, so a v1
config could use them without importing anything: the global parameter defaults
(``default_momentum(0.9)``, ``default_initial_std(...)``, ...), ``Settings(...)`` with plain
values, ``Inputs``/``Outputs`` by layer name, and the low-level ``Layer(type=..., inputs=
Input(..., conv=Conv(...)))`` forms that the helpers themselves were built on.  minipaddle puts
the same names in every Python config's namespace (:func:`config_namespace`).  The raw layer
forms build the same LayerConfigs the helpers build (:mod:`.raw_layers`); names of the parser
that are not implemented raise ``NotImplementedError`` naming themselves.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..config import ConfigError, OptimizationConfig, TrainerConfig
from ..config.models import Double as Number
from ..config.serialize import describe_validation_error
from .base import LayerOutput, NonNegInt, PosInt, dsl_call, fail
from .calls import user_location
from .context import current, get_config_arg
from .optimizers import DEFAULT_SETTINGS, SCHEDULES
from .params import define_parameter
from .unsupported import not_implemented

NonNeg = Annotated[Number, Field(ge=0, allow_inf_nan=False)]


class RawForm(BaseModel):
    """Base of the parser's argument classes (``Conv``, ``Pool``, ``Input``, ...): Paddle's
    positional order, strict types, errors naming the class and the user's file:line."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    #: Paddle's positional parameter order
    POSITIONAL: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any):
        what = type(self).__name__
        if len(args) > len(self.POSITIONAL):
            raise ConfigError(f"{what}: takes at most {len(self.POSITIONAL)} positional "
                              f"arguments ({', '.join(self.POSITIONAL)}), got {len(args)}",
                              where=user_location())
        for key, value in zip(self.POSITIONAL, args):
            if key in kwargs:
                raise ConfigError(f"{what}: {key} given twice", where=user_location())
            kwargs[key] = value
        known = list(type(self).model_fields)
        for key in kwargs:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"{what}: unknown argument {key!r}{hint}; known: "
                                  f"{', '.join(known)}", argument=key, where=user_location())
        try:
            super().__init__(**kwargs)
        except ValidationError as err:
            raise ConfigError(f"{what}: {describe_validation_error(err)}",
                              where=user_location()) from None


class ParameterFields(RawForm):
    """The parameter settings ``Input`` and ``Bias`` carry to Paddle's ``Parameter()``; unset
    ones take the global defaults (``default_initial_std(...)``, ...)."""

    learning_rate: Optional[NonNeg] = None
    momentum: Optional[NonNeg] = None
    decay_rate: Optional[NonNeg] = None
    decay_rate_l1: Optional[NonNeg] = None
    initial_mean: Optional[Annotated[Number, Field(allow_inf_nan=False)]] = None
    initial_std: Optional[NonNeg] = None
    initial_strategy: Optional[Annotated[int, Field(ge=0, le=1)]] = None
    initial_smart: Optional[bool] = None
    num_batches_regularization: Optional[PosInt] = None
    sparse_remote_update: Optional[bool] = None
    gradient_clipping_threshold: Optional[NonNeg] = None
    is_static: Optional[bool] = None
    is_shared: Optional[bool] = None
    initializer: None = None

    def parameter_fields(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in ParameterFields.model_fields
                if key != "initializer"}


class Bias(ParameterFields):
    """A layer's bias (``bias=Bias(...)``; ``bias=True`` is ``Bias()``)."""

    POSITIONAL = ("parameter_name",)
    parameter_name: Optional[str] = None


class Conv(RawForm):
    """A convolution of one layer input; unset ``_y`` values follow x, an unset padding,
    stride or groups is the protobuf default (0, 1, 1)."""

    POSITIONAL = ("filter_size", "channels", "padding", "stride", "groups", "filter_channels",
                  "output_x", "img_size", "caffe_mode", "filter_size_y", "padding_y",
                  "stride_y", "dilation", "dilation_y")
    filter_size: PosInt
    channels: PosInt
    padding: Optional[NonNegInt] = None
    stride: Optional[PosInt] = None
    groups: Optional[PosInt] = None
    filter_channels: Optional[int] = None      # computed by the parser; ignored, as in Paddle
    output_x: Optional[Annotated[int, Field(le=0)]] = None
    img_size: Optional[int] = None             # computed by the parser; ignored, as in Paddle
    caffe_mode: bool = True
    filter_size_y: Optional[PosInt] = None
    padding_y: Optional[NonNegInt] = None
    stride_y: Optional[PosInt] = None
    dilation: Optional[PosInt] = None
    dilation_y: Optional[PosInt] = None


class Pool(RawForm):
    """A pooling of one layer input; ``pool_type`` is the config string
    (``"max-projection"``, ``"avg-projection"``, ...)."""

    POSITIONAL = ("pool_type", "channels", "size_x", "size_y", "start", "stride", "stride_y",
                  "padding", "padding_y")
    pool_type: str
    channels: PosInt
    size_x: PosInt
    size_y: Optional[PosInt] = None
    start: Optional[int] = None
    stride: Optional[PosInt] = None
    stride_y: Optional[PosInt] = None
    padding: Optional[NonNegInt] = None
    padding_y: Optional[NonNegInt] = None


class Norm(RawForm):
    """A normalisation of one layer input (``norm_type="cmrnorm-projection"``, ``scale``
    divided by ``size`` in the config, or ``"cross-channel-norm"``, ``scale`` divided by
    ``size**2``, as Paddle's parser did)."""

    POSITIONAL = ("norm_type", "channels", "size", "scale", "pow", "output_x", "img_size",
                  "blocked")
    norm_type: str
    channels: PosInt
    size: PosInt
    scale: NonNeg
    pow: Annotated[Number, Field(allow_inf_nan=False)]
    output_x: Optional[int] = None             # computed by the parser; ignored, as in Paddle
    img_size: Optional[int] = None             # computed by the parser; ignored, as in Paddle
    blocked: Optional[bool] = None


class Image(RawForm):
    """The channel count of a batch-norm input (``Input(..., image=Image(channels=C))``)."""

    POSITIONAL = ("channels", "img_size")
    channels: PosInt
    img_size: Optional[int] = None             # computed by the parser; ignored, as in Paddle


class Input(ParameterFields):
    """One input of a raw ``Layer``: the input layer's name, the parameter that goes with it
    (named ``_<layer>.w<i>`` unless ``parameter_name`` says otherwise) and, for image
    layers, what the layer does to it (``conv=``, ``pool=``, ``norm=``, ``image=``)."""

    POSITIONAL = ("input_layer_name", "parameter_name")
    input_layer_name: str
    parameter_name: Optional[str] = None
    sparse_update: Optional[bool] = None
    conv: Optional[Conv] = None
    norm: Optional[Norm] = None
    pool: Optional[Pool] = None
    image: Optional[Image] = None
    format: None = None
    nnz: None = None
    update_hooks: None = None
    input_layer_argument: None = None
    make_layer_name_in_submodel: bool = True

    def parameter_fields(self) -> dict[str, Any]:
        return {**super().parameter_fields(), "sparse_update": self.sparse_update}


# ---------------------------------------------------------------------------------------------
# global defaults, settings, inputs and outputs


def _checked(annotation: Any, argument: str, value: Any) -> Any:
    """``value`` validated (strictly) against a field annotation, or fail() naming it."""
    try:
        return TypeAdapter(annotation, config=ConfigDict(strict=True)).validate_python(value)
    except ValidationError as err:
        raise fail(argument, value, describe_validation_error(err)) from None


def _default_setter(key: str, doc: str):
    name = f"default_{key}"
    annotation = Optional[int] if key == "device" else ParameterFields.model_fields[key].annotation

    def setter(val: Any) -> None:
        with dsl_call(name):
            current().param_defaults[key] = _checked(annotation, "val", val)

    setter.__name__ = setter.__qualname__ = name
    setter.__doc__ = doc
    return setter


_SETTERS = {
    "momentum": "the momentum of parameters created after it (MomentumOptimizer's momentum)",
    "decay_rate": "the L2 decay rate of parameters created after it (L2Regularization's)",
    "initial_mean": "the initial mean of later parameters that do not set one (0.0)",
    "initial_std": "the initial std of later parameters that do not set one (0.01)",
    "initial_strategy": "0 (normal) or 1 (uniform) for later parameters that do not set one",
    "initial_smart": "smart initialisation (std 1/sqrt(fan-in)) for later parameters that do "
                     "not set it",
    "num_batches_regularization": "num_batches_regularization of later parameters",
    "gradient_clipping_threshold": "the clipping threshold of later parameters",
    "device": "the device of the layers (and their parameters) created after it",
}
DEFAULT_SETTERS = {f"default_{key}": _default_setter(key, f"Set {doc}.")
                   for key, doc in _SETTERS.items()}


def _refuse_unless_none(name: str, what: str):
    def setter(val: Any) -> None:
        if val is not None:
            raise NotImplementedError(f"{name}({val!r}): {what} are not implemented in "
                                      "minipaddle")

    setter.__name__ = setter.__qualname__ = name
    return setter


DEFAULT_SETTERS["default_update_hooks"] = _refuse_unless_none(
    "default_update_hooks", "parameter update hooks (pruning)")
DEFAULT_SETTERS["default_compact_func"] = _refuse_unless_none(
    "default_compact_func", "sparse (compact) parameter formats")

#: every opt_config key Settings() takes: config_parser's DEFAULT_SETTING
SETTING_KEYS = tuple(DEFAULT_SETTINGS) + (
    "mini_batch_size", "num_batches_per_send_parameter", "num_batches_per_get_parameter",
    "center_parameter_update_method")
TRAINER_KEYS = ("save_dir", "init_model_path", "start_pass")
#: learning_method and algorithm strings Paddle's trainer knew
LEARNING_METHOD_NAMES = ("momentum", "sparse_momentum", "torch_momentum", "adagrad",
                         "decayed_adagrad", "adadelta", "rmsprop", "adam", "adamax")
ALGORITHMS = ("sgd", "async_sgd", "owlqn")
_CHOICES = {"learning_method": LEARNING_METHOD_NAMES, "algorithm": ALGORITHMS,
            "learning_rate_schedule": SCHEDULES}


def Settings(**args: Any) -> None:  # noqa: N802 - Paddle's name
    """Paddle's ``Settings(key=value, ...)``: optimisation settings by their opt_config names
    (strings included: ``learning_method='momentum'``), plus ``save_dir``,
    ``init_model_path`` and ``start_pass``.  Unlike ``settings()``, it sets no parameter
    defaults (call ``default_momentum`` etc. for those).  Keys not given keep their values."""
    with dsl_call("Settings"):
        ctx = current()
        values = ctx.opt_values if ctx.settings_called else dict(DEFAULT_SETTINGS)
        for key, value in args.items():
            if key == "usage_ratio":
                _usage_ratio(value)
            elif key in SETTING_KEYS:
                values[key] = _setting(OptimizationConfig, key, value)
            elif key in TRAINER_KEYS:
                ctx.trainer_settings[key] = _setting(TrainerConfig, key, value)
            else:
                known = SETTING_KEYS + TRAINER_KEYS + ("usage_ratio",)
                close = difflib.get_close_matches(key, known, n=1)
                raise fail(None, None, f"unknown setting {key!r}"
                           f"{f' (did you mean {close[0]!r}?)' if close else ''}; known: "
                           f"{', '.join(sorted(known))}")
        ctx.opt_values = values
        ctx.settings_called = True


def _setting(message: type[BaseModel], key: str, value: Any) -> Any:
    """``value`` checked against the config field ``key`` and Paddle's choices for it."""
    if value is None:
        return None
    _checked(message.model_fields[key].annotation, key, value)
    if key in _CHOICES and value not in _CHOICES[key]:
        raise fail(key, value, f"expected one of {', '.join(_CHOICES[key])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise fail(key, value, "must not be negative")
    if key == "batch_size" and value == 0:
        raise fail(key, value, "must be positive")
    return value


def _usage_ratio(value: Any) -> None:
    """Paddle's deprecated Settings(usage_ratio=...): the data configs' usage ratio."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise fail("usage_ratio", value, "expected a number in [0, 1]")
    ctx = current()
    ctx.usage_ratio = value
    for data in (ctx.data_config, ctx.test_data_config):
        if data is not None:
            data.usage_ratio = value


def _names(function: str, names: tuple) -> list[str]:
    for name in names:
        if not isinstance(name, str):
            shown = f"layer {name.name!r}" if isinstance(name, LayerOutput) else repr(name)
            raise fail(None, None, f"takes layer names (strings), got {shown}; "
                       f"{function.lower()}(...) takes layer objects")
    return list(names)


def Inputs(*names: str) -> None:  # noqa: N802 - Paddle's name
    """The network's input (data) layers, by name, in data-provider order.  The layers may
    be defined before or after; they are checked when the config ends."""
    where = user_location()
    with dsl_call("Inputs"):
        ctx = current()
        for name in _names("Inputs", names):
            ctx.input_layer_names.append(name)
            ctx.declared_names.append(("Inputs", name, where))


def Outputs(*names: str) -> None:  # noqa: N802 - Paddle's name
    """The network's output layers, by name (defined before or after this call)."""
    where = user_location()
    with dsl_call("Outputs"):
        ctx = current()
        for name in _names("Outputs", names):
            ctx.output_layer_names.append(name)
            ctx.declared_names.append(("Outputs", name, where))


def HasInputsSet() -> bool:  # noqa: N802 - Paddle's name
    """Whether the network's inputs are declared yet."""
    return bool(current().input_layer_names)


def model_type(name: str) -> None:
    """Paddle's model type: only ``"nn"`` (recurrent models are not implemented)."""
    if name != "nn":
        raise NotImplementedError(f"model_type({name!r}): only 'nn' models are implemented in "
                                  "minipaddle")


def cluster_config(**args: Any) -> None:
    """Accepted and ignored, as Paddle's parser did."""


def Parameter(name: str, size: int, device: Optional[int], dims: list,  # noqa: N802
              **fields: Any) -> None:
    """Paddle's ``Parameter(name, size, device, dims, ...)``: a parameter of its own, which a
    layer input can then use by ``parameter_name``."""
    with dsl_call("Parameter"):
        if not isinstance(name, str) or not name:
            raise fail("name", name, "expected a parameter name")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise fail("size", size, "expected a positive int")
        if not isinstance(dims, (list, tuple)) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
            raise fail("dims", dims, "expected a list of positive ints")
        if device is not None and (isinstance(device, bool) or not isinstance(device, int)):
            raise fail("device", device, "expected an int or None")
        if name in current().parameters:
            raise fail("name", name, f"duplicate parameter name {name!r}")
        checked = ParameterFields(**fields).parameter_fields()
        define_parameter(name, size, list(dims), argument="name", device=device,
                         of_layer=False, **checked)


def Layer(name: Optional[str] = None, type: Optional[str] = None,  # noqa: N802, A002
          **xargs: Any) -> LayerOutput:
    """Paddle's ``Layer(name=..., type=..., inputs=..., ...)``: a layer of a config type
    (``"data"``, ``"fc"``, the conv types, ``"pool"``, ``"norm"``, ``"batch_norm"``,
    ``"addto"``, ``"concat"``, the costs, ...) with that type's arguments."""
    from .raw_layers import build_layer  # noqa: PLC0415  (a cycle: raw_layers imports raw)

    with dsl_call("Layer", name if isinstance(name, str) else None):
        return build_layer(name, type, xargs)


# ---------------------------------------------------------------------------------------------
# the namespace


def _obsolete_setter(key: str):
    def setter(value: Any) -> None:
        raise ConfigError(f"{key}({value!r}) is obsolete: use Settings({key}={value!r}, ...)",
                          argument=key, where=user_location())

    setter.__name__ = setter.__qualname__ = key
    return setter


IMPLEMENTED = {
    "Bias": Bias, "Input": Input, "Conv": Conv, "Pool": Pool, "Norm": Norm, "Image": Image,
    "Settings": Settings, "Inputs": Inputs, "Outputs": Outputs, "HasInputsSet": HasInputsSet,
    "model_type": model_type, "cluster_config": cluster_config, "Parameter": Parameter,
    "Layer": Layer, "get_config_arg": get_config_arg, **DEFAULT_SETTERS,
}

#: the rest of config_parser's config functions and classes (layers by class name included)
NOT_IMPLEMENTED = (
    "Import", "SubModelBegin", "SubModelEnd", "RecurrentLayerGroupWithoutOutLinksBegin",
    "RecurrentLayerGroupSetOutLink", "RecurrentLayerGroupBegin", "RecurrentLayerGroupEnd",
    "SimpleData", "PyData", "MultiData", "Data", "TrainData", "TestData", "Evaluator", "Link",
    "Memory", "SetMemoryInput", "Generator", "ExpressionLayer", "ParameterHook",
    "EnableSubmodelSuffix", "Projection", "IdentityProjection", "IdentityOffsetProjection",
    "SliceProjection", "DotMulProjection", "ScalingProjection", "TableProjection",
    "FullMatrixProjection", "TransposedFullMatrixProjection", "ContextProjection",
    "ConvBaseProjection", "ConvProjection", "ConvTransProjection", "Operator",
    "DotMulOperator", "ConvOperator", "ConvTransOperator", "Conv3D", "BilinearInterp",
    "Pool3d", "SpatialPyramidPool", "Pad", "Upsample", "BlockExpand", "MaxOut",
    "MultiClassCrossEntropySelfNormCostLayer", "CrossEntropyOverBeamLayer", "FCLayer",
    "MKLDNNFcLayer", "SelectiveFCLayer", "PrintLayer", "PriorBoxLayer", "MultiBoxLossLayer",
    "DetectionOutputLayer", "ROIPoolLayer", "DataLayer", "DataNormLayer",
    "ParameterReluLayer", "ConvLayerBase", "ConvLayer", "ConvTransLayerBase",
    "ConvTransLayer", "Conv3DLayerBase", "Conv3DLayer", "NormLayer", "PoolLayer",
    "MKLDNNPoolLayer", "Pool3DLayer", "SpatialPyramidPoolLayer", "UpsampleLayer", "PadLayer",
    "CropLayer", "BatchNormLayer", "TransLayer", "ResizeLayer", "RotateLayer",
    "BlockExpandLayer", "MaxOutLayer", "RowConvLayer", "ClipLayer", "ScaleShiftLayer",
    "HierarchicalSigmoidLayer", "LambdaCost", "HuberRegressionLoss", "NCELayer", "AddToLayer",
    "MKLDNNAddtoLayer", "AgentLayer", "GatherAgentLayer", "ScatterAgentLayer",
    "MultiplexLayer", "ExpandLayer", "FeatMapExpandLayer", "MaxLayer", "MaxIdLayer",
    "EosIdLayer", "SequenceLastInstanceLayer", "SequenceFirstInstanceLayer",
    "SequenceConcatLayer", "SequenceReshapeLayer", "SubSequenceLayer", "SeqSliceLayer",
    "SubNestedSequenceLayer", "DotProdLayer", "OuterProdLayer", "PowerLayer",
    "SlopeInterceptLayer", "ScalingLayer", "ConvShiftLayer", "ConvexCombinationLayer",
    "InterpolationLayer", "BilinearInterpLayer", "SumToOneNormLayer", "RowL2NormLayer",
    "CosSimLayer", "CosSimVecMatLayer", "L2DistanceLayer", "SamplingIdLayer", "AverageLayer",
    "TensorLayer", "MixedLayer", "ConcatenateLayer", "MKLDNNConcatLayer", "ConcatenateLayer2",
    "RecurrentLayer", "LstmLayer", "LstmStepLayer", "GetOutputLayer", "MDLstmLayer",
    "GatedRecurrentLayer", "GruStepLayer", "CRFLayer", "CRFDecodingLayer", "CTCLayer",
    "KmaxSeqScoreLayer", "WarpCTCLayer", "RecurrentLayerGroup", "SwitchOrderLayer",
    "ScaleSubRegionLayer", "FactorizationMachineLayer",
)
_RAW_NOTE = "a name of Paddle's raw config parser"


def config_namespace(path: str) -> dict[str, Any]:
    """The globals a Python config file runs in: Paddle's raw names (the obsolete one-setting
    functions and the unimplemented names included) and ``xrange`` for Python 2 configs."""
    namespace: dict[str, Any] = {key: _obsolete_setter(key)
                                 for key in SETTING_KEYS + ("usage_ratio",)}
    namespace.update({name: not_implemented(name, _RAW_NOTE) for name in NOT_IMPLEMENTED})
    namespace.update(IMPLEMENTED)
    namespace.update({"__file__": path, "__name__": "__minipaddle_config__", "xrange": range})
    return namespace


#: Python 2 constructs Python 3 cannot parse: (start of Python's message, what to write)
PYTHON2_SYNTAX = (
    ("Missing parentheses in call to 'print'", "a Python 2 print statement", "print(...)"),
    ("Missing parentheses in call to 'exec'", "a Python 2 exec statement", "exec(...)"),
    ("multiple exception types must be parenthesized", "a Python 2 'except E, e:' clause",
     "'except E as e:'"),
    ("leading zeros in decimal integer literals", "a Python 2 octal literal", "0o..."),
)


def syntax_error_message(err: SyntaxError) -> str:
    """A config's syntax error in one line; Python 2 constructs (Paddle's configs ran under
    Python 2) are named, with the Python 3 spelling."""
    msg = err.msg or "invalid syntax"
    text = (err.text or "").strip()
    shown = f" `{text if len(text) <= 60 else text[:57] + '...'}`" if text else ""
    for marker, construct, spelling in PYTHON2_SYNTAX:
        if msg.startswith(marker):
            return (f"syntax error: {construct}{shown}; configs run as Python 3 here: write "
                    f"{spelling}")
    return f"syntax error: {msg}"
