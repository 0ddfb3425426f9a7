"""Depthwise convolution: one input channel per group (``C == G > 1``), any channel
multiplier ``M = F/G``, any number of spatial axes, stride, dilation and padding, by kh*kw
multiply-adds of shifted copies of the padded input (no im2col columns).

Called by :mod:`minipaddle.kernels.conv` (``conv_forward`` / ``conv_backward`` pick this
kernel for a depthwise conv) with its checked geometry ``geo`` (the conv module's
``_Geometry``: sizes, per-axis stride / padding / dilation) and arrays already in one dtype.
``ws(tag, shape, dtype)``: the reusable scratch-buffer provider (None: fresh arrays); nothing
returned aliases one. ``xp``: the array module (NumPy or CuPy).

How it is fast in NumPy: every multiply and add is one call on a long contiguous 1-D run.

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
  NumPy runs a 2-D strided or broadcasting ufunc at half the rate of a 1-D contiguous one
  (measured: 7 us vs 13-19 us for 58k float32 values), which is why the shifted 2-D views of
  the first kernel were slow.
* Stride > 1: the padded image splits into phases (cells whose index is p mod stride along
  every axis); every tap reads one phase at a unit-stride shift, so the same flat scheme runs
  on each phase's grid.
* Per-row weights as a full stream: ``weights[j, t]`` holds each row's weight of tap ``t``
  repeated along the row, built once per call for a sample's channels (a broadcasting
  multiply by a per-row column runs at the 2-D rate above), or per block when that would
  take more than ``WEIGHT_BYTES``.
* Blocks: the rows run in blocks of about ``BLOCK_BYTES`` (padded copy, products, sums and
  the copy out all stay in the core's L2 cache); a block is whole samples, or part of one
  sample's channels when a sample is too large.
* Backward: the output gradient is copied into the same flat rows with its junk cells zero,
  so the weight gradient of a tap is one dot product per row (a batched ``(1, R) @ (R, 1)``
  matmul: BLAS dots, twice as fast as an einsum over rows) and the data gradient is the
  transposed tap sum, written phase by phase like a forward output from the gradient rows
  shifted the other way (no zeroed accumulator), whose input cells are copied out.

Non-finite inputs: junk cells multiply real inputs by zero gradients, so an inf or NaN
anywhere in ``x`` makes the weight gradient NaN (a direct sum would give NaN or inf in most
taps anyway).
"""

from functools import lru_cache
from itertools import product

__all__ = ["depthwise_forward", "depthwise_backward", "BLOCK_BYTES", "WEIGHT_BYTES"]

#: bytes of padded input rows one block of work holds (its products and sums are as large)
BLOCK_BYTES = 512 * 1024
#: largest per-row weight streams built once per call (else they are built per block)
WEIGHT_BYTES = 16 * 1024 * 1024


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
    ((first cell, end cell, slice of the input), ...); ``unread``: the input slices (per
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
        self.unread = tuple(
            tuple(slice(p - pad + s * max(0, -(-(pad - p) // s)), None, s)
                  for p, pad, s in zip(ph, padding, stride))
            for ph in product(*[range(s) for s in stride])
            if ph not in slots and _placement(ph, image, padding, stride, self.grid))
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
    """Blocks of (samples, channels) of about ``BLOCK_BYTES`` of rows: whole samples when a
    sample's rows fit, else runs of one sample's channels. Returns (rows per sample of the
    weight pattern, blocks as (n0, n1, g0, g1))."""
    per_block = max(1, BLOCK_BYTES // max(1, row_bytes))
    if per_block >= g:                  # as few blocks as that allows, of even sizes
        k = min(n, per_block // g)
        k = -(-n // -(-n // k))
        return k, [(a, min(n, a + k), 0, g) for a in range(0, n, k)]
    size = -(-g // -(-g // per_block))
    return 1, [(a, a + 1, b, min(g, b + size)) for a in range(n) for b in range(0, g, size)]


def _grid(buf, nn, gg, plan):
    """The first rows of a flat buffer viewed as (nn, gg, *grid)."""
    return buf[:nn * gg * plan.row].reshape((nn, gg) + plan.grid)


def _zero_outside(buf, nn, gg, plan, placement):
    """Zero every cell of a phase buffer (``nn * gg`` rows and the tail) that the input never
    writes: along each axis the cells before and after its placement, and the tail."""
    buf[nn * gg * plan.row:] = 0
    view = _grid(buf, nn, gg, plan)
    if placement is None:
        view[...] = 0
        return
    lead = (slice(None), slice(None))
    for j0, j1, _ in placement:
        view[lead + (slice(0, j0),)] = 0
        view[lead + (slice(j1, None),)] = 0
        lead += (slice(None),)


def _fill(bufs, x_block, plan):
    """Copy a block of the input (nn, gg, *image) into the interior of each phase buffer."""
    nn, gg = x_block.shape[:2]
    for buf, placement in zip(bufs, plan.phases):
        if placement is not None:
            inner = tuple(slice(j0, j1) for j0, j1, _ in placement)
            _grid(buf, nn, gg, plan)[(Ellipsis,) + inner] = \
                x_block[(Ellipsis,) + tuple(s for _, _, s in placement)]


def _phase_buffers(ws, xp, tag, plan, rows, dtype):
    """One flat buffer per phase: ``rows`` rows and a tail that the largest shift reads."""
    tail = max(off for _, off in plan.taps)
    whole = _buffer(ws, xp, tag, (len(plan.phases), rows * plan.row + tail), dtype)
    return [whole[i] for i in range(len(plan.phases))]


class _Weights:
    """Per multiplier index and tap, each row's weight repeated along its row: for the
    channels of ``k`` samples, built once (:meth:`block` slices it), or when that would
    need more than ``WEIGHT_BYTES``, for each block's channels as it comes."""

    def __init__(self, ws, xp, w, geo, plan, k, m):
        self.taps, self.row, self.m, self.k, self.g = len(plan.taps), plan.row, m, k, geo.g
        self.wk = w.reshape(geo.g, m, self.taps).transpose(1, 2, 0)   # (M, taps, G)
        self.once = m * self.taps * k * geo.g * plan.row * w.dtype.itemsize <= WEIGHT_BYTES
        self.ws, self.xp, self.dtype = ws, xp, w.dtype
        if self.once:
            self.all = self._build(0, geo.g, k)

    def _build(self, g0, g1, k):
        out = _buffer(self.ws, self.xp, "dw_weights",
                      (self.m, self.taps, k, g1 - g0, self.row), self.dtype)
        out[...] = self.wk[:, :, None, g0:g1, None]
        return out.reshape(self.m, self.taps, -1)

    def block(self, nn, g0, g1):
        """(M, taps, values) for the rows of samples ``nn`` x channels ``g0:g1``."""
        if self.once:
            return self.all[:, :, g0 * self.row:(g0 + nn * (g1 - g0)) * self.row]
        return self._build(g0, g1, nn)


def depthwise_forward(x, w, geo, xp, ws, out):
    """y[n, g*m + j] = sum over offsets of w[g*m + j, 0, offset] * shifted x[n, g], written
    into ``out`` (N, F, *out) and returned."""
    if geo.n == 0:
        return out
    plan = _geo_plan(geo)
    m, row = geo.f // geo.g, plan.row
    k, blocks = _blocks(geo.n, geo.g, row * x.dtype.itemsize)
    nb, gb = blocks[0][1] - blocks[0][0], blocks[0][3] - blocks[0][2]
    rows = nb * gb
    bufs = _phase_buffers(ws, xp, "dw_x", plan, rows, x.dtype)
    for buf, placement in zip(bufs, plan.phases):
        _zero_outside(buf, nb, gb, plan, placement)
    weights = _Weights(ws, xp, w, geo, plan, k, m)
    y = _buffer(ws, xp, "dw_y", (rows * row,), x.dtype)
    tmp = _buffer(ws, xp, "dw_tmp", (rows * row,), x.dtype)
    y6 = out.reshape((geo.n, geo.g, m) + geo.out)
    for n0, n1, g0, g1 in blocks:
        nn, gg = n1 - n0, g1 - g0
        size = nn * gg * row
        _fill(bufs, x[n0:n1, g0:g1], plan)
        wb = weights.block(nn, g0, g1)
        yb, tb = y[:size], tmp[:size]
        for j in range(m):
            for i, (slot, off) in enumerate(plan.taps):
                wt = wb[j, i]
                src = bufs[slot][off:off + size]
                if i == 0:
                    xp.multiply(src, wt, out=yb)
                else:
                    xp.multiply(src, wt, out=tb)
                    xp.add(yb, tb, out=yb)
            view = yb.reshape(nn, gg, row)[:, :, :plan.length].reshape(
                (nn, gg, geo.out[0]) + plan.grid[1:])
            y6[n0:n1, g0:g1, j] = view[plan.outputs]
    return out


def depthwise_backward(x, w, dy, geo, need_dx, xp, ws):
    """``(dx, dw)`` of ``sum(depthwise_forward(x, w) * dy)``; ``dx`` None unless
    ``need_dx``."""
    if geo.n == 0:
        return ((xp.zeros(x.shape, dtype=x.dtype) if need_dx else None),
                xp.zeros(w.shape, dtype=x.dtype))
    plan = _geo_plan(geo)
    m, row, taps = geo.f // geo.g, plan.row, len(plan.taps)
    k, blocks = _blocks(geo.n, geo.g, row * x.dtype.itemsize)
    nb, gb = blocks[0][1] - blocks[0][0], blocks[0][3] - blocks[0][2]
    rows = nb * gb
    bufs = _phase_buffers(ws, xp, "dw_x", plan, rows, x.dtype)
    for buf, placement in zip(bufs, plan.phases):
        _zero_outside(buf, nb, gb, plan, placement)
    # the output gradient in flat rows, junk cells zero (the interior is rewritten per
    # block), after ``lead`` zeros: the data gradient reads it up to the largest offset back
    lead = max(off for _, off in plan.taps)
    dyf = _buffer(ws, xp, "dw_dy", (m, lead + rows * row), x.dtype)
    dyf[...] = 0
    dy6 = dy.reshape((geo.n, geo.g, m) + geo.out)
    dw = xp.zeros((geo.g, m, taps), dtype=x.dtype)
    dots = _buffer(ws, xp, "dw_dots", (m, taps, rows), x.dtype)
    if need_dx:
        weights = _Weights(ws, xp, w, geo, plan, k, m)
        acc = _phase_buffers(ws, xp, "dw_dx", plan, rows, x.dtype)
        tmp = _buffer(ws, xp, "dw_tmp", (rows * row,), x.dtype)
        dx = xp.empty(x.shape, dtype=x.dtype)
        for sl in plan.unread:
            dx[(slice(None), slice(None)) + sl] = 0
    for n0, n1, g0, g1 in blocks:
        nn, gg = n1 - n0, g1 - g0
        size = nn * gg * row
        _fill(bufs, x[n0:n1, g0:g1], plan)
        for j in range(m):
            d = dyf[j, lead:lead + size]
            view = d.reshape(nn, gg, row)[:, :, :plan.length].reshape(
                (nn, gg, geo.out[0]) + plan.grid[1:])
            view[plan.outputs] = dy6[n0:n1, g0:g1, j]
            # a dot product per row and tap: batched (1, R) @ (R, 1) products run as BLAS
            # dots (an einsum over rows took twice as long)
            d3 = d.reshape(nn * gg, row, 1)
            for i, (slot, off) in enumerate(plan.taps):
                xp.matmul(bufs[slot][off:off + size].reshape(nn * gg, 1, row), d3,
                          out=dots[j, i, :nn * gg].reshape(nn * gg, 1, 1))
        part = dots[:, :, :nn * gg].reshape(m, taps, nn, gg).sum(axis=2)   # (M, taps, gg)
        dw[g0:g1] += part.transpose(2, 0, 1)
        if need_dx:
            _data_grad_block(acc, dyf, weights.block(nn, g0, g1), plan, m, size, lead, tmp,
                             xp)
            dxb = dx[n0:n1, g0:g1]
            for a, placement in zip(acc, plan.phases):
                if placement is not None:
                    inner = tuple(slice(j0, j1) for j0, j1, _ in placement)
                    dxb[(Ellipsis,) + tuple(s for _, _, s in placement)] = \
                        _grid(a, nn, gg, plan)[(Ellipsis,) + inner]
    return (dx if need_dx else None), dw.reshape(w.shape)


def _data_grad_block(acc, dyf, wb, plan, m, size, lead, tmp, xp):
    """The transposed tap sum of one block, phase by phase: a padded cell ``c`` of a phase
    gets ``w[tap] * dy[c - offset(tap)]`` from each tap that reads the phase, so each phase's
    rows are written like a forward output, reading the gradient rows shifted back (the
    zeros before a row and after its outputs stand in for gradients outside the image)."""
    tb = tmp[:size]
    first = [True] * len(acc)
    for j in range(m):
        for i, (slot, off) in enumerate(plan.taps):
            src = dyf[j, lead - off:lead - off + size]
            wt = wb[j, i]
            dst = acc[slot][:size]
            if first[slot]:
                xp.multiply(src, wt, out=dst)
                first[slot] = False
            else:
                xp.multiply(src, wt, out=tb)
                xp.add(dst, tb, out=dst)
