"""Geometry layers of Paddle v1 (issue 16): crop, upsample by a max-pool mask, rotate,
switch_order, scale_sub_region, block_expand, trans, as its C++ runtime computes them
(facts and their Paddle files: docs/layer_notes_16.md).

Images are NCHW; per-axis arguments are ``(h, w)`` pairs (y first); float32 stays float32.
Backward functions return fresh arrays (never views of ``dy``).
"""

import numpy as np

__all__ = [
    "crop_forward", "crop_backward",
    "upsample_forward", "upsample_backward",
    "rotate_forward", "rotate_backward",
    "switch_order_forward", "switch_order_backward",
    "scale_sub_region_forward", "scale_sub_region_backward",
    "block_expand_output_size", "block_expand_forward", "block_expand_backward",
    "trans_forward", "trans_backward",
    "roi_pool_forward", "roi_pool_backward",
    "max_pool_mask",
]


# ------------------------------------------------------------------------------------------ crop

def crop_forward(x, *, corner, shape, xp=np):
    """``y = x[:, c0:c0+C', h0:h0+H', w0:w0+W']`` with ``corner = (c0, h0, w0)`` and
    ``shape = (C', H', W')`` (the batch axis is never cropped)."""
    (c0, h0, w0), (c, h, w) = corner, shape
    return x[:, c0:c0 + c, h0:h0 + h, w0:w0 + w].copy()


def crop_backward(x_shape, dy, *, corner, xp=np):
    """Gradient of :func:`crop_forward`: ``dy`` placed at ``corner`` in zeros of ``x_shape``."""
    c0, h0, w0 = corner
    _, c, h, w = dy.shape
    dx = xp.zeros(x_shape, dtype=dy.dtype)
    dx[:, c0:c0 + c, h0:h0 + h, w0:w0 + w] = dy
    return dx


# -------------------------------------------------------------------------------------- upsample

def upsample_forward(x, mask, *, output_size, xp=np):
    """Max-unpooling: every value of ``x`` ``(N, C, H, W)`` goes to position ``mask`` (the same
    shape: a flat index ``h * Wo + w`` into its channel's output plane, as the pooling layer's
    ``mask`` output gives) of a zero ``(N, C, Ho, Wo)`` output. Two values sent to one
    position: the later (in row-major input order) wins, as Paddle's loop does."""
    N, C = x.shape[:2]
    Ho, Wo = (int(v) for v in output_size)
    y = xp.zeros((N * C, Ho * Wo), dtype=x.dtype)
    idx = xp.asarray(mask).reshape(N * C, -1).astype(np.intp)
    # an advanced-index assignment (what put_along_axis does; CuPy has no put_along_axis in
    # every version)
    y[xp.arange(N * C)[:, None], idx] = x.reshape(N * C, -1)
    return y.reshape(N, C, Ho, Wo)


def upsample_backward(mask, dy, xp=np):
    """Gradient of :func:`upsample_forward`: ``dx[i] = dy[mask[i]]`` per channel (a position
    that received two values passes its gradient to both, as Paddle's backward does)."""
    N, C = dy.shape[:2]
    mask = xp.asarray(mask)
    idx = mask.reshape(N, C, -1).astype(np.intp)
    return xp.take_along_axis(dy.reshape(N, C, -1), idx, axis=2).reshape(mask.shape)


# -------------------------------------------------------------------------------- rotate, order

def rotate_forward(x, xp=np):
    """Each ``(H, W)`` plane of ``x`` ``(N, C, H, W)`` turned 90 degrees clockwise ->
    ``(N, C, W, H)``: ``y[.., j, i] = x[.., H - 1 - i, j]``."""
    return xp.ascontiguousarray(xp.rot90(x, k=-1, axes=(2, 3)))


def rotate_backward(dy, xp=np):
    """Gradient of :func:`rotate_forward`: ``dy`` turned 90 degrees counter-clockwise."""
    return xp.ascontiguousarray(xp.rot90(dy, k=1, axes=(2, 3)))


def switch_order_forward(x, xp=np):
    """NCHW -> NHWC (``y[n, h, w, c] = x[n, c, h, w]``)."""
    return xp.ascontiguousarray(x.transpose(0, 2, 3, 1))


def switch_order_backward(dy, xp=np):
    """NHWC -> NCHW."""
    return xp.ascontiguousarray(dy.transpose(0, 3, 1, 2))


# ------------------------------------------------------------------------------ scale sub-region

def _region_mask(shape, indices, xp):
    """Boolean ``shape`` mask of each sample's region; ``indices`` ``(N, 6)`` hold
    1-based inclusive ``c_start, c_end, h_start, h_end, w_start, w_end``."""
    N, C, H, W = shape
    ind = np.asarray(indices).reshape(N, 6).astype(np.int64)
    mask = np.zeros(shape, dtype=bool)
    for n in range(N):
        c0, c1, h0, h1, w0, w1 = ind[n]
        mask[n, max(c0 - 1, 0):c1, max(h0 - 1, 0):h1, max(w0 - 1, 0):w1] = True
    return xp.asarray(mask)


def scale_sub_region_forward(x, indices, *, value, xp=np):
    """``y = x`` with each sample's region (``indices``: see :func:`_region_mask`) multiplied
    by ``value``."""
    mask = _region_mask(x.shape, indices, xp)
    return xp.where(mask, x * x.dtype.type(value), x)


def scale_sub_region_backward(indices, dy, *, value, xp=np):
    """``dx = dy * value`` inside the region, ``dy`` outside (the indices get no gradient)."""
    mask = _region_mask(dy.shape, indices, xp)
    return xp.where(mask, dy * dy.dtype.type(value), dy)


# ---------------------------------------------------------------------------------- block expand

def block_expand_output_size(img_size, block, stride, padding):
    """Blocks per axis, ``(oh, ow)``: ``1 + ceil((img + 2 pad - block) / stride)``, and 1 when
    the block is larger than the padded image (Paddle rounds up: a last block may hang past
    the padded edge and reads zeros there)."""
    out = []
    for size, b, s, p in zip(img_size, block, stride, padding):
        t = 2 * p + size - b
        out.append(1 if t < 0 else 1 + (t + s - 1) // s)
    return tuple(out)


def _block_geometry(x_shape, block, stride, padding):
    _, C, H, W = x_shape
    oh, ow = block_expand_output_size((H, W), block, stride, padding)
    (bh, bw), (sh, sw), (ph, pw) = block, stride, padding
    # pad enough on every side that every block lies inside the buffer
    hi_h = max(0, (oh - 1) * sh + bh - ph - H)
    hi_w = max(0, (ow - 1) * sw + bw - pw - W)
    return oh, ow, (ph, hi_h), (pw, hi_w)


def block_expand_forward(x, *, block, stride, padding, xp=np):
    """Image to a sequence of blocks: ``(N, C, H, W)`` -> ``(N, oh * ow, C * bh * bw)``; block
    ``(i, j)`` (row-major, the sequence order) holds ``x[c, i*sh - ph + u, j*sw - pw + v]``
    for ``c, u, v`` (channel-major), zero outside the image."""
    N, C, H, W = x.shape
    oh, ow, (ph0, ph1), (pw0, pw1) = _block_geometry(x.shape, block, stride, padding)
    (bh, bw), (sh, sw) = block, stride
    xpad = xp.zeros((N, C, H + ph0 + ph1, W + pw0 + pw1), dtype=x.dtype)
    xpad[:, :, ph0:ph0 + H, pw0:pw0 + W] = x
    out = xp.empty((N, oh, ow, C, bh, bw), dtype=x.dtype)
    for u in range(bh):
        for v in range(bw):
            out[:, :, :, :, u, v] = xpad[:, :, u:u + sh * (oh - 1) + 1:sh,
                                         v:v + sw * (ow - 1) + 1:sw].transpose(0, 2, 3, 1)
    return out.reshape(N, oh * ow, C * bh * bw)


def block_expand_backward(x_shape, dy, *, block, stride, padding, xp=np):
    """Gradient of :func:`block_expand_forward`: every block's gradient added back to the
    pixels it read (overlapping blocks accumulate; the padding's share is dropped)."""
    N, C, H, W = x_shape
    oh, ow, (ph0, ph1), (pw0, pw1) = _block_geometry(x_shape, block, stride, padding)
    (bh, bw), (sh, sw) = block, stride
    g = dy.reshape(N, oh, ow, C, bh, bw)
    dpad = xp.zeros((N, C, H + ph0 + ph1, W + pw0 + pw1), dtype=dy.dtype)
    for u in range(bh):
        for v in range(bw):
            dpad[:, :, u:u + sh * (oh - 1) + 1:sh,
                 v:v + sw * (ow - 1) + 1:sw] += g[:, :, :, :, u, v].transpose(0, 3, 1, 2)
    return dpad[:, :, ph0:ph0 + H, pw0:pw0 + W].copy()


# ----------------------------------------------------------------------------------------- trans

def trans_forward(x, xp=np):
    """The whole batch matrix transposed: ``(N, D)`` -> ``(D, N)``."""
    return xp.ascontiguousarray(x.reshape(x.shape[0], -1).T)


def trans_backward(dy, xp=np):
    """``dy`` transposed back: ``(D, N)`` -> ``(N, D)``."""
    return xp.ascontiguousarray(dy.T)


# -------------------------------------------------------------------------------------- ROI pool

def _roi_bins(roi, spatial_scale, pooled, H, W):
    """Per output bin ``(ph, pw)``: the window ``(h0, h1, w0, w1)`` of one ROI row
    ``(batch, x0, y0, x1, y1)``; corners scaled and rounded half away from zero (C ``round``),
    bins of ``(size + 1) / pooled`` cells, clipped to the image."""
    r = [int(np.floor(float(v) * spatial_scale + 0.5)) for v in roi[1:5]]
    x0, y0, x1, y1 = r
    rh, rw = max(y1 - y0 + 1, 1), max(x1 - x0 + 1, 1)
    ph_n, pw_n = pooled
    bh, bw = rh / ph_n, rw / pw_n
    for ph in range(ph_n):
        for pw in range(pw_n):
            h0 = min(int(np.floor(ph * bh)) + y0, H)
            h1 = min(int(np.ceil((ph + 1) * bh)) + y0, H)
            w0 = min(int(np.floor(pw * bw)) + x0, W)
            w1 = min(int(np.ceil((pw + 1) * bw)) + x0, W)
            yield ph, pw, h0, h1, w0, w1


def roi_pool_forward(x, rois, *, pooled, spatial_scale, xp=np):
    """ROI max pooling: ``x`` ``(N, C, H, W)``, ``rois`` ``(R, >=5)`` rows ``(batch index,
    x_start, y_start, x_end, y_end)`` in input-image coordinates; ``pooled = (ph, pw)``.
    Returns ``(y, argmax)``, both ``(R, C, ph, pw)``: as in Paddle, each bin's running maximum
    starts at 0, so a bin whose values are all <= 0 (or an empty bin) outputs 0 and has
    ``argmax = -1`` (no gradient); otherwise ``argmax`` is the flat ``h * W + w`` index of the
    first maximum."""
    xn = np.asarray(x)
    N, C, H, W = xn.shape
    rois = np.asarray(rois)
    R = rois.shape[0]
    y = np.zeros((R, C, pooled[0], pooled[1]), dtype=xn.dtype)
    arg = np.full(y.shape, -1, dtype=np.int64)
    for r in range(R):
        plane = xn[int(rois[r, 0])].reshape(C, H * W)
        for ph, pw, h0, h1, w0, w1 in _roi_bins(rois[r], spatial_scale, pooled, H, W):
            if h1 <= h0 or w1 <= w0:
                continue
            idx = (np.arange(h0, h1)[:, None] * W + np.arange(w0, w1)[None, :]).reshape(-1)
            vals = plane[:, idx]                               # (C, window)
            best = vals.argmax(axis=1)                         # first maximum
            top = vals[np.arange(C), best]
            pos = top > 0
            y[r, :, ph, pw] = np.where(pos, top, 0)
            arg[r, :, ph, pw] = np.where(pos, idx[best], -1)
    return xp.asarray(y), xp.asarray(arg)


def roi_pool_backward(x_shape, rois, argmax, dy, xp=np):
    """Gradient of :func:`roi_pool_forward`: each bin's gradient added to the pixel its
    ``argmax`` names (none for ``-1``)."""
    N, C, H, W = x_shape
    argmax, dyn, rois = np.asarray(argmax), np.asarray(dy), np.asarray(rois)
    dx = np.zeros((N, C, H * W), dtype=dyn.dtype)
    for r in range(argmax.shape[0]):
        b = int(rois[r, 0])
        for c in range(C):
            a, g = argmax[r, c].reshape(-1), dyn[r, c].reshape(-1)
            keep = a >= 0
            np.add.at(dx[b, c], a[keep], g[keep])
    return xp.asarray(dx.reshape(x_shape))


# ------------------------------------------------------------------------------ max-pool mask

def max_pool_mask(x, *, window, stride, padding, output_size, xp=np):
    """The mask of Paddle's ``max-pool-with-mask`` pooling: for every output cell of a max
    pool over ``x`` ``(N, C, H, W)``, the flat index ``h * W + w`` of the first maximum (in
    row-major order) of its window, the window clipped to the image (padding never wins).
    ``window``, ``stride``, ``padding``, ``output_size`` are ``(h, w)`` pairs. Returns an
    int64 ``(N, C, oh, ow)`` array."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = window, stride, padding, output_size
    best = xp.full((N, C, oh, ow), -np.inf, dtype=x.dtype)
    where = xp.zeros((N, C, oh, ow), dtype=np.int64)
    rows0 = np.arange(oh) * sh - ph
    cols0 = np.arange(ow) * sw - pw
    for u in range(kh):
        rows = rows0 + u
        row_ok = (rows >= 0) & (rows < H)
        for v in range(kw):
            cols = cols0 + v
            ok = row_ok[:, None] & ((cols >= 0) & (cols < W))[None, :]
            if not ok.any():
                continue
            r, c = np.clip(rows, 0, H - 1), np.clip(cols, 0, W - 1)
            vals = x[:, :, xp.asarray(r)[:, None], xp.asarray(c)[None, :]]
            take = (vals > best) & xp.asarray(ok)
            best = xp.where(take, vals, best)
            where = xp.where(take, xp.asarray(r[:, None] * W + c[None, :]), where)
    return where
