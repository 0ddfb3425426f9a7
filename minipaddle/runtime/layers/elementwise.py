"""Element-wise and vector layers of issue 16 on the kernels of
:mod:`minipaddle.kernels.elementwise` (facts: docs/layer_notes_16.md).

Inputs arrive in their producers' shapes (an image layer's ``(N, C, H, W)`` too); these layers
read them as rows ``(N, size)`` and give their output as ``(N,) + out_shape``."""

from __future__ import annotations

from ...kernels import elementwise as K
from ..registry import register
from .base import RuntimeLayer


def _rows(x):
    return x.reshape(x.shape[0], -1)


class _RowLayer(RuntimeLayer):
    """Shared shape handling: rows in, ``(N,) + out_shape`` out, gradients back in each
    input's own shape."""

    def shaped(self, z):
        return z.reshape((z.shape[0],) + self.out_shape)

    @staticmethod
    def back(grads, xs):
        return [None if g is None else g.reshape(x.shape) for g, x in zip(grads, xs)]


@register("slope_intercept")
class SlopeInterceptLayer(_RowLayer):
    def forward(self, xs, params, p):
        c = self.config
        return self.shaped(K.slope_intercept_forward(_rows(xs[0]), slope=c.slope,
                                                     intercept=c.intercept, xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back([K.slope_intercept_backward(_rows(dz), slope=self.config.slope,
                                                     xp=p.xp)], xs)


@register("scaling")
class ScalingLayer(_RowLayer):
    def forward(self, xs, params, p):
        return self.shaped(K.scaling_forward(_rows(xs[0]), _rows(xs[1]), xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        dw, dx = K.scaling_backward(_rows(xs[0]), _rows(xs[1]), _rows(dz), xp=p.xp)
        return self.back([dw, dx], xs)
