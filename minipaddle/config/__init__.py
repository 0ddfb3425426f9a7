"""Floor 1: what a network is. Pydantic mirrors of Paddle v1's config messages, the output-size
formulas and (de)serialization. Imports pydantic and pyyaml only."""

from .errors import ConfigError
from .formulas import cnn_image_size, cnn_output_size, effective_filter, spp_width
from .models import (
    BilinearInterpConfig, ConvConfig, DataConfig, EvaluatorConfig, ImageConfig,
    LayerConfig, LayerInputConfig, MaxOutConfig, ModelConfig, NormConfig, OptimizationConfig,
    PadConfig, ParameterConfig, PoolConfig, ProtoModel, SppConfig, SubModelConfig,
    TrainerConfig,
)
from .protostr import to_protostr
from .serialize import (
    from_document, from_json, from_yaml, load_yaml, read_yaml_file, to_document, to_json,
    to_yaml,
)

__all__ = [
    "BilinearInterpConfig", "ConfigError", "ConvConfig", "DataConfig", "EvaluatorConfig",
    "ImageConfig", "LayerConfig", "LayerInputConfig", "MaxOutConfig", "ModelConfig",
    "NormConfig", "OptimizationConfig", "PadConfig", "ParameterConfig", "PoolConfig",
    "ProtoModel", "SppConfig", "SubModelConfig", "TrainerConfig", "cnn_image_size",
    "cnn_output_size", "effective_filter", "from_document", "from_json", "from_yaml",
    "load_yaml", "read_yaml_file", "spp_width", "to_document", "to_json", "to_protostr",
    "to_yaml",
]
