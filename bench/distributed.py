"""bench/run.py's ``mpi`` rows: data parallelism on this machine (docs/distributed.md).

* LeNet training img/s on ``mpiexec -n 2`` ranks of 1 thread each against 1 process of 2
  threads (the same global batch of 64, the same steps): the ratio, informational;
* the share of a 2-rank step spent in the gradient allreduce, target < 10%, and beside it the
  share spent waiting for the slower rank (in the small reduction of the batch's scalars that
  comes first: the machine is shared, so a rank is sometimes descheduled);
* the allreduce's bus bandwidth on 2 ranks, for a buffer of LeNet's gradient size and 16 MiB.

Each side is a fresh process (``bench/mpi_worker.py``) timing ``steps`` steps after 3 warm-up
steps; the launches alternate (1x2, 2x1, 1x2, ...) and each figure is the median over rounds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

WORKER = Path(__file__).resolve().parent / "mpi_worker.py"


def mpiexec() -> Optional[str]:
    return shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpiexec")


def launch(ranks: int, steps: int, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        line = [sys.executable, str(WORKER), "--steps", str(steps), "--json", str(out)]
        if ranks > 1:
            line = [mpiexec(), "-n", str(ranks), *line]
        else:
            line += ["--threads", str(threads)]
        subprocess.run(line, check=True, timeout=600, capture_output=True)
        return json.loads(out.read_text())


def bench_mpi(ctx: Any, Row: Callable, interleave: Callable, ms: Callable) -> list:
    figure = "LeNet img/s, 2 ranks x 1 thread / 1 rank x 2 threads"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        mpi4py = None
    if mpiexec() is None or mpi4py is None:
        return [Row("mpi", figure, None, "- (the 'mpi' extra is not installed)")]
    results: dict[str, list[dict]] = {"one": [], "two": []}

    def side(name: str, ranks: int, threads: int) -> Callable[[], float]:
        def one_round() -> float:
            result = launch(ranks, ctx.steps, threads)
            results[name].append(result)
            return result["seconds"]
        return one_round

    medians = interleave({"one": side("one", 1, 2), "two": side("two", 2, 1)}, ctx.rounds)
    rates = {k: ctx.steps * 64 / s for k, s in medians.items()}
    two = results["two"][1:]                       # without the warm-up round
    share = float(np.median([r["allreduce"] / r["seconds"] for r in two]))
    wait = float(np.median([r["wait"] / r["seconds"] for r in two]))
    grad_bw = float(np.median([r["bandwidth_gradient"] for r in two]))
    big_bw = float(np.median([r["bandwidth_16mib"] for r in two]))
    mb = two[0]["gradient_values"] * 4 / 1e6
    ratio = rates["two"] / rates["one"]
    return [
        Row("mpi", figure, ratio, f"{ratio:.2f} ({rates['two']:.0f} vs {rates['one']:.0f})",
            detail=f"2x1 {ms(medians['two'] / ctx.steps)}/step, "
                   f"1x2 {ms(medians['one'] / ctx.steps)}/step"),
        Row("mpi", "LeNet 2-rank step: share in the gradient allreduce", 100 * share,
            f"{100 * share:.1f}% ({ms(share * medians['two'] / ctx.steps)}/step)", "<", 10,
            unit="%"),
        Row("mpi", "LeNet 2-rank step: share waiting for the slower rank", 100 * wait,
            f"{100 * wait:.1f}% ({ms(wait * medians['two'] / ctx.steps)}/step)"),
        Row("mpi", f"allreduce bus bandwidth, 2 ranks, {mb:.2f} MB / 16.8 MB", grad_bw / 1e9,
            f"{grad_bw / 1e9:.2f} / {big_bw / 1e9:.2f} GB/s"),
    ]
