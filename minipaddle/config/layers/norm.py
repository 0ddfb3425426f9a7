"""batch_norm (and its cuDNN algorithm) and the ``norm`` type (cmrnorm, cross-channel norm).

Batch norm's parameters: inputs 0, 1, 2 are scale, moving mean, moving variance, the bias
the shift, each ``(channels,)``.  A ``norm`` layer's facts depend on its
``norm_conf.norm_type`` (the table :data:`NORM_TYPES`): ``cmrnorm-projection`` has no
parameter, ``cross-channel-norm`` a per-channel scale of C values (Paddle's dims [C, 1])."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import Shape, declare, no_parameters
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


def _cross_channel_scale(layer: LayerConfig, model: ModelConfig) -> dict[str, Shape]:
    inp = layer.inputs[0]
    return {inp.input_parameter_name: (inp.norm_conf.channels,)}


def _cross_channel_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    # per value: one square accumulated into its pixel's sum, one product by the scale
    return 2 * (layer.size or 0)


#: norm_type -> (parameter shapes, multiply-adds or None); an unknown type has neither (the
#: runtime refuses it)
NORM_TYPES = {
    "cmrnorm-projection": (no_parameters, None),
    "cross-channel-norm": (_cross_channel_scale, _cross_channel_mult_adds),
}


def _norm_facts(layer: LayerConfig):
    conf = layer.inputs[0].norm_conf if layer.inputs else None
    return NORM_TYPES.get(conf.norm_type if conf else None, (no_parameters, None))


def _norm_parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, Shape]:
    return _norm_facts(layer)[0](layer, model)


def _norm_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    mult_adds = _norm_facts(layer)[1]
    return mult_adds(layer, model) if mult_adds else 0


declare("norm", display="normalisation", parameters=_norm_parameters,
        mult_adds=_norm_mult_adds)
