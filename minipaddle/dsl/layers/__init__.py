"""The layer functions, one module per family."""

from .combine import addto_layer, concat_layer, dropout_layer
from .conv import img_conv_layer
from .cost import (
    classification_cost, classification_error_evaluator, cross_entropy, regression_cost,
    square_error_cost,
)
from .data import data_layer
from .fc import fc_layer
from .image import bilinear_interp_layer, maxout_layer, pad_layer, prelu_layer, spp_layer
from .norm import batch_norm_layer, img_cmrnorm_layer
from .pool import img_pool_layer

__all__ = [
    "addto_layer", "batch_norm_layer", "bilinear_interp_layer", "classification_cost",
    "classification_error_evaluator", "concat_layer", "cross_entropy", "data_layer",
    "dropout_layer", "fc_layer", "img_cmrnorm_layer", "img_conv_layer", "img_pool_layer",
    "maxout_layer", "pad_layer", "prelu_layer", "regression_cost", "spp_layer",
    "square_error_cost",
]
