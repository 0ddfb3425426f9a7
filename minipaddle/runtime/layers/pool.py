"""pool and pool3d: max and average pooling of images and volumes to the output size the config
computed (ceil or floor)."""

from __future__ import annotations

import numpy as np

from ...config import ConfigError
from ...config.geometry import pool_axes
from ...config.layers.volume import POOL3D
from ...kernels import pool as K
from ..registry import register
from .base import RuntimeLayer

#: pool_conf.pool_type -> (kernel kind, the CPU algorithm it maps to when it is a GPU type)
POOL_KINDS = {
    "max-projection": ("max", None), "avg-projection": ("avg", None),
    "max-pool-with-mask": ("max", None),
    "cudnn-max-pool": ("max", "max-projection"), "cudnn-avg-pool": ("avg", "avg-projection"),
}


@register("pool", POOL3D)
class PoolLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].pool_conf
        self.conf = conf
        try:
            self.kind, cpu_type = POOL_KINDS[conf.pool_type]
        except KeyError:
            raise ConfigError(f"layer {config.name!r}: pool_type {conf.pool_type!r} is not "
                              f"supported; known: {', '.join(POOL_KINDS)}",
                              layer=config.name) from None
        if cpu_type:
            self.mapped = (conf.pool_type, cpu_type)
        self.geo = geo = pool_axes(conf)
        self.args = dict(kind=self.kind, kernel=geo.window, stride=geo.stride,
                         padding=geo.padding, output_size=geo.output,
                         # Paddle's C++ default when exclude_mode is unset: true
                         exclude_mode=True if conf.exclude_mode is None else conf.exclude_mode)

    def _input(self, x):
        return x.reshape((x.shape[0], self.geo.channels) + self.geo.image)

    @property
    def commutes_with_relu(self) -> bool:
        # max and relu are both monotone: maxpool(relu(z)) == relu(maxpool(z)); a window
        # whose maximum is positive routes its gradient to the same cells either way, one
        # whose maximum is not passes none either way
        return self.kind == "max"

    # Pooling is memory-bound: on the 2-core machines it was measured on, splitting it over
    # two threads was slower than one thread (bench/README.md), so it runs unsplit.
    def forward(self, xs, params, p):
        return K.pool_forward(self._input(xs[0]), xp=p.xp, **self.args)

    def tied_maxima(self, x) -> int:
        """How many cells of ``x`` (this layer's input, a NumPy array) equal their window's
        maximum besides one per window: where Paddle's max-pool gradient, which every tied cell
        receives in full, is not the derivative (``docs/paddle_compat.md``). 0 for averages."""
        if self.kind != "max":
            return 0
        x = self._input(x)
        y = K.pool_forward(x, **self.args)
        hits = K.pool_backward(x, y, np.ones_like(y), **self.args)
        return int(hits.sum()) - int(y.size)

    def backward(self, xs, z, dz, params, grads, p):
        if not p.needs_grad(self.input_names[0]):
            return [None]
        return [K.pool_backward(self._input(xs[0]), z, dz, xp=p.xp, **self.args)]
