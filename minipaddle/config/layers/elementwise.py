"""Element-wise and vector layers of issue 16: the parameter shapes (C-order flattening is
Paddle's buffer layout), multiply-adds and output shapes that differ from the defaults; the
others (slope_intercept, scaling, clip, power, interpolation, convex_comb, cos, cos_vm,
dot_prod, l2_distance, out_prod, multiplex) take the defaults: a flat output of ``size``, no
parameters."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import declare, input_size

Shapes = dict[str, tuple[int, ...]]


def _bias(layer: LayerConfig, shapes: Shapes) -> Shapes:
    if layer.bias_parameter_name:
        shapes[layer.bias_parameter_name] = (layer.size or 0,)
    return shapes


def _scale_shift_parameters(layer: LayerConfig, model: ModelConfig) -> Shapes:
    shapes = {layer.inputs[0].input_parameter_name: (1,)}
    if layer.bias_parameter_name:
        shapes[layer.bias_parameter_name] = (1,)
    return shapes


def _tensor_parameters(layer: LayerConfig, model: ModelConfig) -> Shapes:
    # K slices of A x B, slice k at offset k * A * B (Paddle's dims say [A, B, K])
    shape = (layer.size or 0, input_size(model, layer, 0), input_size(model, layer, 1))
    return _bias(layer, {layer.inputs[0].input_parameter_name: shape})


def _tensor_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    a, b = input_size(model, layer, 0), input_size(model, layer, 1)
    return (layer.size or 0) * (a * b + b)


def _fm_parameters(layer: LayerConfig, model: ModelConfig) -> Shapes:
    return {layer.inputs[0].input_parameter_name:
            (input_size(model, layer, 0), layer.factor_size or 0)}


def _fm_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    return 2 * input_size(model, layer, 0) * (layer.factor_size or 0)


def _weighted(layer: LayerConfig) -> list[int]:
    return [i for i, inp in enumerate(layer.inputs) if inp.input_parameter_name]


def _selective_fc_parameters(layer: LayerConfig, model: ModelConfig) -> Shapes:
    # stored transposed: (size, input size)
    return _bias(layer, {layer.inputs[i].input_parameter_name:
                         (layer.size or 0, input_size(model, layer, i))
                         for i in _weighted(layer)})


def _selective_fc_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    return sum(input_size(model, layer, i) * (layer.size or 0) for i in _weighted(layer))


def _maxid_shape(layer: LayerConfig) -> tuple[int, ...]:
    # the config's size is the input's (Paddle's); the output is the ids, beam_size of them
    return (layer.beam_size or 1,)


declare("scale_shift", parameters=_scale_shift_parameters,
        mult_adds=lambda layer, model: layer.size or 0)
declare("tensor", parameters=_tensor_parameters, mult_adds=_tensor_mult_adds)
declare("factorization_machine", parameters=_fm_parameters, mult_adds=_fm_mult_adds)
declare("selective_fc", parameters=_selective_fc_parameters,
        mult_adds=_selective_fc_mult_adds)
declare("maxid", output_shape=_maxid_shape)
