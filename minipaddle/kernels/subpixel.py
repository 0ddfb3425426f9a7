"""A strided conv's data gradient (so also a transposed conv's forward) as ONE GEMM for all
image phases ("depth-to-space"): the route :func:`minipaddle.kernels.conv._data_grad_method`
calls "phases".

Along one axis, the image cells ``i = q*s + r - p`` of phase ``r`` (``r < s``) get
``sum over taps t with t*d = r (mod s)`` of ``w[t] * d[q - (t*d - r)/s]``: a stride-1
correlation of the output side ``d`` with the phase's taps. Every phase reads a short run of
consecutive cells of the zero-padded ``d`` for each of its outputs, so one window of ``E``
cells slid over a grid of ``J`` positions covers all phases at once (per phase, a fixed shift
of the grid). With the weight rearranged to ``(phases * C/G, F/G * E)`` (zero where a phase
has no tap at a window offset), one im2col of ``d`` with that small stride-1 window and one
GEMM (K = F/G * E per axis product) give every phase of every channel; each phase is then
copied into its strided place in ``dx``. A 4x4 stride-2 transposed conv becomes one GEMM with
a 2x2 window (K = 4 F/G) and 4 (phases) * C/G rows, instead of 16 GEMMs with K = F/G, their
15 accumulating adds, or col2im's 16 strided adds.

Kernel conventions as in :mod:`minipaddle.kernels.conv` (weight ``(F, C/G, *filter)`` of
the conv d (N, F, *out) <- x (N, C, *image), any number of spatial axes, ``ws`` scratch
buffers, ``xp`` the array module). Self-contained: conv.py imports this module.
"""

from functools import lru_cache
from itertools import product
from math import prod

import numpy as np

#: bytes of columns one block of samples copies and multiplies (cache-sized, as the "batch"
#: layout's BLOCK_BYTES in conv.py)
BLOCK_BYTES = 2 * 1024 * 1024


def _buffer(ws, xp, tag, shape, dtype):
    return xp.empty(shape, dtype=dtype) if ws is None else ws(tag, shape, dtype)


def axis_phases(size, k, s, p, d):
    """The phases of one image axis (``size`` cells) in a strided conv's data gradient
    (filter ``k``, stride ``s``, padding ``p``, dilation ``d``): image cell ``i`` gets ``d[o] *
    w[t]`` for ``i = o*s - p + t*d``, so the cells ``i = q*s + r - p`` of phase ``r`` see only
    the taps with ``t*d = r (mod s)``, at ``o = q - (t*d - r)/s``. Returns per phase with
    cells ``(r, dest, q_lo, q_hi, taps)``: the image slice it fills, its first and last ``q``,
    and its taps in increasing order (empty: the phase gets nothing)."""
    phases = []
    for r in range(s):
        q_lo, q_hi = -((r - p) // s), (size - 1 + p - r) // s
        if q_hi < q_lo:
            continue
        first = q_lo * s + r - p
        dest = slice(first, first + (q_hi - q_lo) * s + 1, s)
        phases.append((r, dest, q_lo, q_hi, [t for t in range(k) if (t * d) % s == r]))
    return phases


def _axis_plan(size, k, o, s, p, d):
    """One spatial axis of the image side (``size`` cells) of a conv with filter ``k``,
    output ``o``, stride ``s``, padding ``p``, dilation ``d``. Returns ``(lo, hi, base, E, J,
    phases)``: ``d`` padded by ``lo`` before and ``hi`` after; the columns read cell
    ``base + e + j`` of the padded ``d`` at window offset ``e < E`` and grid position
    ``j < J``; per phase ``(dest, first, count, taps)``: the image slice it fills, the grid
    positions ``first:first+count`` it reads, and its ``(offset e, tap t)`` pairs (no taps:
    the phase is zero)."""
    # (dest, count, [(a, t)]) with a = q_lo - m_t
    raw = [(dest, q_hi - q_lo + 1, [(q_lo - (t * d - r) // s, t) for t in taps])
           for r, dest, q_lo, q_hi, taps in axis_phases(size, k, s, p, d)]
    used = [reads for _, _, reads in raw if reads]
    if not used:
        return 0, 0, 0, 1, 1, tuple((dest, 0, count, ()) for dest, count, _ in raw)
    lo = max(0, -min(a for reads in used for a, _ in reads))
    low = min(a for reads in used for a, _ in reads)
    # (A) one grid for every phase: the window spans all phases' reads; (B) each phase's grid
    # shifted to its first read: the window spans one phase's reads, the grid grows
    shifts_a = [0 for _ in raw]
    shifts_b = [min(a for a, _ in reads) - low if reads else 0 for _, _, reads in raw]
    best = None
    for shifts in (shifts_a, shifts_b):
        e = max(a - low - c for (_, _, reads), c in zip(raw, shifts) for a, _ in reads) + 1
        j = max(count + c for (_, count, _), c in zip(raw, shifts))
        if best is None or e * j < best[0] * best[1]:
            best = (e, j, shifts)
    e_size, j_size, shifts = best
    base = low + lo
    hi = max(0, base + e_size + j_size - 1 - (o + lo))
    phases = tuple((dest, c, count, tuple((a - low - c, t) for a, t in reads))
                   for (dest, count, reads), c in zip(raw, shifts))
    return lo, hi, base, e_size, j_size, phases


@lru_cache(maxsize=256)
def phase_plan(image, filt, out, stride, padding, dilation):
    """Per spatial axis :func:`_axis_plan`, as a tuple."""
    return tuple(_axis_plan(*a) for a in zip(image, filt, out, stride, padding, dilation))


@lru_cache(maxsize=256)
def _selections(image, filt, out, stride, padding, dilation):
    """``(index, used)``: per used phase combination and window offset (all axes, slowest
    first: shape (P..., E...)), the flat filter tap that feeds it (``prod(filter)``: none, a
    zero); and per axis the indices of the phases that have taps."""
    plan = phase_plan(image, filt, out, stride, padding, dilation)
    used = tuple(tuple(i for i, ph in enumerate(a[5]) if ph[3]) for a in plan)
    taps = int(np.prod(filt))
    index = np.full(tuple(len(u) for u in used) + tuple(a[3] for a in plan), taps,
                    dtype=np.intp)
    for combo in product(*[[a[5][i] for i in u] for a, u in zip(plan, used)]):
        pos = tuple(used[a].index(plan[a][5].index(ph)) for a, ph in enumerate(combo))
        for reads in product(*[ph[3] for ph in combo]):
            offsets = tuple(e for e, _ in reads)
            index[pos + offsets] = np.ravel_multi_index(tuple(t for _, t in reads), filt)
    return index, used


def phase_weight(w, geo, xp):
    """``w`` (F, C/G, *filter) as the one GEMM's weight (G, P * C/G, F/G * prod(E)): rows
    (used phases per axis, slowest axis first, then C/G), columns (F/G, window offsets)."""
    g, fg, cg = geo.g, geo.f // geo.g, geo.c // geo.g
    index, _ = _selections(geo.image, geo.filter, geo.out, geo.stride, geo.padding,
                           geo.dilation)
    taps = int(np.prod(geo.filter))
    flat = xp.zeros((g, fg, cg, taps + 1), dtype=w.dtype)      # the last tap: zero
    flat[..., :taps] = w.reshape(g, fg, cg, taps)
    phases = int(np.prod(index.shape[:geo.rank]))
    wins = index.size // phases
    wu = flat[..., xp.asarray(index.reshape(phases, wins))]     # (G, F/G, C/G, P, E)
    return xp.ascontiguousarray(wu.transpose(0, 3, 2, 1, 4)).reshape(g, phases * cg, -1)


@lru_cache(maxsize=256)
def _copies(image, filt, out, stride, padding, dilation):
    """The index tuples :func:`phases_data_grad` copies with, worked out once per geometry
    (a block's Python overhead is a few microseconds a call): ``(zeros, columns, blanks,
    phases)``: the image slices of phases without taps; per window offset the (columns,
    ``d``) indices of the part of ``d`` it reads; the column indices that read padding
    (zeros); per used phase combination the (result, image) indices. Columns are indexed as
    (m, G, F/G, *E, *J), ``d`` as (m, G, F/G, *out), results as (m, G, *P, C/G, *J), the
    image as (m, G, C/G, *image)."""
    plan = phase_plan(image, filt, out, stride, padding, dilation)
    _, used = _selections(image, filt, out, stride, padding, dilation)
    rank = len(image)
    lead = (slice(None),) * 3
    zeros = tuple(lead + tuple(ph[0] for ph in combo)
                  for combo in product(*[a[5] for a in plan]) if any(not ph[3] for ph in combo))
    lo, base = [a[0] for a in plan], [a[2] for a in plan]
    win, grid = [a[3] for a in plan], [a[4] for a in plan]
    columns, blanks = [], []
    for e in product(*[range(size) for size in win]):
        first = [min(j, max(0, lo_a - b - e_a)) for lo_a, b, e_a, j
                 in zip(lo, base, e, grid)]
        stop = [max(f, min(j, lo_a - b - e_a + o)) for f, lo_a, b, e_a, j, o
                in zip(first, lo, base, e, grid, out)]
        at = lead + e
        columns.append((at + tuple(slice(f, t) for f, t in zip(first, stop)),
                        lead + tuple(slice(b + e_a + f - lo_a, b + e_a + t - lo_a)
                                     for b, e_a, f, t, lo_a in zip(base, e, first, stop, lo))))
        for axis in range(rank):
            before = (slice(None),) * axis
            if first[axis] > 0:
                blanks.append(at + before + (slice(0, first[axis]),))
            if stop[axis] < grid[axis]:
                blanks.append(at + before + (slice(stop[axis], None),))
    phases = []
    for index in product(*[range(len(u)) for u in used]):
        phs = [plan[a][5][used[a][i]] for a, i in enumerate(index)]
        phases.append(((slice(None), slice(None)) + index + (slice(None),)
                       + tuple(slice(ph[1], ph[1] + ph[2]) for ph in phs),
                       lead + tuple(ph[0] for ph in phs)))
    return zeros, tuple(columns), tuple(blanks), tuple(phases)


def phases_data_grad(geo, w, d, dx, xp, ws, bias=None):
    """``dx`` (N, C, *image) = the data gradient of the output side ``d`` (N, F, *out,
    C-contiguous) of the conv ``geo`` with weight ``w``: one im2col + GEMM per block of
    samples for all phases (module docstring), plus ``bias`` (C,) per channel when given
    (added to the GEMM result of each block, before the phases are copied into place).
    Returns ``dx``.

    The columns are written without a padded copy of ``d``: per window offset one copy of
    the part of ``d`` it reads, zeros where it reads padding."""
    key = (geo.image, geo.filter, geo.out, geo.stride, geo.padding, geo.dilation)
    plan = phase_plan(*key)
    _, used = _selections(*key)
    zeros, columns, blanks, phases = _copies(*key)
    g, fg, cg, rank = geo.g, geo.f // geo.g, geo.c // geo.g, geo.rank
    win = tuple(a[3] for a in plan)
    grid = tuple(a[4] for a in plan)
    dxg = dx.reshape((geo.n, g, cg) + geo.image)
    if bias is not None:
        bias = xp.asarray(bias, dtype=dx.dtype).reshape((g, cg) + (1,) * rank)
    for where in zeros:             # phases that no tap reaches: zero (or the bias)
        dxg[where] = 0 if bias is None else bias
    if not phases:
        return dx
    wu = phase_weight(w, geo, xp)
    k = fg * prod(win)
    cells = prod(grid)
    step = max(1, BLOCK_BYTES // (k * cells * d.dtype.itemsize)) if xp is np else geo.n
    count = -(-geo.n // step)
    step = -(-geo.n // count)
    d = d.reshape((geo.n, g, fg) + geo.out)
    for i0 in range(0, geo.n, step):
        i1 = min(geo.n, i0 + step)
        m = i1 - i0
        cols = _buffer(ws, xp, "phase_cols", (m, g, k, cells), d.dtype)
        view, block = cols.reshape((m, g, fg) + win + grid), d[i0:i1]
        for at, src in columns:
            view[at] = block[src]
        for at in blanks:
            view[at] = 0
        res = _buffer(ws, xp, "phase_out", (m, g, wu.shape[1], cells), d.dtype)
        xp.matmul(wu, cols, out=res)
        if bias is not None:
            # added to the GEMM's result in place (contiguous runs of a grid), so that the
            # phases are plain copies: an add into the strided phases took 2.5 times as long
            # as a copy (4x4/2 on 16x16, 64->32)
            res.reshape(m, g, -1, cg, cells)[...] += bias.reshape(g, 1, cg, 1)
        res = res.reshape((m, g) + tuple(len(u) for u in used) + (cg,) + grid)
        target = dxg[i0:i1]
        for src, dest in phases:
            target[dest] = res[src]
    return dx


#: the one-GEMM route runs when its GEMM does at most this many times the multiply-adds of
#: the phases' own taps (the window covers offsets some phases have no tap at, the grid
#: positions some phases do not use): measured single-threaded against the per-tap GEMMs of
#: conv.py's _subpixel_data_grad (median time ratios): 4x4/2 0.89 (1.13 times the
#: multiply-adds), 11x11/4 0.89 (1.20), 3x3/3 0.76 (1.0), 2x2/2 0.94 (1.0); 5x5/2 1.09 (1.44),
#: 3x3/2 1.42 (1.78)
PHASES_MAX_WASTE = 1.3


@lru_cache(maxsize=256)
def phases_waste(image, filt, out, stride, padding, dilation):
    """``(waste, combos, cells)``: the one GEMM's multiply-adds over those of the phases'
    taps (>= 1), the number of phase combinations with taps, and the column values per
    input channel of ``d`` (window offsets times grid positions)."""
    plan = phase_plan(image, filt, out, stride, padding, dilation)
    gemm = need = 1.0
    combos = cells = 1
    for _, _, _, e_size, j_size, phases in plan:
        used = [ph for ph in phases if ph[3]]
        combos *= len(used)
        cells *= e_size * j_size
        gemm *= len(used) * e_size * j_size
        need *= sum(len(ph[3]) * ph[2] for ph in used)
    return (gemm / need if need else float("inf")), combos, cells


def phases_pay(geo):
    """Whether :func:`phases_data_grad` is the route for ``geo``'s data gradient: more than
    one phase combination with taps (one is a single GEMM either way, and the per-tap route
    reads it without columns), at most ``PHASES_MAX_WASTE`` wasted multiply-adds, and a
    sample's columns within a block (float32) or no larger than the conv's own im2col
    columns (what the runtime budgets a conv's workspace for; the route does not split a
    sample into bands)."""
    waste, combos, cells = phases_waste(geo.image, geo.filter, geo.out, geo.stride,
                                        geo.padding, geo.dilation)
    values = geo.f * cells
    return (combos > 1 and waste <= PHASES_MAX_WASTE
            and (values * 4 <= BLOCK_BYTES or values <= geo.c * geo.taps * geo.pixels))
