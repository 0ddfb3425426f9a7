"""Element-wise and vector layers of issue 16 on the kernels of
:mod:`minipaddle.kernels.elementwise` (facts: docs/layer_notes_16.md): slope_intercept,
scaling, scale_shift, clip, power, interpolation, convex_comb, cos, cos_vm, dot_prod,
l2_distance, out_prod.  The weighted and id-selecting ones are in ``select.py``.

Inputs arrive in their producers' shapes (an image layer's ``(N, C, H, W)`` too); these layers
read them as rows ``(N, size)``, give their output as ``(N,) + out_shape`` and hand each input
gradient back in that input's own shape."""

from __future__ import annotations

from ...kernels import elementwise as K
from ..registry import register
from .base import RuntimeLayer, accumulate


def rows(x):
    return x.reshape(x.shape[0], -1)


class RowLayer(RuntimeLayer):
    """Shared shape handling (module docstring)."""

    def shaped(self, z):
        return z.reshape((z.shape[0],) + self.out_shape)

    @staticmethod
    def back(grads, xs):
        return [None if g is None else g.reshape(x.shape) for g, x in zip(grads, xs)]


@register("slope_intercept")
class SlopeInterceptLayer(RowLayer):
    def forward(self, xs, params, p):
        c = self.config
        return self.shaped(K.slope_intercept_forward(rows(xs[0]), slope=c.slope,
                                                     intercept=c.intercept, xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back([K.slope_intercept_backward(rows(dz), slope=self.config.slope,
                                                     xp=p.xp)], xs)


@register("scaling")
class ScalingLayer(RowLayer):
    """Inputs ``[weight (N, 1), rows]``."""

    def forward(self, xs, params, p):
        return self.shaped(K.scaling_forward(rows(xs[0]), rows(xs[1]), xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        dw, dx = K.scaling_backward(rows(xs[0]), rows(xs[1]), rows(dz), xp=p.xp)
        return self.back([dw, dx], xs)


@register("scale_shift")
class ScaleShiftLayer(RowLayer):
    """One trainable scale (input 0's parameter) and an optional trainable shift."""

    def forward(self, xs, params, p):
        bias = params[self.bias_name] if self.bias_name else None
        return self.shaped(K.scale_shift_forward(rows(xs[0]), params[self.weight_name(0)],
                                                 bias, xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        dx, dw, db = K.scale_shift_backward(rows(xs[0]), rows(dz), params[self.weight_name(0)],
                                            bias=bool(self.bias_name), xp=p.xp)
        accumulate(grads, self.weight_name(0), dw)
        accumulate(grads, self.bias_name, db)
        return self.back([dx], xs)


@register("clip")
class ClipLayer(RowLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].clip_conf
        self.bounds = dict(low=conf.min, high=conf.max)

    def forward(self, xs, params, p):
        return self.shaped(K.clip_forward(rows(xs[0]), xp=p.xp, **self.bounds))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back([K.clip_backward(rows(xs[0]), rows(dz), xp=p.xp, **self.bounds)], xs)


@register("power")
class PowerLayer(RowLayer):
    """Inputs ``[exponent (N, 1), rows]``."""

    def forward(self, xs, params, p):
        return self.shaped(K.power_forward(rows(xs[0]), rows(xs[1]), xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        dw, dx = K.power_backward(rows(xs[0]), rows(xs[1]), rows(z), rows(dz), xp=p.xp)
        return self.back([dw, dx], xs)


@register("interpolation")
class InterpolationLayer(RowLayer):
    """Inputs ``[weight (N, 1), x1, x2]``."""

    def forward(self, xs, params, p):
        return self.shaped(K.interpolation_forward(*[rows(x) for x in xs], xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back(K.interpolation_backward(*[rows(x) for x in xs], rows(dz), xp=p.xp),
                         xs)


@register("convex_comb")
class ConvexCombLayer(RowLayer):
    """Inputs ``[weights (N, M), vectors (N, M * D)]``."""

    def forward(self, xs, params, p):
        return self.shaped(K.linear_comb_forward(rows(xs[0]), rows(xs[1]), xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back(K.linear_comb_backward(rows(xs[0]), rows(xs[1]), rows(dz), xp=p.xp),
                         xs)


@register("cos")
class CosSimLayer(RowLayer):
    def forward(self, xs, params, p):
        return self.shaped(K.cos_sim_forward(rows(xs[0]), rows(xs[1]),
                                             scale=self.config.cos_scale, xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back(K.cos_sim_backward(rows(xs[0]), rows(xs[1]), rows(dz),
                                            scale=self.config.cos_scale, xp=p.xp), xs)


@register("cos_vm")
class CosSimVecMatLayer(RowLayer):
    """Inputs ``[vector (N, D), matrix (N, K * D)]`` -> ``(N, K)``."""

    def forward(self, xs, params, p):
        return self.shaped(K.cos_sim_vec_mat_forward(rows(xs[0]), rows(xs[1]),
                                                     scale=self.config.cos_scale, xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back(K.cos_sim_vec_mat_backward(rows(xs[0]), rows(xs[1]), rows(dz),
                                                    scale=self.config.cos_scale, xp=p.xp), xs)


@register("dot_prod")
class DotProdLayer(RowLayer):
    def forward(self, xs, params, p):
        return self.shaped(K.dot_prod_forward(rows(xs[0]), rows(xs[1]), xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back(K.dot_prod_backward(rows(xs[0]), rows(xs[1]), rows(dz), xp=p.xp), xs)


@register("l2_distance")
class L2DistanceLayer(RowLayer):
    def forward(self, xs, params, p):
        return self.shaped(K.l2_distance_forward(rows(xs[0]), rows(xs[1]), xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back(K.l2_distance_backward(rows(xs[0]), rows(xs[1]), rows(z), rows(dz),
                                                xp=p.xp), xs)


@register("out_prod")
class OutProdLayer(RowLayer):
    def forward(self, xs, params, p):
        return self.shaped(K.out_prod_forward(rows(xs[0]), rows(xs[1]), xp=p.xp))

    def backward(self, xs, z, dz, params, grads, p):
        return self.back(K.out_prod_backward(rows(xs[0]), rows(xs[1]), rows(dz), xp=p.xp), xs)
