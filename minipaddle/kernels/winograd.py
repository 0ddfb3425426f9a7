"""Winograd F(2x2, 3x3) convolution: 3x3 filters, stride 1, dilation 1, one group, any zero
padding, any image and batch size (odd output sizes end in a partial tile).

The output is cut into 2x2 tiles; tile ``t`` reads the 4x4 input tile at ``2*t`` of the
zero-padded image and computes ``Y = A^T [ U (.) V ] A`` with ``U = G g G^T`` (the filter,
transformed once per call by the caller) and ``V = B^T d B`` (the input tile). Summed over
input channels, the elementwise product becomes 16 GEMMs, one per cell of the 4x4 transformed
tile: ``M[k] = U[k] (F, C) @ V[k] (C, tiles)``: 16 multiplications per tile and channel pair
instead of the direct 36 (2.25 times fewer). The transforms are add/subtract passes over
strided views (no multiplications: B and A hold 0 and +-1, G holds 0, 1/2 and 1), so the
result is exact up to float rounding.

The padded image is held *deinterleaved*: shape ``(.., 2, H/2, 2, W/2, ..)`` by row and column
parity, so each of the four row (column) offsets of every tile is one contiguous range of a
parity plane and every pass runs over long contiguous runs.

Backward is the adjoint of the same computation (so it is exact for partial tiles too):
``dM = A dY A^T``, the weight gradient ``dU[k] = dM[k] @ V[k]^T`` then ``dw = G^T dU G``, the
data gradient ``dV[k] = U[k]^T @ dM[k]`` followed by ``B dV B^T`` summed over the overlapping
tiles (each input cell belongs to up to four tiles: one gathering add per row and column
phase, no scatter).

The batch is innermost, as in the im2col kernels' "pixel" layout (:mod:`.conv`): the image
is transposed to (C, H, W, N) by the padding copy, ``V`` is (16, C, tiles*N) and each cell is
one GEMM for the whole batch (the transposed output is copied back to NCHW by the output
transform). A (C, N, H, W) order, whose output needs no transposing, was measured too: as
fast on 32x32 maps, 1.2 to 1.5 times slower on 16x16 to 4x4 maps (runs of tw values instead
of tw*N), so it was dropped.

``ws(tag, shape, dtype)``: optional scratch-buffer provider (as in :mod:`.conv`); nothing
returned aliases a ``ws`` buffer. ``xp``: the array module. No threads, no batch chunking.
"""

from __future__ import annotations

import numpy as np

from .conv import same_dtype

__all__ = [
    "winograd_applies",
    "winograd_pays",
    "winograd_weight_grad",
    "WINOGRAD_MIN_CHANNELS",
    "WINOGRAD_MIN_WORK",
    "WINOGRAD_MAX_PIXELS",
    "winograd_weight",
    "winograd_forward",
    "winograd_input_shape",
    "winograd_backward",
    "winograd_workspace_values",
    "winograd_chunk_values",
]

#: G of F(2x2, 3x3): U = G g G^T (4x3)
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))
#: :func:`winograd_pays`: a conv runs Winograd from this many input and output channels
WINOGRAD_MIN_CHANNELS = 32
#: :func:`winograd_pays`: ... and from this many channels x filters x output pixels
WINOGRAD_MIN_WORK = 2 ** 17
#: :func:`winograd_pays`: ... on output images of fewer pixels than this (im2col's cache
#: blocks win on larger maps)
WINOGRAD_MAX_PIXELS = 1024
#: :func:`winograd_chunk_values`: convs with at most this many input and output channels
#: run in batch chunks ``WINOGRAD_SMALL_CHUNK_DIVISOR`` times smaller
WINOGRAD_SMALL_CHANNELS = 32
WINOGRAD_SMALL_CHUNK_DIVISOR = 4


def winograd_applies(filter_size, stride, dilation, groups) -> bool:
    """Whether a 2-D conv of this geometry can run the Winograd kernel: 3x3, stride 1,
    dilation 1, one group (any padding)."""
    return (tuple(filter_size) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and groups == 1)


def winograd_pays(channels, filters, out_hw) -> bool:
    """The size rule: whether Winograd beats im2col + GEMM for a conv it applies to, from
    paired measurements in compiled networks (docs/runtime.md): enough channels that the
    GEMMs, not the memory-bound transforms, dominate, and enough work per sample
    (channels x filters x output pixels) that the fixed cost of its passes does not."""
    pixels = 1
    for size in out_hw:
        pixels *= size
    return (channels >= WINOGRAD_MIN_CHANNELS and filters >= WINOGRAD_MIN_CHANNELS
            and channels * filters * pixels >= WINOGRAD_MIN_WORK
            and pixels < WINOGRAD_MAX_PIXELS)


def _tiles(image, padding):
    """Output sizes and tile counts per axis."""
    out = tuple(s + 2 * p - 2 for s, p in zip(image, padding))
    if min(out) < 1:
        raise ValueError(f"winograd: output size {out} < 1 for image {image}, padding "
                         f"{padding}")
    return out, tuple(-(-o // 2) for o in out)


def winograd_workspace_values(channels, filters, image, padding) -> int:
    """Scratch values one sample needs (transformed input, its row pass and the GEMM
    output): the runtime sizes its batch chunks by it."""
    _, (th, tw) = _tiles(image, padding)
    return 16 * (channels + filters) * th * tw + 8 * channels * th * (tw + 1) \
        + 4 * channels * (th + 1) * (tw + 1)


def winograd_chunk_values(channels, filters, image, padding) -> int:
    """The per-sample figure a runtime sizes its batch chunks by (as it does by im2col
    columns): :func:`winograd_workspace_values`, times ``WINOGRAD_SMALL_CHUNK_DIVISOR`` for
    convs with few channels. Their GEMMs are too thin to need long rows, and their passes
    are memory-bound: chunks a quarter as large stay in cache (resnet_cifar's 16- and
    32-channel layers: 0.67-0.69 of im2col's time instead of 0.83, paired); with 64 or more
    channels the GEMMs need the longer rows (small_vgg: x2 and x4 smaller chunks 0.86 and
    1.13 of im2col's step, the default 0.84)."""
    values = winograd_workspace_values(channels, filters, image, padding)
    if max(channels, filters) <= WINOGRAD_SMALL_CHANNELS:
        values *= WINOGRAD_SMALL_CHUNK_DIVISOR
    return values


#: The transformed input, and so the cells M and their gradients, are held with cell 3 of
#: each axis negated (row 3 of B^T and column 3 of A, so the products are unchanged): then
#: that cell of dM = A dY A^T is +y1, a copy of the output gradient instead of a negation
#: (:func:`_output_adjoint`), at no cost in the other transforms. U is not negated.
_SIGN = (1, 1, 1, -1)


def _buffer(ws, xp, tag, shape, dtype):
    return xp.empty(shape, dtype=dtype) if ws is None else ws(tag, shape, dtype)


def _g2(xp, dtype):
    """kron(G, G) (16, 9): cell (a, b) of U from tap (i, j) of g, G[a, i] * G[b, j]."""
    g = np.asarray(_G)
    return xp.asarray(np.kron(g, g), dtype=dtype)


def winograd_weight(w, out=None, xp=np):
    """``U = G g G^T`` of a weight ``w`` (F, C, 3, 3), as (16, F, C) in ``w.dtype``: cell
    ``k = 4*row + column`` of the transformed filter of every (F, C) pair (one GEMM with
    kron(G, G); a batch of 4x3 matmuls was 40 times slower). ``out``: a (16, F, C) array
    (or a slice ``[:, f0:f1]`` of a larger one, for ``w[f0:f1]``) to write it into."""
    f, c = w.shape[:2]
    if out is None:
        out = xp.empty((16, f, c), dtype=w.dtype)
    xp.matmul(_g2(xp, w.dtype), w.reshape(f * c, 9).T, out=out.reshape(16, f * c))
    return out


def winograd_weight_grad(du, out=None, xp=np):
    """``G^T dU G``: the weight gradient (F, C, 3, 3) of the cells' gradient (16, F, C),
    written into ``out`` when given (which may be a slice ``[f0:f1]`` of a larger one)."""
    f, c = du.shape[1:]
    if out is None:
        out = xp.empty((f, c, 3, 3), dtype=du.dtype)
    xp.matmul(du.reshape(16, f * c).T, _g2(xp, du.dtype), out=out.reshape(f * c, 9))
    return out


class _Plan:
    """Shapes and index helpers of one call: ``lead``/``trail`` are the axes before and
    after the two spatial axes: (channels,) and (N,)."""

    def __init__(self, n, channels, image, padding):
        self.n, self.c, self.image, self.padding = n, channels, image, padding
        self.out, (self.th, self.tw) = _tiles(image, padding)

    def lead(self, channels):
        return (channels,)

    def trail(self):
        return (self.n,)

    def at(self, *spatial, after=0):
        """An index of spatial axes, counted from the last: ``after`` more spatial axes
        follow the indexed ones (then the trailing axes)."""
        return (Ellipsis,) + spatial + (slice(None),) * (after + len(self.trail()))

    def to_layout(self, a):
        """An (N, C, h, w) view in this layout's axis order."""
        return a.transpose(1, 2, 3, 0)

    def parities(self, size, pad):
        """Per parity of the padded axis: (source slice of the image axis, destination range
        of the parity plane) for the cells holding image values."""
        plans = []
        for parity in (0, 1):
            first = (parity - pad) % 2               # first image index of this parity
            count = len(range(first, size, 2))
            start = (first + pad) // 2
            plans.append((parity, slice(first, first + 2 * count - 1, 2) if count else
                          slice(0, 0), start, start + count))
        return plans


#: :func:`_unaliased`: samples of at least this many bytes, a multiple of it, are restaged
_ALIAS_BYTES = 4096
#: :func:`_unaliased`: ... in a buffer whose samples lie this many values further apart
_ALIAS_PAD = 16
#: :func:`_unaliased`: ... in batches of at least this many samples (11 lost: 1.2x, paired)
_ALIAS_SAMPLES = 16


def _unaliased(x, xp, ws, tag):
    """``x`` (N, C, H, W), or a copy of it whose samples do not lie a multiple of 4 KB apart.
    The batch-innermost copies read one value of every sample in turn: at a 4 KB multiple
    these all fall in one L1 cache set, which holds 8 lines, so with more samples than that
    every read missed (resnet_cifar's 64-channel 8x8 chunk of 32 samples: 0.32 ms for the
    transposing copy, 0.09 ms for a plain copy into a buffer with 16 more values per sample
    and the transposing copy from it)."""
    n = x.shape[0]
    size = x[0].size
    if n < _ALIAS_SAMPLES or (size * x.itemsize) % _ALIAS_BYTES:
        return x
    buf = _buffer(ws, xp, tag, (n, size + _ALIAS_PAD), x.dtype)
    staged = buf[:, :size].reshape(x.shape)
    staged[...] = x
    return staged


def _deinterleave(x, plan, xp, ws, tag, channels):
    """``x`` (N, C, H, W) zero-padded to (2*th+2, 2*tw+2) and deinterleaved by parity, as
    lead + (2, th+1, 2, tw+1) + trail."""
    x = _unaliased(x, xp, ws, "wino_stage")
    hh, wh = plan.th + 1, plan.tw + 1
    buf = _buffer(ws, xp, tag, plan.lead(channels) + (2, hh, 2, wh) + plan.trail(), x.dtype)
    (h, w), (ph, pw) = plan.image, plan.padding
    every = slice(None)
    for pr, rows, r0, r1 in plan.parities(h, ph):
        buf[plan.at(pr, slice(None, r0), after=2)] = 0
        buf[plan.at(pr, slice(r1, None), after=2)] = 0
        for pc, cols, c0, c1 in plan.parities(w, pw):
            buf[plan.at(pr, slice(r0, r1), pc, slice(None, c0))] = 0
            buf[plan.at(pr, slice(r0, r1), pc, slice(c1, None))] = 0
            if r1 > r0 and c1 > c0:
                buf[plan.at(pr, slice(r0, r1), pc, slice(c0, c1))] = \
                    plan.to_layout(x[every, every, rows, cols])
    return buf


#: :class:`_NCHWWriter`: bytes of the batch-innermost buffer per transposing copy
_NCHW_BLOCK = 128 * 1024
#: :class:`_NCHWWriter`: the input adjoint stages from 2 samples per output column, the
#: output transform from 4
_STAGE_DX, _STAGE_OUTPUT = 2, 4


class _NCHWWriter:
    """Writes phases of an (N, C, H, W) array ``out`` from batch-innermost views.

    A phase's transposing copy into ``out[:, :, rows, cols]`` runs along its rows of W/2 or
    fewer values (NumPy iterates in the order of the destination). With at least
    ``samples_per_column`` * W samples, the phases are copied into one batch-innermost
    (C, H, W, N) buffer instead (runs of N), which is then transposed into ``out`` a 128 KB
    block of channels at a time (runs of C*H*W). The copies alone, paired: 0.45-0.7 of the
    time on 8x8 and 4x4 maps of 16 and 32 samples, 0.9 on 16x16 of 16 samples, 1.2-2.2x with
    5 and 11 samples of 32x32 and 16x16; the input adjoint with it 0.78-0.92 on the 8x8 and
    4x4 maps, the output transform 0.77 on 4x4, 0.99-1.03 on 8x8, 1.19 on 16x16."""

    def __init__(self, out, plan, xp, ws, samples_per_column):
        self.out, self.plan = out, plan
        n, c, h, w = out.shape
        self.stage = None
        if n >= samples_per_column * w:
            self.stage = _buffer(ws, xp, "wino_nchw", plan.lead(c) + (h, w) + plan.trail(),
                                 out.dtype)

    def put(self, rows, cols, src):
        """``out[:, :, rows, cols]`` = ``src`` (lead + (h', w') + trail)."""
        if self.stage is None:
            self.plan.to_layout(self.out[:, :, rows, cols])[...] = src
        else:
            self.stage[self.plan.at(rows, cols)] = src

    def finish(self):
        if self.stage is None:
            return
        out = self.out
        step = max(1, _NCHW_BLOCK // max(1, self.stage[0].nbytes))
        for c0 in range(0, out.shape[1], step):
            self.plan.to_layout(out[:, c0:c0 + step])[...] = self.stage[c0:c0 + step]


def _forward_1d(d, o, xp):
    """The 1-D input transform B^T d with its last row negated (:data:`_SIGN`):
    o0 = d0 - d2, o1 = d1 + d2, o2 = d2 - d1, o3 = d3 - d1 (``d``, ``o``: four views
    each)."""
    xp.subtract(d[0], d[2], out=o[0])
    xp.add(d[1], d[2], out=o[1])
    xp.subtract(d[2], d[1], out=o[2])
    xp.subtract(d[3], d[1], out=o[3])


def _input_transform(img, plan, xp, ws, channels, tag, out=None):
    """V = B^T d B of every tile of the deinterleaved image, as (4, 4) + lead + (th, tw) +
    trail (written into ``out`` when given). The column pass runs first: its views are cut
    at every row of tiles (runs of tw*N values, each op 2.6 times as slow per value as on
    whole planes), and it has half as many values to write as the row pass, whose views are
    whole planes (the other order: 1.05-1.11x the time, paired)."""
    th, tw = plan.th, plan.tw
    lead, trail = plan.lead(channels), plan.trail()
    cols = _buffer(ws, xp, tag + "cols", (4,) + lead + (2, th + 1, tw) + trail, img.dtype)
    _forward_1d([img[plan.at(b % 2, slice(b // 2, b // 2 + tw))] for b in range(4)],
                cols, xp)
    v = _buffer(ws, xp, tag, (4, 4) + lead + (th, tw) + trail, img.dtype) if out is None \
        else out.reshape((4, 4) + lead + (th, tw) + trail)
    _forward_1d([cols[plan.at(a % 2, slice(a // 2, a // 2 + th), after=1)] for a in range(4)],
                v, xp)
    return v


def _gemm_shapes(plan, channels):
    """(16, channels, tiles of the batch)."""
    return (16, channels, plan.th * plan.tw * plan.n)


def _cells(u, v, plan, f, xp, ws, tag):
    """``U[k] @ V[k]`` for the 16 cells: (4, 4) + lead(F) + (th, tw) + trail."""
    c = u.shape[2]
    m = _buffer(ws, xp, tag, (4, 4) + plan.lead(f) + (plan.th, plan.tw) + plan.trail(),
                v.dtype)
    vm = v.reshape(_gemm_shapes(plan, c))
    mm = m.reshape(_gemm_shapes(plan, f))
    xp.matmul(u, vm, out=mm)
    return m


def _output_transform(m, plan, out, xp, ws):
    """``out`` (N, F, Ho, Wo) = A^T M A of every tile, partial tiles cropped:
    y0 = m0 + m1 + m2, y1 = m1 - m2 + m3 along each axis (m3 negated, :data:`_SIGN`)."""
    cols = _buffer(ws, xp, "wino_out", (4, 2) + m.shape[2:], m.dtype)
    xp.add(m[:, 0], m[:, 1], out=cols[:, 0])
    cols[:, 0] += m[:, 2]
    xp.subtract(m[:, 1], m[:, 2], out=cols[:, 1])
    cols[:, 1] += m[:, 3]
    ho, wo = plan.out
    tile = _buffer(ws, xp, "wino_tile", m.shape[2:], m.dtype)
    writer = _NCHWWriter(out, plan, xp, ws, _STAGE_OUTPUT)
    for i in (0, 1):
        rows = (ho + 1 - i) // 2
        for j in (0, 1):
            ncols = (wo + 1 - j) // 2
            s = [cols[r, j] for r in range(4)]
            part = plan.at(slice(None, rows), slice(None, ncols))
            if i == 0:
                xp.add(s[0], s[1], out=tile)
                tile += s[2]
            else:
                xp.subtract(s[1], s[2], out=tile)
                tile += s[3]
            # the sums written straight into the strided NCHW view were 1.3-2.6x slower, and
            # into the writer's stage 1.16-1.18x (paired)
            writer.put(slice(i, None, 2), slice(j, None, 2), tile[part])
    writer.finish()
    return out


def _check(x, padding):
    if x.ndim != 4:
        raise ValueError(f"winograd: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    padding = tuple(int(p) for p in padding)
    if min(padding) < 0:
        raise ValueError(f"winograd: padding must be >= 0, got {padding}")
    return _Plan(x.shape[0], x.shape[1], tuple(x.shape[2:]), padding)


def winograd_input_shape(x_shape, padding):
    """The shape of the transformed input of ``x`` (N, C, H, W), (16, C, tiles*N): what
    :func:`winograd_forward` writes into its ``keep`` for :func:`winograd_backward`."""
    _, (th, tw) = _tiles(tuple(x_shape[2:]), tuple(padding))
    return (16, x_shape[1], th * tw * x_shape[0])


def winograd_forward(x, u, *, padding, out=None, keep=None, ws=None, xp=np):
    """The 3x3 stride-1 convolution (cross-correlation) of ``x`` (N, C, H, W) with the
    weight whose :func:`winograd_weight` is ``u`` (16, F, C), zero ``padding`` (ph, pw);
    returns (N, F, Ho, Wo) in ``x.dtype`` (written into ``out`` when given), no bias.
    ``keep``: an array of :func:`winograd_input_shape` to write the transformed input into,
    for the backward to reuse."""
    plan = _check(x, padding)
    f = u.shape[1]
    if u.shape != (16, f, plan.c):
        raise ValueError(f"winograd: transformed weight shape {tuple(u.shape)} does not "
                         f"match {plan.c} input channels")
    x, u = same_dtype(xp, x, u)
    if out is None:
        out = xp.empty((plan.n, f) + plan.out, dtype=x.dtype)
    img = _deinterleave(x, plan, xp, ws, "wino_img", plan.c)
    v = _input_transform(img, plan, xp, ws, plan.c, "wino_v", out=keep)
    m = _cells(u, v, plan, f, xp, ws, "wino_m")
    return _output_transform(m, plan, out, xp, ws)


def _output_adjoint(dy, plan, xp, ws):
    """dM = A dY A^T of every tile of ``dy`` (N, F, Ho, Wo) (zero beyond the output):
    m0 = y0, m1 = y0 + y1, m2 = y0 - y1, m3 = y1 along each axis (m3 negated,
    :data:`_SIGN`), as (4, 4) + lead(F) + (th, tw) + trail. The tile corners y_ij are copied
    straight into their cells m_(3i)(3j); then one add and one subtract fill rows 1 and 2 of
    columns 0 and 3, and one more each columns 1 and 2 (16 cell-sized values written,
    against 28 with a buffer per pass and copies for m0 and m3)."""
    f = dy.shape[1]
    th, tw = plan.th, plan.tw
    dm = _buffer(ws, xp, "wino_dm", (4, 4) + plan.lead(f) + (th, tw) + plan.trail(),
                 dy.dtype)
    ho, wo = plan.out
    every = slice(None)
    dy = _unaliased(dy, xp, ws, "wino_stage")
    for i in (0, 1):
        rows = (ho + 1 - i) // 2
        for j in (0, 1):
            ncols = (wo + 1 - j) // 2
            t = dm[3 * i, 3 * j]
            if rows < th:
                t[plan.at(slice(rows, None), after=1)] = 0
            if ncols < tw:
                t[plan.at(slice(None), slice(ncols, None))] = 0
            t[plan.at(slice(None, rows), slice(None, ncols))] = \
                plan.to_layout(dy[every, every, i::2, j::2])
    corners = slice(None, None, 3)
    xp.add(dm[0, corners], dm[3, corners], out=dm[1, corners])
    xp.subtract(dm[0, corners], dm[3, corners], out=dm[2, corners])
    xp.add(dm[:, 0], dm[:, 3], out=dm[:, 1])
    xp.subtract(dm[:, 0], dm[:, 3], out=dm[:, 2])
    return dm


def _gather_1d(v, even, odd, n, xp, at):
    """B applied along one axis (v3 negated, :data:`_SIGN`) and summed over the overlapping
    tiles (tile t starts at cell 2t): even[t] = v0[t] + (v1 + v2 - v0)[t-1],
    odd[t] = (v1 - v2 - v3)[t] + v3[t-1], for t in 0..n; ``at(s)`` indexes that axis."""
    head, tail = at(slice(None, n)), at(slice(1, None))
    xp.add(v[1], v[2], out=even[tail])
    even[tail] -= v[0]
    even[at(slice(0, 1))] = 0
    even[head] += v[0]
    xp.subtract(v[1], v[2], out=odd[head])
    odd[head] -= v[3]
    odd[at(slice(n, n + 1))] = 0
    odd[tail] += v[3]


def _input_adjoint(dv, plan, dx, xp, ws):
    """``dx`` (N, C, H, W) = the sum over tiles of B dV B^T, cropped to the image. The row
    pass runs first, on whole planes of ``dV``, so the column pass, whose views are cut at
    every row of tiles, has half as many values (the other order: 1.0-1.05x the time,
    paired)."""
    th, tw = plan.th, plan.tw
    c = dx.shape[1]
    lead, trail = plan.lead(c), plan.trail()
    rowed = _buffer(ws, xp, "wino_dxrows", (4,) + lead + (2, th + 1, tw) + trail, dv.dtype)
    _gather_1d([dv[a] for a in range(4)], rowed[plan.at(0, slice(None), after=1)],
               rowed[plan.at(1, slice(None), after=1)], th, xp,
               lambda s: plan.at(s, after=1))
    img = _buffer(ws, xp, "wino_dximg", lead + (2, th + 1, 2, tw + 1) + trail, dv.dtype)
    _gather_1d([rowed[b] for b in range(4)], img[plan.at(0, slice(None))],
               img[plan.at(1, slice(None))], tw, xp, plan.at)
    (h, w), (ph, pw) = plan.image, plan.padding
    writer = _NCHWWriter(dx, plan, xp, ws, _STAGE_DX)
    for pr, rows, r0, r1 in plan.parities(h, ph):
        for pc, colsl, c0, c1 in plan.parities(w, pw):
            if r1 > r0 and c1 > c0:
                writer.put(rows, colsl, img[plan.at(pr, slice(r0, r1), pc, slice(c0, c1))])
    writer.finish()
    return dx


def winograd_backward(x, u, dy, *, padding, need_dx=True, need_dw=True, cells=False,
                      kept=None, dx_out=None, ws=None, xp=np):
    """Gradients ``(dx, dw)`` of ``sum(winograd_forward(x, u) * dy)``: ``dx`` (N, C, H, W)
    (None unless ``need_dx``) and the weight gradient ``dw`` (F, C, 3, 3) (None unless
    ``need_dw``), in ``x.dtype``. ``cells``: return the gradient of the transformed weight
    (16, F, C) instead, for a caller that sums it over batch chunks and transforms the sum
    once with :func:`winograd_weight_grad`. ``kept``: the transformed input the forward
    wrote into its ``keep`` for this ``x`` (else it is recomputed). ``dx_out``: an array
    shaped as ``x`` to write ``dx`` into."""
    plan = _check(x, padding)
    f = u.shape[1]
    expected = (plan.n, f) + plan.out
    if tuple(dy.shape) != expected:
        raise ValueError(f"winograd: dy has shape {tuple(dy.shape)}, the output is "
                         f"{expected}")
    x, u, dy = same_dtype(xp, x, u, dy)
    dm = _output_adjoint(dy, plan, xp, ws)
    dmm = dm.reshape(_gemm_shapes(plan, f))
    dw = dx = None
    if need_dw:
        if kept is None:
            img = _deinterleave(x, plan, xp, ws, "wino_img", plan.c)
            kept = _input_transform(img, plan, xp, ws, plan.c, "wino_v")
        vm = kept.reshape(_gemm_shapes(plan, plan.c))
        du = xp.matmul(dmm, vm.swapaxes(-1, -2))
        dw = du if cells else winograd_weight_grad(du, xp=xp)
    if need_dx:
        c = plan.c
        dv = _buffer(ws, xp, "wino_v", (4, 4) + plan.lead(c) + (plan.th, plan.tw)
                     + plan.trail(), x.dtype)
        ut = u.transpose(0, 2, 1)
        xp.matmul(ut, dmm, out=dv.reshape(_gemm_shapes(plan, c)))
        if dx_out is None:
            dx_out = xp.empty(x.shape, dtype=x.dtype)
        dx = _input_adjoint(dv, plan, dx_out, xp, ws)
    return dx, dw
