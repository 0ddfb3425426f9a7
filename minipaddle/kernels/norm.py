"""Normalisation kernels: batch norm (spec 6.4) and cross-map response norm (spec 6.3).

Channels are axis 1 (``(N, C)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``). Per-channel vectors
(``gamma``, ``beta``, ``mean``, ``var``, ``inv_std``) are accepted in any shape holding C values
(``(C,)``, ``(1, C)``, ...); per-channel results are returned with shape ``(C,)``.
Every function keeps the dtype of its inputs (float32 stays float32).
"""

import numpy as np

from .activations import relu_grad
from .clamp import relu_in_place


# --- batch norm --------------------------------------------------------------------------------

def _bn_axes(x):
    """Reduction axes (all but the channel axis 1) and the broadcast shape of a channel vector."""
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return axes, bshape


def _row_sums(xp, a3, b3=None):
    """Per-(n, c) row sums of an (N, C, M) array (of products with ``b3`` when given), in the
    input's precision, one ``einsum`` each (about 3 times faster than ``sum(axis=(0, 2))``:
    bench/README.md). The caller sums the rows of each channel in float64: a row's sum depends
    on that row alone, and float64 adds float32 row sums exactly, so a batch split into shards
    (synchronised batch norm) sums to the same bits as the whole."""
    if b3 is None:
        return xp.einsum("ncm->nc", a3)
    return xp.einsum("ncm,ncm->nc", a3, b3)


def _per_value(xp, v, x):
    """A per-channel vector ``v`` (C values) repeated over each sample's values: shape
    ``(C*M,)`` for ``x`` (N, C, M), in ``x``'s dtype. An elementwise op of (N, C*M) with it
    runs contiguous in both operands: 1.2-1.8x faster than broadcasting a (C, 1) column along
    rows of M values (more for small images, whose rows are short)."""
    return xp.repeat(v.reshape(-1).astype(x.dtype, copy=False), x.shape[2])


#: batch norm runs its passes in blocks of samples on the backend's worker threads (``run``)
#: for inputs of at least this many bytes; smaller ones in one block on the calling thread
#: (handing work to a thread costs about 0.1 ms a call)
BN_PARALLEL_BYTES = 6 * 1024 * 1024
#: bytes of samples one block covers, each block's passes while it is in its core's cache
BN_BLOCK_BYTES = 512 * 1024


def _serial(fn, items):
    return [fn(item) for item in items]


def _sample_blocks(n, sample_bytes, xp, workers):
    """Slices of the batch of about :data:`BN_BLOCK_BYTES` each, at least one per worker
    when the batch has that many samples, sizes differing by at most one sample; one block
    below :data:`BN_PARALLEL_BYTES` or with one worker, and off NumPy (a GPU wants few large
    launches)."""
    if xp is not np or workers < 2 or n * sample_bytes < BN_PARALLEL_BYTES:
        return [slice(0, n)]
    count = max(workers, (n * sample_bytes) // BN_BLOCK_BYTES)
    count = max(1, min(n, count))
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def batch_norm_forward(x, gamma, beta, *, epsilon, xp=np, sum_shards=None, relu=False,
                       run=None, workers=1):
    """Training-mode batch norm with batch statistics.

    Returns ``(y, mean, var, inv_std)``, the last three of shape ``(C,)``: ``mean = E[x]``,
    ``var = E[x^2] - mean^2`` clipped at 0 (biased, before epsilon: what the runtime feeds to
    the moving variance), ``inv_std = 1/sqrt(var + epsilon)``,
    ``y = gamma * (x - mean) * inv_std + beta``; with ``relu``, ``max(y, 0)`` (the ReLU
    activation fused, in place: the values of applying it after).

    ``sum_shards``: when the batch is split into shards computed apart (synchronised batch
    norm), a function returning a 1-D array summed over all shards; the expectations are then
    taken over every shard's values (``sum x``, ``sum x^2`` and the count, in float64).

    ``run(fn, items)``: maps ``fn`` over ``items``, possibly on ``workers`` threads (a
    backend's ``parallel`` and ``workers``; default: in order, here).

    Passes, block by block over the samples (:func:`_sample_blocks`): ``sum x`` and
    ``sum x^2`` per row (:func:`_row_sums`; a row's sums do not depend on the blocks); then,
    with the statistics known, ``y = x * scale``, ``y += shift`` with per-channel scale and
    shift repeated over each sample's values (:func:`_per_value`), and the ReLU in place.
    """
    n, c = x.shape[0], x.shape[1]
    run = run or _serial
    x3 = x.reshape(n, c, -1)
    x2 = x.reshape(n, -1)
    blocks = _sample_blocks(n, x2.shape[1] * x.dtype.itemsize, xp, workers)
    rows = xp.empty((2, n, c), dtype=x.dtype)          # per-row sums of x and of x^2

    def stats(b):
        rows[0, b] = _row_sums(xp, x3[b])
        rows[1, b] = _row_sums(xp, x3[b], x3[b])

    run(stats, blocks)
    sx = rows[0].sum(axis=0, dtype=np.float64)
    sxx = rows[1].sum(axis=0, dtype=np.float64)
    m = float(x.size // c)
    if sum_shards is not None:
        total = xp.asarray(sum_shards(xp.concatenate([sx, sxx, xp.asarray([m])])))
        sx, sxx, m = total[:c], total[c:2 * c], total[2 * c]
    mean64 = sx / m
    mean = mean64.astype(x.dtype)
    var = xp.maximum(sxx / m - mean64 * mean64, 0).astype(x.dtype)
    inv_std = 1 / xp.sqrt(var + epsilon)
    scale = gamma.reshape(-1) * inv_std
    shift = (beta.reshape(-1) - mean * scale).astype(x.dtype, copy=False)
    scale_v, shift_v = _per_value(xp, scale, x3), _per_value(xp, shift, x3)
    y = xp.empty(x2.shape, dtype=x.dtype)

    def apply(b):
        yb = y[b]
        xp.multiply(x2[b], scale_v, out=yb)
        yb += shift_v
        if relu:
            relu_in_place(xp, yb)

    run(apply, blocks)
    return y.reshape(x.shape), mean, var, inv_std


def batch_norm_inference(x, gamma, beta, mean, var, *, epsilon, xp=np):
    """Batch norm with given statistics: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``."""
    _, bshape = _bn_axes(x)
    inv_std = 1 / xp.sqrt(var.reshape(-1) + epsilon)
    scale = (gamma.reshape(-1) * inv_std).reshape(bshape)
    return (x - mean.reshape(bshape)) * scale + beta.reshape(bshape)


def batch_norm_backward(x, dy, gamma, mean, inv_std, *, xp=np, sum_shards=None, y=None,
                        run=None, workers=1):
    """Gradient of :func:`batch_norm_forward` (statistics depend on x).

    With ``m`` values per channel and ``xhat = (x - mean) * inv_std``:
    ``dbeta = sum(dy)``, ``dgamma = sum(dy * xhat)``,
    ``dx = gamma * inv_std / m * (m * dy - dbeta - xhat * dgamma)``.
    Returns ``(dx, dgamma, dbeta)``, the last two of shape ``(C,)``.

    ``y``: the output of a forward with the ReLU fused (``relu=True``); ``dy`` is then the
    gradient of that output, taken through the ReLU first (:func:`relu_grad`).

    ``sum_shards`` as in :func:`batch_norm_forward`: ``dx`` then uses ``m``, ``dbeta`` and
    ``dgamma`` summed over every shard, while the returned ``dgamma`` and ``dbeta`` are this
    shard's (parameter gradients are summed over the shards later, with the others).
    ``run`` and ``workers`` as in :func:`batch_norm_forward`.

    Passes, block by block over the samples (:func:`_sample_blocks`): the ReLU's gradient
    (into dx's buffer), ``x - mean`` (kept for the second phase), its dot products with dy
    and the sums of dy (:func:`_row_sums`); then, with the sums known,
    ``dx = a * dy + b * (x - mean) + c`` with per-channel a, b, c in four, every per-channel
    operand repeated over each sample's values (:func:`_per_value`).
    """
    n, c = x.shape[0], x.shape[1]
    run = run or _serial
    m = x.size // c
    x3 = x.reshape(n, c, -1)
    x2 = x.reshape(n, -1)
    dy2 = dy.reshape(n, -1)
    y2 = None if y is None else y.reshape(n, -1)
    inv_std = inv_std.reshape(-1)
    mean_v = _per_value(xp, mean, x3)
    blocks = _sample_blocks(n, x2.shape[1] * x.dtype.itemsize, xp, workers)
    dx = xp.empty(x2.shape, dtype=x.dtype)
    centred = xp.empty(x2.shape, dtype=x.dtype)
    rows = xp.empty((2, n, c), dtype=x.dtype)      # per-row sums of dy and of (x - mean) dy

    def stats(b):
        g = dy2[b] if y2 is None else relu_grad(xp, y2[b], dy2[b], out=dx[b])
        shape = (-1,) + x3.shape[1:]
        xp.subtract(x2[b], mean_v, out=centred[b])
        rows[0, b] = _row_sums(xp, g.reshape(shape))
        rows[1, b] = _row_sums(xp, centred[b].reshape(shape), g.reshape(shape))

    run(stats, blocks)
    sdy = rows[0].sum(axis=0, dtype=np.float64)                    # float64
    sdyx = rows[1].sum(axis=0, dtype=np.float64)
    dbeta, dgamma = sdy.astype(x.dtype), (sdyx * inv_std).astype(x.dtype)
    if sum_shards is not None:        # the shards' float64 sums: the same bits as one batch
        total = xp.asarray(sum_shards(xp.concatenate([
            sdy, sdyx, xp.asarray([m], dtype=np.float64)])))
        sdy, sdyx, m = total[:c], total[c:2 * c], total[2 * c]
    all_dbeta, all_dgamma = sdy.astype(x.dtype), (sdyx * inv_std).astype(x.dtype)
    k = (gamma.reshape(-1) * inv_std / m).astype(x.dtype, copy=False)
    b_v = _per_value(xp, -k * inv_std * all_dgamma, x3)
    a_v = _per_value(xp, k * x.dtype.type(m), x3)
    c_v = _per_value(xp, -k * all_dbeta, x3)

    def apply(b):
        cb, db = centred[b], dx[b]
        cb *= b_v
        xp.multiply(dy2[b] if y2 is None else db, a_v, out=db)
        db += cb
        db += c_v

    run(apply, blocks)
    return dx.reshape(x.shape), dgamma, dbeta


def batch_norm_backward_fixed(dy, gamma, inv_std, x, mean, *, xp=np):
    """Gradient of batch norm when ``mean`` and ``inv_std`` are constants (use_global_stats
    while training): ``dx = dy * gamma * inv_std``, ``dgamma = sum(dy * xhat)``,
    ``dbeta = sum(dy)``. Returns ``(dx, dgamma, dbeta)``, the last two of shape ``(C,)``."""
    axes, bshape = _bn_axes(x)
    inv_std = inv_std.reshape(-1)
    xhat = (x - mean.reshape(bshape)) * inv_std.reshape(bshape)
    dx = dy * (gamma.reshape(-1) * inv_std).reshape(bshape)
    # array methods: the sums run on the arrays' own module whatever ``xp`` says
    return dx, (dy * xhat).sum(axis=axes), dy.sum(axis=axes)


# --- cross-map response norm -------------------------------------------------------------------

def cmrnorm_offsets(size):
    """Channel offsets of the forward window: ``start = -((size-1)//2)`` (C truncation of
    ``-(size-1)/2``), ``end = start + size``. Size 5 -> -2..2; size 2 -> 0, 1; size 4 -> -1..2."""
    start = -((size - 1) // 2)
    return range(start, start + size)   # a range: huge sizes cost nothing until iterated


def _channel_window_sum(a, offsets, xp):
    """``out[:, c] = sum_{s in offsets, 0 <= c+s < C} a[:, c+s]`` (channel axis 1);
    ``offsets`` is a range of consecutive offsets (any width: only the part reaching a
    channel is visited)."""
    C = a.shape[1]
    out = xp.zeros_like(a)
    for s in range(max(offsets.start, -(C - 1)), min(offsets.stop, C)):
        lo, hi = max(0, -s), min(C, C - s)
        if lo < hi:
            out[:, lo:hi] += a[:, lo + s:hi + s]
    return out


def cmrnorm_forward(x, *, size, scale, power, xp=np):
    """Cross-map response norm. ``scale`` is the config's already-divided ``alpha/size``.

    ``denom[c] = 1 + scale * sum_{s in window} x[c+s]^2`` (channels outside [0, C) skipped),
    ``y = x * denom^(-power)``. Returns ``(y, denom)``.
    """
    denom = 1 + scale * _channel_window_sum(x * x, cmrnorm_offsets(size), xp)
    return x * denom ** (-power), denom


def cmrnorm_backward(x, y, denom, dy, *, size, scale, power, xp=np):
    """True gradient of :func:`cmrnorm_forward` (Paddle's own backward used a mirrored window
    for even sizes; this one matches the forward):
    ``dx[c] = dy[c] * denom[c]^(-power)
              - 2 * scale * power * x[c] * sum_{k : c in window(k)} dy[k] * y[k] / denom[k]``.
    """
    t = dy * y / denom
    forward = cmrnorm_offsets(size)
    back = _channel_window_sum(t, range(1 - forward.stop, 1 - forward.start), xp)
    return dy * denom ** (-power) - (2 * scale * power) * x * back
