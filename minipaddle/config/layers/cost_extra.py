"""Facts of the second round of cost layers (smooth_l1, huber, sum_cost, rank-cost,
multi-binary-label and self-normalised cross entropy): one cost per sample, no parameters.

``multi_class_cross_entropy_with_selfnorm`` has no ``size`` in its LayerConfig (Paddle's
config_parser gives it none), so its output shape is stated here; its second input is an
integer label, as for ``multi-class-cross-entropy``."""

from __future__ import annotations

from ..models import LayerConfig
from . import declare


def _one_cost(layer: LayerConfig) -> tuple[int, ...]:
    return (1,)


declare("multi_class_cross_entropy_with_selfnorm", output_shape=_one_cost, label_inputs=(1,))
