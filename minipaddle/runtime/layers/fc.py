"""fc: y = sum_i x_i W_i + b, weights (input_size, size)."""

from __future__ import annotations

import numpy as np

from ..registry import register
from .base import RuntimeLayer, accumulate


@register("fc")
class FCLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        size = config.size
        for i, shape in enumerate(self.input_shapes):
            self.param_shapes[self.weight_name(i)] = (int(np.prod(shape)), size)
        if self.bias_name:
            self.param_shapes[self.bias_name] = (size,)

    def forward(self, xs, params, p):
        z = None
        for i, x in enumerate(xs):
            term = x.reshape(x.shape[0], -1) @ params[self.weight_name(i)]
            z = term if z is None else z + term
        if self.bias_name:
            z = z + params[self.bias_name]
        return z

    def backward(self, xs, z, dz, params, grads, p):
        dxs = []
        for i, x in enumerate(xs):
            flat = x.reshape(x.shape[0], -1)
            accumulate(grads, self.weight_name(i), flat.T @ dz)
            if p.needs_grad(self.input_names[i]):
                dxs.append((dz @ params[self.weight_name(i)].T).reshape(x.shape))
            else:
                dxs.append(None)
        if self.bias_name:
            accumulate(grads, self.bias_name, dz.sum(axis=0))
        return dxs
