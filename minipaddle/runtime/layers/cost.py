"""Cost layers: per-sample cost (N, 1); an optional weight input scales cost and gradient;
``coeff`` scales only the gradient (spec 3, cost layers)."""

from __future__ import annotations

from ...kernels import cost as K
from ..registry import register
from .base import RuntimeLayer


class _Cost(RuntimeLayer):
    is_cost = True

    def _weight(self, xs):
        return xs[2].reshape(-1, 1) if len(xs) > 2 else None

    def forward(self, xs, params, p):
        cost = self.cost(xs, p)
        w = self._weight(xs)
        self.cache = {"cost": cost}
        return cost * w if w is not None else cost

    def backward(self, xs, z, dz, params, grads, p):
        w = self._weight(xs)
        scale = dz * dz.dtype.type(self.config.get("coeff"))
        if w is None:
            return self.gradient(xs, scale, p)
        # d(w * cost)/dw = cost; coeff scales every gradient of the layer
        dw = (scale * self.cache["cost"]).reshape(xs[2].shape)
        return self.gradient(xs, scale * w, p) + [dw]


@register("multi-class-cross-entropy")
class CrossEntropyCost(_Cost):
    def cost(self, xs, p):
        probs = xs[0].reshape(xs[0].shape[0], -1)
        return K.cross_entropy_forward(probs, xs[1], xp=p.xp)

    def gradient(self, xs, scale, p):
        probs = xs[0].reshape(xs[0].shape[0], -1)
        dp = K.cross_entropy_backward(probs, xs[1], scale.reshape(-1), xp=p.xp)
        return [dp.reshape(xs[0].shape), None]


@register("square_error")
class SquareErrorCost(_Cost):
    def cost(self, xs, p):
        n = xs[0].shape[0]
        return K.square_error_forward(xs[0].reshape(n, -1), xs[1].reshape(n, -1), xp=p.xp)

    def gradient(self, xs, scale, p):
        n = xs[0].shape[0]
        dy, dt = K.square_error_backward(xs[0].reshape(n, -1), xs[1].reshape(n, -1),
                                         scale.reshape(-1), xp=p.xp)
        return [dy.reshape(xs[0].shape), dt.reshape(xs[1].shape)]
