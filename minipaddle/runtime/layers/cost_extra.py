"""The second round of cost layers (kernels in :mod:`minipaddle.kernels.cost_extra`).

As for the first-round costs: a per-sample cost ``(N, 1)``; an optional weight input scales
cost and gradient; ``coeff`` scales only the gradient.  Paddle's two plain-``Layer`` costs
keep their quirks: ``sum_cost`` and ``rank-cost`` never apply ``coeff`` (docs/layer_notes_16.md).
A dense label gets its true gradient where the cost is smooth in it (smooth_l1, huber
regression, rank_cost; Paddle gives labels none, and training never reads it)."""

from __future__ import annotations

from ...config import ConfigError
from ...kernels import cost_extra as K
from ..registry import register
from .base import RuntimeLayer
from .cost import _Cost


def _rows(x):
    return x.reshape(x.shape[0], -1)


class _SameSize(_Cost):
    """A cost comparing input and label element by element: their sizes must agree."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        sizes = [int(_size(s)) for s in self.input_shapes[:2]]
        if sizes[0] != sizes[1]:
            raise ConfigError(f"layer {self.name!r} ({config.type}): the label "
                              f"{self.input_names[1]!r} has size {sizes[1]} but the input "
                              f"{self.input_names[0]!r} has size {sizes[0]}; they are compared "
                              "element by element", layer=self.name)


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


@register("smooth_l1")
class SmoothL1Cost(_SameSize):
    def cost(self, xs, p):
        return K.smooth_l1_forward(_rows(xs[0]), _rows(xs[1]), xp=p.xp)

    def gradient(self, xs, scale, p):
        dy = K.smooth_l1_backward(_rows(xs[0]), _rows(xs[1]), scale, xp=p.xp)
        return [dy.reshape(xs[0].shape), (-dy).reshape(xs[1].shape)]


@register("huber_regression")
class HuberRegressionCost(_SameSize):
    def cost(self, xs, p):
        return K.huber_regression_forward(_rows(xs[0]), _rows(xs[1]),
                                          delta=self.config.get("delta"), xp=p.xp)

    def gradient(self, xs, scale, p):
        dy = K.huber_regression_backward(_rows(xs[0]), _rows(xs[1]), scale,
                                         delta=self.config.get("delta"), xp=p.xp)
        return [dy.reshape(xs[0].shape), (-dy).reshape(xs[1].shape)]


def _binary_labels(name, label, xp):
    """The 0/1 labels (Paddle reads them as ids: a dense feed is rounded)."""
    flat = xp.rint(label.reshape(-1))
    if flat.size and not bool(((flat == 0) | (flat == 1)).all()):
        bad = label.reshape(-1)[(flat != 0) & (flat != 1)][0]
        raise ValueError(f"layer {name!r} (huber_classification): label {float(bad)} is not "
                         "0 or 1")
    return flat


@register("huber_classification")
class HuberClassificationCost(_Cost):
    def cost(self, xs, p):
        return K.huber_classification_forward(_rows(xs[0]), _binary_labels(self.name, xs[1],
                                                                           p.xp), xp=p.xp)

    def gradient(self, xs, scale, p):
        dy = K.huber_classification_backward(_rows(xs[0]), _binary_labels(self.name, xs[1],
                                                                          p.xp), scale, xp=p.xp)
        return [dy.reshape(xs[0].shape), None]


@register("multi_binary_label_cross_entropy")
class MultiBinaryLabelCrossEntropy(_SameSize):
    def cost(self, xs, p):
        return K.multi_binary_label_cross_entropy_forward(_rows(xs[0]), _rows(xs[1]), xp=p.xp)

    def gradient(self, xs, scale, p):
        dp = K.multi_binary_label_cross_entropy_backward(_rows(xs[0]), _rows(xs[1]), scale,
                                                         xp=p.xp)
        return [dp.reshape(xs[0].shape), None]


@register("multi_class_cross_entropy_with_selfnorm")
class CrossEntropyWithSelfNorm(_Cost):
    def cost(self, xs, p):
        return K.cross_entropy_with_selfnorm_forward(
            _rows(xs[0]), xs[1], alpha=self.config.get("softmax_selfnorm_alpha"), xp=p.xp)

    def gradient(self, xs, scale, p):
        dp = K.cross_entropy_with_selfnorm_backward(
            _rows(xs[0]), xs[1], scale, alpha=self.config.get("softmax_selfnorm_alpha"),
            xp=p.xp)
        return [dp.reshape(xs[0].shape), None]


@register("sum_cost")
class SumCost(RuntimeLayer):
    """The row sum; Paddle's SumCostLayer is a plain layer: no coeff, no weight."""

    is_cost = True

    def forward(self, xs, params, p):
        return K.sum_cost_forward(xs[0], xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        return [K.sum_cost_backward(xs[0], dz, xp=p.xp)]


@register("rank-cost")
class RankCost(RuntimeLayer):
    """RankNet's pairwise cost; Paddle's RankingCost is a plain layer: the weight (input 3)
    scales cost and gradient, ``coeff`` is never applied."""

    is_cost = True

    def _weight(self, xs):
        return xs[3].reshape(-1, 1) if len(xs) > 3 else None

    def forward(self, xs, params, p):
        cost = K.rank_cost_forward(_rows(xs[0]), _rows(xs[1]), xs[2], xp=p.xp)
        self.cache = {"cost": cost}
        w = self._weight(xs)
        return cost * w if w is not None else cost

    def backward(self, xs, z, dz, params, grads, p):
        w = self._weight(xs)
        scale = dz.reshape(-1, 1) * w if w is not None else dz.reshape(-1, 1)
        dl, dr = K.rank_cost_backward(_rows(xs[0]), _rows(xs[1]), xs[2], scale, xp=p.xp)
        margin = K._rank_margin(_rows(xs[0]), _rows(xs[1]), p.xp)
        out = [dl.reshape(xs[0].shape), dr.reshape(xs[1].shape),
               (-margin * scale).reshape(xs[2].shape)]
        if w is not None:
            out.append((dz.reshape(-1, 1) * self.cache["cost"]).reshape(xs[3].shape))
        return out
