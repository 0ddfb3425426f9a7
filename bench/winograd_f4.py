"""Prototype (measurement only, not a shipped route): Winograd F(4x4, 3x3) forward in NumPy,
checked against the direct conv and timed PAIRED against the shipped F(2x2, 3x3) kernel
(:func:`minipaddle.kernels.winograd.winograd_forward`) in one process on one BLAS thread.

    PYTHONPATH=. .venv/bin/python bench/winograd_f4.py [--pairs 9] [--backward]

F(4x4, 3x3): 4x4 output tiles read 6x6 input tiles at stride 4; ``Y = A^T [U (.) V] A`` with
``U = G g G^T`` (36 cells per filter pair) and ``V = B^T d B`` (36 cells per tile): 36 batched
GEMMs (F x C) @ (C x tiles) instead of F(2x2)'s 16 on 4x as many tiles, so the transformed
arrays are 36/64 = 0.56 of F(2x2)'s. Lavin & Gray's matrices, points 0, +-1, +-2, inf.

Layout: the tiles are gathered by one strided copy of the zero-padded NCHW image into
D (6, 6, C, N, th, tw) (cell-major, tiles (n, th, tw) innermost); the separable transforms
are two small GEMMs each (B^T (6x6) over the leading axis, then batched over it for the
second axis), the 36 cell GEMMs one np.matmul, the output transform two GEMMs with A^T and
one strided copy into the (N, F, H, W) output. Scratch buffers are allocated once (as the
runtime's workspace arenas are). :class:`F4B` holds the batch innermost instead (as the
shipped F(2x2) kernel does): the tile gather then copies runs of N values, not of 4; it is
the faster one (the NCHW one's gather alone is 2.1-3.3 ms per batch of 64).

Tried and dropped (paired against F4B, 9 rounds, 1 thread): the W-axis transform fused with
the W gather as one GEMM with a banded (6*tw, W) matrix on a (W, C, Hp, N) image, 1.01-1.05x;
the input and output transforms as one GEMM each with kron(B^T, B^T) (36x36) and
kron(A^T, A^T) (16x36) instead of two 6-wide passes: 1.0-1.26x for the input, equal for the
output. Chunks of 11-16 samples are best for 32x16x16 (2-8 samples: the transposing copies
slow down, 0.81-0.96 of F(2x2)), 16-32 for 64x8x8.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from minipaddle.kernels import conv as K
from minipaddle.kernels import winograd as WG

BT = np.array([[4, 0, -5, 0, 1, 0],
               [0, -4, -4, 1, 1, 0],
               [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0],
               [0, 2, -1, -2, 1, 0],
               [0, 4, 0, -5, 0, 1]], dtype=np.float64)
G = np.array([[1 / 4, 0, 0],
              [-1 / 6, -1 / 6, -1 / 6],
              [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6],
              [1 / 24, -1 / 12, 1 / 6],
              [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 1, 1, 0],
               [0, 1, -1, 2, -2, 0],
               [0, 1, 1, 4, 4, 0],
               [0, 1, -1, 8, -8, 1]], dtype=np.float64)


def f4_weight(w):
    """U = G g G^T as (36, F, C) (computed in float64, stored in w.dtype)."""
    f, c = w.shape[:2]
    g2 = np.kron(G, G)                                       # (36, 9)
    return (g2 @ w.reshape(f * c, 9).T.astype(np.float64)).reshape(36, f, c).astype(w.dtype)


def _record(phases, t0, t1, t2, t3, t4, t5):
    """Append each phase's seconds to ``phases`` (a dict of lists), when given."""
    if phases is not None:
        for name, dt in (("gather", t1 - t0), ("in-transform", t2 - t1), ("GEMMs", t3 - t2),
                         ("out-transform", t4 - t3), ("NCHW write", t5 - t4)):
            phases.setdefault(name, []).append(dt)


class F4:
    """F(4x4, 3x3) forward for one input shape (N, C, H, W), F filters, pad 1; holds the
    scratch buffers. ``phases``: optional dict phase -> list of seconds (per-phase timing)."""

    def __init__(self, n, c, h, w, f, dtype=np.float32):
        self.n, self.c, self.h, self.w, self.f = n, c, h, w, f
        self.th, self.tw = -(-h // 4), -(-w // 4)
        self.hp, self.wp = 4 * self.th + 2, 4 * self.tw + 2
        p = n * self.th * self.tw
        self.p = p
        self.bt = BT.astype(dtype)
        self.at = AT.astype(dtype)
        self.pad = np.zeros((n, c, self.hp, self.wp), dtype)   # border stays zero
        self.d = np.empty((6, 6, c, n, self.th, self.tw), dtype)
        self.d1 = np.empty((6, 6 * c * p), dtype)
        self.v = np.empty((6, 6, c * p), dtype)
        self.m = np.empty((36, f, p), dtype)
        self.y1 = np.empty((4, 6 * f * p), dtype)
        self.y = np.empty((4, 4, f * p), dtype)
        self.ycrop = None if (h % 4 == 0 and w % 4 == 0) else \
            np.empty((n, f, 4 * self.th, 4 * self.tw), dtype)

    def _transform_and_multiply(self, u):
        """2. V = B^T d B: rows (one GEMM), then columns (batched over the row cell); 3. the
        36 cell GEMMs; 4. Y = A^T M A. Returns the clock after each."""
        c, f, p = self.c, self.f, self.p
        np.matmul(self.bt, self.d.reshape(6, -1), out=self.d1)
        np.matmul(self.bt, self.d1.reshape(6, 6, c * p), out=self.v)
        t2 = time.perf_counter()
        np.matmul(u, self.v.reshape(36, c, p), out=self.m)
        t3 = time.perf_counter()
        np.matmul(self.at, self.m.reshape(6, 6 * f * p), out=self.y1)
        np.matmul(self.at, self.y1.reshape(4, 6, f * p), out=self.y)
        return t2, t3, time.perf_counter()

    def forward(self, x, u, out, phases=None):
        n, c, th, tw, f = self.n, self.c, self.th, self.tw, self.f
        clock = time.perf_counter
        t0 = clock()
        # 1. pad (NCHW) and gather the 6x6 tiles at stride 4, cell-major
        self.pad[:, :, 1:1 + self.h, 1:1 + self.w] = x
        s = self.pad.strides
        view = np.lib.stride_tricks.as_strided(
            self.pad, shape=(6, 6, c, n, th, tw),
            strides=(s[2], s[3], s[1], s[0], 4 * s[2], 4 * s[3]))
        np.copyto(self.d, view)
        t1 = clock()
        t2, t3, t4 = self._transform_and_multiply(u)   # 2.-4.
        target = out if self.ycrop is None else self.ycrop
        tv = target.reshape(n, f, th, 4, tw, 4).transpose(3, 5, 1, 0, 2, 4)
        np.copyto(tv, self.y.reshape(4, 4, f, n, th, tw))
        if self.ycrop is not None:
            out[...] = self.ycrop[:, :, :self.h, :self.w]
        t5 = clock()
        _record(phases, t0, t1, t2, t3, t4, t5)
        return out


class F4B(F4):
    """The same with the batch innermost (as the shipped F(2x2) kernel): the padding copy
    transposes the image to (C, Hp, Wp, N), so the tile gather copies runs of N values (not
    of 4); V is (36, C, th, tw, N), the output Y (4, 4, F, th, tw, N) is copied into a
    (F, H, W, N) stage and that is transposed into NCHW a block of filters at a time."""

    def __init__(self, n, c, h, w, f, dtype=np.float32):
        super().__init__(n, c, h, w, f, dtype)
        self.pad = np.zeros((c, self.hp, self.wp, n), dtype)
        self.d = np.empty((6, 6, c, self.th, self.tw, n), dtype)
        self.stage = np.empty((f, 4 * self.th, 4 * self.tw, n), dtype)
        self.block = max(1, (128 * 1024) // max(1, self.stage[0].nbytes))
        # samples 4 KB-multiples apart all fall in one L1 set in the transposing copy: restage
        # them 16 values further apart first (as the shipped kernel's _unaliased does): the
        # padding copy of 64x32x16x16 1.73 -> 0.34 ms, of 32x64x8x8 0.29 -> 0.08 ms
        size = c * h * w
        self.unalias = None
        if n >= 16 and (size * np.dtype(dtype).itemsize) % 4096 == 0:
            self.unalias = np.empty((n, size + 16), dtype)[:, :size].reshape(n, c, h, w)

    def forward(self, x, u, out, phases=None):
        n, c, th, tw, f = self.n, self.c, self.th, self.tw, self.f
        clock = time.perf_counter
        t0 = clock()
        if self.unalias is not None:
            self.unalias[...] = x
            x = self.unalias
        self.pad[:, 1:1 + self.h, 1:1 + self.w, :] = x.transpose(1, 2, 3, 0)
        s = self.pad.strides
        view = np.lib.stride_tricks.as_strided(
            self.pad, shape=(6, 6, c, th, tw, n),
            strides=(s[1], s[2], s[0], 4 * s[1], 4 * s[2], s[3]))
        np.copyto(self.d, view)
        t1 = clock()
        t2, t3, t4 = self._transform_and_multiply(u)
        sv = self.stage.reshape(f, th, 4, tw, 4, n).transpose(2, 4, 0, 1, 3, 5)
        np.copyto(sv, self.y.reshape(4, 4, f, th, tw, n))
        h, w = self.h, self.w
        for f0 in range(0, f, self.block):
            out[:, f0:f0 + self.block].transpose(1, 2, 3, 0)[...] = \
                self.stage[f0:f0 + self.block, :h, :w]
        t5 = clock()
        _record(phases, t0, t1, t2, t3, t4, t5)
        return out


class B4:
    """ROUGH F(4x4) backward (``--backward``), batch innermost, for the judgement only: dM =
    A dY A^T (two 6x4 GEMM passes), dU = dM V^T and dV = U^T dM (36 GEMMs each, V kept by
    the forward), B dV B^T (two GEMM passes), the overlap-add of the 6x6 tiles at stride 4
    (one strided copy and two adds per axis) and the NCHW write. H and W multiples of 4."""
    def __init__(self, n, c, h, w, f, dtype=np.float32):
        self.fw = F4B(n, c, h, w, f, dtype)
        k = self.fw; self.k = k
        th, tw, p = k.th, k.tw, k.p
        self.a = np.ascontiguousarray(AT.T).astype(dtype); self.b = np.ascontiguousarray(BT.T).astype(dtype)
        self.g2 = np.kron(G, G).astype(dtype)
        self.yg = np.empty((4, 4, f, th, tw, n), dtype)
        self.dm1 = np.empty((6, 4 * f * p), dtype); self.dm = np.empty((6, 6, f * p), dtype)
        self.dv = np.empty((36, c, p), dtype)
        self.dd1 = np.empty((6, 6 * c * p), dtype); self.dd = np.empty((6, 6, c * p), dtype)
        self.rows = np.empty((6, c, th, k.wp, n), dtype)
        self.img = np.empty((c, k.hp, k.wp, n), dtype)
        self.stage = np.empty((f, 4 * th, 4 * tw, n), dtype)
        self.un = np.empty((n, f * h * w + 16), dtype)[:, :f * h * w].reshape(n, f, h, w)
    def backward(self, dy, u, v, dx, ph=None):
        k = self.k; n, c, th, tw, f, p = k.n, k.c, k.th, k.tw, k.f, k.p
        h, w = k.h, k.w
        clock = time.perf_counter; t0 = clock()
        if n >= 16: self.un[...] = dy; dy = self.un
        self.stage[:, :h, :w, :] = dy.transpose(1, 2, 3, 0)   # (assumes h, w multiples of 4)
        np.copyto(self.yg, self.stage.reshape(f, th, 4, tw, 4, n).transpose(2, 4, 0, 1, 3, 5))
        np.matmul(self.a, self.yg.reshape(4, -1), out=self.dm1)
        np.matmul(self.a, self.dm1.reshape(6, 4, f * p), out=self.dm)
        t1 = clock()
        dmm = self.dm.reshape(36, f, p)
        du = np.matmul(dmm, v.reshape(36, c, p).swapaxes(1, 2))
        np.matmul(u.transpose(0, 2, 1), dmm, out=self.dv)
        t2 = clock()
        np.matmul(self.b, self.dv.reshape(6, -1), out=self.dd1)
        np.matmul(self.b, self.dd1.reshape(6, 6, c * p), out=self.dd)
        t3 = clock()
        dd = self.dd.reshape(6, 6, c, th, tw, n)
        R = self.rows
        R[..., 4 * tw:, :] = 0
        np.copyto(R[..., :4 * tw, :].reshape(6, c, th, tw, 4, n), dd[:, :4].transpose(0, 2, 3, 4, 1, 5))
        for b in (4, 5): R[:, :, :, b:b + 4 * tw:4, :] += dd[:, b]
        I = self.img
        I[:, 4 * th:] = 0
        np.copyto(I[:, :4 * th].reshape(c, th, 4, k.wp, n), R[:4].transpose(1, 2, 0, 3, 4))
        for a in (4, 5): I[:, a:a + 4 * th:4] += R[a]
        t4 = clock()
        dx.transpose(1, 2, 3, 0)[...] = I[:, 1:1 + h, 1:1 + w]
        t5 = clock()
        if ph is not None:
            for name, dt in (("dY gather+A-adjoint", t1 - t0), ("GEMMs dU,dV", t2 - t1),
                             ("B-adjoint", t3 - t2), ("overlap-add", t4 - t3), ("NCHW write", t5 - t4)):
                ph.setdefault(name, []).append(dt)
        return du


def f2_phases(x, u, ws, out, phases):
    """The shipped F(2x2) forward step by step (its private helpers, in the order
    winograd_forward calls them), timing each."""
    clock = time.perf_counter
    t0 = clock()
    plan = WG._check(x, (1, 1))
    f = u.shape[1]
    img = WG._deinterleave(x, plan, np, ws, "wino_img", plan.c)
    t1 = clock()
    v = WG._input_transform(img, plan, np, ws, plan.c, "wino_v")
    t2 = clock()
    m = WG._cells(u, v, plan, f, np, ws, "wino_m")
    t3 = clock()
    WG._output_transform(m, plan, out, np, ws)
    t4 = clock()
    for name, dt in (("gather", t1 - t0), ("in-transform", t2 - t1), ("GEMMs", t3 - t2),
                     ("out-transform+write", t4 - t3)):
        phases.setdefault(name, []).append(dt)


def make_ws():
    arenas = {}

    def ws(tag, shape, dtype):
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        a = arenas.get(tag)
        if a is None or a.size < nbytes:
            a = arenas[tag] = np.empty(max(nbytes, 64), np.uint8)
        return a[:nbytes].view(dtype).reshape(shape)
    return ws


def check(shapes, rng):
    print("check against minipaddle.kernels.conv.conv_forward (float64 reference), "
          "max |err| / max |ref|:")
    for (n, c, h, w), f in shapes + [((3, 5, 7, 10), 6)]:
        x = rng.standard_normal((n, c, h, w))
        wt = rng.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)
        ref = K.conv_forward(x, wt, stride=1, padding=1, dilation=1, groups=1)
        scale = np.abs(ref).max()
        res = {}
        for dt in (np.float32, np.float64):
            xd, wd = x.astype(dt), wt.astype(dt)
            y4 = F4(n, c, h, w, f, dt).forward(xd, f4_weight(wd), np.empty(ref.shape, dt))
            y4b = F4B(n, c, h, w, f, dt).forward(xd, f4_weight(wd), np.empty(ref.shape, dt))
            y2 = WG.winograd_forward(xd, WG.winograd_weight(wd), padding=(1, 1))
            yd = K.conv_forward(xd, wd, stride=1, padding=1, dilation=1, groups=1)
            res[dt] = [np.abs(y.astype(np.float64) - ref).max() / scale
                       for y in (y4, y4b, y2, yd)]
        print(f"  x {(n, c, h, w)} F={f}: F(4x4) f32 {res[np.float32][0]:.2e} "
              f"(batch-inner {res[np.float32][1]:.2e}) f64 {res[np.float64][0]:.2e} | "
              f"F(2x2) f32 {res[np.float32][2]:.2e} | direct f32 {res[np.float32][3]:.2e}")
        assert max(res[np.float32][:2]) < 1e-4 and max(res[np.float64][:2]) < 1e-12


def chunks(n, size):
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def bench(shape, f, chunk, pairs, rng):
    """Interleaved rounds of F(2x2) and the two F(4x4) variants (order rotated every round,
    an untimed warm-up call before each timed one); returns per side the median ms and the
    ratios to F(2x2) of the same round, and the per-phase medians."""
    n, c, h, w = shape
    x = rng.standard_normal(shape).astype(np.float32)
    wt = (rng.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    u2, u4 = WG.winograd_weight(wt), f4_weight(wt)
    outs = {k: np.empty((n, f, h, w), np.float32) for k in ("F2", "F4", "F4B")}
    parts = chunks(n, chunk)
    ws = make_ws()
    kernels = {"F4": {}, "F4B": {}}
    for part in parts:
        size = part.stop - part.start
        for name, cls in (("F4", F4), ("F4B", F4B)):
            kernels[name].setdefault(size, cls(size, c, h, w, f))

    def old(phases=None):
        for part in parts:
            if phases is None:
                WG.winograd_forward(x[part], u2, padding=(1, 1), out=outs["F2"][part], ws=ws)
            else:
                f2_phases(x[part], u2, ws, outs["F2"][part], phases)

    def side(name):
        def run(phases=None):
            for part in parts:
                kernels[name][part.stop - part.start].forward(x[part], u4, outs[name][part],
                                                              phases)
        return run

    sides = [("F2", old), ("F4", side("F4")), ("F4B", side("F4B"))]
    times = {k: [] for k, _ in sides}
    for r in range(pairs):
        for name, fn in sides[r % 3:] + sides[:r % 3]:
            fn()                                   # untimed warm-up
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    for k in ("F4", "F4B"):
        assert np.allclose(outs["F2"], outs[k], rtol=1e-3, atol=1e-3)
    phases = {k: {} for k, _ in sides}
    for r in range(pairs):
        for name, fn in sides:
            fn(phases[name])
    per_round = len(parts)

    def phase_ms(ph):
        # sum over the chunks of one round, median over rounds
        return {k: 1e3 * statistics.median(
            sum(v[i * per_round:(i + 1) * per_round]) for i in range(pairs))
            for k, v in ph.items()}
    result = {}
    for k, _ in sides:
        ratios = [a / b for a, b in zip(times[k], times["F2"])]
        result[k] = (1e3 * statistics.median(times[k]), statistics.median(ratios),
                     min(ratios), max(ratios), phase_ms(phases[k]))
    return result


def backward_check_and_bench(pairs):
    """``--backward``: B4's check (float64, against conv_backward) and its paired timing
    against the shipped F(2x2) backward (kept V, cells=True, as the runtime calls it)."""
    rng = np.random.default_rng(3)
    # float64 check against the direct conv_backward
    for (n, c, h, w), f in [((5, 6, 8, 12), 7)]:
        x = rng.standard_normal((n, c, h, w)); wt = rng.standard_normal((f, c, 3, 3)); dy = rng.standard_normal((n, f, h, w))
        dxr, dwr = K.conv_backward(x, wt, dy, stride=1, padding=1, dilation=1, groups=1)[:2]
        bk = B4(n, c, h, w, f, np.float64); u = f4_weight(wt)
        bk.fw.forward(x, u, np.empty((n, f, h, w)))
        dx = np.empty_like(x); du = bk.backward(dy, u, bk.fw.v, dx)
        dw = (du.reshape(36, f * c).T @ bk.g2).reshape(f, c, 3, 3)
        print("f64 rel err dx %.1e dw %.1e" % (np.abs(dx - dxr).max() / np.abs(dxr).max(), np.abs(dw - dwr).max() / np.abs(dwr).max()))

    def tm(fn):
        fn(); a = time.perf_counter(); fn(); return time.perf_counter() - a
    with threadpool_limits(1):
        for shape, f, ch in [((64, 32, 16, 16), 32, 11), ((64, 32, 16, 16), 32, 64), ((64, 64, 8, 8), 64, 32)]:
            N, c, h, w = shape
            x = rng.standard_normal(shape).astype(np.float32); wt = (rng.standard_normal((f, c, 3, 3)) / 10).astype(np.float32)
            dy = rng.standard_normal((N, f, h, w)).astype(np.float32)
            parts = chunks(N, ch)
            u2 = WG.winograd_weight(wt); u4 = f4_weight(wt)
            ws = make_ws()
            keep2 = [np.empty(WG.winograd_input_shape(x[pt].shape, (1, 1)), np.float32) for pt in parts]
            for i, pt in enumerate(parts):
                WG.winograd_forward(x[pt], u2, padding=(1, 1), keep=keep2[i], ws=ws)
            bks = [B4(pt.stop - pt.start, c, h, w, f) for pt in parts]
            y = np.empty((N, f, h, w), np.float32)
            for bk, pt in zip(bks, parts): bk.fw.forward(x[pt], u4, y[pt])
            dx2 = np.empty_like(x); dx4 = np.empty_like(x)
            def old():
                dus = [WG.winograd_backward(x[pt], u2, dy[pt], padding=(1, 1), cells=True, kept=keep2[i], dx_out=dx2[pt], ws=ws)[1] for i, pt in enumerate(parts)]
                return sum(dus)
            def new(ph=None):
                dus = [bk.backward(dy[pt], u4, bk.fw.v, dx4[pt], ph) for bk, pt in zip(bks, parts)]
                return sum(dus)
            rs = []; to = []; tn = []
            for r in range(pairs):
                if r % 2: b = tm(new); a = tm(old)
                else: a = tm(old); b = tm(new)
                to.append(a); tn.append(b); rs.append(b / a)
            assert np.allclose(dx2, dx4, rtol=1e-3, atol=1e-3 * np.abs(dx2).max())
            ph = {}
            for r in range(pairs): new(ph)
            nc = len(parts)
            pm = {k: round(1e3 * statistics.median(sum(v[i * nc:(i + 1) * nc]) for i in range(pairs)), 2) for k, v in ph.items()}
            print(shape, "chunk", ch, "F2 bwd %.2f F4 bwd %.2f ms, ratio %.3f [%.3f, %.3f]" % (1e3 * statistics.median(to), 1e3 * statistics.median(tn), statistics.median(rs), min(rs), max(rs)), pm, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--backward", action="store_true",
                    help="also the rough F(4x4) backward prototype's check and paired timing")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    shapes = [((64, 32, 16, 16), 32), ((64, 64, 8, 8), 64)]
    check(shapes, rng)
    # chunk sizes: the whole batch, and the runtime's chunks on 2 threads (batch_slices with
    # winograd_chunk_values: 16 MB chunks -> 6 chunks of 10-11 for stage 2, 2 of 32 for 3)
    runs = [((64, 32, 16, 16), 32, 64), ((64, 32, 16, 16), 32, 11),
            ((64, 64, 8, 8), 64, 64), ((64, 64, 8, 8), 64, 32)]
    print(f"\npaired, 1 BLAS thread, {args.pairs} interleaved rounds (warm-up before each "
          "call), ms for the whole batch of 64; ratio = F(4x4) / F(2x2) of the same round")
    print(f"{'x -> F':24} {'chunk':>5} {'F2x2':>6} {'F4 nchw':>8} {'ratio [range]':>22} "
          f"{'F4 b-inner':>10} {'ratio [range]':>22}")
    phases = []
    with threadpool_limits(limits=1):
        for shape, f, chunk in runs:
            res = bench(shape, f, chunk, args.pairs, rng)
            line = f"{str(shape) + ' -> ' + str(f):24} {chunk:5d} {res['F2'][0]:6.2f}"
            for k in ("F4", "F4B"):
                ms, med, lo, hi, _ = res[k]
                line += f" {ms:8.2f} {med:7.3f} [{lo:.3f}, {hi:.3f}]"
            print(line, flush=True)
            phases.append((shape, chunk, res))
    print("\nper-phase medians, ms per batch of 64 (separate rounds after the paired ones):")
    for shape, chunk, res in phases:
        print(f"  {shape} chunk {chunk}:")
        for k, label in (("F2", "F(2x2)      "), ("F4", "F(4x4) nchw "),
                         ("F4B", "F(4x4) b-inn")):
            ph = res[k][4]
            print(f"    {label}: " + ", ".join(f"{a} {v:.2f}" for a, v in ph.items())
                  + f" (sum {sum(ph.values()):.2f})")
    if args.backward:
        print("\nrough F(4x4) backward prototype (B4), paired against F(2x2)'s backward, ms per "
              "batch of 64, 1 thread:")
        backward_check_and_bench(args.pairs)


if __name__ == "__main__":
    main()
