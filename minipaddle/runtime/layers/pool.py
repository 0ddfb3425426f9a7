"""pool: max and average pooling to the output size the config computed (ceil or floor)."""

from __future__ import annotations

import numpy as np

from ...kernels import pool as K
from ..registry import register
from .base import RuntimeLayer, as_image

#: pool_conf.pool_type -> (kernel kind, the CPU algorithm it maps to when it is a GPU type)
POOL_KINDS = {
    "max-projection": ("max", None), "avg-projection": ("avg", None),
    "max-pool-with-mask": ("max", None),
    "cudnn-max-pool": ("max", "max-projection"), "cudnn-avg-pool": ("avg", "avg-projection"),
}


@register("pool")
class PoolLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].pool_conf
        self.conf = conf
        from ...config import ConfigError

        try:
            self.kind, cpu_type = POOL_KINDS[conf.pool_type]
        except KeyError:
            raise ConfigError(f"layer {config.name!r}: pool_type {conf.pool_type!r} is not "
                              f"supported; known: {', '.join(POOL_KINDS)}",
                              layer=config.name) from None
        if cpu_type:
            self.mapped = (conf.pool_type, cpu_type)
        self.args = dict(kind=self.kind, kernel=(conf.get("size_y") or conf.size_x, conf.size_x),
                         stride=(conf.get("stride_y") or conf.stride, conf.stride),
                         padding=(conf.get("padding_y") if conf.padding_y is not None
                                  else conf.get("padding"), conf.get("padding")),
                         output_size=(conf.get("output_y") or conf.output_x, conf.output_x),
                         # Paddle's C++ default when exclude_mode is unset: true
                         exclude_mode=True if conf.exclude_mode is None else conf.exclude_mode)

    def _input(self, x):
        c = self.conf
        return as_image(x, c.channels, c.get("img_size_y") or c.img_size, c.img_size)

    # Pooling is memory-bound: on this 2-vCPU machine splitting it over two threads was slower
    # than one thread (bench/README.md), so it runs unsplit.
    def forward(self, xs, params, p):
        return K.pool2d_forward(self._input(xs[0]), xp=p.xp, **self.args)

    def tied_maxima(self, x) -> int:
        """How many cells of ``x`` (this layer's input, a NumPy array) equal their window's
        maximum besides one per window: where Paddle's max-pool gradient, which every tied cell
        receives in full, is not the derivative (``docs/paddle_compat.md``). 0 for averages."""
        if self.kind != "max":
            return 0
        x = self._input(x)
        y = K.pool2d_forward(x, **self.args)
        hits = K.pool2d_backward(x, y, np.ones_like(y), **self.args)
        return int(hits.sum()) - int(y.size)

    def backward(self, xs, z, dz, params, grads, p):
        if not p.needs_grad(self.input_names[0]):
            return [None]
        return [K.pool2d_backward(self._input(xs[0]), z, dz, xp=p.xp, **self.args)]
