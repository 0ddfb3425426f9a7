"""Floor 2: how a user writes a network. Paddle v1's ``trainer_config_helpers`` DSL, the
model-zoo YAML reader and ``parse_config``. Imports floor 1 only."""

from . import activations as _activations
from . import attrs as _attrs
from . import layers as _layers
from . import networks as _networks
from . import optimizers as _optimizers
from . import poolings as _poolings
from . import unsupported as _unsupported
from .activations import *  # noqa: F401,F403
from .attrs import *  # noqa: F401,F403
from .base import LayerOutput
from .context import get_config_arg
from .graph import (define_py_data_sources, define_py_data_sources2, inputs, outputs,
                    resolve)
from .layers import *  # noqa: F401,F403
from .networks import (
    img_conv_bn_pool, img_conv_group, img_separable_conv, simple_img_conv_pool, small_vgg,
    vgg_16_network,
)
from .optimizers import *  # noqa: F401,F403
from .parse import parse_config
from .poolings import *  # noqa: F401,F403
from .unsupported import *  # noqa: F401,F403

__all__ = sorted(set(
    _activations.__all__ + _attrs.__all__ + _layers.__all__ + _optimizers.__all__
    + _poolings.__all__ + _unsupported.__all__
    + ["LayerOutput", "get_config_arg", "define_py_data_sources", "define_py_data_sources2",
       "inputs", "outputs",
       "img_conv_bn_pool", "img_conv_group", "img_separable_conv", "simple_img_conv_pool",
       "small_vgg", "vgg_16_network", "parse_config"]))
