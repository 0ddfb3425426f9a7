"""Data parallelism for the Trainer: shards, the summed gradients, agreement and consistency.

Every rank runs the same loop on its shard of each global batch (Paddle's contiguous split: rank
i of N takes samples [n*i/N, n*(i+1)/N)); after the backward pass :meth:`DataParallel.reduce`
sums the gradients of all trainable parameters as one contiguous buffer, and the batch's scalars
(samples, metric counts) as a second small one, so every rank applies the same update to the
same parameters.  With the one-process communicator every method is a pass-through.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from threadpoolctl import threadpool_limits

from ..config import ConfigError, to_yaml
from ..runtime import Network
from ..runtime.backend import CPUBackend, to_host
from .comm import Communicator, shard_bounds

Feed = dict[str, Any]


class DataParallel:
    """The data-parallel side of one Trainer: ``comm`` and the network it trains."""

    def __init__(self, comm: Communicator, net: Network, scalars: int,
                 sync_batch_norm: bool = False):
        self.comm = comm
        #: how many scalars every step sums (the same on every rank)
        self.scalars = scalars
        self.net = net
        self.sync_batch_norm = sync_batch_norm and comm.distributed
        static = net.parameters.static
        #: the trainable parameters, in the network's order: the gradient buffer's layout
        self.trainable = [k for k in net.parameters if k not in static]
        sizes = [int(np.prod(net.parameters[k].shape)) for k in self.trainable]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self._buffer: Optional[np.ndarray] = None
        #: statistics a layer updates itself (batch norm's moving mean and variance)
        self.moving = list(dict.fromkeys(k for layer in net.layers.values()
                                         for k in sorted(layer.static_params)))
        if self.sync_batch_norm:
            net.batch_stat_sum = self.sum_over_ranks

    @property
    def distributed(self) -> bool:
        return self.comm.distributed

    # -- shards --------------------------------------------------------------------------------
    def bounds(self, n: int) -> tuple[int, int]:
        """This rank's samples [lo, hi) of a global batch of ``n``."""
        if self.sync_batch_norm and n < self.comm.size:
            raise ConfigError(f"a batch of {n} samples cannot be split over {self.comm.size} "
                              "ranks with synchronised batch norm (every rank needs a "
                              "sample): use a larger batch or fewer ranks")
        return shard_bounds(n, self.comm.rank, self.comm.size)

    def shard_feeds(self, feeds: Iterable[Feed]) -> Iterator[Feed]:
        """This rank's shard of every global batch ``feeds`` yields."""
        for feed in feeds:
            if not self.distributed:
                yield feed
                continue
            n = len(next(iter(feed.values()))) if feed else 0
            lo, hi = self.bounds(n)
            yield {k: v[lo:hi] for k, v in feed.items()}

    # -- reductions ----------------------------------------------------------------------------
    def sum_over_ranks(self, values: Any) -> np.ndarray:
        """``values`` summed over the ranks, as float64 (batch norm's synchronised sums)."""
        return self.comm.allreduce(np.array(to_host(values), dtype=np.float64))

    def reduce(self, grads: dict[str, Any], scalars: list[float]
               ) -> tuple[dict[str, Any], np.ndarray]:
        """Sum ``scalars`` (samples, metric counts; the first is 1 for "this rank has a
        batch") and then the gradients over the ranks.  A parameter without a gradient on
        this rank (an empty shard) counts as zeros."""
        totals = np.array([1.0] + list(scalars), dtype=np.float64)
        if len(scalars) != self.scalars:
            raise ValueError(f"reduce: {len(scalars)} scalars, expected {self.scalars}")
        if not self.distributed:
            return grads, totals[1:]
        self.comm.allreduce(totals)
        if totals[0] != self.comm.size:
            raise ConfigError(f"the ranks' data disagree: {int(totals[0])} of "
                              f"{self.comm.size} ranks have another batch in this pass "
                              "(every rank must read as many batches)")
        buffer = self._gradient_buffer()
        xp = self.net.xp
        for i, name in enumerate(self.trainable):
            part = buffer[self.offsets[i]:self.offsets[i + 1]]
            grad = grads.get(name)
            if grad is None:
                part[...] = 0
            else:
                part[...] = to_host(grad).reshape(-1)
        self.comm.allreduce(buffer)
        reduced = {}
        for i, name in enumerate(self.trainable):
            part = buffer[self.offsets[i]:self.offsets[i + 1]]
            shape = self.net.parameters[name].shape
            reduced[name] = part.reshape(shape) if xp is np else xp.asarray(part.reshape(shape))
        return reduced, totals[1:]

    def end_of_pass(self) -> None:
        """This rank's data ended: check that every rank's did."""
        if not self.distributed:
            return
        flag = np.zeros(1 + self.scalars, dtype=np.float64)    # a step's shape, flag 0
        self.comm.allreduce(flag)
        if flag[0]:
            raise ConfigError(f"the ranks' data disagree: this rank's pass ended while "
                              f"{int(flag[0])} of {self.comm.size} ranks have another batch "
                              "(every rank must read as many batches)")

    def sum_counts(self, counts: list[float]) -> np.ndarray:
        """Metric counts summed over the ranks (sharded evaluation)."""
        values = np.array(counts, dtype=np.float64)
        return self.comm.allreduce(values) if self.distributed else values

    def _gradient_buffer(self) -> np.ndarray:
        if self._buffer is None:
            self._buffer = np.empty(int(self.offsets[-1]), dtype=self.net.dtype)
        return self._buffer

    # -- end of pass ---------------------------------------------------------------------------
    def average_moving_statistics(self) -> None:
        """Per-shard batch norm: each rank's moving statistics saw its shards only; every
        rank takes their mean, so that testing and checkpoints use the same ones."""
        if not self.distributed or self.sync_batch_norm or not self.moving:
            return
        values = [np.asarray(to_host(self.net.parameters[k]), dtype=np.float64).reshape(-1)
                  for k in self.moving]
        flat = self.comm.allreduce(np.concatenate(values)) / self.comm.size
        start = 0
        for name, value in zip(self.moving, values):
            shape = self.net.parameters[name].shape
            self.net.parameters[name] = flat[start:start + value.size].reshape(shape)
            start += value.size

    def check_consistency(self) -> None:
        """Every parameter bit for bit the same on every rank: one checksum per parameter,
        reduced by min and max; the first that differs is named."""
        if not self.distributed:
            return
        names = list(self.net.parameters)
        sums = np.array([zlib.crc32(np.ascontiguousarray(to_host(self.net.parameters[k])))
                         for k in names], dtype=np.int64)
        low, high = self.comm.allreduce(sums.copy(), "min"), self.comm.allreduce(sums, "max")
        differ = [k for k, a, b in zip(names, low, high) if a != b]
        if differ:
            raise ConfigError(f"parameter {differ[0]!r} differs between the ranks "
                              f"({len(differ)} of {len(names)} parameters differ): the "
                              "ranks' updates diverged (different NumPy builds or CPUs?)")

    def check_agreement(self, items: dict[str, str]) -> None:
        """Refuse to start when the ranks disagree on any of ``items`` (what -> a short
        description, e.g. the config's checksum): every rank raises the same error."""
        if not self.distributed:
            return
        everyone = self.comm.allgather(items)
        for what, mine in everyone[0].items():
            others = [r for r, theirs in enumerate(everyone) if theirs.get(what) != mine]
            if others:
                raise ConfigError(
                    f"the ranks disagree on the {what}: rank {others[0]} has "
                    f"{everyone[others[0]].get(what)}, rank 0 has {mine}"
                    + (f" ({len(others)} ranks differ from rank 0)" if len(others) > 1
                       else "") + "; every rank must start from the same one")


def checksum(*arrays: Any) -> str:
    """A short hex digest of arrays' bytes (the agreement check's description)."""
    digest = hashlib.sha256()
    for array in arrays:
        value = np.ascontiguousarray(to_host(array))
        digest.update(str(value.dtype).encode() + str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:12]


def rank_device(comm: Communicator, device: Any) -> Any:
    """The device of one rank: on the CPU, the ranks on one machine share its cores, BLAS too
    (its own threads would spin against the other ranks': LeNet ran 5x slower on 2 ranks of
    2 cores).  The BLAS limit holds for the rest of the process."""
    if not comm.distributed or device != "cpu":
        return device
    threads = max(1, min(2, (os.cpu_count() or 1) // comm.local_size))
    threadpool_limits(limits=threads, user_api="blas")
    return CPUBackend(threads=threads)


def agreement_items(trainer: Any, data: bool) -> dict[str, str]:
    """What every rank of ``trainer``'s run must have the same of: the config, the batch size
    and seed, the starting point (pass, counters, parameters and optimizer state) and, with
    ``data``, the data sets."""
    state = trainer.updater.state_dict()
    items = {
        "config": checksum(np.frombuffer(to_yaml(trainer.config).encode(), np.uint8)),
        "batch size and seed": f"batch size {trainer.batch_size}, seed {trainer.seed}",
        "starting point (checkpoint or initial parameters)":
            f"pass {trainer.pass_id}, batch {trainer.batch_count}, parameters "
            + checksum(*trainer.net.parameters.values(), *[state[k] for k in sorted(state)]),
    }
    if data:
        sets = [d for d in (trainer.train_data, trainer.test_data) if d is not None]
        items["data set"] = ", ".join(
            f"{d.name} of {len(d)} samples ({checksum(d.images, d.labels)})" for d in sets)
    return items
