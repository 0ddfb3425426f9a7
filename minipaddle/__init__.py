"""minipaddle: PaddlePaddle v1's declarative layer-config DSL on NumPy and pydantic.

``from minipaddle import *`` gives what a Paddle v1 config file expects from
``paddle.trainer_config_helpers import *`` (plus ``parse_config``).  The resolved config lives
in :mod:`minipaddle.config`.
"""

from . import config, dsl
from .config import (
    ConfigError, ModelConfig, OptimizationConfig, TrainerConfig, from_json, from_yaml,
    to_json, to_protostr, to_yaml,
)
from .dsl import *  # noqa: F401,F403
from .dsl import __all__ as _dsl_all
from .dsl import LayerOutput, resolve
from .runtime import compile as _runtime_compile

__version__ = "0.1.0"


def compile(config, device: str = "cpu", dtype: str = "float32",  # noqa: A001
            seed: int | None = None):
    """Compile a network: ``config`` is a TrainerConfig, a ModelConfig, or the LayerOutput(s)
    of a DSL graph (resolved through the DSL first).  Not star-exported: it would shadow the
    builtin ``compile``."""
    if isinstance(config, TrainerConfig):
        model = config.model_config
    elif isinstance(config, ModelConfig):
        model = config
    elif isinstance(config, LayerOutput) or (
            isinstance(config, (list, tuple)) and config
            and all(isinstance(c, LayerOutput) for c in config)):
        model = resolve(list(config) if isinstance(config, tuple) else config)
    else:
        raise TypeError(f"compile takes a TrainerConfig, a ModelConfig or LayerOutputs, got "
                        f"{type(config).__name__}")
    return _runtime_compile(model, device=device, dtype=dtype, seed=seed)

__all__ = list(_dsl_all) + ["ConfigError"]
