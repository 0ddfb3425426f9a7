"""Known Paddle v1 names minipaddle does not implement.

:data:`PADDLE_V1_NAMES` lists the functions of Paddle v1's ``trainer_config_helpers``; those
the DSL does not define (its ``@dsl_function`` registry) are :data:`UNSUPPORTED`, derived, so
that adding a layer function is all it takes to take its name off that list.  They exist so
that a config using one fails with ``NotImplementedError`` naming the function, never with a
``NameError``.  Old names that real 2016-2017 files use get an error naming what to write
instead.
"""

from __future__ import annotations

from typing import Any, Callable

from ..config import ConfigError
from . import graph as _graph
from . import layers as _layers
from . import networks as _networks
from .layers import mixed as _mixed
from .base import REGISTRY
from .calls import user_location

#: Paddle v1's sequence and recurrent functions (they need variable-length sequence data,
#: which minipaddle does not have yet), its sequence networks, and the costs, evaluators and
#: projection that only work on sequences
SEQUENCE_NAMES = (
    "lstmemory", "grumemory", "recurrent_layer", "recurrent_group", "memory",
    "lstm_step_layer", "gru_step_layer", "gru_step_naive_layer", "get_output_layer",
    "pooling_layer", "last_seq", "first_seq", "expand_layer", "seq_reshape_layer",
    "seq_concat_layer", "sub_seq_layer", "seq_slice_layer", "kmax_seq_score_layer",
    "sub_nested_seq_layer", "row_conv_layer", "beam_search", "eos_layer", "ctc_layer",
    "warp_ctc_layer", "crf_layer", "crf_decoding_layer",
    "StaticInput", "SubsequenceInput", "GeneratedInput", "BeamInput",
    "context_projection",
    "sequence_conv_pool", "text_conv_pool", "simple_lstm", "lstmemory_unit",
    "lstmemory_group", "gru_unit", "gru_group", "simple_gru", "simple_gru2",
    "bidirectional_gru", "bidirectional_lstm", "simple_attention", "dot_product_attention",
    "multi_head_attention",
    "lambda_cost", "cross_entropy_over_beam",
    "ctc_error_evaluator", "chunk_evaluator", "seqtext_printer_evaluator",
)

PADDLE_V1_NAMES = (
    # the first round's layers, networks, costs and data sources
    "data_layer", "fc_layer", "img_conv_layer", "img_pool_layer", "img_cmrnorm_layer",
    "batch_norm_layer", "maxout_layer", "spp_layer", "pad_layer", "bilinear_interp_layer",
    "prelu_layer", "concat_layer", "addto_layer", "dropout_layer", "classification_cost",
    "cross_entropy", "regression_cost", "square_error_cost", "classification_error_evaluator",
    "simple_img_conv_pool", "img_conv_bn_pool", "img_conv_group", "img_separable_conv",
    "small_vgg", "vgg_16_network", "define_py_data_sources2", "define_py_data_sources",
    # mixed layer, projections and operators
    "mixed_layer", "full_matrix_projection", "trans_full_matrix_projection",
    "table_projection", "identity_projection", "slice_projection", "dotmul_projection",
    "dotmul_operator", "scaling_projection", "conv_projection", "conv_operator",
    "img_cmrnorm_projection",
    # layers on images and plain vectors
    "embedding_layer", "repeat_layer", "block_expand_layer", "maxid_layer",
    "sampling_id_layer", "img_conv3d_layer", "img_pool3d_layer", "crop_layer",
    "roi_pool_layer", "scale_sub_region_layer", "rotate_layer", "switch_order_layer",
    "upsample_layer", "trans_layer", "cos_sim", "interpolation_layer", "power_layer",
    "scaling_layer", "slope_intercept_layer", "linear_comb_layer", "convex_comb_layer",
    "tensor_layer", "selective_fc_layer", "out_prod_layer", "print_layer", "priorbox_layer",
    "multibox_loss_layer", "detection_output_layer", "cross_channel_norm_layer",
    "sum_to_one_norm_layer", "row_l2_norm_layer", "gated_unit_layer", "clip_layer",
    "resize_layer", "dot_prod_layer", "l2_distance_layer", "factorization_machine",
    "scale_shift_layer", "conv_shift_layer", "multiplex_layer", "data_norm_layer",
    "layer_norm_layer",
    # costs
    "cross_entropy_with_selfnorm", "multi_binary_label_cross_entropy",
    "huber_regression_cost", "huber_classification_cost", "smooth_l1_cost", "sum_cost",
    "rank_cost",
    # evaluators
    "auc_evaluator", "pnpair_evaluator", "precision_recall_evaluator", "sum_evaluator",
    "column_sum_evaluator", "value_printer_evaluator", "gradient_printer_evaluator",
    "maxid_printer_evaluator", "maxframe_printer_evaluator",
    "classification_error_printer_evaluator", "detection_map_evaluator",
) + SEQUENCE_NAMES

#: the non-sequence names left out on purpose, each with its reason in docs/paddle_compat.md
#: ("Paddle v1 features not implemented")
LEFT_OUT: tuple[str, ...] = (
    # never Paddle v1 functions: Paddle's cross-map norm is img_cmrnorm_layer's "norm"
    # layer; v1 had no layer normalisation at all (no helper, no layer type)
    "img_cmrnorm_projection", "layer_norm_layer",
)

UNSUPPORTED = tuple(
    name for name in PADDLE_V1_NAMES
    if name not in REGISTRY and not any(hasattr(m, name) for m in (_graph, _layers, _networks)))


def not_implemented(name: str, note: str = "a PaddlePaddle v1 function") -> Callable[..., Any]:
    """A stand-in for ``name`` that raises NotImplementedError naming it (and, for a
    sequence function, why)."""
    why = (" yet: it works on variable-length sequences, which minipaddle does not have"
           if name in SEQUENCE_NAMES else "")

    def function(*args: Any, **kwargs: Any) -> Any:
        defined = REGISTRY.get(name)
        if defined is not None:     # registered after this stand-in was bound
            return defined(*args, **kwargs)
        raise NotImplementedError(
            f"{name} is {note} that minipaddle does not implement{why} (see docs/layers.md "
            "for what is supported)")

    function.__name__ = function.__qualname__ = name
    function.__doc__ = "Not implemented in minipaddle: calling it raises NotImplementedError."
    return function


for _name in UNSUPPORTED:
    globals()[_name] = not_implemented(_name)


def setup_data_provider(*args: Any, **kwargs: Any) -> None:
    """Refused: a name proposed for define_py_data_sources2 in 2017 that Paddle never
    released."""
    raise ConfigError("setup_data_provider(train_list, test_list, module, function, args) "
                      "was proposed as a new name of define_py_data_sources2 but never "
                      "released by Paddle; write define_py_data_sources2(train_list, "
                      "test_list, module, obj=function, args=args)",
                      where=user_location())


#: Paddle's ``layer_math`` (unary functions of a layer; ``+ - *`` on layers are installed on
#: LayerOutput by the same module)
layer_math = _mixed.layer_math

__all__ = list(UNSUPPORTED) + ["layer_math", "setup_data_provider"]
