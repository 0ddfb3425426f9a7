"""Paired timing of the Winograd F(2x2, 3x3) convolutions against im2col + GEMM inside one
compiled network, in one process: every round runs one training step (forward + backward)
with the 3x3 convs on Winograd and one with them on im2col, alternating which goes first;
per-layer medians and the step's median, and their ratios (winograd / im2col).

    PYTHONPATH=. .venv/bin/python bench/paired_winograd.py model_zoo/small_vgg.yaml \\
        [--batch-size 32] [--rounds 9] [--all]

``--all``: try Winograd on every conv it applies to (also where the size rule says no), to
see where it pays. ``--kernel-from CHECKOUT``: one more side, Winograd with that checkout's
``minipaddle/kernels/winograd.py`` (e.g. a worktree of the commit before a kernel change; its
module-level functions are swapped in for the side's steps), to compare two versions of the
kernel inside the network.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np

import minipaddle
from minipaddle.kernels import conv as K
from minipaddle.kernels import winograd as WG
from minipaddle.runtime import compile as compile_network
from minipaddle.train.diagnostics import synthetic_feed


#: the kernel module's functions the runtime's Winograd layer calls
_KERNEL_FUNCTIONS = ("winograd_forward", "winograd_backward", "winograd_weight",
                     "winograd_weight_grad", "winograd_input_shape")


def _kernel_functions(checkout):
    """:data:`_KERNEL_FUNCTIONS` of ``checkout``'s kernels/winograd.py, loaded as a submodule of
    this tree's ``minipaddle.kernels`` (so its relative imports are this tree's)."""
    path = Path(checkout) / "minipaddle" / "kernels" / "winograd.py"
    spec = importlib.util.spec_from_file_location("minipaddle.kernels._winograd_other", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: getattr(module, name) for name in _KERNEL_FUNCTIONS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--chunk-scales", default="1", help="comma-separated factors on the "
                        "Winograd chunk estimate the batch chunks are sized by (2: chunks "
                        "half as large); each is one more side")
    parser.add_argument("--no-keep-side", action="store_true", help="one more side: Winograd "
                        "recomputing the transformed input in the backward")
    parser.add_argument("--kernel-from", metavar="CHECKOUT", help="one more side: Winograd "
                        "with CHECKOUT's minipaddle/kernels/winograd.py")
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

    estimate = WG.winograd_chunk_values
    scales = {f"winograd x{v}" if v != "1" else "winograd": float(v)
              for v in args.chunk_scales.split(",")}

    if args.no_keep_side:
        scales["winograd, no keep"] = 1.0
    kernels = {"": {name: getattr(WG, name) for name in _KERNEL_FUNCTIONS}}
    if args.kernel_from:
        kernels["winograd, other kernel"] = _kernel_functions(args.kernel_from)
        scales["winograd, other kernel"] = 1.0

    def step(mode):
        for name, function in kernels.get(mode, kernels[""]).items():
            setattr(WG, name, function)
        for layer, im2col in chosen.values():
            layer.layout = im2col if mode == "im2col" else "winograd"
            layer.KEEP_COLUMNS_BYTES = 0 if mode == "winograd, no keep" else 32 * 1024 * 1024
        WG.winograd_chunk_values = lambda *a: int(estimate(*a) * scales.get(mode, 1))
        fw, bw = {}, {}
        start = time.perf_counter()
        net.forward(feed, training=True, timings=fw)
        net.backward(seeds, timings=bw, input_grads=False)
        return time.perf_counter() - start, fw, bw

    times = {m: [] for m in ["im2col"] + list(scales)}
    for mode in times:          # warm-up: workspaces and caches
        step(mode)
    for r in range(args.rounds):
        for mode in (list(times) if r % 2 == 0 else list(times)[::-1]):
            times[mode].append(step(mode))
    med = {m: np.median([t[0] for t in v]) * 1e3 for m, v in times.items()}
    print(f"{args.config} batch {args.batch_size}, {args.rounds} rounds, medians (ms)")
    others = list(times)[1:]
    print(f"ratios: {', '.join(others)} / im2col")
    print(f"{'layer':22s} {'shape':18s} {'fwd i2c':>8s} " + " ".join(f"{'fwd':>6s}" for _ in others)
          + f" {'bwd i2c':>8s} " + " ".join(f"{'bwd':>6s}" for _ in others))
    for name, (layer, _) in chosen.items():
        geo = layer.geo
        shape = f"{geo.channels}->{layer.config.num_filters} {geo.image[0]}x{geo.image[1]}"
        text = f"{name:22s} {shape:18s}"
        for which in (1, 2):
            a = np.median([t[which].get(name, 0.0) for t in times["im2col"]]) * 1e3
            text += f" {a:8.2f} " + " ".join(
                f"{np.median([t[which].get(name, 0.0) for t in times[m]]) * 1e3 / a:6.2f}"
                for m in others)
        print(text)
    print(f"step: im2col {med['im2col']:.1f} ms; " + ", ".join(
        f"{m} {med[m]:.1f} ms (ratio {med[m] / med['im2col']:.3f})" for m in others))


if __name__ == "__main__":
    main()
