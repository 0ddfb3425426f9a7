"""Communicators: how the ranks of a data-parallel run talk (floor 4).

A communicator sums arrays over the processes of a run and gathers small Python objects; the
trainer uses it to sum gradients, metrics and batch-norm statistics.  Two kinds:

* :class:`LocalComm`, the one-process stand-in: rank 0 of 1, every reduction the identity;
* :class:`MPIComm`, MPI through ``mpi4py`` (the ``mpi`` extra), for runs started by
  ``mpiexec``.

:func:`default_comm` picks one: MPI when the process was started by ``mpiexec`` (MPICH's
``PMI_SIZE``/``PMI_RANK`` or Open MPI's ``OMPI_COMM_WORLD_SIZE`` in the environment), the stand-in
otherwise.  Nothing below floor 4 imports this module; batch norm's synchronised statistics reach
the runtime as a plain callable (``Network.batch_stat_sum``).

Faults (``docs/distributed.md``).  An error on one rank must not leave the others waiting in a
collective for ever.  Every wait here polls: the collective's request, and a message on the abort
tag.  A rank that fails calls :meth:`MPIComm.fail`: it sends its one-line error to every other
rank and waits (bounded) for rank 0's acknowledgement; rank 0 prints
``minipaddle: error: rank R failed: ...`` (or its own error), every rank exits non-zero.  A rank
that dies without a word (killed, crashed) is noticed by ``mpiexec``: by default it ends every
other process at once; under ``mpiexec -disable-auto-cleanup`` it sends the others SIGUSR1, and
the lowest surviving rank prints which rank died.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import sys
import time
import traceback
from typing import Any, NoReturn, Optional

import numpy as np

from ..config import ConfigError

#: environment variables set by mpiexec: MPICH's (Hydra) and Open MPI's
LAUNCH_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")
LOCAL_SIZE_VARS = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")
#: message tags of the fault protocol (collectives do not use tags)
ABORT_TAG, ACK_TAG = 9001, 9002
#: seconds a failing rank waits for rank 0 to acknowledge (it may be in a long step)
ACK_WAIT = 60.0
#: exit status of a rank stopped because another failed
STOPPED_STATUS = 1
#: seconds a collective's wait polls without pause before it starts to sleep between polls
SPIN_SECONDS = 0.02


def launched_size() -> int:
    """The number of processes mpiexec started, 1 when not launched by mpiexec."""
    for var in LAUNCH_SIZE_VARS:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 1


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """Paddle's contiguous split of a batch of ``n``: rank i takes [n*i/N, n*(i+1)/N)."""
    return n * rank // size, n * (rank + 1) // size


class Communicator:
    """One process: rank 0 of 1 (the interface every communicator has)."""

    rank = 0
    size = 1
    #: ranks on this machine (they share its cores)
    local_size = 1
    #: (host name, process id) of every rank (filled in by a communicator of several)
    places: list = []

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        """``array`` (a contiguous NumPy array) reduced in place over the ranks by ``op``
        ("sum", "min", "max"); returns it."""
        return array

    def allgather(self, value: Any) -> list:
        """Every rank's ``value`` (small, picklable), in rank order."""
        return [value]

    def fail(self, message: str, status: int = 2) -> NoReturn:
        """This rank failed with the one-line ``message``: print it and exit ``status``."""
        print(f"minipaddle: error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(status)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank {self.rank} of {self.size})"


class LocalComm(Communicator):
    """The one-process stand-in (every reduction is the identity)."""


_WORLD: Optional["MPIComm"] = None


def default_comm() -> Communicator:
    """MPI when started by mpiexec (one MPIComm per process), the one-process stand-in
    otherwise."""
    global _WORLD
    size = launched_size()
    if size <= 1:
        return LocalComm()
    if _WORLD is not None:
        return _WORLD
    try:
        _WORLD = MPIComm()
        return _WORLD
    except ImportError as err:
        raise ConfigError(f"started by mpiexec for {size} processes, but mpi4py cannot be "
                          f"imported ({err}): install minipaddle's 'mpi' extra (pip install "
                          "'minipaddle[mpi]')") from None


class MPIComm(Communicator):
    """MPI_COMM_WORLD through mpi4py, with polling waits and the fault protocol."""

    _installed = False

    def __init__(self, comm: Any = None):
        from mpi4py import MPI  # noqa: PLC0415  (optional dependency: the mpi extra)

        self.MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._ops = {"sum": MPI.SUM, "min": MPI.MIN, "max": MPI.MAX}
        self._died = False
        self._in_fail = False
        self.where = (socket.gethostname(), os.getpid())
        self.places = self.comm.allgather(self.where)
        self.local_size = sum(host == self.where[0] for host, _ in self.places)
        env_local = next((os.environ[v] for v in LOCAL_SIZE_VARS if v in os.environ), "")
        if env_local.isdigit():
            self.local_size = int(env_local)
        self._install_handlers()

    # -- collectives ---------------------------------------------------------------------------
    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        if not array.flags.c_contiguous:
            raise ValueError("allreduce needs a contiguous array")
        self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, array, self._ops[op]))
        return array

    def allgather(self, value: Any) -> list:
        # the pickled objects' sizes first, then the bytes, both through polling waits
        data = np.frombuffer(pickle.dumps(value), dtype=np.uint8)
        sizes = np.zeros(self.size, dtype=np.int64)
        sizes[self.rank] = data.size
        self.allreduce(sizes)
        out = np.zeros(int(sizes.sum()), dtype=np.uint8)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        out[offsets[self.rank]:offsets[self.rank + 1]] = data
        self.allreduce(out, "max")
        return [pickle.loads(out[offsets[r]:offsets[r + 1]].tobytes()) for r in range(self.size)]

    def _wait(self, request: Any) -> None:
        """Wait for ``request``, watching for another rank's abort message or death.  MPI
        progresses a collective only inside calls such as Test, so the first ``SPIN_SECONDS``
        poll without pause (as a blocking MPI wait spins), yielding the core between polls
        after the first hundred; a longer wait (a slower rank) sleeps between polls."""
        start = time.perf_counter()
        spins = 0
        while not request.Test():
            self._check_others()   # (its Iprobe also drives progress: measured as fast as a
            spins += 1             # blocking Allreduce)
            if spins < 100:
                continue
            if time.perf_counter() - start < SPIN_SECONDS:
                os.sched_yield()   # a shared machine: let the rank we wait for run
            else:
                time.sleep(0.0002)

    def _check_others(self) -> None:
        status = self.MPI.Status()
        if self.comm.Iprobe(source=self.MPI.ANY_SOURCE, tag=ABORT_TAG, status=status):
            source = status.Get_source()
            text = self.comm.recv(source=source, tag=ABORT_TAG)
            self._stop(f"rank {source} failed: {text}", source)
        if self._died:
            self._stop_after_death()

    # -- faults --------------------------------------------------------------------------------
    def _install_handlers(self) -> None:
        if MPIComm._installed:
            return
        MPIComm._installed = True
        if hasattr(signal, "SIGUSR1"):
            # mpiexec -disable-auto-cleanup tells the survivors of a dead process so
            signal.signal(signal.SIGUSR1, self._on_death_notice)
        previous = sys.excepthook

        def excepthook(kind, value, tb):      # a library user's uncaught exception
            if issubclass(kind, (KeyboardInterrupt, SystemExit)):
                return previous(kind, value, tb)
            traceback.print_exception(kind, value, tb)
            self.fail(f"{kind.__name__}: {value}", status=1, printed=True)

        sys.excepthook = excepthook

    def _on_death_notice(self, signum: int, frame: Any) -> None:
        # at once, in the handler: MPICH's mpiexec may end this process soon after
        self._died = True
        if not self._in_fail:
            self._check_others()

    def _dead_ranks(self) -> list[int]:
        """Ranks on this machine whose process is gone (or a zombie)."""
        return [rank for rank, (host, pid) in enumerate(self.places)
                if host == self.where[0] and rank != self.rank and _gone(pid)]

    def _stop_after_death(self) -> NoReturn:
        # mpiexec may tell before the dead process is gone from /proc: look for up to 1 s
        deadline = time.monotonic() + 1.0
        dead = self._dead_ranks()
        while not dead and time.monotonic() < deadline:
            time.sleep(0.01)
            dead = self._dead_ranks()
        if dead:
            host = self.where[0]
            names = ", ".join(f"rank {r} (pid {self.places[r][1]} on {host})" for r in dead)
            alive_below = [r for r in range(self.rank) if r not in dead]
            text = (f"{names} died without a word (killed or crashed; mpiexec's message "
                    f"says how); rank {self.rank} stopped")
            self._exit(text if not alive_below else None, STOPPED_STATUS)
        text = ("a rank on another machine died (mpiexec's message names its process); "
                f"rank {self.rank} stopped")
        self._exit(text if self.rank == 0 else None, STOPPED_STATUS)

    def _stop(self, text: str, source: int) -> NoReturn:
        """Another rank failed: rank 0 prints its line, everyone acknowledges and exits."""
        self.comm.send(self.rank, dest=source, tag=ACK_TAG)
        self._exit(text if self.rank == 0 else None, STOPPED_STATUS)

    @staticmethod
    def _exit(text: Optional[str], status: int) -> NoReturn:
        if text:
            print(f"minipaddle: error: {text}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # without MPI_Finalize: the others are gone or going, a finalize would wait for them
        os._exit(status)

    def fail(self, message: str, status: int = 2, printed: bool = False) -> NoReturn:
        """This rank failed: tell every other rank and wait (at most ``ACK_WAIT`` seconds) for
        their acknowledgements; rank 0 prints the line (its own error, or "rank R failed:
        ..."), this rank prints its own only when rank 0 did not answer.  Exits ``status``."""
        MPI = self.MPI
        self._in_fail = True
        text = " ".join(str(message).split())
        if self.rank == 0 and not printed:
            print(f"minipaddle: error: {text}", file=sys.stderr, flush=True)
        requests = [self.comm.isend(text, dest=r, tag=ABORT_TAG)
                    for r in range(self.size) if r != self.rank]
        waiting = set(range(self.size)) - {self.rank}
        rank0_printed = False
        deadline = time.monotonic() + ACK_WAIT
        probe = MPI.Status()
        while waiting and time.monotonic() < deadline:
            if self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=ACK_TAG, status=probe):
                source = probe.Get_source()
                self.comm.recv(source=source, tag=ACK_TAG)
                waiting.discard(source)
                rank0_printed |= source == 0
            elif self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=ABORT_TAG, status=probe):
                # another rank failed at the same time: it counts as an answer
                source = probe.Get_source()
                self.comm.recv(source=source, tag=ABORT_TAG)
                self.comm.send(self.rank, dest=source, tag=ACK_TAG)
                waiting.discard(source)
                rank0_printed |= source == 0        # rank 0 prints its own error
            else:
                if self._died:
                    waiting -= set(self._dead_ranks())
                time.sleep(0.001)
        del requests
        mine = self.rank != 0 and not rank0_printed and not printed
        self._exit(f"rank {self.rank}: {text}" if mine else None, status)


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return os.path.isdir("/proc/self")       # no /proc entry: gone, where /proc exists
    except OSError:
        pass
    try:                                          # no /proc (macOS): ask the kernel
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
