"""Convolution kernel benchmark: time and achieved GFLOP/s as a share of the machine's matmul.

    python3 bench/kernels.py [--rounds 7] [--cases lenet1,alexnet1]

For each layer, the forward and the forward+backward (data and weight gradients) of
``minipaddle.kernels.conv`` are timed, medians of ``--rounds`` runs, float32, NCHW: once as one
kernel call on the whole batch ("kernel"), once scheduled as the CPU backend runs them in the
network ("backend": batch chunks on two threads, BLAS at one thread per worker). FLOPs per forward are 2 * N * F * Ho * Wo * (C/groups) * kh * kw (dilation not
counted); forward+backward counts three times that. Each rate is divided by the rate of the same
GEMM shape (groups, F/groups, C/groups*kh*kw, N*Ho*Wo) as one float32 batched matmul timed in the
same process, so the ratio survives a noisy shared machine better than absolute times. Run it in a
process that never imported torch (a second OpenMP runtime skews NumPy's BLAS).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from minipaddle.kernels.conv import conv2d_backward, conv2d_forward, conv_output_size
from minipaddle.runtime.backend import CPUBackend

#: name -> (N, C, H, W, F, k, stride, padding, dilation, groups)
CASES = {
    "lenet_conv1": (64, 1, 28, 28, 20, 5, 1, 0, 1, 1),
    "lenet_conv2": (64, 20, 12, 12, 50, 5, 1, 0, 1, 1),
    "conv64_3x3_32": (64, 64, 32, 32, 64, 3, 1, 1, 1, 1),
    "grouped_g4_28": (32, 128, 28, 28, 128, 3, 1, 1, 1, 4),
    "dilated_d2_32": (64, 64, 32, 32, 64, 3, 1, 2, 2, 1),
    "alexnet_conv1": (16, 3, 227, 227, 96, 11, 4, 0, 1, 1),
}


def median_seconds(fn, rounds: int) -> float:
    fn()  # warm up: page in buffers, let BLAS spin up its threads
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, float32, medians of {args.rounds}")
    print(f"{'layer':16s} {'mm GF/s':>8s} | {'kernel: fwd ms':>14s} {'fwd/mm':>7s} {'f+b/mm':>7s}"
          f" | {'backend: fwd ms':>15s} {'fwd/mm':>7s} {'f+b ms':>8s} {'f+b/mm':>7s}")
    backend = CPUBackend()
    for name in args.cases.split(","):
        n, c, h, w, f, k, s, p, d, g = CASES[name]
        geometry = dict(stride=(s, s), padding=(p, p), dilation=(d, d), groups=g)
        x = rng.standard_normal((n, c, h, w), dtype=np.float32)
        weight = rng.standard_normal((f, c // g, k, k), dtype=np.float32) * 0.1
        ho = conv_output_size(h, k, p, s, d)
        wo = conv_output_size(w, k, p, s, d)
        dy = rng.standard_normal((n, f, ho, wo), dtype=np.float32)
        flops = 2.0 * n * f * ho * wo * (c // g) * k * k

        a = rng.standard_normal((g, f // g, c // g * k * k), dtype=np.float32)
        b = rng.standard_normal((g, c // g * k * k, n * ho * wo), dtype=np.float32)
        mm_rate = flops / median_seconds(lambda: np.matmul(a, b), args.rounds)

        def kernel_fwd():
            conv2d_forward(x, weight, **geometry)

        def kernel_step():
            conv2d_forward(x, weight, **geometry)
            conv2d_backward(x, weight, dy, **geometry)

        slices = backend.batch_slices(n, c * k * k * ho * wo * 4)
        y = np.empty((n, f, ho, wo), np.float32)
        dx = np.empty_like(x)

        def fwd_part(part):
            y[part] = conv2d_forward(x[part], weight, **geometry)

        def bwd_part(part):
            dx[part], dw = conv2d_backward(x[part], weight, dy[part], **geometry)
            return dw

        def backend_fwd():
            backend.parallel(fwd_part, slices)

        def backend_step():
            backend.parallel(fwd_part, slices)
            sum(backend.parallel(bwd_part, slices))

        t_kf = median_seconds(kernel_fwd, args.rounds)
        t_ks = median_seconds(kernel_step, args.rounds)
        t_bf = median_seconds(backend_fwd, args.rounds)
        t_bs = median_seconds(backend_step, args.rounds)
        print(f"{name:16s} {mm_rate / 1e9:8.1f} | {1e3 * t_kf:14.2f} {flops / t_kf / mm_rate:7.2f} "
              f"{3 * flops / t_ks / mm_rate:7.2f} | {1e3 * t_bf:15.2f} "
              f"{flops / t_bf / mm_rate:7.2f} {1e3 * t_bs:8.2f} {3 * flops / t_bs / mm_rate:7.2f}")


if __name__ == "__main__":
    main()
