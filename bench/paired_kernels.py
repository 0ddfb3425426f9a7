"""Paired timing of the conv and pool kernels of a git revision against the working tree's,
in one process, rounds interleaved (old, new / new, old): the ratio of each adjacent pair and
the ratio of the best times, so a loaded machine's noise falls on both sides alike.

    PYTHONPATH=. OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        .venv/bin/python bench/paired_kernels.py [--rev main] [--rounds 41] [--only lenet,64]

The cases: the 64->64 3x3 32x32 conv of issue 17, LeNet's two convs and two pools (batch 64,
float32), a strided conv, a depthwise conv, and the pooling paths (tiled, separable, offsets,
global). Each conv round is a forward and a backward with the data gradient.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ("conv", "pool")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout


def at_revision(rev: str, folder: Path) -> dict:
    """The kernel modules of a git revision: its whole ``minipaddle/kernels`` package written
    out as the package ``old_kernels`` (the kernel modules import each other relatively)."""
    package = folder / "old_kernels"
    for name in git("ls-tree", "-r", "--name-only", rev, "minipaddle/kernels/").split():
        if name.endswith(".py"):
            dest = package / Path(name).relative_to("minipaddle/kernels")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(git("show", f"{rev}:{name}"))
    sys.path.insert(0, str(folder))
    return {k: importlib.import_module(f"old_kernels.{k}") for k in KERNELS}


def conv_case(rng, n, c, f, size, k, s, p, g=1):
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = rng.standard_normal((f, c // g, k, k)).astype(np.float32)
    a = dict(stride=s, padding=p, dilation=1, groups=g)
    o = 1 + (size + 2 * p - k) // s
    dy = rng.standard_normal((n, f, o, o)).astype(np.float32)

    def run(m):
        m.conv2d_forward(x, w, **a)
        m.conv2d_backward(x, w, dy, **a)
    return "conv", run


def pool_case(rng, n, c, size, k, s, p, kind):
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    o = 1 + -(-(size + 2 * p - k) // s)
    a = dict(kind=kind, kernel=(k, k), stride=(s, s), padding=(p, p), output_size=(o, o))
    dy = rng.standard_normal((n, c, o, o)).astype(np.float32)

    def run(m):
        m.pool2d_backward(x, m.pool2d_forward(x, **a), dy, **a)
    return "pool", run


def cases(rng) -> dict:
    return {
        "64->64 conv 3x3 32x32 pad 1": conv_case(rng, 64, 64, 64, 32, 3, 1, 1),
        "lenet conv1 1->20 5x5 28x28": conv_case(rng, 64, 1, 20, 28, 5, 1, 0),
        "lenet conv2 20->50 5x5 12x12": conv_case(rng, 64, 20, 50, 12, 5, 1, 0),
        "32->64 conv 3x3/2 16x16 pad 1": conv_case(rng, 64, 32, 64, 16, 3, 2, 1),
        "depthwise 32 3x3 16x16 pad 1": conv_case(rng, 64, 32, 32, 16, 3, 1, 1, g=32),
        "lenet pool1 max 2x2/2 20x24x24": pool_case(rng, 64, 20, 24, 2, 2, 0, "max"),
        "lenet pool2 max 2x2/2 50x8x8": pool_case(rng, 64, 50, 8, 2, 2, 0, "max"),
        "max 3x3/2 pad 1 64x32x32": pool_case(rng, 64, 64, 32, 3, 2, 1, "max"),
        "avg 3x3/3 pad 1 64x32x32": pool_case(rng, 64, 64, 32, 3, 3, 1, "avg"),
        "global avg 8x8 256 maps": pool_case(rng, 64, 256, 8, 8, 1, 0, "avg"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="main", help="git revision of the old kernels")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--only", default="", help="comma-separated prefixes of case names")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    new = {k: importlib.import_module(f"minipaddle.kernels.{k}") for k in KERNELS}
    with tempfile.TemporaryDirectory() as folder:
        old = at_revision(args.rev, Path(folder))
        prefixes = [p for p in args.only.split(",") if p]
        print(f"{'case':32s} {'old ms':>9s} {'new ms':>9s} {'pair ratio':>11s} "
              f"{'best ratio':>11s}")
        for name, (kind, run) in cases(np.random.default_rng(0)).items():
            if prefixes and not any(name.startswith(p) for p in prefixes):
                continue
            times = {"old": [], "new": []}
            run(old[kind])
            run(new[kind])
            for r in range(args.rounds):
                order = ("old", "new") if r % 2 == 0 else ("new", "old")
                for side in order:
                    module = (old if side == "old" else new)[kind]
                    t0 = time.perf_counter()
                    run(module)
                    times[side].append(time.perf_counter() - t0)
            t_old, t_new = np.array(times["old"]), np.array(times["new"])
            print(f"{name:32s} {np.median(t_old) * 1e3:9.2f} {np.median(t_new) * 1e3:9.2f} "
                  f"{np.median(t_new / t_old):11.3f} {t_new.min() / t_old.min():11.3f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
