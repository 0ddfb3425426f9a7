"""Max / average pooling (Paddle v1 ``pool`` and ``pool3d`` layers, spec 6.2), NC + any number of
spatial axes: the rules below, written for (h, w), hold per axis for (d, h, w) volumes.

Window of output (oh, ow): ``hstart = oh*sh - ph``, ``hend = min(hstart + kh, H)``,
``hstart = max(hstart, 0)`` (same for w). Max takes the maximum over the clipped window; avg
divides the clipped window's sum by its number of in-image cells (``exclude_mode=True``) or by
``kh*kw`` (``exclude_mode=False``). A window with no in-image cell (only spp produces one)
outputs 0 and passes no gradient.

The output size is the caller's (the config rounded it with ceil or floor); windows may overlap
and may run past the padded border. Four paths, all computing the same thing (the first
and third are written for 2-D images; volumes take the other two):

* windows that tile the image (max): two passes, rows then columns (``_max_forward_tiled``);
  where they cover it exactly and the arrays are NumPy's, flat unit-stride passes instead
  (``_max_forward_flat``, ``_max_backward_flat``);
* one window holding the whole image (global pooling): one reduction;
* windows overlapping so much that the offset loop below would make more than
  ``SEPARABLE_MARGIN`` input-sized passes (large windows, stride 1): separable doubling trees,
  about log2(kh) + log2(kw) passes however large the window (``_separable_forward``; the
  average's backward is the same kind of sliding sum over the spread gradient,
  ``_spread_sums``);
* the max backward for large windows (``BY_VALUES_MIN_CELLS``, NumPy): by the maxima's values,
  a few passes whatever the window (``_max_backward_by_values``), falling back map by map to
  the trees where values tie;
* otherwise nothing is padded or copied: for every window offset (i, j) the outputs whose cell
  ``(oh*sh - ph + i, ow*sw - pw + j)`` lies in the image form a rectangle (a box, for volumes),
  and that rectangle is combined with a strided slice of ``x`` (forward) or ``dx`` (backward).
  The only Python loop is over the window's offsets.
"""

import sys
from itertools import product

import numpy as np

__all__ = ["pool_forward", "pool_backward", "pool2d_forward", "pool2d_backward"]

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
    """Per-axis tuples (slowest axis first)."""
    if kind not in _KINDS:
        raise ValueError(f"pool kind must be one of {_KINDS}, got {kind!r}")
    rank = x.ndim - 2
    axes = tuple(tuple(int(v) for v in a) for a in (kernel, stride, padding, output_size))
    if rank < 1 or any(len(a) != rank for a in axes):
        raise ValueError(f"pool: x of shape {tuple(x.shape)} needs kernel, stride, padding and "
                         f"output_size with one value per spatial axis ({rank}), got {axes}")
    return axes


def _all_counts(x, kernel, stride, padding, out):
    """Per axis, the number of in-image cells of each window."""
    return [_counts(*a) for a in zip(x.shape[2:], kernel, stride, padding, out)]


def _divisor(x, kernel, counts, exclude_mode, xp):
    """Avg-pool divisor per output cell, as an array of the output's spatial shape in x's
    dtype (1 where a window is empty, so its zero sum stays zero)."""
    if exclude_mode:
        div = counts[0].astype(np.float64)
        for c in counts[1:]:
            div = np.multiply.outer(div, c)
        div[div == 0] = 1.0
    else:
        div = np.full(tuple(c.size for c in counts), float(np.prod(kernel)))
    return xp.asarray(div, dtype=x.dtype)


def _cells(x, kernel, stride, padding, out):
    """For every window offset: (the output cells it reaches, the input cells they read), each
    an index of an (N, C, *spatial) array."""
    plans = [_offsets(*a) for a in zip(x.shape[2:], kernel, stride, padding, out)]
    lead = (slice(None), slice(None))
    for combo in product(*plans):
        yield lead + tuple(o for o, _ in combo), lead + tuple(i for _, i in combo)


def pool_forward(x, *, kind, kernel, stride, padding, output_size, exclude_mode=True, xp=np):
    """Pool ``x`` (N, C, *image) into ``y`` (N, C, *output_size), for any number of spatial
    axes ((H, W) images, (D, H, W) volumes).

    ``kind``: "max" or "avg"; ``kernel``, ``stride``, ``padding``, ``output_size``: one value
    per spatial axis, slowest first; ``exclude_mode`` (avg only): divide by the in-image cell
    count (True) or the window's size (False). Empty windows (no in-image cell) output 0.
    """
    kernel, stride, padding, out = _setup(x, kind, kernel, stride, padding, output_size)
    N, C = x.shape[:2]
    planar = len(kernel) == 2
    if planar and kind == "max" and _tiles(x.shape, kernel, stride, padding, out):
        return _max_forward_tiled(x, *kernel, *out, xp)
    counts = _all_counts(x, kernel, stride, padding, out)
    if _global(x.shape, counts):
        flat = x.reshape((N, C) + (1,) * (len(kernel) - 1) + (-1,))
        if kind == "max":
            return flat.max(axis=-1, keepdims=True)
        return flat.sum(axis=-1, keepdims=True) / _divisor(x, kernel, counts, exclude_mode, xp)
    if planar and _separable_pays(x.shape, kernel, out):
        y = _by_maps(lambda part, _, *a: _separable_forward(part, *a), x, None, xp, kind,
                     kernel, stride, padding, out)
    elif kind == "max":
        y = xp.full((N, C) + out, -np.inf, dtype=x.dtype)
        for o, i in _cells(x, kernel, stride, padding, out):
            ys = y[o]
            xp.maximum(ys, x[i], out=ys)
    else:
        y = xp.zeros((N, C) + out, dtype=x.dtype)
        for o, i in _cells(x, kernel, stride, padding, out):
            y[o] += x[i]
    if kind == "max":
        for axis, cnt in enumerate(counts):
            if (cnt == 0).any():
                y[(slice(None),) * (2 + axis) + (xp.asarray(cnt == 0),)] = 0
        return y
    y /= _divisor(x, kernel, counts, exclude_mode, xp)
    return y


def pool_backward(x, y, dy, *, kind, kernel, stride, padding, output_size, exclude_mode=True,
                  xp=np):
    """Gradient of :func:`pool_forward` with respect to ``x``.

    ``y`` is the forward output (used by max pooling). Max: each window's full gradient goes
    to EVERY input cell of the window equal to the window's maximum (ties all receive it,
    Paddle's rule). Avg: ``dy / divisor`` is spread over the window's in-image cells.
    """
    kernel, stride, padding, out = _setup(x, kind, kernel, stride, padding, output_size)
    planar = len(kernel) == 2
    if planar and kind == "max" and _tiles(x.shape, kernel, stride, padding, out):
        return _max_backward_tiled(x, y, dy, *kernel, xp)
    counts = _all_counts(x, kernel, stride, padding, out)
    if _global(x.shape, counts):
        dy = dy.astype(x.dtype, copy=False)
        if kind == "max":
            return xp.multiply(x == y, dy)
        dx = xp.empty_like(x)
        dx[...] = dy / _divisor(x, kernel, counts, exclude_mode, xp)
        return dx
    if kind == "max":
        dense = _max_backward_dense
        args = (kernel, stride, padding, out, xp)
        if _by_values_may_pay(x, kernel, counts, xp):
            dx = _max_backward_by_values(x, y, dy, lambda *a: dense(*a, *args))
            if dx is not None:
                return dx
        return dense(x, y, dy, *args)
    if planar and _separable_pays(x.shape, kernel, out):
        g = dy / _divisor(x, kernel, counts, exclude_mode, xp)
        return _separable_backward(x, g, kind, kernel, stride, padding, out, xp)
    dx = xp.zeros_like(x)
    g = dy / _divisor(x, kernel, counts, exclude_mode, xp)
    for o, i in _cells(x, kernel, stride, padding, out):
        dx[i] += g[o]
    return dx


def _max_backward_dense(x, y, dy, kernel, stride, padding, out, xp):
    """The max-pool backward without looking at values: the separable trees where they pay
    (2-D), else the offset loop."""
    if len(kernel) == 2 and _separable_pays(x.shape, kernel, out):
        return _separable_backward(x, dy, "max", kernel, stride, padding, out, xp)
    dx = xp.zeros_like(x)
    for o, i in _cells(x, kernel, stride, padding, out):
        dx[i] += (x[i] == y[o]) * dy[o]
    return dx


#: the 2-D names (both functions take any number of spatial axes)
pool2d_forward = pool_forward
pool2d_backward = pool_backward


def _global(shape, counts):
    """Whether there is one window and it holds the whole image (global pooling)."""
    return (all(c.size == 1 for c in counts)
            and tuple(int(c[0]) for c in counts) == tuple(shape[2:]))


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
    if _flat_tiles(x, kh, kw, Ho, Wo, xp):
        return _max_forward_flat(x, kh, kw, Ho, Wo)
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
    if _flat_tiles(x, kh, kw, Ho, Wo, xp):
        return _max_backward_flat(x, y, dy, kh, kw)
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


# ------------------------------------------------------------- tiling windows: flat NumPy passes
#
# NumPy runs a ufunc over a strided view one innermost run at a time, and LeNet's rows are 24 or
# 8 values long: the row-strided views above cost one interpreter-level loop call per row (most
# of the time for such maps). Where the windows tile the whole image exactly and the arrays are
# NumPy's, every step below is instead one long unit-stride pass over a flat vector, or a copy
# of whole rows (a row viewed as one opaque ``void`` element) or of 64-bit words (two float32
# values): the same maxima, the same comparisons (every tied cell gets the window's gradient).


def _flat_tiles(x, kh, kw, Ho, Wo, xp):
    """Whether the flat NumPy passes apply: NumPy arrays, windows covering the image exactly."""
    return xp is np and tuple(x.shape[2:]) == (Ho * kh, Wo * kw) and kh * kw > 1


def _pairs_as_words(dtype):
    """Whether two values of ``dtype`` fill one little-endian 64-bit word (the first value in
    its low half)."""
    return np.dtype(dtype).itemsize == 4 and sys.byteorder == "little"


def _row_type(width, dtype):
    """A row of ``width`` values of ``dtype`` as one opaque element."""
    return np.dtype((np.void, width * np.dtype(dtype).itemsize))


def _max_forward_flat(x, kh, kw, Ho, Wo):
    """Tiling max pooling as flat passes: the maximum of each cell and the kh - 1 cells below it
    (shifts by whole rows of the flat vector), the first row of each window kept (rows copied as
    opaque elements), the maximum of each cell and the kw - 1 cells right of it, every kw-th
    value kept. Maxima that straddle a row or map boundary land on positions that are dropped."""
    N, C, H, W = x.shape
    v = np.ascontiguousarray(x).reshape(-1)
    n = v.size
    if kh > 1:
        r = np.empty_like(v)                     # the last kh - 1 rows stay unset: dropped
        np.maximum(v[:n - W], v[W:], out=r[:n - W])
        for i in range(2, kh):
            np.maximum(r[:n - i * W], v[i * W:], out=r[:n - i * W])
        firsts = r.view(_row_type(W, v.dtype)).reshape(N * C * Ho, kh)[:, 0]
        v = np.ascontiguousarray(firsts).view(x.dtype).reshape(-1)
        n = v.size
    if kw == 1:
        return v.reshape(N, C, Ho, Wo)
    c = np.empty_like(v)
    np.maximum(v[:n - 1], v[1:], out=c[:n - 1])
    for j in range(2, kw):
        np.maximum(c[:n - j], v[j:], out=c[:n - j])
    if kw == 2 and _pairs_as_words(c.dtype):
        y = c.view(np.uint64).astype(np.uint32).view(c.dtype)    # the low halves: c[0::2]
    else:
        y = c[::kw].copy()
    return y.reshape(N, C, Ho, Wo)


def _upsampled(a, kh, kw, dtype):
    """``a`` (N, C, Ho, Wo) with every value repeated over its kh x kw window: (N, C, Ho*kh,
    Wo*kw), contiguous, in ``dtype``."""
    N, C, Ho, Wo = a.shape
    a = np.ascontiguousarray(a, dtype=dtype)
    if kw == 2 and _pairs_as_words(dtype):
        u = a.view(np.uint32).astype(np.uint64)
        u *= 0x100000001                         # each 32-bit value in both halves
        a = u.view(dtype)
    elif kw > 1:
        a = np.repeat(a, kw, axis=3)
    if kh > 1:
        rows = a.reshape(-1).view(_row_type(Wo * kw, dtype))
        a = np.repeat(rows, kh).view(dtype)
    return a.reshape(N, C, Ho * kh, Wo * kw)


def _max_backward_flat(x, y, dy, kh, kw):
    """Tiling max-pool backward as three flat passes after upsampling ``y`` and ``dy`` to the
    image: ``dx = (x == y) * dy``, cell by cell."""
    dx = _upsampled(dy, kh, kw, x.dtype)
    ones = _upsampled(y, kh, kw, x.dtype)      # becomes the 0/1 mask in place (a fresh
    np.equal(x, ones, out=ones, casting="unsafe")   # array for it cost LeNet's pool1 ~7%)
    np.multiply(dx, ones, out=dx)              # (a bool mask would be cast again here)
    return dx


# --------------------------------------------------------------------- large windows: separable
#
# A window's maximum (or sum) is the maximum (sum) over its rows of the maxima (sums) over its
# columns, so a 2-D pooling is a pooling along H followed by one along W. Along one axis every
# window comes from a doubling tree: a level-2w node combines two adjacent, disjoint level-w
# nodes, and a window of k cells is the disjoint union of the power-of-two blocks of k's binary
# digits: floor(log2 k) + popcount(k) - 1 passes over the (padded) input however large the
# window, where the offset loop makes one output-sized pass per cell of the window. Each pass
# treats the array as one flat vector shifted by w rows (or columns): results that straddle an
# image or row boundary land on positions no window reads.
#
# The max backward runs back down the same trees, each node passing its gradient to every child
# equal to it. Along a path from a window to one of its cells the values are sandwiched
# (cell <= node <= ... <= window max, through both axes), so the product of the equalities on
# the path is (cell == window max), and a window's tree holds exactly one path to each of its
# cells: every tied cell gets the window's whole gradient, the reference rule.


def _separable_pays(shape, kernel, output_size):
    """Whether the trees beat the offset loop (kh*kw passes over the output): measured on
    2x2 to 7x7 windows at strides 1 to 3 (with chunks of maps: SEPARABLE_CHUNK_BYTES), they won
    forward and backward from 2.1 input-sized passes of offsets on (3x3/2: max backward 21.8 ->
    10.6 ms; 3x3/1 pad 1: 64 -> 22 ms; bench/README.md); at about 1 (windows that do not
    overlap) the offsets stay."""
    _, _, H, W = shape
    (kh, kw), (Ho, Wo) = kernel, output_size
    return kh * kw * Ho * Wo > SEPARABLE_MARGIN * H * W


#: offset passes (in input sizes) from which the trees run instead (tests set it to 0)
SEPARABLE_MARGIN = 2.0


def _tree_nodes(flat, unit, k, combine, fill, xp, keep=True):
    """The doubling tree of sliding windows of ``k`` steps of ``unit`` values over the flat
    vector ``flat``: ``(levels, accs)`` with ``levels[t][j]`` the combination of
    ``flat[j + i*unit]`` for i < 2**t and ``accs[i]`` the combination over the blocks of the
    first i+1 set bits of k (ascending): ``accs[-1][j]`` is window j's result. Tails no window
    reads hold ``fill``. Without ``keep`` only the result is kept (one tree level and one
    partial result alive at a time)."""
    n = flat.size
    bits = _bits(k)

    def node(a, b, shift):
        out = xp.empty_like(flat)
        combine(a[:n - shift], b[shift:], out=out[:n - shift])
        out[n - shift:] = fill
        return out

    levels, accs, level, offset = [flat], [], flat, 0
    for t in range(bits[-1] + 1):
        if t:
            level = node(level, level, (1 << (t - 1)) * unit)
            if keep:
                levels.append(level)
        if k >> t & 1:
            accs.append(level if not accs else node(accs[-1], level, offset * unit))
            if not keep:
                accs = accs[-1:]
            offset += 1 << t
    return levels, accs


def _bits(k):
    return [t for t in range(int(k).bit_length()) if k >> t & 1]


def _tree_gradient(g, unit, k, nodes, xp):
    """Gradient of the flat vector from ``g``, the gradient of every window result (0 where no
    window is read; overwritten). ``nodes``: :func:`_tree_nodes`' tree of a max (each node
    passes its gradient to the children equal to it), or None for a sum (to every child)."""
    n = g.size
    bits = _bits(k)
    grads = {}
    work = xp.empty_like(g)                      # one gradient part at a time
    same = xp.empty(n, dtype=bool) if nodes is not None else None

    def add(t, part, shift, child=None, parent=None):
        """grads[t][shift:shift + m] += part * (child == parent), m = part.size."""
        m = part.size
        dst = grads.get(t)
        fresh = dst is None
        if fresh:
            dst = grads[t] = xp.empty_like(g)
            dst[:shift] = 0
            dst[shift + m:] = 0
        if child is None:
            if fresh:
                dst[shift:shift + m] = part
            else:
                dst[shift:shift + m] += part
            return
        eq = xp.equal(child, parent, out=same[:m])
        if fresh:                                    # straight into place
            xp.multiply(part, eq, out=dst[shift:shift + m])
        else:
            dst[shift:shift + m] += xp.multiply(part, eq, out=work[:m])

    offsets = [0]
    for t in bits[:-1]:
        offsets.append(offsets[-1] + (1 << t))
    for i in range(len(bits) - 1, 0, -1):      # the partial results, last block first
        shift = offsets[i] * unit
        if nodes is None:
            add(bits[i], g[:n - shift], shift)
            continue
        levels, accs = nodes
        add(bits[i], g[:n - shift], shift, levels[bits[i]][shift:], accs[i][:n - shift])
        g *= xp.equal(accs[i - 1], accs[i], out=same)
    add(bits[0], g, 0)
    for t in range(bits[-1], 0, -1):           # the levels, widest first
        gt = grads.pop(t, None)
        if gt is None:
            continue
        shift = (1 << (t - 1)) * unit
        if nodes is None:
            add(t - 1, gt[:n - shift], 0)
            add(t - 1, gt[:n - shift], shift)
        else:
            child, parent = nodes[0][t - 1], nodes[0][t][:n - shift]
            add(t - 1, gt[:n - shift], 0, child[:n - shift], parent)
            add(t - 1, gt[:n - shift], shift, child[shift:], parent)
    return grads[0]


def _padded_sizes(shape, kernel, stride, padding, output_size):
    """((left pad, padded length) along H, the same along W): window (oh, ow) covers padded
    cells [oh*sh, oh*sh + kh) x [ow*sw, ow*sw + kw)."""
    return [(p, max(p + size, (out - 1) * s + k))
            for size, k, s, p, out in zip(shape[2:], kernel, stride, padding, output_size)]


def _padded(x, kind, sizes, xp):
    """``x`` padded to ``sizes`` (-inf for max, 0 for avg); x itself when nothing is added."""
    N, C, H, W = x.shape
    (ph, Hp), (pw, Wp) = sizes
    if (Hp, Wp) == (H, W):
        return xp.ascontiguousarray(x)
    out = xp.full((N, C, Hp, Wp), -np.inf if kind == "max" else 0, dtype=x.dtype)
    out[:, :, ph:ph + H, pw:pw + W] = x
    return out


def _combine(kind, xp):
    return (xp.maximum, -np.inf) if kind == "max" else (xp.add, 0)


def _separable_forward(x, kind, kernel, stride, padding, output_size, xp, keep=False):
    """Pooled maxima or sums (before any divisor or empty-window fix) through the two trees;
    with ``keep`` also the trees for the backward: ``(y, rows, cols)``."""
    N, C = x.shape[:2]
    (kh, kw), (sh, sw), (Ho, Wo) = kernel, stride, output_size
    sizes = _padded_sizes(x.shape, kernel, stride, padding, output_size)
    (_, Hp), (_, Wp) = sizes
    combine, fill = _combine(kind, xp)
    rows = _tree_nodes(_padded(x, kind, sizes, xp).reshape(-1), Wp, kh, combine, fill, xp,
                       keep)
    t = rows[1][-1].reshape(N * C, Hp, Wp)[:, :(Ho - 1) * sh + 1:sh]
    t = xp.ascontiguousarray(t)                                # (N*C, Ho, Wp)
    cols = _tree_nodes(t.reshape(-1), 1, kw, combine, fill, xp, keep)
    y = cols[1][-1].reshape(N * C * Ho, Wp)[:, :(Wo - 1) * sw + 1:sw]
    y = xp.ascontiguousarray(y).reshape(N, C, Ho, Wo)
    return (y, rows, cols) if keep else y


#: bytes of input per chunk of maps on the separable path: a chunk's tree arrays (a dozen
#: for the max backward) stay in cache instead of streaming through memory (1 MB measured
#: about twice as fast as the whole batch at once: bench/README.md)
SEPARABLE_CHUNK_BYTES = 1 << 20

#: the max backward keeps both trees and their gradients alive, a dozen or more arrays of the
#: chunk's size for deep trees: for windows of MAX_BACKWARD_DEEP cells and more its chunks are
#: MAX_BACKWARD_SHARE times smaller (256 KB). Paired on 8x64x64x64 float32, shared machine:
#: 32x32/1 0.65-0.95 (median of runs about 0.72) of the 1 MB chunks' time, 8x8/1 0.62-0.84;
#: 3x3/2 windows (two levels) were 1.01-1.05, so they keep 1 MB; 64 KB to 128 KB were slower.
MAX_BACKWARD_SHARE = 4
MAX_BACKWARD_DEEP = 16


def _by_maps(fn, x, g, xp, *args, share=1):
    """``fn(x, g, *args, xp)`` on chunks of SEPARABLE_CHUNK_BYTES / share of x's N*C maps
    (``g``: an array with the same maps, or None), put together."""
    N, C, H, W = x.shape
    maps = max(1, SEPARABLE_CHUNK_BYTES // share // max(1, H * W * x.itemsize))
    if N * C <= maps:
        return fn(x, g, *args, xp)
    x4 = x.reshape(1, N * C, H, W)
    g4 = None if g is None else g.reshape(1, N * C, *g.shape[2:])
    out = None
    for i in range(0, N * C, maps):
        part = slice(i, i + maps)
        r = fn(x4[:, part], None if g4 is None else g4[:, part], *args, xp)
        if out is None:
            out = xp.empty((1, N * C) + r.shape[2:], dtype=r.dtype)
        out[:, part] = r
    return out.reshape((N, C) + out.shape[2:])


def _separable_backward(x, g, kind, kernel, stride, padding, output_size, xp):
    """Gradient of :func:`_separable_forward` (``g``: gradient of its output, any divisor
    already applied), cropped to x's shape; maps in chunks (:func:`_by_maps`)."""
    if kind == "avg":
        return _spread_sums(x, g, kernel, stride, padding, output_size, xp)
    deep = kernel[0] * kernel[1] >= MAX_BACKWARD_DEEP
    return _by_maps(_separable_backward_part, x, g, xp, kind, kernel, stride, padding,
                    output_size, share=MAX_BACKWARD_SHARE if deep else 1)


# The sum's backward is a sum again: cell c of an axis gets the gradient of every window
# holding it, and window o holds c when its last cell e(o) = o*s - p + k - 1 lies in
# [c, c + k). So each window's gradient is written at its last cell of a zero row, and one
# sliding sum over k cells of that row (the doubling tree of the forward: one addition per level
# where the transposed tree takes two, a copy and a zero fill) gives every cell its total. Rows
# are laid out L >= W + p apart, so no sum reaches the next row's gradients. Along W the rows are
# the output rows; along H the cells are whole rows (unit L). Maps in chunks of
# SEPARABLE_CHUNK_BYTES, the last sum of each chunk written straight into the result.


def _spread_sums(x, g, kernel, stride, padding, output_size, xp):
    """Sum of ``g`` (N, C, Ho, Wo) over the windows holding each cell of x (N, C, H, W)."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = kernel, stride, padding, output_size
    g = g.astype(x.dtype, copy=False).reshape(N * C, Ho, Wo)
    Lw = max(W + pw, (Wo - 1) * sw - pw + kw)
    Lh = max(H + ph, (Ho - 1) * sh - ph + kh)
    exact = (Lh, Lw) == (H, W)
    dx = xp.empty((N * C, H, W), dtype=x.dtype)
    maps = max(1, SEPARABLE_CHUNK_BYTES // max(1, H * W * x.itemsize))
    for i in range(0, N * C, maps):
        part = g[i:i + maps]
        M = part.shape[0]
        rows = _spread_axis(part.reshape(M * Ho, Wo), Lw, kw, sw, pw, 1, xp)
        out = dx[i:i + M].reshape(-1) if exact else None
        planes = _spread_axis(rows.reshape(M, Ho, Lw), Lh, kh, sh, ph, Lw, xp, out)
        if not exact:
            dx[i:i + M] = planes[:, :H, :W]
    return dx.reshape(N, C, H, W)


def _spread_axis(g, L, k, s, p, unit, xp, out=None):
    """``g`` (M, O) (``unit`` 1) or (M, O, unit): window o's value written at position
    e(o) = o*s - p + k - 1 of a zero row of length L (windows ending before the row are left
    out), then summed over k positions: (M, L) or (M, L, unit), positions past the image
    meaningless; into ``out`` (flat, M*L*unit values) when given."""
    M, O = g.shape[:2]
    first = max(0, -((k - 1 - p) // s))          # the first window with e(o) >= 0
    count = max(0, O - first)
    e0 = first * s - p + k - 1
    size = M * L * unit
    flat = xp.empty(size + k * unit, dtype=g.dtype)
    spread = flat[:size].reshape((M, L) + g.shape[2:])
    if s == 1:                                   # zero only around the values
        spread[:, :e0] = 0
        spread[:, e0 + count:] = 0
    else:
        spread[...] = 0
    flat[size:] = 0
    spread[:, e0:e0 + (count - 1) * s + 1:s] = g[:, first:]
    return _window_sums(flat, unit, k, size, xp, out).reshape(spread.shape)


def _window_sums(flat, unit, k, need, xp, out=None):
    """``r[j] = sum(flat[j + i*unit] for i < k)`` for j < need (need <= flat.size -
    (k - 1)*unit): the doubling tree over the blocks of k's binary digits, one addition per
    level or block; the last addition writes into ``out`` when given."""
    n = flat.size
    bits = _bits(k)
    plan = []                                    # (operation, t), in order
    for t in range(bits[-1] + 1):
        if t:
            plan.append(("level", t))
        if k >> t & 1 and t != bits[0]:
            plan.append(("block", t))
    if not plan:                                 # k == 1
        if out is None:
            return flat[:need].copy()
        out[:need] = flat[:need]
        return out[:need]
    level, acc, offset = flat, None, 0
    if bits[0] == 0:
        acc, offset = flat, 1
    for step, (op, t) in enumerate(plan):
        last = step == len(plan) - 1
        if op == "level":
            shift = (1 << (t - 1)) * unit
            m = need if last else n - ((1 << t) - 1) * unit
            dst = out[:m] if last and out is not None else xp.empty(m, dtype=flat.dtype)
            xp.add(level[:m], level[shift:shift + m], out=dst)
            level = dst
            if t == bits[0]:
                acc, offset = level, 1 << t
        else:
            shift = offset * unit
            m = need if last else n - (offset + (1 << t) - 1) * unit
            dst = out[:m] if last and out is not None else xp.empty(m, dtype=flat.dtype)
            xp.add(acc[:m], level[shift:shift + m], out=dst)
            acc, offset = dst, offset + (1 << t)
    return acc[:need] if acc is not None else level[:need]


def _separable_backward_part(x, g, kind, kernel, stride, padding, output_size, xp):
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = kernel, stride, padding, output_size
    (_, Hp), (_, Wp) = _padded_sizes(x.shape, kernel, stride, padding, output_size)
    rows = cols = None
    if kind == "max":
        _, rows, cols = _separable_forward(x, kind, kernel, stride, padding, output_size, xp,
                                           keep=True)
    gt = xp.zeros((N * C * Ho, Wp), dtype=x.dtype)
    gt[:, :(Wo - 1) * sw + 1:sw] = g.reshape(N * C * Ho, Wo)
    gt = _tree_gradient(gt.reshape(-1), 1, kw, cols, xp).reshape(N * C, Ho, Wp)
    del cols
    gp = xp.zeros((N * C, Hp, Wp), dtype=x.dtype)
    gp[:, :(Ho - 1) * sh + 1:sh] = gt
    del gt
    gp = _tree_gradient(gp.reshape(-1), Wp, kh, rows, xp).reshape(N, C, Hp, Wp)
    if (Hp, Wp) == (H, W):
        return gp
    return xp.ascontiguousarray(gp[:, :, ph:ph + H, pw:pw + W])


# ------------------------------------------------------------- large max windows: by the values
#
# Every cell c of a window w satisfies x[c] <= y[w], so the cells of a map that can equal any of
# its maxima are those at or above the map's smallest maximum: for large windows on real-valued
# data a fraction of a percent of the cells (the candidates). Where no two candidates of a map
# hold equal values, the one cell of the map equal to y[w] is a candidate, lies in w (y[w] is
# attained in w) and is the only cell of w equal to y[w]: Paddle's every-tied-cell gradient is
# then dx[c] = sum of dy[w] over the windows of c's map with y[w] == x[c], a sum grouped by
# value. Windows are grouped into runs of equal maxima along y's last axis (one reduceat), and
# the runs find their candidate through a hash table of (map, value) keys (collisions retried
# with another hash). Maps whose candidates repeat a value (ties: integers, all-zero maps after
# a relu) take the dense route, cell by cell; so does everything when the candidates are too many
# (small windows) or a maximum is NaN. A handful of passes over the input (the comparison, its
# nonzero cells, the zeroed result) and a few over y, whatever the window's size.

#: windows of fewer cells keep the dense route: their smallest maximum filters little (paired on
#: (8,64,64,64) float32 stride 1 against the dense route: 32x32 0.17x, 16x16 0.38x, 12x12
#: 0.71x; 10x10 and 8x8 1.03-1.16x, every map crowded)
BY_VALUES_MIN_CELLS = 128

#: maps with candidates beyond this share of their cells take the dense route
BY_VALUES_MAX_SHARE = 1 / 16

#: dense maps (crowded or tied) beyond this share of the maps: the dense route for everything
BY_VALUES_GIVE_UP = 1 / 2


def _by_values_may_pay(x, kernel, counts, xp):
    """Whether to try :func:`_max_backward_by_values`: NumPy arrays, large windows and no
    empty window (an empty window's 0 is no cell's value)."""
    return (xp is np and int(np.prod(kernel)) >= BY_VALUES_MIN_CELLS
            and all((c > 0).all() for c in counts))


#: odd 64-bit multipliers of the hash rounds (Fibonacci hashing: the key times one, top bits)
_HASH_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                     0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53)


def _keys(values, owners):
    """``(key, check)``: uint64 keys of (map, value) pairs, equal for equal pairs (-0.0 and
    0.0 too), and the arrays two pairs must agree on to be equal. Values of 32 bits or fewer
    pack with their map into one exact key; 64-bit values hash the two together."""
    v = values + values.dtype.type(0)                       # -0.0 + 0.0 is 0.0
    owners = owners.astype(np.uint64)
    if v.itemsize <= 4:
        key = v.view(f"u{v.itemsize}").astype(np.uint64)
        key |= owners << np.uint64(32)
        return key, (key,)
    key = owners * np.uint64(_HASH_MULTIPLIERS[0])
    key ^= v.view(np.uint64)
    return key, (values, owners)


def _tied_maps(key, check, owners):
    """The maps in which two candidates hold equal values."""
    if len(check) == 1:                                     # exact keys
        k = np.sort(key)
        return np.unique(k[1:][k[1:] == k[:-1]] >> np.uint64(32)).astype(np.intp)
    values = check[0]
    order = np.lexsort((values, owners))
    v, o = values[order], owners[order]
    return np.unique(o[1:][(v[1:] == v[:-1]) & (o[1:] == o[:-1])])


def _match_runs(cand, runs):
    """For every run, the index of the candidate with its (map, value) (``cand`` and ``runs``:
    :func:`_keys` of each), -1 where none: the candidates' keys hashed into a table four
    times their number, each run's key looked up and checked; candidates that lost their slot
    to another (and the runs not found) go round again with another multiplier. None if the
    rounds run out with runs and candidates left (they do not in practice)."""
    (ckey, ccheck), (rkey, rcheck) = cand, runs
    cands = np.arange(ckey.size)
    todo = label = None                                     # runs still unmatched (None: all)
    if not cands.size or not rkey.size:
        return np.full(rkey.size, -1, dtype=np.intp)
    for mult in _HASH_MULTIPLIERS:
        bits = min(40, max(4, (4 * cands.size).bit_length()))
        mult, shift = np.uint64(mult), np.uint64(64 - bits)
        slot = (ckey[cands] * mult) >> shift
        table = np.full(1 << bits, -1, dtype=np.intp)
        table[slot] = cands                                 # one of each colliding group
        rk = rkey if todo is None else rkey[todo]
        c = table[(rk * mult) >> shift]
        ok = c >= 0
        for a, b in zip(ccheck, rcheck):
            ok &= a[c] == (b if todo is None else b[todo])
        if todo is None:
            label = np.where(ok, c, -1)
            todo = np.flatnonzero(label < 0)
        else:
            label[todo[ok]] = c[ok]
            todo = todo[~ok]
        cands = cands[table[slot] != cands]                 # the ones another took the slot of
        if not todo.size or not cands.size:
            return label
    return None


def _max_backward_by_values(x, y, dy, dense):
    """Max-pool backward by the maxima's values (see above); ``dense(x, y, dy)`` (x, y, dy as
    (maps, 1, ...) arrays) for the maps with repeated candidate values or too many candidates;
    None where most cells are candidates or y has a NaN."""
    N, C = x.shape[:2]
    maps = N * C
    size = x.size // maps
    xf = x.reshape(maps, size)
    yf = y.astype(x.dtype, copy=False).reshape(maps, -1)
    floor = yf.min(axis=1)
    if np.isnan(floor).any():
        return None
    above = np.greater_equal(xf, floor[:, None])
    crowded = np.zeros(maps, dtype=bool)
    # every 16th map counted first, so that inputs whose maps are mostly crowded give up
    # without listing millions of cells; otherwise the list's length tells (no count of all)
    sample = above[::16]
    idx = None
    if np.count_nonzero(sample) <= BY_VALUES_MAX_SHARE * sample.size:
        idx = np.flatnonzero(above)
    if idx is None or idx.size > BY_VALUES_MAX_SHARE * x.size:      # some maps are crowded
        crowded = above.view(np.uint8).sum(axis=1) > BY_VALUES_MAX_SHARE * size
        if np.count_nonzero(crowded) > BY_VALUES_GIVE_UP * maps:
            return None
        above[crowded] = False
        idx = np.flatnonzero(above)
    owners = idx // size
    key, check = _keys(xf.reshape(-1)[idx], owners)
    crowded[_tied_maps(key, check, owners)] = True
    if np.count_nonzero(crowded) > BY_VALUES_GIVE_UP * maps:
        return None
    if crowded.any():
        keep = ~crowded[owners]
        idx, key = idx[keep], key[keep]
        check = (key,) if len(check) == 1 else tuple(c[keep] for c in check)
    # runs of equal maxima in each map's flat y (a group may take several runs)
    per = yf.shape[1]
    yb = yf.reshape(-1)
    new = np.empty(yb.size, dtype=bool)
    np.not_equal(yb[1:], yb[:-1], out=new[1:])
    new[::per] = True
    starts = np.flatnonzero(new)
    sums = np.add.reduceat(dy.reshape(-1), starts)
    label = _match_runs((key, check), _keys(yb[starts], starts // per))
    if label is None:
        return None
    hit = label >= 0
    if not hit.all():
        label, sums = label[hit], sums[hit]
    dx = np.zeros(x.shape, dtype=x.dtype)
    dx.reshape(-1)[idx] = np.bincount(label, weights=sums, minlength=idx.size)
    rest = np.flatnonzero(crowded)
    if rest.size:
        inner = x.shape[2:]
        part = dense(x.reshape((maps, 1) + inner)[rest], yf[rest].reshape((-1, 1) + y.shape[2:]),
                     dy.reshape((maps, 1) + dy.shape[2:])[rest])
        dx.reshape((maps, 1) + inner)[rest] = part
    return dx
