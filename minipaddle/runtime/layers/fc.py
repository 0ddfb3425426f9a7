"""fc: y = sum_i x_i W_i + b, weights (input_size, size).

The batch is split over the backend's threads (row blocks of x): the forward and the input
gradient are row blocks of the result, the weight gradient is the sum of the blocks' x^T dz,
added in block order (the same sum every step)."""

from __future__ import annotations

from ..registry import register
from .base import RuntimeLayer, accumulate


@register("fc")
class FCLayer(RuntimeLayer):
    #: multiply-adds from which the batch is split over threads (below, a hand-off to a
    #: worker costs more than it saves)
    SPLIT_MACS = 1 << 22

    def _slices(self, flats, p):
        n = flats[0].shape[0]
        if n * sum(f.shape[1] for f in flats) * self.config.size < self.SPLIT_MACS:
            return [slice(0, n)]
        row_bytes = sum(f.shape[1] for f in flats) * flats[0].dtype.itemsize
        return p.backend.batch_slices(n, row_bytes)

    def forward(self, xs, params, p):
        flats = [x.reshape(x.shape[0], -1) for x in xs]
        weights = [params[self.weight_name(i)] for i in range(len(xs))]
        z = p.xp.empty((flats[0].shape[0], self.config.size), dtype=flats[0].dtype)
        bias = params[self.bias_name] if self.bias_name else None

        def run(part):
            out = z[part]
            p.xp.matmul(flats[0][part], weights[0], out=out)
            for flat, w in zip(flats[1:], weights[1:]):
                out += flat[part] @ w
            if bias is not None:
                out += bias

        p.backend.parallel(run, self._slices(flats, p))
        return z

    def backward(self, xs, z, dz, params, grads, p):
        flats = [x.reshape(x.shape[0], -1) for x in xs]
        wanted = [p.needs_grad(name) for name in self.input_names]
        dxs = [p.xp.empty_like(f) if want else None for f, want in zip(flats, wanted)]

        def run(part):
            dws = []
            for i, flat in enumerate(flats):
                dws.append(flat[part].T @ dz[part])
                if dxs[i] is not None:
                    p.xp.matmul(dz[part], params[self.weight_name(i)].T, out=dxs[i][part])
            return dws

        blocks = p.backend.parallel(run, self._slices(flats, p))
        for i in range(len(flats)):
            dw = blocks[0][i]
            for block in blocks[1:]:
                dw += block[i]
            accumulate(grads, self.weight_name(i), dw)
        if self.bias_name:
            accumulate(grads, self.bias_name, dz.sum(axis=0))
        return [None if dx is None else dx.reshape(x.shape) for dx, x in zip(dxs, xs)]
