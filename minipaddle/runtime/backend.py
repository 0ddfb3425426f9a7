"""Backends: where arrays live and which array module the kernels run on.

The CPU backend runs the kernels on NumPy; the GPU backend (:mod:`minipaddle.runtime.gpu`,
which imports CuPy only when a GPU backend is made) runs the same kernels on CuPy and cuDNN.
Each backend module registers its class by device name (:func:`register_backend`);
:func:`get_backend` looks the name up.  The network loop never branches on the device.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import os
import threading
from typing import Any, Callable, Iterator, Optional

import numpy as np
from threadpoolctl import ThreadpoolController

from ..config import ConfigError
from ..kernels.activations import ACTIVATIONS

IDENTITY = ("", "linear")


class Backend:
    """Device placement and array conversions for one array module."""

    name = "abstract"
    xp: Any = None

    def __init__(self) -> None:
        self._local = threading.local()

    def asarray(self, values: Any, dtype: Any) -> Any:
        """A new or converted array of ``dtype`` on this backend."""
        return self.xp.asarray(values, dtype=dtype)

    def asarray_like(self, value: Any) -> Any:
        """A fed value on this backend, dtype unchanged."""
        return self.xp.asarray(value)

    def is_device_array(self, value: Any) -> bool:
        """Whether ``value`` is an array of this backend's own module other than NumPy's (a
        CuPy array on the GPU backend; never on the CPU)."""
        return (not isinstance(value, np.ndarray) and self.xp is not np
                and isinstance(value, self.xp.ndarray))

    def to_output(self, array: Any, host: bool = True) -> Any:
        """An array the caller owns (never aliasing a buffer a later call overwrites): a NumPy
        array when ``host``, else an array of this backend's module."""
        if not host:
            return self.xp.array(array, copy=True)
        return np.array(array, copy=True) if isinstance(array, np.ndarray) else to_host(array)

    def synchronize(self) -> None:
        """Wait for the work queued on the device (nothing to wait for on the CPU); timings
        call it before reading the clock."""

    def memory_bytes(self) -> Optional[int]:
        """Bytes of the memory arrays live in, None for the host's physical memory."""
        return None

    def substitutes(self) -> dict[str, str]:
        """Layer types this backend cannot run as asked right now, mapped to the type that
        runs instead (on top of the ``runs_as`` the types' facts declare)."""
        return {}

    def substitution_warning(self, listing: str) -> str:
        """The one warning a compile gives when layers run as other types (``listing`` names
        them: ``"<type> -> <type run instead>: c1, c2; ..."``)."""
        return f"running GPU layer types with their {self.name} counterparts ({listing})"

    def batch_slices(self, n: int, bytes_per_sample: int) -> list[slice]:
        """How to split a batch of ``n`` samples for :meth:`parallel` (default: don't)."""
        return [slice(0, n)]

    @property
    def workers(self) -> int:
        """How many items :meth:`parallel` runs at once."""
        return 1

    def parallel(self, fn: Callable[[Any], Any], items: list) -> list[Any]:
        """``[fn(item) for item in items]`` (a backend may run them concurrently)."""
        return [fn(item) for item in items]

    @contextlib.contextmanager
    def compute(self) -> Iterator[None]:
        """Context of one network pass (forward or backward); a backend may tune its
        libraries for the duration."""
        yield

    def workspace(self) -> Callable[[str, tuple, Any], Any]:
        """The calling thread's scratch-buffer provider for the kernels' ``ws`` argument:
        ``ws(tag, shape, dtype)`` returns a view of a per-thread, per-tag arena that grows to
        the largest request and is reused by every later call (every layer, every step);
        contents are undefined."""
        arenas = getattr(self._local, "arenas", None)
        if arenas is None:
            arenas = self._local.arenas = {}
        xp = self.xp

        def ws(tag: str, shape: tuple, dtype: Any) -> Any:
            dtype = np.dtype(dtype)
            count = 1
            for size in shape:
                count *= int(size)
            nbytes = count * dtype.itemsize
            arena = arenas.get(tag)
            if arena is None or arena.size < nbytes:
                arena = arenas[tag] = xp.empty(max(nbytes, 64), dtype=np.uint8)
            return arena[:nbytes].view(dtype).reshape(shape)

        return ws

    def activation(self, active_type: str,
                   layer: str) -> Optional[tuple[Callable[..., Any], Callable[..., Any]]]:
        """(forward, backward) of an activation, None for the identity."""
        if active_type in IDENTITY:
            return None
        try:
            return ACTIVATIONS[active_type]
        except KeyError:
            known = ", ".join(repr(k) for k in sorted(ACTIVATIONS))
            raise ConfigError(f"layer {layer!r}: activation {active_type!r} is not supported "
                              f"by the {self.name} backend; known: {known}",
                              layer=layer) from None


def _keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the OS.

    A training step allocates the same arrays as the step before. By default glibc serves
    arrays over 128 KB (rising adaptively) with fresh ``mmap`` pages and trims freed heap memory,
    so every step page-faults its activations in again: measured about 2,900 faults and 20% of
    a LeNet step. With the mmap threshold at its 32 MB maximum and trimming off, the second
    step reuses the first step's memory (peak resident memory is unchanged: it is the peak).
    Set ``MINIPADDLE_MALLOC_TUNING=0`` to leave malloc alone. Returns whether it applied."""
    if os.environ.get("MINIPADDLE_MALLOC_TUNING", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):     # not glibc (macOS, musl, Windows): nothing to tune
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 32 * 1024 * 1024)
                and mallopt(m_trim_threshold, 1024 * 1024 * 1024))


class CPUBackend(Backend):
    """NumPy on the host.  Large batched kernels run in chunks of the batch on a small thread
    pool with BLAS held at one thread per worker: a chunk's im2col columns stay in cache and
    the memory-bound copies of both cores overlap (NumPy releases the GIL in copies and BLAS);
    see docs/runtime.md ("Layer types and backends") and the measurements in bench/README.md."""

    name = "cpu"
    xp = np
    #: bytes of kernel workspace (e.g. im2col columns) one chunk should need
    CHUNK_BYTES = 16 * 1024 * 1024

    def __init__(self, threads: Optional[int] = None):
        super().__init__()
        self.malloc_tuned = _keep_freed_memory()
        self.threads = max(1, threads or min(2, os.cpu_count() or 1))
        self._crew: Optional[_Crew] = None
        self._blas: Any = None
        self._depth = 0

    def batch_slices(self, n: int, bytes_per_sample: int) -> list[slice]:
        """How to split a batch of ``n`` samples: one slice when threads would not help."""
        if self.threads == 1 or n < 2:
            return [slice(0, n)]
        # enough chunks that each needs at most CHUNK_BYTES, a multiple of the thread count
        # (11 chunks on 2 threads left one thread a chunk behind: 9% of a large conv), sizes
        # differing by at most one sample, larger first
        per_chunk = max(1, self.CHUNK_BYTES // max(1, bytes_per_sample))
        count = -(-max(-(-n // per_chunk), self.threads) // self.threads) * self.threads
        count = min(count, n)
        size, extra = divmod(n, count)
        bounds = [0]
        for i in range(count):
            bounds.append(bounds[-1] + size + (1 if i < extra else 0))
        return [slice(a, b) for a, b in zip(bounds, bounds[1:])]

    @property
    def workers(self) -> int:
        return self.threads

    def parallel(self, fn: Callable[[Any], Any], items: list) -> list[Any]:
        """``[fn(item) for item in items]``, on the worker threads when there are several."""
        helpers = min(self.threads, len(items)) - 1
        if helpers < 1 or getattr(self._local, "draining", False):
            # one item, or called from inside another parallel call: no hand-off (a nested
            # call waiting on the busy workers would deadlock)
            return [fn(item) for item in items]
        crew = self._workers()
        if not crew.busy.acquire(blocking=False):
            # another thread's parallel call has the workers: run inline, never wait on them
            return [fn(item) for item in items]
        try:
            results: list[Any] = [None] * len(items)
            claim = itertools.count()        # next() on a count is atomic under the GIL
            local = self._local

            def drain() -> None:
                # every thread, the caller included, claims the next unclaimed item until
                # none is left; results keep the items' order whoever computed them
                local.draining = True
                try:
                    for i in claim:
                        if i >= len(items):
                            return
                        results[i] = fn(items[i])
                finally:
                    local.draining = False

            with self.compute():
                crew.run(drain, helpers)
            return results
        finally:
            crew.busy.release()

    def _workers(self) -> "_Crew":
        crew = self._crew
        if crew is None or crew.pid != os.getpid() or crew.broken:
            # none yet, a forked child's copy (its threads did not fork), or interrupted
            crew = self._crew = _Crew(max(1, self.threads - 1))
        return crew

    @contextlib.contextmanager
    def compute(self) -> Iterator[None]:
        """Hold BLAS at one thread while a network pass runs (re-entrant).

        Every kernel call is either split over this backend's worker threads or small, so BLAS
        threads would only compete with them for cores: OpenBLAS workers keep spinning for a
        while after each call, and one such spinning thread took a core from the next layer's
        chunks (measured: a LeNet step 33 ms with BLAS threads, 23.5 ms without)."""
        if self.threads == 1 or self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if self._blas is None:
            self._blas = ThreadpoolController()
        with self._blas.limit(limits=1, user_api="blas"):
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1


class _Crew:
    """The CPU backend's worker threads, each parked on its own lock between parallel calls.

    A call hands every helper the same task in one message (the caller's ``drain``, which
    claims items from a shared counter) by releasing its ``go`` lock, runs the task itself,
    and waits on each helper's ``done`` lock: one wake-up each way per helper and no other
    Python machinery (a ``ThreadPoolExecutor`` submit, with its Future and Condition, made a
    call of two 32 us chunks take 156 us, this 130 us). ``busy`` is held by the call that
    uses the crew (a concurrent call from another thread runs its items inline)."""

    def __init__(self, count: int) -> None:
        self.pid = os.getpid()
        self.busy = threading.Lock()
        self.broken = False
        self._task: Optional[Callable[[], None]] = None
        self._errors: list[BaseException] = []
        self._go = [threading.Lock() for _ in range(count)]
        self._done = [threading.Lock() for _ in range(count)]
        for i, (go, done) in enumerate(zip(self._go, self._done)):
            go.acquire()
            done.acquire()
            threading.Thread(target=self._work, args=(go, done), daemon=True,
                             name=f"minipaddle_{i}").start()

    def _work(self, go: threading.Lock, done: threading.Lock) -> None:
        while True:
            go.acquire()
            try:
                self._task()                      # type: ignore[misc]
            except BaseException as error:        # noqa: B036 (re-raised by run)
                self._errors.append(error)
            finally:
                done.release()

    def run(self, task: Callable[[], None], helpers: int) -> None:
        """``task()`` on the calling thread and on ``helpers`` workers at once; returns when
        all are done, raising the first error a worker's call raised (after the caller's)."""
        self._task = task
        for go in self._go[:helpers]:
            go.release()
        try:
            task()
        finally:
            try:
                for done in self._done[:helpers]:    # never leave a worker running
                    done.acquire()
            except BaseException:
                self.broken = True                # interrupted: the locks are out of step
                raise
            self._task = None
            errors, self._errors = self._errors, []
        if errors:                                # (a caller's own error went first)
            raise errors[0]


def to_host(array: Any) -> np.ndarray:
    """``array`` as a NumPy array: a device (CuPy) array is copied to the host with its
    ``.get()``; a NumPy array is returned as it is (copy it to own it)."""
    if isinstance(array, np.ndarray):
        return array
    get = getattr(array, "get", None)
    if callable(get) and hasattr(array, "shape"):
        return get()
    return np.asarray(array)


#: device name -> the backend class (or factory) ``get_backend(name)`` makes, once
_BACKENDS: dict[str, Callable[[], Backend]] = {}
#: device name -> the backend made for it (one per process)
_MADE: dict[str, Backend] = {}


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Make ``get_backend(name)`` return ``factory()`` (made on first use, then reused)."""
    _BACKENDS[name] = factory


def get_backend(device: Any) -> Backend:
    """The backend of ``device``: a registered device name (``"cpu"``; ``"gpu"``, CuPy and
    cuDNN, a ConfigError when they or a CUDA device are missing) or a :class:`Backend`
    instance, used as it is (e.g. ``GPUBackend(xp=numpy)``, the GPU code paths with NumPy
    standing in for CuPy)."""
    if isinstance(device, Backend):
        return device
    made = _MADE.get(device) if isinstance(device, str) else None
    if made is None:
        factory = _BACKENDS.get(device) if isinstance(device, str) else None
        if factory is None:
            known = " or ".join(repr(name) for name in _BACKENDS)
            raise ConfigError(f"unknown device {device!r}; expected {known}")
        made = _MADE[device] = factory()
    return made


register_backend("cpu", CPUBackend)
