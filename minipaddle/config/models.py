"""Pydantic models that mirror Paddle v1's protobuf messages field for field.

Field order is the proto's field-number order, so the text printer (:mod:`.protostr`) walks the
fields as declared.  A field Paddle leaves unset is ``None`` here and is left out of every dump;
:meth:`ProtoModel.get` returns the protobuf default for an unset field so that no reader mistakes
``None`` for ``0``.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigError

#: A protobuf double.  Paddle printed a double assigned from a Python int as an int
#: (``dotmul_scale: 1``), so an int stays an int and a float a float.
Double = Union[int, float]

_PROTO_DEFAULT = "proto_default"
#: json_schema_extra key of a field's number in Paddle's .proto (what the binary format uses)
PROTO_NUMBER = "proto_number"


def opt(proto_default: Any = None, n: Optional[int] = None, **kw: Any) -> Any:
    """An optional proto field: unset (``None``) by default, with its protobuf default and
    its field number ``n`` in Paddle's .proto noted."""
    extra: dict[str, Any] = {_PROTO_DEFAULT: proto_default}
    if n is not None:
        extra[PROTO_NUMBER] = n
    return Field(None, json_schema_extra=extra, **kw)


def num(n: int, *default: Any, **kw: Any) -> Any:
    """A required (or always-set, with ``default``) proto field numbered ``n`` in Paddle's
    .proto."""
    return Field(*default, json_schema_extra={PROTO_NUMBER: n}, **kw)


class ProtoModel(BaseModel):
    """Base of every config message: strict types, no unknown keys, plain-data dumps."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=False)

    def get(self, field: str) -> Any:
        """The field's value, or the protobuf default when the field is unset."""
        info = type(self).model_fields.get(field)
        if info is None:
            raise ConfigError(f"{type(self).__name__} has no field {field!r}")
        value = getattr(self, field)
        if value is not None:
            return value
        extra = info.json_schema_extra or {}
        default = extra.get(_PROTO_DEFAULT) if isinstance(extra, dict) else None
        return list(default) if isinstance(default, list) else default

    def dump(self) -> dict:
        """Plain data (dicts, lists, str, int, float, bool), unset fields left out."""
        return self.model_dump(exclude_none=True, by_alias=True)

    def __repr_args__(self):
        return [(k, v) for k, v in super().__repr_args__() if v is not None and v != []]


# ---------------------------------------------------------------------------------------------
# Per-input sub-messages (ModelConfig.proto)


class ImageConfig(ProtoModel):
    channels: int = num(2)
    img_size: int = num(8)
    img_size_y: Optional[int] = opt(n=9)
    img_size_z: Optional[int] = opt(n=10)


class ConvConfig(ProtoModel):
    filter_size: int = num(1)
    channels: int = num(2)
    stride: int = num(3)
    padding: int = num(4)
    groups: int = num(5)
    filter_channels: Optional[int] = opt(n=6)
    output_x: Optional[int] = opt(n=7)
    img_size: Optional[int] = opt(n=8)
    caffe_mode: bool = num(9, True)
    filter_size_y: int = num(10)
    padding_y: int = num(11)
    stride_y: int = num(12)
    output_y: Optional[int] = opt(n=13)
    img_size_y: Optional[int] = opt(n=14)
    dilation: Optional[int] = opt(1, n=15)
    dilation_y: Optional[int] = opt(1, n=16)


class PoolConfig(ProtoModel):
    pool_type: str = num(1)
    channels: int = num(2)
    size_x: int = num(3)
    start: Optional[int] = opt(n=4)
    stride: int = num(5, 1)
    output_x: int = num(6)
    img_size: int = num(7)
    padding: Optional[int] = opt(0, n=8)
    size_y: Optional[int] = opt(n=9)
    stride_y: Optional[int] = opt(n=10)
    output_y: Optional[int] = opt(n=11)
    img_size_y: Optional[int] = opt(n=12)
    padding_y: Optional[int] = opt(n=13)
    exclude_mode: Optional[bool] = opt(n=19)


class NormConfig(ProtoModel):
    norm_type: str = num(1)
    channels: int = num(2)
    size: int = num(3)
    scale: Double = num(4)
    pow: Double = num(5)
    output_x: int = num(6)
    img_size: int = num(7)
    blocked: Optional[bool] = opt(n=8)
    output_y: Optional[int] = opt(n=9)
    img_size_y: Optional[int] = opt(n=10)


class MaxOutConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    groups: int = num(2)


class SppConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    pool_type: str = num(2)
    pyramid_height: int = num(3)


class PadConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    pad_c: list[int] = num(2, default_factory=list)
    pad_h: list[int] = num(3, default_factory=list)
    pad_w: list[int] = num(4, default_factory=list)


class BilinearInterpConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    out_size_x: int = num(2)
    out_size_y: int = num(3)


class LayerInputConfig(ProtoModel):
    input_layer_name: str = num(1)
    input_parameter_name: Optional[str] = opt(n=2)
    conv_conf: Optional[ConvConfig] = opt(n=3)
    pool_conf: Optional[PoolConfig] = opt(n=4)
    norm_conf: Optional[NormConfig] = opt(n=5)
    image_conf: Optional[ImageConfig] = opt(n=8)
    input_layer_argument: Optional[str] = opt(n=9)
    bilinear_interp_conf: Optional[BilinearInterpConfig] = opt(n=10)
    maxout_conf: Optional[MaxOutConfig] = opt(n=11)
    spp_conf: Optional[SppConfig] = opt(n=12)
    pad_conf: Optional[PadConfig] = opt(n=14)


class LayerConfig(ProtoModel):
    name: str = num(1)
    type: str = num(2)
    size: Optional[int] = opt(n=3)
    active_type: Optional[str] = opt("", n=4)
    inputs: list[LayerInputConfig] = num(5, default_factory=list)
    bias_parameter_name: Optional[str] = opt(n=6)
    num_filters: Optional[int] = opt(n=7)
    shared_biases: Optional[bool] = opt(False, n=8)
    partial_sum: Optional[int] = opt(n=9)
    drop_rate: Optional[Double] = opt(0.0, n=10)
    device: Optional[int] = opt(-1, n=12)
    coeff: Optional[Double] = opt(1.0, n=26)
    error_clipping_threshold: Optional[Double] = opt(0.0, n=28)
    use_global_stats: Optional[bool] = opt(n=46)
    moving_average_fraction: Optional[Double] = opt(0.9, n=47)
    height: Optional[int] = opt(n=50)
    width: Optional[int] = opt(n=51)
    depth: Optional[int] = opt(1, n=58)
    epsilon: Optional[Double] = opt(1e-5, n=60)


class ParameterConfig(ProtoModel):
    name: str = num(1)
    size: int = num(2)
    learning_rate: Optional[Double] = opt(1.0, n=3)
    momentum: Optional[Double] = opt(0.0, n=4)
    initial_mean: Optional[Double] = opt(0.0, n=5)
    initial_std: Optional[Double] = opt(0.01, n=6)
    decay_rate: Optional[Double] = opt(0.0, n=7)
    decay_rate_l1: Optional[Double] = opt(0.0, n=8)
    dims: list[int] = num(9, default_factory=list)
    device: Optional[int] = opt(-1, n=10)
    initial_strategy: Optional[int] = opt(0, n=11)
    initial_smart: Optional[bool] = opt(False, n=12)
    num_batches_regularization: Optional[int] = opt(1, n=13)
    is_sparse: Optional[bool] = opt(False, n=14)
    format: Optional[str] = opt("", n=15)
    sparse_remote_update: Optional[bool] = opt(False, n=16)
    gradient_clipping_threshold: Optional[Double] = opt(0.0, n=17)
    is_static: Optional[bool] = opt(False, n=18)
    sparse_update: Optional[bool] = opt(False, n=22)
    is_shared: Optional[bool] = opt(False, n=23)


class EvaluatorConfig(ProtoModel):
    name: str = num(1)
    type: str = num(2)
    input_layers: list[str] = num(3, default_factory=list)
    classification_threshold: Optional[Double] = opt(0.5, n=6)
    positive_label: Optional[int] = opt(-1, n=7)
    top_k: Optional[int] = opt(1, n=13)


class SubModelConfig(ProtoModel):
    name: str = num(1)
    layer_names: list[str] = num(2, default_factory=list)
    input_layer_names: list[str] = num(3, default_factory=list)
    output_layer_names: list[str] = num(4, default_factory=list)
    evaluator_names: list[str] = num(5, default_factory=list)
    is_recurrent_layer_group: Optional[bool] = opt(False, n=6)


class ModelConfig(ProtoModel):
    type: str = num(1, "nn")
    layers: list[LayerConfig] = num(2, default_factory=list)
    parameters: list[ParameterConfig] = num(3, default_factory=list)
    input_layer_names: list[str] = num(4, default_factory=list)
    output_layer_names: list[str] = num(5, default_factory=list)
    evaluators: list[EvaluatorConfig] = num(6, default_factory=list)
    sub_models: list[SubModelConfig] = num(8, default_factory=list)

    # -- lookups used by every floor above ------------------------------------------------
    def layer(self, name: str) -> LayerConfig:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ConfigError(f"model has no layer named {name!r}")

    def parameter(self, name: str) -> ParameterConfig:
        for param in self.parameters:
            if param.name == name:
                return param
        raise ConfigError(f"model has no parameter named {name!r}")


# ---------------------------------------------------------------------------------------------
# TrainerConfig.proto / DataConfig.proto


class DataConfig(ProtoModel):
    type: str
    files: Optional[str] = opt()
    async_load_data: Optional[bool] = opt(False)
    for_test: Optional[bool] = opt(False)
    load_data_module: Optional[str] = opt()
    load_data_object: Optional[str] = opt()
    load_data_args: Optional[str] = opt("")
    data_ratio: Optional[int] = opt(1)
    is_main_data: Optional[bool] = opt(True)
    usage_ratio: Optional[Double] = opt(1.0)


class OptimizationConfig(ProtoModel):
    batch_size: Optional[int] = opt()
    algorithm: Optional[str] = opt("async_sgd")
    num_batches_per_send_parameter: Optional[int] = opt(1)
    num_batches_per_get_parameter: Optional[int] = opt(1)
    learning_rate: Optional[Double] = opt()
    learning_rate_decay_a: Optional[Double] = opt(0.0)
    learning_rate_decay_b: Optional[Double] = opt(0.0)
    l1weight: Optional[Double] = opt(0.1)
    l2weight: Optional[Double] = opt(0.0)
    c1: Optional[Double] = opt(0.0001)
    backoff: Optional[Double] = opt(0.5)
    owlqn_steps: Optional[int] = opt(10)
    max_backoff: Optional[int] = opt(5)
    l2weight_zero_iter: Optional[int] = opt(0)
    average_window: Optional[Double] = opt(0.0)
    max_average_window: Optional[int] = opt(0x7FFFFFFFFFFFFFFF)
    learning_method: Optional[str] = opt("momentum")
    ada_epsilon: Optional[Double] = opt(1e-6)
    do_average_in_cpu: Optional[bool] = opt(False)
    ada_rou: Optional[Double] = opt(0.95)
    learning_rate_schedule: Optional[str] = opt("constant")
    delta_add_rate: Optional[Double] = opt(1.0)
    mini_batch_size: Optional[int] = opt(128)
    use_sparse_remote_updater: Optional[bool] = opt(False)
    center_parameter_update_method: Optional[str] = opt("average")
    shrink_parameter_value: Optional[Double] = opt(0.0)
    adam_beta1: Optional[Double] = opt(0.9)
    adam_beta2: Optional[Double] = opt(0.999)
    adam_epsilon: Optional[Double] = opt(1e-8)
    learning_rate_args: Optional[str] = opt("")
    async_lagged_grad_discard_ratio: Optional[Double] = opt(1.5)
    gradient_clipping_threshold: Optional[Double] = opt(0.0)


class TrainerConfig(ProtoModel):
    model_config_: ModelConfig = Field(alias="model_config")
    data_config: Optional[DataConfig] = opt()
    opt_config: OptimizationConfig
    test_data_config: Optional[DataConfig] = opt()
    config_files: list[str] = Field(default_factory=list)
    save_dir: Optional[str] = opt("./output/model")
    init_model_path: Optional[str] = opt()
    start_pass: Optional[int] = opt(0)

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True,
                              protected_namespaces=())



class _ModelConfigAccess:
    """``TrainerConfig.model_config`` is pydantic's settings on the class and Paddle's
    ``model_config`` message on an instance (pydantic reserves the name for its settings)."""

    def __init__(self, settings: ConfigDict):
        self.settings = settings

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self.settings if obj is None else obj.__dict__["model_config_"]


type.__setattr__(TrainerConfig, "model_config", _ModelConfigAccess(TrainerConfig.model_config))
