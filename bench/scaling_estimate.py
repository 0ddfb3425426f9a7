"""The worked scaling estimate of docs/distributed.md, from measured step times.

    python bench/scaling_estimate.py                 # the table of docs/distributed.md
    python bench/scaling_estimate.py --measure       # re-measure the step times here first

Model: one rank per machine (this machine: 2 cores, one rank of 2 threads), the config's global
batch B split over N machines (what ``mpiexec -n N minipaddle train`` does), a step on N
machines takes

    T(N) = ceil(B / N) * t_sample + t_update + T_ring(N),
    T_ring(N) = 2 (N - 1) * latency + 2 (N - 1) / N * G / bandwidth

where t_sample is one sample's forward and backward, t_update the optimizer's update (every rank
makes it, so it does not shrink), G the gradient's bytes (float32) and T_ring a ring allreduce's
time: 2(N-1) steps, each moving G/N bytes over every link.  The speedup is T(1) / T(N) with
T(1) = B * t_sample + t_update (no allreduce).  Links: 10 Gbit/s (1.25 GB/s, 25 us per step,
TCP) and 100 Gbit/s (12.5 GB/s, 5 us, RDMA); both at their nominal rate, so the estimate is an
upper bound of what a real network gives.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: measured on this machine (2 AMD EPYC vCPUs, AVX2, OpenBLAS), ``minipaddle time CONFIG
#: --batch-size b``: name -> (config, parameters, global batch B, measured batch b,
#: ms per step of b, ms of the optimizer update)
MEASURED = {
    "LeNet": ("lenet.yaml", 431_080, 64, 64, 26.0, 0.6),
    "ResNet-CIFAR": ("resnet_cifar.yaml", 274_042, 128, 64, 657.0, 0.7),
    "VGG-16": ("vgg16.yaml", 138_357_544, 256, 8, 18785.0, 296.0),
}
LINKS = {"10 Gbit/s": (1.25e9, 25e-6), "100 Gbit/s": (12.5e9, 5e-6)}
MACHINES = (1, 8, 64)


def ring(n: int, size: float, bandwidth: float, latency: float) -> float:
    if n == 1:
        return 0.0
    return 2 * (n - 1) * latency + 2 * (n - 1) / n * size / bandwidth


def estimate(params: int, batch: int, t_sample: float, t_update: float, n: int,
             bandwidth: float, latency: float) -> tuple[float, float]:
    """(step seconds on n machines, its allreduce seconds)."""
    comm = ring(n, 4 * params, bandwidth, latency)
    return math.ceil(batch / n) * t_sample + t_update + comm, comm


def measure(config: str, batch: int) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-m", "minipaddle", "time", str(ROOT / "model_zoo" /
                          config), "--batch-size", str(batch), "--iterations", "2"],
                         capture_output=True, text=True, check=True).stdout
    step = float(out.split("training step: ")[1].split(" ms")[0])
    update = float(next(line for line in out.splitlines()
                        if line.startswith("optimizer update")).split()[-1])
    return step, update


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true")
    args = parser.parse_args()
    print(f"{'network':13s} {'link':10s} " + " ".join(f"{'N=' + str(n):>22s}"
                                                    for n in MACHINES))
    for name, (config, params, batch, b, step_ms, update_ms) in MEASURED.items():
        if args.measure:
            step_ms, update_ms = measure(config, b)
        t_sample = (step_ms - update_ms) / 1e3 / b
        base = batch * t_sample + update_ms / 1e3
        for link, (bandwidth, latency) in LINKS.items():
            cells = []
            for n in MACHINES:
                step, comm = estimate(params, batch, t_sample, update_ms / 1e3, n, bandwidth,
                                      latency)
                speed = base / step
                cells.append(f"{step * 1e3:9.1f} ms x{speed:5.1f} {100 * comm / step:3.0f}%")
            print(f"{name:13s} {link:10s} " + " ".join(f"{c:>22s}" for c in cells))


if __name__ == "__main__":
    main()
