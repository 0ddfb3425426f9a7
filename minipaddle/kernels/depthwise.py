"""Depthwise convolution: one input channel per group (``C == G > 1``), any channel
multiplier ``M = F/G``, any number of spatial axes, stride, dilation and padding, by kh*kw
multiply-adds of shifted copies of the padded input (no im2col columns).

Called by :mod:`minipaddle.kernels.conv` (``conv_forward`` / ``conv_backward`` pick this
kernel for a depthwise conv) with its checked geometry ``geo`` (the conv module's
``_Geometry``: sizes, per-axis stride / padding / dilation) and arrays already in one dtype.
``ws(tag, shape, dtype)``: the reusable scratch-buffer provider (None: fresh arrays); nothing
returned aliases one. ``xp``: the array module (NumPy or CuPy).

How it is fast in NumPy: every multiply and add is one call over long contiguous runs.

* Flat rows. The padded image of one (sample, channel) is stored flattened, one "row" of
  ``R`` values per (sample, channel), rows back to back. With stride 1, the output pixel
  ``o`` reads the padded cell ``o + offset(tap)``; computing the output over the padded
  width (``Wp`` columns per output row instead of ``Wo``; the extra ones are junk and never
  copied out), every tap is the SAME shift of the flat buffer for every pixel, row and
  sample: one multiply and one add over ``rows * R`` contiguous values per tap. Rows share
  their padding: the zeros after one image row are the zeros before the next, and after one
  image those before the next image (a 28x28 image with pad 1 takes 29x29 cells, not
  30x30, so 7% fewer junk outputs; :func:`_pitch` says why no input cell leaks into
  another's output).
  NumPy runs a ufunc over strided 2-D views (rows of 28 of every 30 values) at half the
  rate of one over contiguous values (measured: 13-18 us vs 7 us for 58k float32 values),
  which is why the shifted 2-D views of the first kernel were slow.
* Stride > 1: the padded image splits into phases (cells whose index is p mod stride along
  every axis); every tap reads one phase at a unit-stride shift, so the same flat scheme runs
  on each phase's grid.
* Channel-major rows: a block's rows are ordered (channel, sample), so a channel's rows are
  one contiguous run and its weight of a tap one scalar: each tap is a broadcasting multiply
  of the (channels, run) block by a column of weights. NumPy buffers such a ufunc in chunks
  of its buffer size; with the default 8192 values it ran 1.6x slower than with 2048
  (``UFUNC_BUFFER``, set for this thread while the kernel runs), at which it is faster than a
  1-D multiply by a full stream of per-row weights (the first version of this kernel: 0.8x
  the time, and no weight stream to build).
* Blocks: the rows run in blocks of about ``BLOCK_BYTES``: every sample of the call (the
  runtime's chunk of the batch) and a run of channels, or runs of samples of one channel.
* Backward: the output gradient is copied into the same flat rows with its junk cells zero,
  so the weight gradient of a tap is one dot product per channel over its run (a batched
  ``(1, run) @ (run, 1)`` matmul: BLAS dots, twice as fast as an einsum over rows) and the
  data gradient is the transposed tap sum, written phase by phase like a forward output
  from the gradient rows shifted the other way (no zeroed accumulator), whose input cells
  are copied out.

Non-finite inputs: junk cells multiply real inputs by zero gradients, so an inf or NaN
anywhere in ``x`` makes the weight gradient NaN (a direct sum would give NaN or inf in most
taps anyway).
"""

from contextlib import contextmanager
from functools import lru_cache
from itertools import product

import numpy as np

__all__ = ["depthwise_forward", "depthwise_backward", "BLOCK_BYTES", "UFUNC_BUFFER"]

#: bytes of padded input rows one block of work holds (its products and sums are as large;
#: 0.5 to 4 MB measured within noise of each other for 4 samples of 128x28x28 float32)
BLOCK_BYTES = 2 * 1024 * 1024
#: values in NumPy's ufunc buffer while the kernel runs (a broadcasting multiply by a
#: per-row weight column ran 1.6x slower with the default 8192)
UFUNC_BUFFER = 2048


def _buffer(ws, xp, tag, shape, dtype):
    """A scratch array (contents undefined): from ``ws`` when given, else a new one."""
    return xp.empty(shape, dtype=dtype) if ws is None else ws(tag, shape, dtype)


def _prod(values):
    n = 1
    for v in values:
        n *= v
    return n


class _Plan:
    """The flat layout of one geometry (worked out once per geometry, :func:`_plan`).

    ``grid``: a row's cells per axis (the pitch, :func:`_pitch`); ``strides``: flat strides
    of the grid; ``length``: the flat output positions of a row (all outer-axis outputs,
    the full grid along the others); ``row``: values per row (the grid's); ``taps``: per
    filter offset (the last axis fastest): (phase slot, flat offset); ``phases``: per phase
    slot, its per-axis placement of the input (``None`` when it holds no input cell):
    ((first cell, end cell, slice of the input), ...); ``copies``: where each phase's input
    cells are (below); ``unread``: the input slices (per
    axis) of phases no tap reads (their data gradient is zero); ``outputs``: index of the
    real outputs in (.., out[0], *grid[1:])."""

    def __init__(self, image, filt, out, stride, padding, dilation):
        rank = len(image)
        cells = tuple(-(-(size + 2 * p) // s) for size, p, s in zip(image, padding, stride))
        self.grid = tuple(_pitch(*a) for a in zip(image, filt, out, stride, padding, dilation,
                                                   cells))
        strides = [1] * rank
        for i in range(rank - 2, -1, -1):
            strides[i] = strides[i + 1] * self.grid[i + 1]
        self.strides = tuple(strides)
        self.length = out[0] * self.strides[0]
        slots, taps = {}, []
        for t in product(*[range(k) for k in filt]):
            phase = tuple((k * d) % s for k, d, s in zip(t, dilation, stride))
            offset = sum((k * d // s) * st for k, d, s, st in zip(t, dilation, stride, strides))
            taps.append((slots.setdefault(phase, len(slots)), offset))
        self.taps = tuple(taps)
        self.row = _prod(self.grid)
        self.phases = tuple(_placement(ph, image, padding, stride, self.grid) for ph in slots)
        #: per phase slot with input: (its index, the index of its input cells in
        #: (.., *grid), the index of the input they hold in (.., *image))
        self.copies = tuple(
            (i, (Ellipsis,) + tuple(slice(j0, j1) for j0, j1, _ in placement),
             (Ellipsis,) + tuple(sl for _, _, sl in placement))
            for i, placement in enumerate(self.phases) if placement is not None)
        # the input cells of each phase no tap reads: from the first input index of the
        # phase's residue along each axis (when every axis has one)
        unread = (tuple((p - pad) % s for p, pad, s in zip(ph, padding, stride))
                  for ph in product(*[range(s) for s in stride]) if ph not in slots)
        self.unread = tuple(tuple(slice(a, None, s) for a, s in zip(starts, stride))
                            for starts in unread
                            if all(a < size for a, size in zip(starts, image)))
        self.outputs = (Ellipsis, slice(None)) + tuple(slice(0, o) for o in out[1:])


def _span(phase, size, pad, stride, cells):
    """The cells ``[j0, j1)`` of one axis's phase that hold input (cell ``j`` is the padded
    index ``phase + stride*j``), among the phase's ``cells``."""
    j0 = max(0, -(-(pad - phase) // stride))
    j1 = min(cells, -(-(pad + size - phase) // stride))
    return j0, j1


def _pitch(size, k, out, stride, pad, dilation, cells):
    """Cells per row along one axis. A row only needs its input cells and the zeros its
    outputs read; the zeros after one row's input can be the zeros before the next row's
    (rows sharing their padding). With input cells ``[j0, j1)`` of a phase and the taps
    on it reading cells ``o + e`` for outputs ``o < out``, a pitch ``>= j1`` and
    ``>= out + max(e) - j0`` (and ``>= out``) keeps every cell a real output reads outside
    ``[j0, j1)`` off every input cell, also across rows, axes and samples (the difference
    of two positions along an axis stays below the pitch, so two flat positions are equal
    only when all their per-axis indices are): 29 instead of 30 for 3x3 pad 1."""
    pitch = out
    for phase in range(stride):
        reach = [k_ * dilation // stride for k_ in range(k) if (k_ * dilation) % stride == phase]
        j0, j1 = _span(phase, size, pad, stride, cells)
        if reach and j1 > j0:
            pitch = max(pitch, j1, out + max(reach) - j0)
    return pitch


def _placement(phase, image, padding, stride, grid):
    """Per axis (first cell, end cell, input slice) of a phase's input, None if it holds
    none."""
    axes = []
    for p, size, pad, s, q in zip(phase, image, padding, stride, grid):
        j0, j1 = _span(p, size, pad, s, q)
        if j1 <= j0:
            return None
        start = p + s * j0 - pad
        axes.append((j0, j1, slice(start, start + s * (j1 - j0 - 1) + 1, s)))
    return tuple(axes)


@lru_cache(maxsize=256)
def _plan(image, filt, out, stride, padding, dilation):
    return _Plan(image, filt, out, stride, padding, dilation)


def _geo_plan(geo):
    return _plan(geo.image, geo.filter, geo.out, geo.stride, geo.padding, geo.dilation)


def _blocks(n, g, row_bytes):
    """Blocks of (samples, channels) of about ``BLOCK_BYTES`` of rows: every sample of the
    call and a run of channels, or when one channel's rows are too many, runs of samples of
    one channel. Returns blocks as (n0, n1, g0, g1), of even sizes."""
    per_block = max(1, BLOCK_BYTES // max(1, row_bytes))
    if per_block >= n:
        size = -(-g // -(-g // (per_block // n)))
        return [(0, n, b, min(g, b + size)) for b in range(0, g, size)]
    size = -(-n // -(-n // per_block))
    return [(a, min(n, a + size), b, b + 1) for b in range(g) for a in range(0, n, size)]


def _grid(buf, gg, nn, plan):
    """The first rows of a flat buffer viewed as (gg, nn, *grid)."""
    return buf[:gg * nn * plan.row].reshape((gg, nn) + plan.grid)


def _zero_outside(buf, gg, nn, plan, placement):
    """Zero every cell of a phase buffer (``gg * nn`` rows and the tail) that the input never
    writes: along each axis the cells before and after its placement, and the tail."""
    buf[gg * nn * plan.row:] = 0
    view = _grid(buf, gg, nn, plan)
    if placement is None:
        view[...] = 0
        return
    lead = (slice(None), slice(None))
    for j0, j1, _ in placement:
        view[lead + (slice(0, j0),)] = 0
        view[lead + (slice(j1, None),)] = 0
        lead += (slice(None),)


def _channels_first(a):
    """(N, C, ...) as a (C, N, ...) view."""
    return a.swapaxes(0, 1)


def _fill(bufs, x_block, plan):
    """Copy a block of the input (nn, gg, *image) into the interior of each phase buffer,
    channel by channel: rows (g, n)."""
    nn, gg = x_block.shape[:2]
    for i, cells, image in plan.copies:
        _grid(bufs[i], gg, nn, plan)[cells] = _channels_first(x_block[image])


def _phase_buffers(ws, xp, tag, plan, rows, dtype):
    """One flat buffer per phase: ``rows`` rows and a tail that the largest shift reads."""
    tail = max(off for _, off in plan.taps)
    whole = _buffer(ws, xp, tag, (len(plan.phases), rows * plan.row + tail), dtype)
    return [whole[i] for i in range(len(plan.phases))]


@contextmanager
def _ufunc_buffer(xp):
    """NumPy's ufunc buffer at ``UFUNC_BUFFER`` values while the kernel runs (in this thread
    only: NumPy keeps it in a context variable, which ``errstate`` restores)."""
    if xp is not np:
        yield
        return
    with np.errstate():
        np.setbufsize(UFUNC_BUFFER)
        yield


def _setup(x, geo, xp, ws):
    """The plan, blocks, and the zero-bordered input phase buffers of a call."""
    plan = _geo_plan(geo)
    blocks = _blocks(geo.n, geo.g, plan.row * x.dtype.itemsize)
    gb, nb = blocks[0][3] - blocks[0][2], blocks[0][1] - blocks[0][0]
    bufs = _phase_buffers(ws, xp, "dw_x", plan, gb * nb, x.dtype)
    for buf, placement in zip(bufs, plan.phases):
        _zero_outside(buf, gb, nb, plan, placement)
    return plan, blocks, gb * nb, bufs


def _columns(w, geo, plan, m):
    """The weights as (M, taps, G, 1): per multiplier index and tap, a column of the
    channels' weights to broadcast along their rows."""
    return w.reshape(geo.g, m, len(plan.taps)).transpose(1, 2, 0)[:, :, :, None]


def depthwise_forward(x, w, geo, xp, ws, out):
    """y[n, g*m + j] = sum over offsets of w[g*m + j, 0, offset] * shifted x[n, g], written
    into ``out`` (N, F, *out) and returned."""
    if geo.n == 0:
        return out
    m = geo.f // geo.g
    plan, blocks, rows, bufs = _setup(x, geo, xp, ws)
    row = plan.row
    wc = _columns(w, geo, plan, m)
    y = _buffer(ws, xp, "dw_y", (rows * row,), x.dtype)
    tmp = _buffer(ws, xp, "dw_tmp", (rows * row,), x.dtype)
    y6 = out.reshape((geo.n, geo.g, m) + geo.out)
    with _ufunc_buffer(xp):
        for n0, n1, g0, g1 in blocks:
            nn, gg = n1 - n0, g1 - g0
            size = gg * nn * row
            _fill(bufs, x[n0:n1, g0:g1], plan)
            yb, tb = y[:size].reshape(gg, nn * row), tmp[:size].reshape(gg, nn * row)
            for j in range(m):
                for i, (slot, off) in enumerate(plan.taps):
                    src = bufs[slot][off:off + size].reshape(gg, nn * row)
                    if i == 0:
                        xp.multiply(src, wc[j, i, g0:g1], out=yb)
                    else:
                        xp.multiply(src, wc[j, i, g0:g1], out=tb)
                        xp.add(y[:size], tmp[:size], out=y[:size])
                view = y[:size].reshape(gg, nn, row)[:, :, :plan.length].reshape(
                    (gg, nn, geo.out[0]) + plan.grid[1:])
                _channels_first(y6[n0:n1, g0:g1, j])[...] = view[plan.outputs]
    return out


def depthwise_backward(x, w, dy, geo, need_dx, xp, ws, dx=None):
    """``(dx, dw)`` of ``sum(depthwise_forward(x, w) * dy)``; ``dx`` None unless
    ``need_dx``, else written into the given ``dx`` (C-contiguous, shaped and typed as ``x``)
    when there is one."""
    if need_dx and dx is None:
        dx = xp.empty(x.shape, dtype=x.dtype)
    if geo.n == 0:
        if need_dx:
            dx[...] = 0
        return (dx if need_dx else None), xp.zeros(w.shape, dtype=x.dtype)
    m = geo.f // geo.g
    plan, blocks, rows, bufs = _setup(x, geo, xp, ws)
    row, taps = plan.row, len(plan.taps)
    # the output gradient in flat rows, junk cells zero (the interior is rewritten per
    # block), after ``lead`` zeros: the data gradient reads it up to the largest offset back
    lead = max(off for _, off in plan.taps)
    dyf = _buffer(ws, xp, "dw_dy", (m, lead + rows * row), x.dtype)
    dyf[...] = 0
    dy6 = dy.reshape((geo.n, geo.g, m) + geo.out)
    dw = xp.zeros((m, taps, geo.g), dtype=x.dtype)
    dots = _buffer(ws, xp, "dw_dots", (rows,), x.dtype)
    if need_dx:
        wc = _columns(w, geo, plan, m)
        acc = _phase_buffers(ws, xp, "dw_dx", plan, rows, x.dtype)
        tmp = _buffer(ws, xp, "dw_tmp", (rows * row,), x.dtype)
        for sl in plan.unread:
            dx[(slice(None), slice(None)) + sl] = 0
    with _ufunc_buffer(xp):
        for n0, n1, g0, g1 in blocks:
            nn, gg = n1 - n0, g1 - g0
            size = gg * nn * row
            _fill(bufs, x[n0:n1, g0:g1], plan)
            for j in range(m):
                d = dyf[j, lead:lead + size]
                view = d.reshape(gg, nn, row)[:, :, :plan.length].reshape(
                    (gg, nn, geo.out[0]) + plan.grid[1:])
                view[plan.outputs] = _channels_first(dy6[n0:n1, g0:g1, j])
                # per channel and tap one dot product over the channel's rows: a batched
                # (1, nn*R) @ (nn*R, 1) matmul runs BLAS dots (an einsum took twice as long)
                d3 = d.reshape(gg, nn * row, 1)
                for i, (slot, off) in enumerate(plan.taps):
                    xp.matmul(bufs[slot][off:off + size].reshape(gg, 1, nn * row), d3,
                              out=dots[:gg].reshape(gg, 1, 1))
                    dw[j, i, g0:g1] += dots[:gg]
            if need_dx:
                _data_grad_block(acc, dyf, wc[:, :, g0:g1], plan, m, (gg, nn * row), lead,
                                 tmp, xp)
                dxb = _channels_first(dx[n0:n1, g0:g1])
                for i, cells, image in plan.copies:
                    dxb[image] = _grid(acc[i], gg, nn, plan)[cells]
    return dx, dw.transpose(2, 0, 1).reshape(w.shape)


def _data_grad_block(acc, dyf, wc, plan, m, shape, lead, tmp, xp):
    """The transposed tap sum of one block, phase by phase: a padded cell ``c`` of a phase
    gets ``w[tap] * dy[c - offset(tap)]`` from each tap that reads the phase, so each phase's
    rows are written like a forward output, reading the gradient rows shifted back (the
    zeros before a row and after its outputs stand in for gradients outside the image)."""
    size = shape[0] * shape[1]
    tb = tmp[:size].reshape(shape)
    first = [True] * len(acc)
    for j in range(m):
        for i, (slot, off) in enumerate(plan.taps):
            src = dyf[j, lead - off:lead - off + size].reshape(shape)
            dst = acc[slot][:size]
            if first[slot]:
                xp.multiply(src, wc[j, i], out=dst.reshape(shape))
                first[slot] = False
            else:
                xp.multiply(src, wc[j, i], out=tb)
                xp.add(dst, tmp[:size], out=dst)
