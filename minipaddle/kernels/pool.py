"""2-D max / average pooling (Paddle v1 ``pool`` layer, spec 6.2), NCHW.

Window of output (oh, ow): ``hstart = oh*sh - ph``, ``hend = min(hstart + kh, H)``,
``hstart = max(hstart, 0)`` (same for w). Max takes the maximum over the clipped window; avg
divides the clipped window's sum by its number of in-image cells (``exclude_mode=True``) or by
``kh*kw`` (``exclude_mode=False``). A window with no in-image cell (only spp produces one)
outputs 0 and passes no gradient.

The output size is the caller's (the config rounded it with ceil or floor); windows may overlap
and may run past the padded border. Nothing is padded or copied: for every window offset
(i, j) the outputs whose cell ``(oh*sh - ph + i, ow*sw - pw + j)`` lies in the image form a
rectangle, and that rectangle is combined with a strided slice of ``x`` (forward) or ``dx``
(backward). The only Python loop is over the kh*kw offsets.
"""

import numpy as np

__all__ = ["pool2d_forward", "pool2d_backward"]

_KINDS = ("max", "avg")


def _offsets(size, k, s, p, out):
    """For each window offset i, the outputs ``o`` (a slice) whose cell ``o*s - p + i`` lies in
    ``[0, size)`` and the matching input cells (a strided slice); offsets hitting no cell are
    left out."""
    plan = []
    for i in range(k):
        o0 = max(0, -((i - p) // s))              # ceil((p - i) / s)
        o1 = min(out, (size - 1 + p - i) // s + 1)
        if o1 > o0:
            start = o0 * s - p + i
            plan.append((slice(o0, o1), slice(start, start + (o1 - o0 - 1) * s + 1, s)))
    return plan


def _counts(size, k, s, p, out):
    """Number of in-image cells of each window along one axis (numpy int array)."""
    start = np.arange(out) * s - p
    return np.maximum(np.minimum(start + k, size) - np.maximum(start, 0), 0)


def _setup(x, kind, kernel, stride, padding, output_size):
    if kind not in _KINDS:
        raise ValueError(f"pool kind must be one of {_KINDS}, got {kind!r}")
    _, _, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = (
        tuple(int(v) for v in a) for a in (kernel, stride, padding, output_size))
    rows = _offsets(H, kh, sh, ph, Ho)
    cols = _offsets(W, kw, sw, pw, Wo)
    cnt_h = _counts(H, kh, sh, ph, Ho)
    cnt_w = _counts(W, kw, sw, pw, Wo)
    return (kh, kw), (Ho, Wo), rows, cols, cnt_h, cnt_w


def _divisor(x, kh, kw, cnt_h, cnt_w, exclude_mode, xp):
    """Avg-pool divisor per output cell, as an (Ho, Wo) array of x's dtype (1 where a window
    is empty, so its zero sum stays zero)."""
    if exclude_mode:
        div = (cnt_h[:, None] * cnt_w[None, :]).astype(np.float64)
        div[div == 0] = 1.0
    else:
        div = np.full((cnt_h.size, cnt_w.size), float(kh * kw))
    return xp.asarray(div, dtype=x.dtype)


def pool2d_forward(x, *, kind, kernel, stride, padding, output_size, exclude_mode=True, xp=np):
    """Pool ``x`` (N, C, H, W) into ``y`` (N, C, Ho, Wo), ``(Ho, Wo) = output_size``.

    ``kind``: "max" or "avg"; ``kernel``, ``stride``, ``padding``: (h, w) pairs;
    ``exclude_mode`` (avg only): divide by the in-image cell count (True) or kh*kw (False).
    Empty windows (no in-image cell) output 0.
    """
    (kh, kw), (Ho, Wo), rows, cols, cnt_h, cnt_w = _setup(
        x, kind, kernel, stride, padding, output_size)
    N, C = x.shape[:2]
    if kind == "max" and _tiles(x.shape, (kh, kw), stride, padding, (Ho, Wo)):
        return _max_forward_tiled(x, kh, kw, Ho, Wo, xp)
    if kind == "max":
        y = xp.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
        for ro, ri in rows:
            for co, ci in cols:
                ys = y[:, :, ro, co]
                xp.maximum(ys, x[:, :, ri, ci], out=ys)
        if (cnt_h == 0).any():
            y[:, :, xp.asarray(cnt_h == 0), :] = 0
        if (cnt_w == 0).any():
            y[:, :, :, xp.asarray(cnt_w == 0)] = 0
        return y
    y = xp.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for ro, ri in rows:
        for co, ci in cols:
            y[:, :, ro, co] += x[:, :, ri, ci]
    y /= _divisor(x, kh, kw, cnt_h, cnt_w, exclude_mode, xp)
    return y


def pool2d_backward(x, y, dy, *, kind, kernel, stride, padding, output_size, exclude_mode=True,
                    xp=np):
    """Gradient of :func:`pool2d_forward` with respect to ``x``.

    ``y`` is the forward output (used by max pooling). Max: each window's full gradient goes
    to EVERY input cell of the window equal to the window's maximum (ties all receive it,
    Paddle's rule). Avg: ``dy / divisor`` is spread over the window's in-image cells.
    """
    (kh, kw), (Ho, Wo), rows, cols, cnt_h, cnt_w = _setup(
        x, kind, kernel, stride, padding, output_size)
    if kind == "max" and _tiles(x.shape, (kh, kw), stride, padding, (Ho, Wo)):
        return _max_backward_tiled(x, y, dy, kh, kw, xp)
    dx = xp.zeros_like(x)
    if kind == "max":
        for ro, ri in rows:
            for co, ci in cols:
                xs = x[:, :, ri, ci]
                dx[:, :, ri, ci] += (xs == y[:, :, ro, co]) * dy[:, :, ro, co]
        return dx
    g = dy / _divisor(x, kh, kw, cnt_h, cnt_w, exclude_mode, xp)
    for ro, ri in rows:
        for co, ci in cols:
            dx[:, :, ri, ci] += g[:, :, ro, co]
    return dx


def _tiles(shape, kernel, stride, padding, output_size):
    """Whether the windows tile the image: stride equal to the window, no padding, and every
    window inside the image (floor mode may leave trailing rows and columns unread)."""
    _, _, H, W = shape
    (kh, kw), (Ho, Wo) = kernel, output_size
    return (tuple(int(s) for s in stride) == (kh, kw) and tuple(padding) == (0, 0)
            and Ho * kh <= H and Wo * kw <= W)


def _max_forward_tiled(x, kh, kw, Ho, Wo, xp):
    """Max pooling over tiling windows in two passes: the maximum of each window's kh rows over
    whole image rows (unit-stride runs), then of each window's kw columns of that."""
    width = Wo * kw
    rows = [x[:, :, i:Ho * kh:kh, :width] for i in range(kh)]
    m = rows[0] if kh == 1 else xp.maximum(rows[0], rows[1])
    for row in rows[2:]:
        xp.maximum(m, row, out=m)
    if kw == 1:
        return m.copy() if kh == 1 else m     # 1x1 windows: never the input itself
    y = xp.maximum(m[..., 0::kw], m[..., 1::kw])
    for j in range(2, kw):
        xp.maximum(y, m[..., j::kw], out=y)
    return y


def _widen_pairs(a, xp):
    """A float32 array (..., Wo) as (..., 2*Wo) with every value twice, side by side: each
    value's 32 bits copied into both halves of a 64-bit word (two unit-stride passes, where
    ``repeat`` gathers one value at a time)."""
    u = xp.ascontiguousarray(a).view(xp.uint32).astype(xp.uint64)
    u *= 0x100000001
    return u.view(xp.float32)


def _max_backward_tiled(x, y, dy, kh, kw, xp):
    """Max-pool backward for tiling windows: each input cell is in exactly one window, so every
    cell gets ``(x == its window's max) * dy`` written once, no zero-fill and no accumulation
    (beyond unread trailing rows and columns, if any). For float32 2-wide windows the maximum
    and the gradient are first widened to image width, and each of the kh row offsets is one
    unit-stride pass; otherwise one strided pass per window offset."""
    Ho, Wo = y.shape[2:]
    H, W = x.shape[2:]
    dx = xp.empty_like(x) if (Ho * kh, Wo * kw) == (H, W) else xp.zeros_like(x)
    if kw == 2 and x.dtype == np.float32:
        y_wide = _widen_pairs(y.astype(x.dtype, copy=False), xp)
        dy_wide = _widen_pairs(dy.astype(x.dtype, copy=False), xp)
        for i in range(kh):
            cells = (slice(None), slice(None), slice(i, Ho * kh, kh), slice(0, Wo * kw))
            xp.multiply(x[cells] == y_wide, dy_wide, out=dx[cells])
        return dx
    for i in range(kh):
        for j in range(kw):
            cells = (slice(None), slice(None), slice(i, Ho * kh, kh), slice(j, Wo * kw, kw))
            xp.multiply(x[cells] == y, dy, out=dx[cells])
    return dx
