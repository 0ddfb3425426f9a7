"""``paddle.layer``: every v1 layer function minipaddle has, under its v2 name.

The names follow Paddle 0.11's rule: ``X_layer`` loses its suffix (``fc``, ``img_conv``,
``batch_norm``), ``maxid_layer`` becomes ``max_id``, ``cross_entropy`` gains ``_cost``, and
costs, projections and sequence helpers keep their names.  Each is a thin wrapper: it calls the
v1 function (which builds the layer at once) and records the result for ``get_layer``; the
result is the v1 ``LayerOutput`` itself, so v1 and v2 calls mix freely.  ``data`` is v2's own:
it takes an input type (``paddle.data_type``) instead of a size.  A v2 name whose v1 function
minipaddle lacks raises NotImplementedError naming it when called.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Union

from .. import dsl
from ..config import ModelConfig
from ..dsl import ExtraLayerAttribute, LayerOutput
from ..dsl.graph import build_model_config, resolve
from . import config_base
from ._names import export_v1, missing_attribute
from .data_type import InputType, SequenceType

#: Paddle 0.11's ``paddle.layer`` names (spec section 2.2), v1 ``_layer`` suffix dropped
_DROPPED_SUFFIX = (
    "repeat seq_reshape mixed embedding fc pooling l2_distance img_conv img_pool batch_norm "
    "img_cmrnorm addto concat seq_concat lstm_step expand scaling power interpolation "
    "bilinear_interp trans rotate sum_to_one_norm row_l2_norm get_output gru_step "
    "gru_step_naive recurrent conv_shift tensor selective_fc sampling_id slope_intercept "
    "linear_comb convex_comb ctc warp_ctc crf crf_decoding nce block_expand maxout dot_prod "
    "out_prod printer print priorbox cross_channel_norm multibox_loss detection_output "
    "roi_pool spp pad eos multiplex row_conv dropout prelu switch_order gated_unit crop "
    "sub_nested_seq clip seq_slice kmax_seq_score img_pool3d scale_shift img_conv3d resize "
    "sub_seq scale_sub_region upsample").split()
_RENAMED = {"max_id": "maxid_layer", "cross_entropy_cost": "cross_entropy",
            "multi_binary_label_cross_entropy_cost": "multi_binary_label_cross_entropy",
            "cross_entropy_with_selfnorm_cost": "cross_entropy_with_selfnorm"}
_UNCHANGED = (
    "full_matrix_projection identity_projection dotmul_projection dotmul_operator "
    "table_projection conv_projection scaling_projection context_projection "
    "trans_full_matrix_projection slice_projection conv_operator grumemory lstmemory memory "
    "recurrent_group beam_search last_seq first_seq cos_sim hsigmoid square_error_cost "
    "regression_cost classification_cost sum_cost rank_cost lambda_cost huber_regression_cost "
    "huber_classification_cost smooth_l1_cost cross_entropy_over_beam factorization_machine "
    "StaticInput GeneratedInput SubsequenceInput BeamInput BaseGeneratedInput").split()


def v1_name(name: str) -> str:
    """The v1 function behind ``paddle.layer.<name>``."""
    if name in _RENAMED:
        return _RENAMED[name]
    return name if name in _UNCHANGED else f"{name}_layer"


def _wrap(v1: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(v1)
    def layer(*args: Any, **kwargs: Any) -> Any:
        return config_base.register(v1(*args, **kwargs))

    layer.__name__ = layer.__qualname__ = name
    return layer


__all__ = ["data", "parse_network", "get_layer", "LayerOutput"] + export_v1(
    globals(), __name__, {n: v1_name(n) for n in _DROPPED_SUFFIX + list(_RENAMED) + _UNCHANGED},
    _wrap)


def data(name: str, type: InputType, height: Optional[int] = None,  # noqa: A002 - Paddle's
         width: Optional[int] = None, depth: Optional[int] = None,
         layer_attr: Optional[ExtraLayerAttribute] = None) -> LayerOutput:
    """A data layer of ``type.dim`` values per sample (``integer_value(10)``: size 10)."""
    if not isinstance(type, InputType):
        raise TypeError(f"paddle.layer.data {name!r}: type={type!r}: expected an input type "
                        "from paddle.data_type, e.g. dense_vector(784) or integer_value(10)")
    if type.seq_type != SequenceType.NO_SEQUENCE:
        raise NotImplementedError(f"paddle.layer.data {name!r}: sequence input types "
                                  f"({type!r}) are not implemented in minipaddle")
    layer = dsl.data_layer(name=name, size=type.dim, depth=depth, height=height, width=width,
                           layer_attr=layer_attr)
    config_base.set_data_type(layer, type)
    return config_base.register(layer)


def _as_layers(what: str, layers: Any) -> list[LayerOutput]:
    items = [] if layers is None else (list(layers) if isinstance(layers, (list, tuple))
                                       else [layers])
    for item in items:
        if not isinstance(item, LayerOutput):
            raise ValueError(f"{what}: expected layers made by paddle.layer calls, got "
                             f"{type(item).__name__} {item!r}")
    return items


def parse_network(output_layers: Union[LayerOutput, list[LayerOutput]],
                  extra_layers: Union[LayerOutput, list[LayerOutput], None] = None
                  ) -> ModelConfig:
    """The ModelConfig of the layers the outputs (and extra layers) need, in creation order.

    As Paddle's v2: the outputs alone are ``output_layer_names`` (extra layers are computed,
    not output), and the inputs are the data layers used, in creation order.
    """
    outputs = _as_layers("output_layers", output_layers)
    if not outputs:
        raise ValueError("output_layers: give at least one layer")
    extras = _as_layers("extra_layers", extra_layers)
    model = resolve(outputs + [e for e in extras if all(e is not o for o in outputs)])
    used = {layer.name for layer in model.layers}
    inputs = [layer.name for layer in model.layers if layer.type == "data" and layer.name in used]
    return build_model_config(model.layers, model.parameters, inputs,
                              [o.name for o in outputs], model.evaluators)


def get_layer(name: str) -> Optional[LayerOutput]:
    """The layer a ``paddle.layer`` call named ``name`` returned, or None."""
    return config_base.__layer_map__.get(name)


__getattr__ = missing_attribute(__name__, __all__)
