"""Prototype (measurement only, not a shipped route): Winograd F(4x4, 3x3) forward in NumPy,
checked against the direct conv and timed PAIRED against the shipped F(2x2, 3x3) kernel
(:func:`minipaddle.kernels.winograd.winograd_forward`) in one process on one BLAS thread.

    PYTHONPATH=. .venv/bin/python bench/winograd_f4.py [--pairs 9]

F(4x4, 3x3): 4x4 output tiles read 6x6 input tiles at stride 4; ``Y = A^T [U (.) V] A`` with
``U = G g G^T`` (36 cells per filter pair) and ``V = B^T d B`` (36 cells per tile): 36 batched
GEMMs (F x C) @ (C x tiles) instead of F(2x2)'s 16 on 4x as many tiles, so the transformed
arrays are 36/64 = 0.56 of F(2x2)'s. Lavin & Gray's matrices, points 0, +-1, +-2, inf.

Layout: the tiles are gathered by one strided copy of the zero-padded NCHW image into
D (6, 6, C, N, th, tw) (cell-major, tiles (n, th, tw) innermost); the separable transforms
are two small GEMMs each (B^T (6x6) over the leading axis, then batched over it for the
second axis), the 36 cell GEMMs one np.matmul, the output transform two GEMMs with A^T and
one strided copy into the (N, F, H, W) output. Scratch buffers are allocated once (as the
runtime's workspace arenas are).
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

    def forward(self, x, u, out, phases=None):
        n, c, th, tw, f, p = self.n, self.c, self.th, self.tw, self.f, self.p
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
        # 2. V = B^T d B: rows (one GEMM), then columns (batched over the row cell)
        np.matmul(self.bt, self.d.reshape(6, -1), out=self.d1)
        np.matmul(self.bt, self.d1.reshape(6, 6, c * p), out=self.v)
        t2 = clock()
        # 3. the 36 cell GEMMs
        np.matmul(u, self.v.reshape(36, c, p), out=self.m)
        t3 = clock()
        # 4. Y = A^T M A, then the NCHW write
        np.matmul(self.at, self.m.reshape(6, 6 * f * p), out=self.y1)
        np.matmul(self.at, self.y1.reshape(4, 6, f * p), out=self.y)
        t4 = clock()
        target = out if self.ycrop is None else self.ycrop
        tv = target.reshape(n, f, th, 4, tw, 4).transpose(3, 5, 1, 0, 2, 4)
        np.copyto(tv, self.y.reshape(4, 4, f, n, th, tw))
        if self.ycrop is not None:
            out[...] = self.ycrop[:, :, :self.h, :self.w]
        t5 = clock()
        if phases is not None:
            for name, dt in (("gather", t1 - t0), ("in-transform", t2 - t1),
                             ("GEMMs", t3 - t2), ("out-transform", t4 - t3),
                             ("NCHW write", t5 - t4)):
                phases.setdefault(name, []).append(dt)
        return out


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
            y2 = WG.winograd_forward(xd, WG.winograd_weight(wd), padding=(1, 1))
            yd = K.conv_forward(xd, wd, stride=1, padding=1, dilation=1, groups=1)
            res[dt] = [np.abs(y.astype(np.float64) - ref).max() / scale for y in (y4, y2, yd)]
        print(f"  x {(n, c, h, w)} F={f}: F(4x4) f32 {res[np.float32][0]:.2e} "
              f"f64 {res[np.float64][0]:.2e} | F(2x2) f32 {res[np.float32][1]:.2e} | "
              f"direct f32 {res[np.float32][2]:.2e}")
        assert res[np.float32][0] < 1e-4 and res[np.float64][0] < 1e-12


def chunks(n, size):
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def bench(shape, f, chunk, pairs, rng):
    n, c, h, w = shape
    x = rng.standard_normal(shape).astype(np.float32)
    wt = (rng.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    u2, u4 = WG.winograd_weight(wt), f4_weight(wt)
    out2, out4 = np.empty((n, f, h, w), np.float32), np.empty((n, f, h, w), np.float32)
    parts = chunks(n, chunk)
    ws = make_ws()
    f4s = {}
    for part in parts:
        size = part.stop - part.start
        if size not in f4s:
            f4s[size] = F4(size, c, h, w, f)

    def old():
        for part in parts:
            WG.winograd_forward(x[part], u2, padding=(1, 1), out=out2[part], ws=ws)

    def new():
        for part in parts:
            f4s[part.stop - part.start].forward(x[part], u4, out4[part])

    times = {"old": [], "new": []}
    sides = [("old", old), ("new", new)]
    for r in range(pairs):
        for name, fn in (sides if r % 2 == 0 else sides[::-1]):
            fn()                                   # untimed warm-up
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    assert np.allclose(out2, out4, rtol=1e-3, atol=1e-3)
    ratios = [a / b for a, b in zip(times["new"], times["old"])]
    # per-phase medians (separate interleaved rounds)
    ph2, ph4 = {}, {}
    for r in range(pairs):
        for part in parts:
            f2_phases(x[part], u2, ws, out2[part], ph2)
        for part in parts:
            f4s[part.stop - part.start].forward(x[part], u4, out4[part], ph4)
    per_round = len(parts)

    def phase_ms(ph):
        # sum over the chunks of one round, median over rounds
        return {k: 1e3 * statistics.median(
            sum(v[i * per_round:(i + 1) * per_round]) for i in range(pairs))
            for k, v in ph.items()}
    return (1e3 * statistics.median(times["old"]), 1e3 * statistics.median(times["new"]),
            statistics.median(ratios), min(ratios), max(ratios), phase_ms(ph2),
            phase_ms(ph4))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=9)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    shapes = [((64, 32, 16, 16), 32), ((64, 64, 8, 8), 64)]
    check(shapes, rng)
    # chunk sizes: the whole batch, and the runtime's chunks on 2 threads (batch_slices with
    # winograd_chunk_values: 16 MB chunks -> 6 chunks of 10-11 for stage 2, 2 of 32 for 3)
    runs = [((64, 32, 16, 16), 32, 64), ((64, 32, 16, 16), 32, 11),
            ((64, 64, 8, 8), 64, 64), ((64, 64, 8, 8), 64, 32)]
    print(f"\npaired, 1 BLAS thread, {args.pairs} interleaved pairs (warm-up before each); "
          "ms for the whole batch of 64")
    print(f"{'x -> F':24} {'chunk':>5} {'F2x2 ms':>8} {'F4x4 ms':>8} "
          f"{'F4/F2 median [range]':>24}")
    phases = []
    with threadpool_limits(limits=1):
        for shape, f, chunk in runs:
            o, nw, med, lo, hi, p2, p4 = bench(shape, f, chunk, args.pairs, rng)
            print(f"{str(shape) + ' -> ' + str(f):24} {chunk:5d} {o:8.2f} {nw:8.2f} "
                  f"{med:10.3f} [{lo:.3f}, {hi:.3f}]", flush=True)
            phases.append((shape, chunk, p2, p4))
    print("\nper-phase medians, ms per batch of 64 (separate rounds, not paired):")
    for shape, chunk, p2, p4 in phases:
        print(f"  {shape} chunk {chunk}:")
        print("    F(2x2): " + ", ".join(f"{k} {v:.2f}" for k, v in p2.items())
              + f" (sum {sum(p2.values()):.2f})")
        print("    F(4x4): " + ", ".join(f"{k} {v:.2f}" for k, v in p4.items())
              + f" (sum {sum(p4.values()):.2f})")


if __name__ == "__main__":
    main()
