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
from .dsl import resolve

__version__ = "0.1.0"

__all__ = list(_dsl_all) + ["ConfigError"]
