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
#: json_schema_extra key marking a Paddle ``float`` (32-bit) field; a Double without it is a
#: ``double``
PROTO_FLOAT32 = "proto_float32"


def opt(proto_default: Any = None, n: Optional[int] = None, float32: bool = False,
        **kw: Any) -> Any:
    """An optional proto field: unset (``None``) by default, with its protobuf default and
    its field number ``n`` in Paddle's .proto noted (``float32``: a proto ``float``)."""
    extra: dict[str, Any] = {_PROTO_DEFAULT: proto_default}
    if n is not None:
        extra[PROTO_NUMBER] = n
    if float32:
        extra[PROTO_FLOAT32] = True
    return Field(None, json_schema_extra=extra, **kw)


def num(n: int, *default: Any, float32: bool = False, **kw: Any) -> Any:
    """A required (or always-set, with ``default``) proto field numbered ``n`` in Paddle's
    .proto (``float32``: a proto ``float``)."""
    extra: dict[str, Any] = {PROTO_NUMBER: n}
    if float32:
        extra[PROTO_FLOAT32] = True
    return Field(*default, json_schema_extra=extra, **kw)


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
    img_size_z: Optional[int] = opt(1, n=10)


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
    filter_size_z: Optional[int] = opt(1, n=17)
    padding_z: Optional[int] = opt(1, n=18)
    stride_z: Optional[int] = opt(1, n=19)
    output_z: Optional[int] = opt(1, n=20)
    img_size_z: Optional[int] = opt(1, n=21)


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
    size_z: Optional[int] = opt(1, n=14)
    stride_z: Optional[int] = opt(1, n=15)
    output_z: Optional[int] = opt(1, n=16)
    img_size_z: Optional[int] = opt(1, n=17)
    padding_z: Optional[int] = opt(1, n=18)
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


class BlockExpandConfig(ProtoModel):
    channels: int = num(1)
    stride_x: int = num(2)
    stride_y: int = num(3)
    padding_x: int = num(4)
    padding_y: int = num(5)
    block_x: int = num(6)
    block_y: int = num(7)
    output_x: int = num(8)
    output_y: int = num(9)
    img_size_x: int = num(10)
    img_size_y: int = num(11)


class MaxOutConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    groups: int = num(2)


class SppConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    pool_type: str = num(2)
    pyramid_height: int = num(3)


class RowConvConfig(ProtoModel):
    context_length: int = num(1)


class SliceConfig(ProtoModel):
    start: int = num(1)
    end: int = num(2)


class ProjectionConfig(ProtoModel):
    type: str = num(1)
    name: str = num(2)
    input_size: int = num(3)
    output_size: int = num(4)
    context_start: Optional[int] = opt(n=5)
    context_length: Optional[int] = opt(n=6)
    trainable_padding: Optional[bool] = opt(False, n=7)
    conv_conf: Optional[ConvConfig] = opt(n=8)
    num_filters: Optional[int] = opt(n=9)
    offset: Optional[int] = opt(0, n=11)
    pool_conf: Optional[PoolConfig] = opt(n=12)
    slices: list[SliceConfig] = num(13, default_factory=list)


class OperatorConfig(ProtoModel):
    type: str = num(1)
    input_indices: list[int] = num(2, default_factory=list)
    input_sizes: list[int] = num(3, default_factory=list)
    output_size: int = num(4)
    dotmul_scale: Optional[Double] = opt(1.0, n=5)
    conv_conf: Optional[ConvConfig] = opt(n=6)
    num_filters: Optional[int] = opt(n=7)


class PriorBoxConfig(ProtoModel):
    min_size: list[int] = num(1, default_factory=list)
    max_size: list[int] = num(2, default_factory=list)
    aspect_ratio: list[Double] = num(3, default_factory=list, float32=True)
    variance: list[Double] = num(4, default_factory=list, float32=True)


class PadConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    pad_c: list[int] = num(2, default_factory=list)
    pad_h: list[int] = num(3, default_factory=list)
    pad_w: list[int] = num(4, default_factory=list)


class ReshapeConfig(ProtoModel):
    height_axis: list[int] = num(1, default_factory=list)
    width_axis: list[int] = num(2, default_factory=list)


class MultiBoxLossConfig(ProtoModel):
    num_classes: int = num(1)
    overlap_threshold: Double = num(2, float32=True)
    neg_pos_ratio: Double = num(3, float32=True)
    neg_overlap: Double = num(4, float32=True)
    background_id: int = num(5)
    input_num: int = num(6)
    height: Optional[int] = opt(1, n=7)
    width: Optional[int] = opt(1, n=8)


class DetectionOutputConfig(ProtoModel):
    num_classes: int = num(1)
    nms_threshold: Double = num(2, float32=True)
    nms_top_k: int = num(3)
    background_id: int = num(4)
    input_num: int = num(5)
    keep_top_k: int = num(6)
    confidence_threshold: Double = num(7, float32=True)
    height: Optional[int] = opt(1, n=8)
    width: Optional[int] = opt(1, n=9)


class ClipConfig(ProtoModel):
    min: Double = num(1)
    max: Double = num(2)


class ROIPoolConfig(ProtoModel):
    pooled_width: int = num(1)
    pooled_height: int = num(2)
    spatial_scale: Double = num(3, float32=True)
    height: Optional[int] = opt(1, n=4)
    width: Optional[int] = opt(1, n=5)


class ScaleSubRegionConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    value: Double = num(2, float32=True)


class UpsampleConfig(ProtoModel):
    image_conf: ImageConfig = num(1)
    scale: Optional[int] = opt(2, n=2)
    scale_y: Optional[int] = opt(2, n=3)
    pad_out_x: Optional[bool] = opt(False, n=4)
    pad_out_y: Optional[bool] = opt(False, n=5)
    upsample_size: Optional[int] = opt(n=6)
    upsample_size_y: Optional[int] = opt(n=7)


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
    proj_conf: Optional[ProjectionConfig] = opt(n=6)
    block_expand_conf: Optional[BlockExpandConfig] = opt(n=7)
    image_conf: Optional[ImageConfig] = opt(n=8)
    input_layer_argument: Optional[str] = opt(n=9)
    bilinear_interp_conf: Optional[BilinearInterpConfig] = opt(n=10)
    maxout_conf: Optional[MaxOutConfig] = opt(n=11)
    spp_conf: Optional[SppConfig] = opt(n=12)
    priorbox_conf: Optional[PriorBoxConfig] = opt(n=13)
    pad_conf: Optional[PadConfig] = opt(n=14)
    row_conv_conf: Optional[RowConvConfig] = opt(n=15)
    multibox_loss_conf: Optional[MultiBoxLossConfig] = opt(n=16)
    detection_output_conf: Optional[DetectionOutputConfig] = opt(n=17)
    clip_conf: Optional[ClipConfig] = opt(n=18)
    scale_sub_region_conf: Optional[ScaleSubRegionConfig] = opt(n=19)
    roi_pool_conf: Optional[ROIPoolConfig] = opt(n=20)
    upsample_conf: Optional[UpsampleConfig] = opt(n=21)


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
    num_classes: Optional[int] = opt(n=11)
    device: Optional[int] = opt(-1, n=12)
    reversed: Optional[bool] = opt(False, n=13)
    active_gate_type: Optional[str] = opt(n=14)
    active_state_type: Optional[str] = opt(n=15)
    num_neg_samples: Optional[int] = opt(10, n=16)
    neg_sampling_dist: Optional[list[Double]] = opt(n=17)
    output_max_index: Optional[bool] = opt(False, n=19)
    softmax_selfnorm_alpha: Optional[Double] = opt(0.1, n=21)
    directions: Optional[list[bool]] = opt(n=24)
    norm_by_times: Optional[bool] = opt(n=25)
    coeff: Optional[Double] = opt(1.0, n=26)
    average_strategy: Optional[str] = opt(n=27)
    error_clipping_threshold: Optional[Double] = opt(0.0, n=28)
    operator_confs: Optional[list[OperatorConfig]] = opt(n=29)
    NDCG_num: Optional[int] = opt(n=30)
    max_sort_size: Optional[int] = opt(n=31)
    slope: Optional[Double] = opt(n=32)
    intercept: Optional[Double] = opt(n=33)
    cos_scale: Optional[Double] = opt(n=34)
    data_norm_strategy: Optional[str] = opt(n=36)
    bos_id: Optional[int] = opt(n=37)
    eos_id: Optional[int] = opt(n=38)
    beam_size: Optional[int] = opt(n=39)
    select_first: Optional[bool] = opt(False, n=40)
    trans_type: Optional[str] = opt("non-seq", n=41)
    selective_fc_pass_generation: Optional[bool] = opt(False, n=42)
    has_selected_colums: Optional[bool] = opt(True, n=43)
    selective_fc_full_mul_ratio: Optional[Double] = opt(0.02, n=44)
    selective_fc_parallel_plain_mul_thread_num: Optional[int] = opt(0, n=45)
    use_global_stats: Optional[bool] = opt(n=46)
    moving_average_fraction: Optional[Double] = opt(0.9, n=47)
    bias_size: Optional[int] = opt(0, n=48)
    user_arg: Optional[str] = opt(n=49)
    height: Optional[int] = opt(n=50)
    width: Optional[int] = opt(n=51)
    blank: Optional[int] = opt(0, n=52)
    seq_pool_stride: Optional[int] = opt(-1, n=53)
    axis: Optional[int] = opt(2, n=54)
    offset: Optional[list[int]] = opt(n=55)
    shape: Optional[list[int]] = opt(n=56)
    delta: Optional[Double] = opt(1.0, n=57)
    depth: Optional[int] = opt(1, n=58)
    reshape_conf: Optional[ReshapeConfig] = opt(n=59)
    epsilon: Optional[Double] = opt(1e-5, n=60)
    factor_size: Optional[int] = opt(n=61)


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
    chunk_scheme: Optional[str] = opt(n=4)
    num_chunk_types: Optional[int] = opt(n=5)
    classification_threshold: Optional[Double] = opt(0.5, n=6)
    positive_label: Optional[int] = opt(-1, n=7)
    dict_file: Optional[str] = opt(n=8)
    result_file: Optional[str] = opt(n=9)
    num_results: Optional[int] = opt(1, n=10)
    delimited: Optional[bool] = opt(True, n=11)
    excluded_chunk_types: Optional[list[int]] = opt(n=12)
    top_k: Optional[int] = opt(1, n=13)
    overlap_threshold: Optional[Double] = opt(0.5, n=14)
    background_id: Optional[int] = opt(0, n=15)
    evaluate_difficult: Optional[bool] = opt(False, n=16)
    ap_type: Optional[str] = opt("11point", n=17)


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
