"""fc: y = sum_i x_i W_i + b, weights (input_size, size).

A large fc is split over the backend's threads by columns: each worker computes a block of
the output's columns (x_i @ W_i[:, block] + b[block]), and backward a block of each weight
gradient's columns (x_i^T @ dz[:, block]) and of each input gradient's columns
(dz @ W_i[block, :]^T). Every block is a whole product, so nothing is summed across workers
(the same sums every step, whatever the thread count), and each GEMM keeps the whole batch
as its M (row blocks of a batch of 64 gave each thread a 32-row GEMM and two weight-gradient
partials to add: the backward of LeNet's 800->500 took 1.27x as long)."""

from __future__ import annotations

from ..registry import register
from .base import RuntimeLayer, accumulate

#: column blocks are multiples of this many columns (whole register tiles of the GEMM kernel)
_ALIGN = 16


def column_blocks(size: int, parts: int) -> list[slice]:
    """``size`` columns split into at most ``parts`` contiguous blocks of nearly equal width,
    each a multiple of ``_ALIGN`` but the last (one block when ``size`` is too small)."""
    parts = max(1, min(parts, size // _ALIGN))
    if parts == 1:
        return [slice(0, size)]
    width = -(-size // parts)
    width = -(-width // _ALIGN) * _ALIGN
    bounds = list(range(0, size, width)) + [size]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


@register("fc")
class FCLayer(RuntimeLayer):
    #: multiply-adds from which the work is split over threads (below, a hand-off to a
    #: worker costs more than it saves)
    SPLIT_MACS = 1 << 22

    def _parts(self, flats, p) -> int:
        n = flats[0].shape[0]
        if n * sum(f.shape[1] for f in flats) * self.config.size < self.SPLIT_MACS:
            return 1
        return p.backend.workers

    def forward(self, xs, params, p):
        flats = [x.reshape(x.shape[0], -1) for x in xs]
        weights = [params[self.weight_name(i)] for i in range(len(xs))]
        z = p.xp.empty((flats[0].shape[0], self.config.size), dtype=flats[0].dtype)
        bias = params[self.bias_name] if self.bias_name else None

        def run(cols):
            out = z[:, cols]
            p.xp.matmul(flats[0], weights[0][:, cols], out=out)
            for flat, w in zip(flats[1:], weights[1:]):
                out += flat @ w[:, cols]
            if bias is not None:
                out += bias[cols]

        p.backend.parallel(run, column_blocks(self.config.size, self._parts(flats, p)))
        return z

    def backward(self, xs, z, dz, params, grads, p):
        flats = [x.reshape(x.shape[0], -1) for x in xs]
        wanted = [p.needs_grad(name) for name in self.input_names]
        dxs = [p.xp.empty_like(f) if want else None for f, want in zip(flats, wanted)]
        dws = [p.xp.empty((f.shape[1], self.config.size), dtype=dz.dtype) for f in flats]
        parts = self._parts(flats, p)
        # worker j: column block j of every weight gradient and of every input gradient
        out_blocks = column_blocks(self.config.size, parts)
        in_blocks = [column_blocks(f.shape[1], parts) for f in flats]

        def run(j):
            if j < len(out_blocks):
                cols = out_blocks[j]
                for flat, dw in zip(flats, dws):
                    p.xp.matmul(flat.T, dz[:, cols], out=dw[:, cols])
            for i, dx in enumerate(dxs):
                if dx is not None and j < len(in_blocks[i]):
                    rows = in_blocks[i][j]
                    p.xp.matmul(dz, params[self.weight_name(i)][rows].T, out=dx[:, rows])

        count = max([len(out_blocks)] + [len(b) for b in in_blocks])
        p.backend.parallel(run, list(range(count)))
        for i in range(len(flats)):
            accumulate(grads, self.weight_name(i), dws[i])
        if self.bias_name:
            accumulate(grads, self.bias_name, dz.sum(axis=0))
        return [None if dx is None else dx.reshape(x.shape) for dx, x in zip(dxs, xs)]
