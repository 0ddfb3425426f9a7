"""batch_norm (and its cuDNN algorithm) and cmrnorm (``norm``).

Batch norm's parameters: inputs 0, 1, 2 are scale, moving mean, moving variance, the bias
the shift, each ``(channels,)``."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import declare
from .volume import deep_shape


def _batch_norm_parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, tuple[int, ...]]:
    channels = layer.inputs[0].image_conf.channels
    names = [inp.input_parameter_name for inp in layer.inputs[:3]]
    if layer.bias_parameter_name:
        names.append(layer.bias_parameter_name)
    return {name: (channels,) for name in names}


# over a volume (img3D, depth > 1) the output is (C, D, H, W), else as the defaults
declare("batch_norm", parameters=_batch_norm_parameters, display="batch norm",
        output_shape=deep_shape)
declare("cudnn_batch_norm", parameters=_batch_norm_parameters, display="batch norm",
        runs_as="batch_norm", output_shape=deep_shape)
declare("norm", display="normalisation")
