"""One side of bench/run.py's ``mpi`` rows: LeNet training steps, as one process or as one rank
of ``mpiexec -n N``, with the seconds spent in the communicator's allreduce.

    python bench/mpi_worker.py --steps 20 --threads 2 --json OUT      # 1 rank x 2 threads
    mpiexec -n 2 python bench/mpi_worker.py --steps 20 --json OUT     # 2 ranks x 1 thread

Steps are Trainer.train_batch on full global batches of 64 of mnist5k (each rank its shard),
after 3 warm-up steps.  A step reduces the batch's scalars (a few values) and then the gradient
buffer: ``wait`` is the seconds in the first, which is almost all waiting for the slower rank
(the ranks leave it together), ``allreduce`` the seconds in the second, the transfer itself.
With several ranks it then times allreduces of a buffer of LeNet's gradient size and of 16 MiB
(bus bandwidth: a ring allreduce moves 2(N-1)/N of the buffer through every rank's link).
Rank 0 writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import minipaddle  # noqa: E402
from minipaddle.runtime.backend import CPUBackend  # noqa: E402
from minipaddle.train.comm import default_comm  # noqa: E402
from minipaddle.train.trainer import Trainer  # noqa: E402

BATCH = 64


def timed_allreduce(comm, spent: list[float]):
    """comm.allreduce, adding its seconds to spent[1] (gradients) or spent[0] (scalars)."""
    inner = comm.allreduce

    def allreduce(array, op="sum"):
        start = time.perf_counter()
        try:
            return inner(array, op)
        finally:
            spent[int(array.size > 64)] += time.perf_counter() - start

    return allreduce


def bandwidth(comm, count: int, repeats: int) -> float:
    """Bus bandwidth in bytes/s of allreducing ``count`` float32 values."""
    buffer = np.ones(count, dtype=np.float32)
    comm.allreduce(buffer)                     # warm-up, and lines the ranks up
    start = time.perf_counter()
    for _ in range(repeats):
        comm.allreduce(buffer)
    seconds = (time.perf_counter() - start) / repeats
    return 2 * (comm.size - 1) / comm.size * buffer.nbytes / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    comm = default_comm()
    device = "cpu" if comm.distributed else CPUBackend(threads=args.threads)
    config = minipaddle.parse_config(ROOT / "model_zoo" / "lenet.yaml")
    trainer = Trainer(config, "mnist5k", batch_size=BATCH, seed=1, comm=comm, device=device)
    spent = [0.0, 0.0]
    comm.allreduce = timed_allreduce(comm, spent)
    feeds = [f for f in trainer._dataset_feeds(trainer.train_data, shuffle=True)]
    feeds = [f for f in feeds if len(f["label"]) == len(feeds[0]["label"])]   # full batches
    for i in range(3):
        trainer.train_batch(0, i, feeds[i % len(feeds)])
    spent[:] = [0.0, 0.0]
    start = time.perf_counter()
    for i in range(args.steps):
        trainer.train_batch(0, i, feeds[i % len(feeds)])
    seconds = time.perf_counter() - start
    result = {"ranks": comm.size, "threads": trainer.net.backend.threads, "seconds": seconds,
              "wait": spent[0], "allreduce": spent[1], "steps": args.steps, "batch": BATCH}
    if comm.distributed:
        gradient = int(sum(np.prod(v.shape) for v in trainer.net.parameters.values()))
        result["gradient_values"] = gradient
        result["bandwidth_gradient"] = bandwidth(comm, gradient, 50)
        result["bandwidth_16mib"] = bandwidth(comm, 4 * 1024 * 1024, 10)
    if comm.rank == 0:
        args.json.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
