"""Kernels of the mixed layer's terms that are more than one array expression: the table
lookup and its scatter-add gradient, column slices, the feature-map repeat, and the
per-sample convolution of ``conv_operator`` (each sample convolved by its own filters, through
:mod:`.conv`).  Array-module agnostic (``xp``)."""

from __future__ import annotations

import numpy as np

from . import conv as K


def table_forward(ids, table, xp=np):
    """Rows ``table[ids]``: ``ids`` (N,) integers, ``table`` (V, D) -> (N, D)."""
    return xp.take(table, ids, axis=0)


def table_backward(ids, dy, rows, xp=np):
    """The table's gradient: ``dy[n]`` added into row ``ids[n]`` (repeated ids sum), shape
    ``(rows, D)``."""
    grad = xp.zeros((rows, dy.shape[1]), dtype=dy.dtype)
    scatter = getattr(xp.add, "at", None)
    if scatter is not None:
        scatter(grad, ids, dy)
    else:                                    # an array module without ufunc.at (older CuPy)
        import cupyx  # noqa: PLC0415 - only there
        cupyx.scatter_add(grad, ids, dy)
    return grad


def gather_columns(x, ranges, xp=np):
    """``x[:, a:b]`` for each (a, b) of ``ranges``, side by side."""
    return xp.concatenate([x[:, a:b] for a, b in ranges], axis=1)


def scatter_columns(dy, ranges, width, xp=np):
    """The gradient of :func:`gather_columns`: ``dy``'s blocks put back at their columns of
    an (N, width) zero array."""
    dx = xp.zeros((dy.shape[0], width), dtype=dy.dtype)
    start = 0
    for a, b in ranges:
        dx[:, a:b] += dy[:, start:start + b - a]
        start += b - a
    return dx


def repeat_forward(x, times, as_row_vector=True, xp=np):
    """(N, D) -> (N, D * times): ``[x, x, ...]`` (row vector) or each value ``times`` times in
    place ``[x1, x1, ..., x2, x2, ...]``."""
    if as_row_vector:
        return xp.tile(x, (1, times))
    return xp.repeat(x, times, axis=1)


def repeat_backward(dy, times, as_row_vector=True):
    """The gradient of :func:`repeat_forward`: the copies' gradients summed."""
    n = dy.shape[0]
    if as_row_vector:
        return dy.reshape(n, times, -1).sum(axis=1)
    return dy.reshape(n, -1, times).sum(axis=2)


def per_sample_conv_forward(x, filters, w_shape, *, transposed, conv_args, output_size,
                            xp=np):
    """Sample ``n`` of ``x`` (N, C, H, W) convolved (or, ``transposed``, transposed-convolved)
    by ``filters[n]`` seen as ``w_shape``; returns (N, F, Ho, Wo)."""
    outs = []
    for n in range(x.shape[0]):
        w = filters[n].reshape(w_shape)
        if transposed:
            outs.append(K.conv2d_transpose_forward(x[n:n + 1], w, output_size=output_size,
                                                   xp=xp, **conv_args))
        else:
            outs.append(K.conv2d_forward(x[n:n + 1], w, output_size=output_size, xp=xp,
                                         **conv_args))
    return xp.concatenate(outs, axis=0)


def per_sample_conv_backward(x, filters, dy, w_shape, *, transposed, conv_args, output_size,
                             need_dx=True, xp=np):
    """Gradients ``(dx, dfilters)`` of :func:`per_sample_conv_forward` (``dx`` None when
    ``need_dx`` is False); ``dfilters`` has the shape of ``filters``."""
    dx = xp.empty_like(x) if need_dx else None
    dfilters = xp.empty_like(filters)
    for n in range(x.shape[0]):
        w = filters[n].reshape(w_shape)
        if transposed:
            dx_n, dw = K.conv2d_transpose_backward(x[n:n + 1], w, dy[n:n + 1], xp=xp,
                                                   need_dx=need_dx, **conv_args)
        else:
            dx_n, dw = K.conv2d_backward(x[n:n + 1], w, dy[n:n + 1], xp=xp, need_dx=need_dx,
                                         output_size=output_size, **conv_args)
        if need_dx:
            dx[n] = dx_n[0]
        dfilters[n] = dw.reshape(dfilters[n].shape)
    return dx, dfilters
