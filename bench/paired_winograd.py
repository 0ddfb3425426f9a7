"""Paired timing of the Winograd F(2x2, 3x3) convolutions against im2col + GEMM inside one
compiled network, in one process: every round runs one training step (forward + backward)
with the 3x3 convs on Winograd and one with them on im2col, alternating which goes first;
per-layer medians and the step's median, and their ratios (winograd / im2col).

    PYTHONPATH=. .venv/bin/python bench/paired_winograd.py model_zoo/small_vgg.yaml \\
        [--batch-size 32] [--rounds 9] [--all]

``--all``: try Winograd on every conv it applies to (also where the size rule says no), to
see where it pays.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import minipaddle
from minipaddle.kernels import conv as K
from minipaddle.kernels import winograd as WG
from minipaddle.runtime import compile as compile_network
from minipaddle.train.diagnostics import synthetic_feed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    model = minipaddle.parse_config(args.config).model_config
    net = compile_network(model, device="cpu", seed=1)
    rng = np.random.default_rng(1)
    feed = synthetic_feed(net, args.batch_size, rng)
    seeds = {n: np.ones((args.batch_size,) + net.shapes[n], np.float32)
             for n in model.output_layer_names if n in net.layers}
    chosen = {}
    for name, layer in net.layers.items():
        geo = getattr(layer, "geo", None)
        if geo is None or getattr(layer, "transposed", True) or geo.rank != 2:
            continue
        if not WG.winograd_applies(geo.filter, geo.stride, geo.dilation, geo.groups):
            continue
        if layer.layout == "winograd" or args.all:
            chosen[name] = (layer, K.conv_algorithm(geo.channels, geo.groups, geo.output))
    if not chosen:
        raise SystemExit("no conv runs Winograd here (try --all)")

    def step(mode):
        for layer, im2col in chosen.values():
            layer.layout = "winograd" if mode == "winograd" else im2col
        fw, bw = {}, {}
        start = time.perf_counter()
        net.forward(feed, training=True, timings=fw)
        net.backward(seeds, timings=bw, input_grads=False)
        return time.perf_counter() - start, fw, bw

    times = {m: [] for m in ("im2col", "winograd")}
    for mode in times:          # warm-up: workspaces and caches
        step(mode)
    for r in range(args.rounds):
        for mode in (("im2col", "winograd") if r % 2 == 0 else ("winograd", "im2col")):
            times[mode].append(step(mode))
    med = {m: np.median([t[0] for t in v]) * 1e3 for m, v in times.items()}
    print(f"{args.config} batch {args.batch_size}, {args.rounds} rounds, medians (ms)")
    print(f"{'layer':22s} {'shape':24s} {'fwd i2c':>8s} {'fwd wg':>8s} {'ratio':>6s} "
          f"{'bwd i2c':>8s} {'bwd wg':>8s} {'ratio':>6s}")
    for name, (layer, _) in chosen.items():
        geo = layer.geo
        shape = f"{geo.channels}->{layer.config.num_filters} {geo.image[0]}x{geo.image[1]}"
        row = []
        for which in (1, 2):
            a = np.median([t[which].get(name, 0.0) for t in times["im2col"]]) * 1e3
            b = np.median([t[which].get(name, 0.0) for t in times["winograd"]]) * 1e3
            row += [a, b, b / a]
        print(f"{name:22s} {shape:24s} {row[0]:8.2f} {row[1]:8.2f} {row[2]:6.2f} "
              f"{row[3]:8.2f} {row[4]:8.2f} {row[5]:6.2f}")
    print(f"step: im2col {med['im2col']:.1f} ms, winograd {med['winograd']:.1f} ms, ratio "
          f"{med['winograd'] / med['im2col']:.3f}")


if __name__ == "__main__":
    main()
