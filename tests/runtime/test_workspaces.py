"""Scratch memory of the CPU backend: im2col columns and padded images live in buffers that are
reused from step to step (never reallocated once the shapes are known), and nothing a network
returns ever aliases one of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import minipaddle as mp
from minipaddle.train.diagnostics import synthetic_feed

ZOO = Path(__file__).resolve().parents[2] / "model_zoo"


def _arenas(net):
    """The calling thread's scratch arenas (tag -> array)."""
    return dict(getattr(net.backend._local, "arenas", {}))


def test_lenet_steps_reuse_columns_and_scratch_and_outputs_do_not_alias_them():
    net = mp.compile(mp.parse_config(ZOO / "lenet.yaml"), seed=3)
    feed = synthetic_feed(net, 16, np.random.default_rng(0))
    convs = [name for name in net.order if net.configs[name].type == "exconv"]

    def step():
        out = net.forward(feed, training=True, fetch=list(net.order))
        grads = net.backward(input_grads=False)
        return out, grads

    step()
    kept = {name: [id(a) for a in net.layers[name].cache["kept"]] for name in convs}
    arenas = {tag: id(a) for tag, a in _arenas(net).items()}
    assert all(kept.values()), "LeNet's convolutions keep their columns for the backward"
    assert arenas, "the kernels took their padded images and column gradients from arenas"
    for _ in range(2):
        out, grads = step()
        # the same buffers, not new ones of the same size
        assert {name: [id(a) for a in net.layers[name].cache["kept"]] for name in convs} == kept
        assert {tag: id(a) for tag, a in _arenas(net).items()} == arenas
    scratch = list(_arenas(net).values()) + [a for name in convs
                                            for a in net.layers[name].cache["kept"]]
    for value in list(out.values()) + list(grads.parameters.values()):
        for buf in scratch:
            assert not np.shares_memory(value, buf)


def test_kept_columns_are_refreshed_by_every_training_forward():
    """The backward reads the columns of the latest training forward: a network that first ran
    another batch gives the same gradients as one that never did."""
    config = mp.parse_config(ZOO / "lenet.yaml")
    a, b = mp.compile(config, seed=5), mp.compile(config, seed=5)
    rng = np.random.default_rng(1)
    feed = synthetic_feed(a, 8, rng)
    other = synthetic_feed(a, 8, rng)
    a.forward(feed, training=True)
    ga = a.backward(input_grads=False)
    b.forward(other, training=True)          # fills b's kept columns with other data
    b.forward(feed, training=True)
    gb = b.backward(input_grads=False)
    for name in ga.parameters:
        np.testing.assert_array_equal(ga.parameters[name], gb.parameters[name])


def test_parallel_keeps_order_and_runs_nested_calls_inline():
    """The backend's parallel map returns results in item order whichever thread computed
    them, and a parallel call made from inside one runs inline instead of deadlocking."""
    from minipaddle.runtime.backend import CPUBackend

    backend = CPUBackend(threads=2)
    inner = backend.parallel(lambda i: backend.parallel(lambda j: (i, j), [0, 1, 2]),
                             list(range(5)))
    assert inner == [[(i, j) for j in range(3)] for i in range(5)]
    assert backend.parallel(lambda i: i * i, list(range(40))) == [i * i for i in range(40)]


def test_batch_chunks_are_balanced_over_the_threads():
    """Chunks come in a multiple of the thread count, sizes differing by at most one sample,
    each within the chunk budget."""
    from minipaddle.runtime.backend import CPUBackend

    backend = CPUBackend(threads=2)
    for n, per_sample in [(64, 64 * 9 * 1024 * 4), (16, 363 * 3025 * 4), (64, 57600),
                          (5, 10), (1, 10)]:
        slices = backend.batch_slices(n, per_sample)
        sizes = [s.stop - s.start for s in slices]
        assert sum(sizes) == n and slices[0].start == 0
        assert all(a.stop == b.start for a, b in zip(slices, slices[1:]))
        assert max(sizes) - min(sizes) <= 1
        assert len(slices) % 2 == 0 or len(slices) == n
        assert max(sizes) == 1 or max(sizes) * per_sample <= backend.CHUNK_BYTES
