"""Image layers of Paddle v1 besides conv and pool: maxout (spec 6.5), spp (6.7), pad (6.9),
bilinear_interp (6.6). NCHW; per-axis arguments are (h, w) pairs; float32 stays float32.
"""

import numpy as np

from .pool import pool2d_backward, pool2d_forward

__all__ = [
    "maxout_forward", "maxout_backward",
    "spp_forward", "spp_backward",
    "pad_forward", "pad_backward",
    "bilinear_forward", "bilinear_backward",
]


# ---------------------------------------------------------------------------------------- maxout

def maxout_forward(x, *, groups, xp=np):
    """(N, C, H, W) -> (N, C//groups, H, W): output channel o is the maximum over the
    consecutive input channels ``o*groups ... o*groups + groups - 1``."""
    N, C, H, W = x.shape
    return x.reshape(N, C // groups, groups, H, W).max(axis=2)


def maxout_backward(x, dy, *, groups, xp=np):
    """Gradient of :func:`maxout_forward`: each output gradient goes to its group's arg-max
    channel; ties go to the FIRST channel of the group (Paddle's strict ``>``)."""
    N, C, H, W = x.shape
    idx = x.reshape(N, C // groups, groups, H, W).argmax(axis=2)   # first maximum on ties
    onehot = idx[:, :, None] == xp.arange(groups).reshape(1, 1, groups, 1, 1)
    return (onehot * dy[:, :, None]).reshape(N, C, H, W)


# ------------------------------------------------------------------------------------------- spp

def _spp_levels(H, W, pyramid_height):
    """Per pyramid level: (bins, kernel, padding) with (h, w) pairs, spec 6.7."""
    levels = []
    for level in range(pyramid_height):
        bins = 2 ** level
        kh, kw = -(-H // bins), -(-W // bins)
        ph, pw = (kh * bins - H + 1) // 2, (kw * bins - W + 1) // 2
        levels.append((bins, (kh, kw), (ph, pw)))
    return levels


def spp_forward(x, *, pyramid_height, kind, xp=np):
    """Spatial pyramid pooling: (N, C, H, W) -> (N, C * (4**pyramid_height - 1) // 3).

    Level l pools into 2**l x 2**l bins with kernel = stride = ceil(H / bins) (resp. W) and
    padding (kernel*bins - H + 1)//2; levels are concatenated, each laid out C-major
    (C*bins*bins). ``kind``: "max" or "avg" (avg excludes padding). A bin whose window lies
    entirely in the padding (e.g. H=5 at 4 bins) outputs 0 and passes no gradient.
    """
    N, C, H, W = x.shape
    parts = []
    for bins, kernel, padding in _spp_levels(H, W, pyramid_height):
        y = pool2d_forward(x, kind=kind, kernel=kernel, stride=kernel, padding=padding,
                           output_size=(bins, bins), exclude_mode=True, xp=xp)
        parts.append(y.reshape(N, C * bins * bins))
    return xp.concatenate(parts, axis=1)


def spp_backward(x, dy, *, pyramid_height, kind, xp=np):
    """Gradient of :func:`spp_forward` with respect to ``x`` (max ties all receive the
    gradient, as in pool2d_backward)."""
    N, C, H, W = x.shape
    dx = None
    offset = 0
    for bins, kernel, padding in _spp_levels(H, W, pyramid_height):
        width = C * bins * bins
        dyl = dy[:, offset:offset + width].reshape(N, C, bins, bins)
        offset += width
        args = dict(kind=kind, kernel=kernel, stride=kernel, padding=padding,
                    output_size=(bins, bins), exclude_mode=True, xp=xp)
        y = pool2d_forward(x, **args) if kind == "max" else None
        g = pool2d_backward(x, y, dyl, **args)
        if dx is None:
            dx = g
        else:
            dx += g
    return dx


# ------------------------------------------------------------------------------------------- pad

def pad_forward(x, *, pad_c, pad_h, pad_w, xp=np):
    """Zero-pad channels, height and width; each pad is a (before, after) pair."""
    N, C, H, W = x.shape
    (c0, c1), (h0, h1), (w0, w1) = pad_c, pad_h, pad_w
    y = xp.zeros((N, C + c0 + c1, H + h0 + h1, W + w0 + w1), dtype=x.dtype)
    y[:, c0:c0 + C, h0:h0 + H, w0:w0 + W] = x
    return y


def pad_backward(dy, *, pad_c, pad_h, pad_w):
    """Gradient of :func:`pad_forward`: the interior of ``dy`` (a fresh copy, never a view)."""
    _, C, H, W = dy.shape
    (c0, c1), (h0, h1), (w0, w1) = pad_c, pad_h, pad_w
    return dy[:, c0:C - c1, h0:H - h1, w0:W - w1].copy()


# -------------------------------------------------------------------------------------- bilinear

def _bilinear_axis(size_in, size_out):
    """Spec 6.6 along one axis: low index, high index and weight of the high index (numpy)."""
    ratio = (size_in - 1) / (size_out - 1) if size_out > 1 else 0.0
    pos = ratio * np.arange(size_out)
    lo = np.floor(pos).astype(np.intp)
    hi = np.where(lo < size_in - 1, lo + 1, lo)
    lam = pos - lo
    return lo, hi, lam


def _bilinear_matrix(size_in, size_out):
    """(size_out, size_in) interpolation matrix A (float64, numpy): out = A @ in."""
    lo, hi, lam = _bilinear_axis(size_in, size_out)
    cells = np.arange(size_in)
    return ((1.0 - lam)[:, None] * (cells[None, :] == lo[:, None])
            + lam[:, None] * (cells[None, :] == hi[:, None]))


def bilinear_forward(x, *, output_size, xp=np):
    """Align-corners bilinear resize (N, C, H, W) -> (N, C, Ho, Wo), spec 6.6 exactly (the
    width interpolation first, then the height one); equal sizes copy."""
    _, _, H, W = x.shape
    Ho, Wo = (int(v) for v in output_size)
    y = x
    if Wo != W:
        lo, hi, lam = _bilinear_axis(W, Wo)
        lam = xp.asarray(lam, dtype=x.dtype)
        lo, hi = xp.asarray(lo), xp.asarray(hi)
        y = (1 - lam) * y[..., lo] + lam * y[..., hi]
    if Ho != H:
        lo, hi, lam = _bilinear_axis(H, Ho)
        lam = xp.asarray(lam, dtype=x.dtype)[:, None]
        lo, hi = xp.asarray(lo), xp.asarray(hi)
        y = (1 - lam) * y[:, :, lo, :] + lam * y[:, :, hi, :]
    return y.copy() if y is x else y


def bilinear_backward(x, dy, *, output_size, xp=np):
    """Gradient of :func:`bilinear_forward`: ``dx = A_h^T @ dy @ A_w`` per (n, c), with A_h
    (Ho x H) and A_w (Wo x W) the interpolation matrices (no scatter)."""
    _, _, H, W = x.shape
    Ho, Wo = (int(v) for v in output_size)
    dx = dy
    a_h = xp.asarray(_bilinear_matrix(H, Ho), dtype=dy.dtype).T if Ho != H else None
    a_w = xp.asarray(_bilinear_matrix(W, Wo), dtype=dy.dtype) if Wo != W else None
    # The two products commute; do the cheaper one first.
    h_first = a_h is None or a_w is None or H * Ho * Wo + H * Wo * W <= Ho * Wo * W + H * Ho * W
    if a_h is not None and h_first:
        dx = xp.matmul(a_h, dx)                        # (N, C, H, Wo)
    if a_w is not None:
        dx = xp.matmul(dx, a_w)                        # (N, C, H or Ho, W)
    if a_h is not None and not h_first:
        dx = xp.matmul(a_h, dx)                        # (N, C, H, W)
    return dx.copy() if dx is dy else dx
