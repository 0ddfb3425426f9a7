"""Training steps of one network in two checkouts, paired: which checkout's step is faster.

    python3 bench/paired_steps.py BEFORE_DIR AFTER_DIR [--model resnet_cifar] [--batch 64]
                                  [--steps 3] [--pairs 15]

Each checkout runs in its own persistent process (its own ``.venv/bin/python``, or this
interpreter where it has none, with ``PYTHONPATH`` at the checkout so its code is imported),
which builds ``bench/run.py``'s ``TrainingStep`` for the model (the LeNet rows' mnist5k batches
for ``lenet``, a fixed synthetic batch otherwise), takes two warm-up steps and then, on each
request, one untimed step and ``--steps`` timed ones. The requests alternate between the two
processes (which goes first alternates too), with a ``PAUSE`` after each, and the printed
figure is the median of the after/before ratios of the pairs with their range: on a machine
whose speed drifts from minute to minute, only the pairs are comparable. Imports of the worker
side are the checkout's own, so both checkouts need this file's ``--worker`` mode only from
this copy (it is passed by path).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PAUSE = 0.2


def worker(model: str, batch: int) -> None:
    """Serve timed steps on stdin/stdout (run with the checkout as the working directory)."""
    sys.path[:0] = [".", "bench"]
    import numpy as np
    import run as bench                                  # the checkout's bench/run.py

    step = bench.TrainingStep(model)
    if model == "lenet":
        train, _ = bench.load_dataset("mnist5k")
        feeds = itertools.cycle([
            {"pixel": images, "label": labels}
            for images, labels in bench.batches(train, batch, shuffle=True,
                                                rng=np.random.default_rng(0))
            if len(labels) == batch])
    else:
        feeds = itertools.repeat(step.synthetic_feed(batch))
    for _ in range(2):
        step(next(feeds), batch)
    print("ready", flush=True)
    for line in sys.stdin:
        count = int(line)
        step(next(feeds), batch)                         # untimed: the pause leaves cores cold
        start = time.perf_counter()
        for _ in range(count):
            step(next(feeds), batch)
        print((time.perf_counter() - start) / count, flush=True)


def start(checkout: Path, model: str, batch: int) -> subprocess.Popen:
    python = checkout / ".venv" / "bin" / "python"
    env = dict(os.environ, PYTHONPATH=str(checkout))
    proc = subprocess.Popen([str(python if python.exists() else sys.executable),
                             str(Path(__file__).resolve()), "--worker", model, str(batch)],
                            cwd=checkout, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"paired_steps: the worker in {checkout} did not start")
    return proc


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--worker"]:
        worker(args[1], int(args[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--model", default="resnet_cifar")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=15)
    opts = parser.parse_args(args)
    sides = {"before": opts.before.resolve(), "after": opts.after.resolve()}
    procs = {name: start(path, opts.model, opts.batch) for name, path in sides.items()}
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    ratios = []
    try:
        for i in range(opts.pairs):
            for name in (list(sides) if i % 2 == 0 else list(sides)[::-1]):
                procs[name].stdin.write(f"{opts.steps}\n")
                procs[name].stdin.flush()
                seconds[name].append(float(procs[name].stdout.readline()))
                time.sleep(PAUSE)
            ratios.append(seconds["after"][-1] / seconds["before"][-1])
    finally:
        for proc in procs.values():
            proc.stdin.close()
            proc.wait()
    med = {name: statistics.median(values) * 1e3 for name, values in seconds.items()}
    print(f"{opts.model}, batch {opts.batch}: before {med['before']:.1f} ms, after "
          f"{med['after']:.1f} ms a step; after/before {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f}, {opts.pairs} pairs of {opts.steps} "
          f"steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
