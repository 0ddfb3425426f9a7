"""The "flat" kernel of the 2-D convolution: stride 1, one group, few channels (ResNet's
16-channel 32x32 stage), by im2col + GEMM on the image flattened over its padded width.

Called by :mod:`minipaddle.kernels.conv` (``conv_forward`` / ``conv_backward`` run it for the
layout ``"flat"``, which :func:`~minipaddle.kernels.conv.conv_algorithm` picks by
:func:`flat_pays`) with its checked geometry ``geo`` (the conv module's ``_Geometry``) and
arrays already in one dtype. ``ws(tag, shape, dtype)``: the reusable scratch-buffer provider
(None: fresh arrays); nothing returned aliases one. ``xp``: the array module.

Why: with few channels the im2col GEMM (F, C*kh*kw) @ (C*kh*kw, pixels) runs at the BLAS
peak, and what is left is the im2col copy. The "batch" layout copies each kernel offset's
window as rows of Wo values (32 floats at a stride), a NumPy copy of short inner runs. Here
each (sample, channel) image is zero-padded into one flat row of ``Hp * Wp`` cells, its rows
``Wp = W + p`` apart: ONE run of ``p`` zeros between two image rows is the right padding of
the first and the left padding of the second (the padding is the same on both sides). The
output is computed over that width: output cell ``y * Wp + x`` (``x < Wp``; the columns
``x >= Wo`` are junk, computed and never copied out) reads cell ``y*Wp + x + (a*Wp + b)*d``
for kernel offset ``(a, b)``, so every offset's columns are ONE contiguous run of
``Ho * Wp`` values per channel: the im2col copy is a strided view of (m, C, kh, kw, Ho*Wp)
copied in long runs (about half the time of the "batch" layout's), for ``Wp / Wo`` more
GEMM columns (3% for 32x32 with padding 1; the shared run of zeros: paired, 2 threads, 64
samples of 16->16 3x3, 0.96 of the forward and 0.97 of the backward with ``W + 2p``).

Backward: both gradients come from ONE set of columns, those of the output gradient ``dy``
padded by ``(k-1)*d - p`` (so the padding may not exceed the dilated filter's reach): the
data gradient is the flipped convolution of ``dy``, ``dx = Wflip (C, F*kh*kw) @ colsD``
(cropped), and the weight gradient is ``colsD @ Xflat^T`` (F*kh*kw, C) summed over the
samples, ``Xflat`` the input laid over the same padded width with zeros in the junk columns
(``dW[f, c, a, b] = sum_ij colsD[(f, k-1-a, k-1-b), ij] * x[c, ij]``). That GEMM form (long
K, short output) runs near the BLAS peak. Without a data gradient the columns of ``x``
serve instead when they have fewer rows (``dw^T = colsX @ dYflat^T``, dYflat the output
gradient over the padded width, zero in the junk columns).

Blocks of samples of about :data:`FLAT_BLOCK_BYTES` of columns: paired on one thread, 32
samples of 16->16 3x3 on 32x32, the forward took 0.77-0.80 of the "batch" layout's at 6 to 11
samples a block, 0.87 at 3 and 1.05 at 32.
"""

from __future__ import annotations

import numpy as np

__all__ = ["flat_applies", "flat_pays", "flat_forward", "flat_backward",
           "FLAT_MAX_CHANNELS", "FLAT_BLOCK_BYTES"]

#: :func:`flat_pays`: convs with at most this many input and output channels run "flat"
FLAT_MAX_CHANNELS = 16
#: :func:`flat_pays`: ... and at least this many input channels (ResNet's 3->16 first conv,
#: whose "batch" columns have 27 rows, ran 1.2x slower forward flat)
FLAT_MIN_CHANNELS = 8
#: :func:`flat_pays`: ... on output images of at least this many pixels
FLAT_MIN_PIXELS = 256
#: bytes of columns one block of samples copies and multiplies
FLAT_BLOCK_BYTES = 4 * 1024 * 1024


def flat_applies(channels, groups, filter_hw, stride, padding, dilation) -> bool:
    """Whether the "flat" kernel can run a conv of this geometry: 2-D, one group, stride 1,
    padding at most the dilated filter's reach on each axis (the data gradient is a
    convolution of the output gradient padded by the difference)."""
    return (len(tuple(filter_hw)) == 2 and groups == 1
            and all(s == 1 for s in stride)
            and all(0 <= p <= (k - 1) * d for k, p, d in zip(filter_hw, padding, dilation)))


def flat_pays(channels, groups, filters, filter_hw, out_hw, stride, padding,
              dilation) -> bool:
    """The size rule: whether a conv it applies to runs "flat" rather than the im2col
    layouts of :mod:`.conv`: few channels (the GEMM is thin, the im2col copy weighs) on
    large enough maps (the junk columns of the padded width stay a small part)."""
    pixels = 1
    for size in out_hw:
        pixels *= size
    return (flat_applies(channels, groups, filter_hw, stride, padding, dilation)
            and channels >= FLAT_MIN_CHANNELS and max(channels, filters) <= FLAT_MAX_CHANNELS
            and pixels >= FLAT_MIN_PIXELS)


def _buffer(ws, xp, tag, shape, dtype):
    return xp.empty(shape, dtype=dtype) if ws is None else ws(tag, shape, dtype)


class _Flat:
    """The flat geometry of one convolution (stride 1) of (.., C, H, W) images zero-padded
    by ``pad`` with a (kh, kw) filter dilated by ``dil``: ``hp`` the padded height, ``wp`` the
    row period (the width and one side's padding: module docstring), ``ho, wo`` the
    output's, ``length = ho * wp`` the output over the row period, ``row`` the cells of one
    padded image plus the slack the last offset reads past it."""

    def __init__(self, image, filt, pad, dil):
        (h, w), (kh, kw) = image, filt
        self.image, self.filter, self.pad, self.dil = tuple(image), tuple(filt), pad, dil
        # one run of pad[1] zeros between image rows serves as both the right padding of a
        # row and the left padding of the next (the padding is the same on both sides)
        self.hp, self.wp = h + 2 * pad[0], w + pad[1]
        self.ho = self.hp - (kh - 1) * dil[0]
        self.wo = w + 2 * pad[1] - (kw - 1) * dil[1]
        self.length = self.ho * self.wp
        self.row = self.hp * self.wp + (kw - 1) * dil[1]
        self.taps = kh * kw

    def samples_per_block(self, channels, itemsize, xp):
        if xp is not np:
            return None
        per_sample = channels * self.taps * self.length * itemsize
        return max(1, FLAT_BLOCK_BYTES // max(1, per_sample))

    def columns(self, src, xp, ws, tag):
        """(m, C*kh*kw, length) columns of ``src`` (m, C, H, W): rows ordered (c, a, b)."""
        m, c = src.shape[:2]
        (ph, pw), (h, w) = self.pad, self.image
        hp, wp = self.hp, self.wp
        flat = _buffer(ws, xp, tag + "_pad", (m, c, self.row), src.dtype)
        img = flat[:, :, :hp * wp].reshape(m, c, hp, wp)
        if ph:
            img[:, :, :ph] = 0
            img[:, :, ph + h:] = 0
        if pw:
            img[:, :, ph:ph + h, :pw] = 0
        flat[:, :, hp * wp:] = 0
        img[:, :, ph:ph + h, pw:] = src
        item = flat.itemsize
        (kh, kw), (dh, dw) = self.filter, self.dil
        view = xp.lib.stride_tricks.as_strided(
            flat, shape=(m, c, kh, kw, self.length),
            strides=(flat.strides[0], flat.strides[1], dh * wp * item, dw * item, item))
        cols = _buffer(ws, xp, tag, (m, c * self.taps, self.length), src.dtype)
        cols.reshape(view.shape)[...] = view
        return cols

    def spread(self, src, xp, ws, tag):
        """``src`` (m, C, ho, wo) over the padded width: (m, C, length), zero in the junk
        columns."""
        m, c = src.shape[:2]
        buf = _buffer(ws, xp, tag, (m, c, self.ho, self.wp), src.dtype)
        if self.wp > self.wo:
            buf[..., self.wo:] = 0
        buf[..., :self.wo] = src
        return buf.reshape(m, c, self.length)

    def crop(self, flat_out, out):
        """``out`` (m, F, ho, wo) = the valid columns of ``flat_out`` (m, F, length)."""
        m, f = flat_out.shape[:2]
        out[...] = flat_out.reshape(m, f, self.ho, self.wp)[..., :self.wo]


def _blocks(n, step):
    step = n if step is None else step
    count = -(-n // step) if n else 0
    bounds = [n * i // count for i in range(count + 1)] if count else [0]
    return list(zip(bounds, bounds[1:]))


def _forward_plan(geo):
    return _Flat(geo.image, geo.filter, geo.padding, geo.dilation)


def _gradient_plan(geo):
    """The flat geometry of the data gradient: the flipped conv of dy (N, F, *out) padded
    by (k-1)*d - p, whose output is the image."""
    pad = tuple((k - 1) * d - p for k, d, p in zip(geo.filter, geo.dilation, geo.padding))
    return _Flat(geo.out, geo.filter, pad, geo.dilation)


def flat_forward(x, w, geo, xp, ws, out):
    """``out`` (N, F, *out) = the conv of ``x`` (N, C, H, W) with ``w`` (F, C, kh, kw),
    returned."""
    plan = _forward_plan(geo)
    f = geo.f
    wm = w.reshape(f, -1)
    step = plan.samples_per_block(geo.c, x.dtype.itemsize, xp)
    for i0, i1 in _blocks(geo.n, step):
        cols = plan.columns(x[i0:i1], xp, ws, "flat_cols")
        y = _buffer(ws, xp, "flat_y", (i1 - i0, f, plan.length), x.dtype)
        xp.matmul(wm, cols, out=y)
        plan.crop(y, out[i0:i1])
    return out


def flat_backward(x, w, dy, geo, need_dx, xp, ws, dx=None):
    """``(dx, dw)`` of ``sum(flat_forward(x, w) * dy)``; ``dx`` None unless ``need_dx``
    (module docstring: one set of columns of dy for both, or the columns of x for the
    weight gradient alone when they have fewer rows), written into ``dx`` when given (an
    array shaped as ``x``)."""
    n, c, f = geo.n, geo.c, geo.f
    kh, kw = geo.filter
    if not need_dx and c <= f:
        plan = _forward_plan(geo)
        step = plan.samples_per_block(c, x.dtype.itemsize, xp)
        dwt = None
        for i0, i1 in _blocks(n, step):
            cols = plan.columns(x[i0:i1], xp, ws, "flat_cols")            # (m, C*kh*kw, L)
            d = plan.spread(dy[i0:i1], xp, ws, "flat_dy")                 # (m, F, L)
            part = xp.matmul(cols, d.transpose(0, 2, 1)).sum(axis=0)     # (C*kh*kw, F)
            dwt = part if dwt is None else dwt + part
        if dwt is None:
            return None, xp.zeros(w.shape, dtype=x.dtype)
        return None, xp.ascontiguousarray(dwt.T).reshape(w.shape)
    plan = _gradient_plan(geo)
    # the flipped weight (C, F*kh*kw), rows of dy's columns ordered (f, a', b')
    wflip = xp.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(c, -1)
    if not need_dx:
        dx = None
    elif dx is None:
        dx = xp.empty(x.shape, dtype=x.dtype)
    step = plan.samples_per_block(f, x.dtype.itemsize, xp)
    dwf = None
    for i0, i1 in _blocks(n, step):
        cols = plan.columns(dy[i0:i1], xp, ws, "flat_cols")              # (m, F*kh*kw, L)
        if need_dx:
            y = _buffer(ws, xp, "flat_y", (i1 - i0, c, plan.length), x.dtype)
            xp.matmul(wflip, cols, out=y)
            plan.crop(y, dx[i0:i1])
        xs = plan.spread(x[i0:i1], xp, ws, "flat_x")                      # (m, C, L)
        part = xp.matmul(cols, xs.transpose(0, 2, 1)).sum(axis=0)        # (F*kh*kw, C)
        dwf = part if dwf is None else dwf + part
    if dwf is None:
        dwf = xp.zeros((f * kh * kw, c), dtype=x.dtype)
    # dwf[(f, a', b'), c] is dw[f, c, kh-1-a', kw-1-b']
    dw = dwf.reshape(f, kh, kw, c)[:, ::-1, ::-1].transpose(0, 3, 1, 2)
    return dx, xp.ascontiguousarray(dw)
