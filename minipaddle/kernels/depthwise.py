"""Depthwise convolution: one input channel per group (``C == G > 1``), any channel
multiplier ``M = F/G``, any number of spatial axes, stride, dilation and padding, by kh*kw
multiply-adds of shifted views of the padded input (no im2col columns).

Called by :mod:`minipaddle.kernels.conv` (``conv_forward`` / ``conv_backward`` pick this
kernel for a depthwise conv) with its checked geometry ``geo`` (the conv module's
``_Geometry``: sizes, per-axis stride / padding / dilation, the window plan) and arrays already
in one dtype. ``ws(tag, shape, dtype)``: the reusable scratch-buffer provider (None: fresh
arrays); nothing returned aliases one. ``xp``: the array module (NumPy or CuPy).
"""

__all__ = ["depthwise_forward", "depthwise_backward"]


def _buffer(ws, xp, tag, shape, dtype):
    """A scratch array (contents undefined): from ``ws`` when given, else a new one."""
    return xp.empty(shape, dtype=dtype) if ws is None else ws(tag, shape, dtype)


def _padded_image(x, geo, xp, ws):
    """``x`` (N, C, *image) zero-padded to (N, C, *padded) (``x`` itself without padding).
    Only the interior of a reused buffer is written, and its border is zeroed."""
    if not any(geo.padding):
        return x
    buf = _buffer(ws, xp, "pad", (geo.n, geo.c) + geo.padded, x.dtype)
    lead = (slice(None),) * 2
    for p, s, inner in zip(geo.padding, geo.image, geo.interior):
        buf[lead + (slice(None, p),)] = 0
        buf[lead + (slice(p + s, None),)] = 0
        lead += (inner,)
    buf[(slice(None), slice(None)) + geo.interior] = x
    return buf


def _tap_index(taps):
    """Index of one offset's weights in (.., G, M, *filter), keeping the filter axes."""
    return (slice(None),) * 3 + tuple(slice(t, t + 1) for t in taps)


def depthwise_forward(x, w, geo, xp, ws, out):
    """y[n, g*m + j] = sum over offsets of w[g*m + j, 0, offset] * shifted x[n, g], written
    into ``out`` (N, F, *out) and returned."""
    m = geo.f // geo.g
    img = _padded_image(x, geo, xp, ws)[:, :, None]             # (N, G, 1, *padded)
    wk = w.reshape((1, geo.g, m) + geo.filter)
    y = out.reshape((geo.n, geo.g, m) + geo.out)
    tmp = _buffer(ws, xp, "product", y.shape, y.dtype)
    first = True
    for taps, slices in geo.windows():
        wv = wk[_tap_index(taps)]
        cells = img[(slice(None),) * 3 + slices]
        if first:
            xp.multiply(cells, wv, out=y)
            first = False
        else:
            xp.multiply(cells, wv, out=tmp)
            y += tmp
    return out


def depthwise_backward(x, w, dy, geo, need_dx, xp, ws):
    """``(dx, dw)`` of ``sum(depthwise_forward(x, w) * dy)``; ``dx`` None unless
    ``need_dx``."""
    m = geo.f // geo.g
    img = _padded_image(x, geo, xp, ws)[:, :, None]             # (N, G, 1, *padded)
    dy5 = dy.reshape((geo.n, geo.g, m) + geo.out)
    dw = xp.empty((geo.g, m) + geo.filter, dtype=dy.dtype)
    tmp = _buffer(ws, xp, "product", dy5.shape, dy.dtype) if need_dx else None
    pad = None
    if need_dx:
        pad = _buffer(ws, xp, "col2im", (geo.n, geo.g) + geo.padded, dy.dtype)
        pad[...] = 0
    wk = w.reshape((1, geo.g, m) + geo.filter)
    axes = "pqrstuvw"[:geo.rank]
    subscripts = f"ngj{axes},ngj{axes}->gj"
    for taps, slices in geo.windows():
        # one pass of multiply-and-sum per offset (no temporary), a fixed order
        dw[(slice(None), slice(None)) + taps] = xp.einsum(
            subscripts, img[(slice(None),) * 3 + slices], dy5)
        if need_dx:
            xp.multiply(dy5, wk[_tap_index(taps)], out=tmp)
            pad[(slice(None), slice(None)) + slices] += tmp.sum(axis=2) if m > 1 else tmp[:, :, 0]
    dx = None
    if need_dx:
        dx = pad[(slice(None), slice(None)) + geo.interior].copy()
    return dx, dw.reshape(w.shape)
