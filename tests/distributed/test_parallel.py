"""Data parallelism in one process: ranks as threads of a test communicator.

The references are one-process runs on the whole batch: N ranks summing their shards'
gradients must make the update one process makes (to float64 rounding), synchronised batch norm
must give the whole batch's outputs and gradients, and the checks (agreement, consistency, data)
must name what differs.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.config import ConfigError
from minipaddle.train.comm import Communicator, LocalComm, shard_bounds
from minipaddle.train.datasets import Dataset, batches, load_dataset
from minipaddle.train.parallel import DataParallel
from minipaddle.train.trainer import Trainer


class ThreadGroup:
    """N ranks as threads: every collective meets at a barrier; the sum is taken in rank
    order, so every rank gets the same bits."""

    def __init__(self, size: int):
        self.size = size
        self.barrier = threading.Barrier(size, timeout=60)
        self.slots: list = [None] * size

    def comms(self) -> list["ThreadComm"]:
        return [ThreadComm(self, r) for r in range(self.size)]

    def run(self, fn, *args_per_rank):
        """fn(comm, *args) on every rank at once; the results (or exceptions) in rank order."""
        results: list = [None] * self.size

        def target(r, comm):
            try:
                results[r] = fn(comm, *(a[r] for a in args_per_rank))
            except BaseException as exc:      # noqa: BLE001 - reported to the test
                results[r] = exc              # (the barrier's timeout is the hang guard)

        threads = [threading.Thread(target=target, args=(r, c))
                   for r, c in enumerate(self.comms())]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results


class ThreadComm(Communicator):
    def __init__(self, group: ThreadGroup, rank: int):
        self.group, self.rank, self.size = group, rank, group.size
        self.local_size = 1

    def allreduce(self, array, op="sum"):
        g = self.group
        g.slots[self.rank] = array.copy()
        g.barrier.wait()
        fn = {"sum": np.add, "min": np.minimum, "max": np.maximum}[op]
        result = g.slots[0].copy()
        for other in g.slots[1:]:
            result = fn(result, other)
        g.barrier.wait()
        array[...] = result
        return array

    def allgather(self, value):
        g = self.group
        g.slots[self.rank] = value
        g.barrier.wait()
        out = list(g.slots)
        g.barrier.wait()
        return out


@pytest.fixture(autouse=True)
def _restore_blas_threads():
    """A distributed Trainer limits BLAS's threads for the rest of its process."""
    from threadpoolctl import threadpool_info, threadpool_limits

    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    yield
    if before:
        threadpool_limits(limits=max(before), user_api="blas")


# -- the split ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,size", [(10, 3), (64, 2), (5, 4), (1, 2), (7, 7)])
def test_paddle_contiguous_split(n, size):
    """rank i takes [n*i/N, n*(i+1)/N): contiguous, covering, sizes within one."""
    bounds = [shard_bounds(n, r, size) for r in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1
    assert bounds == [(n * r // size, n * (r + 1) // size) for r in range(size)]


def test_batches_read_only_the_shard():
    data = Dataset("t", np.arange(23 * 4, dtype=np.float32).reshape(23, 1, 2, 2),
                   np.arange(23), 23)
    whole = list(batches(data, 5, shuffle=True, rng=np.random.default_rng(3)))
    for rank in range(3):
        parts = list(batches(data, 5, shuffle=True, rng=np.random.default_rng(3),
                             shard=lambda n, r=rank: shard_bounds(n, r, 3)))
        assert len(parts) == len(whole)
        for (wi, wl), (pi, pl) in zip(whole, parts):
            lo, hi = shard_bounds(len(wl), rank, 3)
            np.testing.assert_array_equal(pi, wi[lo:hi])
            np.testing.assert_array_equal(pl, wl[lo:hi])


# -- synchronised batch norm ----------------------------------------------------------------------
def bn_net():
    settings(batch_size=12, learning_rate=0.01)
    pixel = data_layer(name="pixel", size=64, height=8, width=8)
    label = data_layer(name="label", size=10)
    conv = img_conv_layer(input=pixel, filter_size=3, num_filters=4, padding=1,
                          act=LinearActivation())
    bn = batch_norm_layer(input=conv, act=ReluActivation())
    predict = fc_layer(input=bn, size=10, act=SoftmaxActivation())
    outputs(classification_cost(input=predict, label=label))


def _bn_step(net, feed):
    fetch = ["__fc_layer_0__"] + list(net.model.output_layer_names)
    out = net.forward(feed, training=True, fetch=fetch)
    grads = net.backward(input_grads=True)
    return out, grads


@pytest.mark.parametrize("sync", [True, False])
def test_synchronised_batch_norm_is_the_whole_batch(sync):
    model = mp.parse_config(bn_net).model_config
    rng = np.random.default_rng(0)
    feed = {"pixel": rng.normal(size=(12, 64)), "label": rng.integers(0, 10, 12)}
    whole = mp.runtime.compile(model, dtype="float64", seed=1)
    w_out, w_grads = _bn_step(whole, feed)

    group = ThreadGroup(2)
    nets = [mp.runtime.compile(model, dtype="float64", seed=1) for _ in range(2)]
    shards = [{k: v[lo:hi] for k, v in feed.items()}
              for lo, hi in (shard_bounds(12, r, 2) for r in range(2))]

    def rank(comm, net, shard):
        if sync:
            net.batch_stat_sum = lambda a: comm.allreduce(np.array(a, dtype=np.float64))
        return _bn_step(net, shard)

    results = group.run(rank, nets, shards)
    for r in results:
        assert not isinstance(r, BaseException), r
    out = {k: np.concatenate([r[0][k] for r in results]) for k in w_out}
    summed = {k: sum(r[1].parameters[k] for r in results) for k in w_grads.parameters}
    dx = np.concatenate([r[1].inputs["pixel"] for r in results])
    moving = [p for p in whole.parameters if p.endswith((".w1", ".w2"))]
    close = (np.allclose(out["__fc_layer_0__"], w_out["__fc_layer_0__"], rtol=1e-10, atol=1e-12)
             and all(np.allclose(summed[k], w_grads.parameters[k], rtol=1e-9, atol=1e-12)
                     for k in summed)
             and np.allclose(dx, w_grads.inputs["pixel"], rtol=1e-9, atol=1e-12))
    if sync:
        assert close
        for p in moving:        # the moving statistics saw the whole batch on every rank
            for net in nets:
                np.testing.assert_allclose(net.parameters[p], whole.parameters[p], rtol=1e-12)
    else:
        assert not close        # per-shard statistics are another computation


# -- the whole loop -------------------------------------------------------------------------------
def _subset(data: Dataset, n: int) -> Dataset:
    return Dataset(data.name, data.images[:n], data.labels[:n], data.num_classes)


def _digits(n_train=400, n_test=120):
    train, test = load_dataset("digits")
    return _subset(train, n_train), _subset(test, n_test)


def _train(comm, seed=2, passes=2, config=None, data=None, **kw):
    trainer = Trainer(config or mp.parse_config(mp_zoo("digits.yaml")), data or _digits(),
                      seed=seed, comm=comm, dtype="float64", **kw)
    result = trainer.train(passes)
    return trainer, result


def mp_zoo(name):
    from pathlib import Path
    return Path(__file__).resolve().parents[2] / "model_zoo" / name


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_make_the_one_process_update(ranks):
    """Summed shard gradients: the parameters and metrics of one process, to float64
    rounding (the shards' partial sums are added in another order than one BLAS call's)."""
    one, one_result = _train(LocalComm())
    group = ThreadGroup(ranks)
    results = group.run(lambda comm: _train(comm))
    for r in results:
        assert not isinstance(r, BaseException), r
    for trainer, result in results:
        for name, value in one.net.parameters.items():
            diff = np.max(np.abs(trainer.net.parameters[name] - value)) / np.max(np.abs(value))
            assert diff < 1e-10, (name, diff)
        for a, b in zip(result.passes, one_result.passes):
            assert a.samples == b.samples == 400
            for k, v in b.metrics.items():
                assert a.metrics[k] == pytest.approx(v, rel=1e-9)
            for k, v in b.test_metrics.items():
                assert a.test_metrics[k] == pytest.approx(v, rel=1e-9, abs=1e-12)
    # every rank bit for bit the same (the per-pass consistency check passed too)
    for trainer, _ in results[1:]:
        for name, value in results[0][0].net.parameters.items():
            np.testing.assert_array_equal(trainer.net.parameters[name], value)


def test_agreement_names_what_differs():
    group = ThreadGroup(2)
    results = group.run(lambda comm, seed: _train(comm, seed=seed, passes=1), [1, 2])
    for r in results:
        assert isinstance(r, ConfigError)
        assert "disagree on the batch size and seed" in str(r)
        assert "rank 1 has batch size 32, seed 2" in str(r)


def test_data_set_disagreement_refused():
    train, test = _digits()
    other = Dataset(train.name, train.images[::-1].copy(), train.labels[::-1].copy(), 10)
    results = ThreadGroup(2).run(lambda comm, d: _train(comm, passes=1, data=d),
                                 [(train, test), (other, test)])
    assert all(isinstance(r, ConfigError) and "disagree on the data set" in str(r)
               for r in results), results


def test_consistency_check_names_the_first_differing_parameter():
    model = mp.parse_config(mp_zoo("digits.yaml")).model_config
    nets = [mp.runtime.compile(model, seed=1) for _ in range(2)]
    name = list(nets[1].parameters)[2]
    nets[1].parameters[name] = nets[1].parameters[name] + 1e-7

    def check(comm, net):
        DataParallel(comm, net, scalars=1).check_consistency()

    results = ThreadGroup(2).run(check, nets)
    for r in results:
        assert isinstance(r, ConfigError), r
        assert f"parameter {name!r} differs between the ranks" in str(r)


def test_readers_of_different_length_are_refused():
    config = mp.parse_config(mp_zoo("digits.yaml"))
    train, _ = _digits()
    feeds = [{"pixel": train.images[i:i + 32].reshape(-1, 64), "label": train.labels[i:i + 32]}
             for i in range(0, 320, 32)]

    def rank(comm, count):
        trainer = Trainer(config, None, seed=1, comm=comm)
        trainer.train(1, reader=lambda: iter(feeds[:count]))

    results = ThreadGroup(2).run(rank, [10, 9])
    for r in results:
        assert isinstance(r, ConfigError) and "the ranks' data disagree" in str(r), r


def test_sharded_evaluation_is_the_whole_evaluation():
    config = mp.parse_config(mp_zoo("digits.yaml"))
    data = _digits()
    whole = Trainer(config, data, seed=1).test()
    results = ThreadGroup(2).run(lambda comm: Trainer(config, data, seed=1, comm=comm).test())
    for r in results:
        assert r["classification_error"] == pytest.approx(whole["classification_error"])
        assert r["cost"] == pytest.approx(whole["cost"], rel=1e-6)
