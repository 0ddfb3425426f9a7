"""concat and addto (dropout is an addto with drop_rate, applied by the network)."""

from __future__ import annotations

from ...kernels.activations import relu_grad
from ...kernels.clamp import relu_in_place
from ..registry import register
from .base import RuntimeLayer, accumulate


@register("concat")
class ConcatLayer(RuntimeLayer):
    """Rows concatenated: for images of equal height and width, a channel concatenation."""

    def forward(self, xs, params, p):
        n = xs[0].shape[0]
        flat = p.xp.concatenate([x.reshape(n, -1) for x in xs], axis=1)
        return flat.reshape((n,) + self.out_shape)

    def backward(self, xs, z, dz, params, grads, p):
        n = dz.shape[0]
        flat = dz.reshape(n, -1)
        dxs, start = [], 0
        for x in xs:
            width = x[0].size
            dxs.append(flat[:, start:start + width].reshape(x.shape))
            start += width
        return dxs


@register("addto")
class AddToLayer(RuntimeLayer):
    #: the relu is applied inside the layer when the network hands it over
    #: (rewrites.fuse_activations): in place on the sum, and its gradient in the backward
    fusable_activations = ("relu",)
    fused_activation = ""

    def forward(self, xs, params, p):
        n = xs[0].shape[0]
        shape = (n,) + self.out_shape
        if len(xs) == 1:
            z = xs[0].reshape(shape).copy()
        else:      # the first sum into a new array: one pass instead of a copy and an add
            z = p.xp.add(xs[0].reshape(shape), xs[1].reshape(shape))
        for x in xs[2:]:
            z += x.reshape(z.shape)
        if self.bias_name:
            z += params[self.bias_name].reshape(self.out_shape)
        if self.fused_activation == "relu":
            relu_in_place(p.xp, z)
        return z

    def backward(self, xs, z, dz, params, grads, p):
        if self.fused_activation == "relu":         # z is the relu's output
            dz = relu_grad(p.xp, z, dz.reshape(z.shape))
        if self.bias_name:
            accumulate(grads, self.bias_name, dz.reshape(dz.shape[0], -1).sum(axis=0))
        # dz itself where the shapes agree (not a view of it): the backward loop can then
        # sum a later gradient into it in place once its other users are done with it
        return [dz if dz.shape == x.shape else dz.reshape(x.shape) for x in xs]
