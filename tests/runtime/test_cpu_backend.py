"""The CPU backend's worker crew (parallel calls) and its relu."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from minipaddle.kernels.clamp import ROW
from minipaddle.runtime.backend import CPUBackend


def test_parallel_runs_items_on_both_threads_in_order():
    backend = CPUBackend(threads=2)
    seen = set()
    barrier = threading.Barrier(2, timeout=10)

    def fn(i):
        if i < 2:                     # the first two items meet: two threads ran them
            barrier.wait()
        seen.add(threading.get_ident())
        return i * 10

    for _ in range(3):                # the crew serves call after call
        assert backend.parallel(fn, list(range(7))) == [i * 10 for i in range(7)]
    assert len(seen) == 2


@pytest.mark.parametrize("failing", [0, 1, 5])
def test_parallel_raises_an_items_error_and_keeps_working(failing):
    backend = CPUBackend(threads=2)

    def fn(i):
        if i == failing:
            raise ValueError(f"item {i}")
        return i

    with pytest.raises(ValueError, match=f"item {failing}"):
        backend.parallel(fn, list(range(6)))
    # no error left behind for the next call, and the workers are back
    assert backend.parallel(lambda i: i + 1, list(range(6))) == list(range(1, 7))


def test_parallel_calls_from_two_threads_at_once_both_finish():
    """A call made while another thread's call has the workers runs its items inline."""
    backend = CPUBackend(threads=2)
    inside = threading.Event()
    release = threading.Event()
    results = {}

    def slow(i):
        inside.set()
        release.wait(10)
        return i

    other = threading.Thread(target=lambda: results.setdefault(
        "other", backend.parallel(slow, [0, 1])))
    other.start()
    assert inside.wait(10)
    results["main"] = backend.parallel(lambda i: -i, [1, 2, 3])
    release.set()
    other.join(10)
    assert results == {"other": [0, 1], "main": [-1, -2, -3]}


def test_single_thread_backend_runs_inline():
    backend = CPUBackend(threads=1)
    assert backend.parallel(lambda i: threading.get_ident(), [0, 1, 2]) == \
        [threading.get_ident()] * 3


SPECIAL = [-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, 1e-310, -1e-310,
           3.0, -2.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 7, ROW, 2 * ROW + 5,
                                  3 * ROW - 1])
def test_relu_has_the_bits_of_maximum_with_zero(dtype, size):
    backend = CPUBackend(threads=2)
    relu, _ = backend.activation("relu", "layer")
    rng = np.random.default_rng(size)
    x = rng.standard_normal(size).astype(dtype)
    x[rng.integers(0, size, size=min(size, 40))] = rng.choice(
        np.array(SPECIAL, dtype=dtype), size=min(size, 40))
    uint = np.uint32 if dtype == np.float32 else np.uint64
    for shaped in (x, x.reshape(1, size, 1)):
        y = relu(shaped)
        assert y.shape == shaped.shape and y.dtype == shaped.dtype
        assert not np.shares_memory(y, shaped)
        np.testing.assert_array_equal(y.view(uint), np.maximum(shaped, 0).view(uint))


def test_relu_of_other_arrays_is_numpys_maximum():
    backend = CPUBackend(threads=2)
    relu, _ = backend.activation("relu", "layer")
    x = np.arange(-12.0, 12.0).reshape(4, 6)
    np.testing.assert_array_equal(relu(x.T), np.maximum(x.T, 0))     # not C-contiguous
    ints = np.arange(-3, 3)
    np.testing.assert_array_equal(relu(ints), np.maximum(ints, 0))
    assert relu(ints).dtype == ints.dtype
