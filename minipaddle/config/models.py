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


def opt(proto_default: Any = None, **kw: Any) -> Any:
    """An optional proto field: unset (``None``) by default, with its protobuf default noted."""
    return Field(None, json_schema_extra={_PROTO_DEFAULT: proto_default}, **kw)


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
    channels: int
    img_size: int
    img_size_y: Optional[int] = opt()
    img_size_z: Optional[int] = opt()


class ConvConfig(ProtoModel):
    filter_size: int
    channels: int
    stride: int
    padding: int
    groups: int
    filter_channels: Optional[int] = opt()
    output_x: Optional[int] = opt()
    img_size: Optional[int] = opt()
    caffe_mode: bool = True
    filter_size_y: int
    padding_y: int
    stride_y: int
    output_y: Optional[int] = opt()
    img_size_y: Optional[int] = opt()
    dilation: Optional[int] = opt(1)
    dilation_y: Optional[int] = opt(1)


class PoolConfig(ProtoModel):
    pool_type: str
    channels: int
    size_x: int
    start: Optional[int] = opt()
    stride: int = 1
    output_x: int
    img_size: int
    padding: Optional[int] = opt(0)
    size_y: Optional[int] = opt()
    stride_y: Optional[int] = opt()
    output_y: Optional[int] = opt()
    img_size_y: Optional[int] = opt()
    padding_y: Optional[int] = opt()
    exclude_mode: Optional[bool] = opt()


class NormConfig(ProtoModel):
    norm_type: str
    channels: int
    size: int
    scale: Double
    pow: Double
    output_x: int
    img_size: int
    blocked: Optional[bool] = opt()
    output_y: Optional[int] = opt()
    img_size_y: Optional[int] = opt()


class MaxOutConfig(ProtoModel):
    image_conf: ImageConfig
    groups: int


class SppConfig(ProtoModel):
    image_conf: ImageConfig
    pool_type: str
    pyramid_height: int


class PadConfig(ProtoModel):
    image_conf: ImageConfig
    pad_c: list[int] = Field(default_factory=list)
    pad_h: list[int] = Field(default_factory=list)
    pad_w: list[int] = Field(default_factory=list)


class BilinearInterpConfig(ProtoModel):
    image_conf: ImageConfig
    out_size_x: int
    out_size_y: int


class LayerInputConfig(ProtoModel):
    input_layer_name: str
    input_parameter_name: Optional[str] = opt()
    conv_conf: Optional[ConvConfig] = opt()
    pool_conf: Optional[PoolConfig] = opt()
    norm_conf: Optional[NormConfig] = opt()
    image_conf: Optional[ImageConfig] = opt()
    input_layer_argument: Optional[str] = opt()
    bilinear_interp_conf: Optional[BilinearInterpConfig] = opt()
    maxout_conf: Optional[MaxOutConfig] = opt()
    spp_conf: Optional[SppConfig] = opt()
    pad_conf: Optional[PadConfig] = opt()


class LayerConfig(ProtoModel):
    name: str
    type: str
    size: Optional[int] = opt()
    active_type: Optional[str] = opt("")
    inputs: list[LayerInputConfig] = Field(default_factory=list)
    bias_parameter_name: Optional[str] = opt()
    num_filters: Optional[int] = opt()
    shared_biases: Optional[bool] = opt(False)
    partial_sum: Optional[int] = opt()
    drop_rate: Optional[Double] = opt(0.0)
    device: Optional[int] = opt(-1)
    coeff: Optional[Double] = opt(1.0)
    error_clipping_threshold: Optional[Double] = opt(0.0)
    use_global_stats: Optional[bool] = opt()
    moving_average_fraction: Optional[Double] = opt(0.9)
    height: Optional[int] = opt()
    width: Optional[int] = opt()
    depth: Optional[int] = opt(1)
    epsilon: Optional[Double] = opt(1e-5)


class ParameterConfig(ProtoModel):
    name: str
    size: int
    learning_rate: Optional[Double] = opt(1.0)
    momentum: Optional[Double] = opt(0.0)
    initial_mean: Optional[Double] = opt(0.0)
    initial_std: Optional[Double] = opt(0.01)
    decay_rate: Optional[Double] = opt(0.0)
    decay_rate_l1: Optional[Double] = opt(0.0)
    dims: list[int] = Field(default_factory=list)
    device: Optional[int] = opt(-1)
    initial_strategy: Optional[int] = opt(0)
    initial_smart: Optional[bool] = opt(False)
    num_batches_regularization: Optional[int] = opt(1)
    is_sparse: Optional[bool] = opt(False)
    format: Optional[str] = opt("")
    sparse_remote_update: Optional[bool] = opt(False)
    gradient_clipping_threshold: Optional[Double] = opt(0.0)
    is_static: Optional[bool] = opt(False)
    sparse_update: Optional[bool] = opt(False)
    is_shared: Optional[bool] = opt(False)


class EvaluatorConfig(ProtoModel):
    name: str
    type: str
    input_layers: list[str] = Field(default_factory=list)
    classification_threshold: Optional[Double] = opt(0.5)
    positive_label: Optional[int] = opt(-1)
    top_k: Optional[int] = opt(1)


class SubModelConfig(ProtoModel):
    name: str
    layer_names: list[str] = Field(default_factory=list)
    input_layer_names: list[str] = Field(default_factory=list)
    output_layer_names: list[str] = Field(default_factory=list)
    evaluator_names: list[str] = Field(default_factory=list)
    is_recurrent_layer_group: Optional[bool] = opt(False)


class ModelConfig(ProtoModel):
    type: str = "nn"
    layers: list[LayerConfig] = Field(default_factory=list)
    parameters: list[ParameterConfig] = Field(default_factory=list)
    input_layer_names: list[str] = Field(default_factory=list)
    output_layer_names: list[str] = Field(default_factory=list)
    evaluators: list[EvaluatorConfig] = Field(default_factory=list)
    sub_models: list[SubModelConfig] = Field(default_factory=list)

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
