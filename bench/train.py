"""LeNet training throughput: images per second of a full training step at batch 64 on
mnist5k, and where the time goes.

    PYTHONPATH=. python3 bench/train.py [--steps 40] [--rounds 5]

One step is Network.forward + backward + the optimizer update (the Trainer's inner loop). The
step time is the median over rounds of ``--steps`` steps; the split by layer kind comes from the
network's per-layer timings (conv = exconv, pool, fc, cost/other) plus the optimizer update,
timed separately. Run in a process that never imported torch.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import minipaddle
from minipaddle.train.datasets import batches, load_dataset
from minipaddle.train.optimizers import ParameterUpdater

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"exconv": "conv", "cudnn_conv": "conv", "pool": "pool", "fc": "fc"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    config = minipaddle.parse_config(ROOT / "model_zoo" / "lenet.yaml")
    net = minipaddle.compile(config, seed=1)
    updater = ParameterUpdater(config.opt_config, config.model_config.parameters,
                               {k: v.shape for k, v in net.parameters.items()})
    train, _ = load_dataset("mnist5k")
    rng = np.random.default_rng(0)
    data = [b for b in batches(train, args.batch_size, shuffle=True, rng=rng)
            if len(b[1]) == args.batch_size]
    trainable = {k: v for k, v in net.parameters.items() if k not in net.parameters.static}
    forward: dict[str, float] = defaultdict(float)
    backward: dict[str, float] = defaultdict(float)
    update_seconds = [0.0]

    def step(i: int, timed: bool) -> None:
        images, labels = data[i % len(data)]
        updater.start_batch(len(labels))
        net.forward({"pixel": images, "label": labels}, training=True,
                    timings=forward if timed else None)
        grads = net.backward(timings=backward if timed else None)
        start = time.perf_counter()
        updater.update(trainable, grads.parameters)
        updater.finish_batch()
        update_seconds[0] += time.perf_counter() - start

    for i in range(5):
        step(i, False)
    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for i in range(args.steps):
            step(i, False)
        rates.append(args.steps * args.batch_size / (time.perf_counter() - start))
    forward.clear(), backward.clear()
    update_seconds[0] = 0.0
    start = time.perf_counter()
    for i in range(args.steps):
        step(i, True)
    total = time.perf_counter() - start
    shares: dict[str, float] = defaultdict(float)
    for name in set(forward) | set(backward):
        kind = KINDS.get(net.configs[name].type, "other layers")
        shares[kind] += forward.get(name, 0.0) + backward.get(name, 0.0)
    shares["optimizer"] = update_seconds[0]
    shares["framework overhead"] = total - sum(shares.values())
    print(f"LeNet training, batch {args.batch_size}, float32, numpy {np.__version__}")
    print(f"images/s: median {np.median(rates):.0f} (rounds: "
          f"{', '.join(f'{r:.0f}' for r in rates)})")
    print(f"step: {1e3 * total / args.steps:.2f} ms")
    for kind, seconds in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:20s} {100 * seconds / total:5.1f}%")


if __name__ == "__main__":
    main()
