"""The max-pool backward by the maxima's values (kernels/pool.py ``_max_backward_by_values``)
against the direct-loop reference of test_pool.py: distinct values, ties (integers, signed
zeros, all-zero maps beside real-valued ones), padding, strides, odd sizes, volumes, hash
collisions, float32 and float64."""

import numpy as np
import pytest
from hypothesis import given, settings

from minipaddle.kernels import pool as K
from minipaddle.kernels.pool import pool2d_backward, pool2d_forward
from test_pool import _args, _distinct, _out_size, pool_cases, ref_backward


def _refuse(*_):
    raise AssertionError("the dense route ran")


def _dense(kernel, stride, padding, out):
    return lambda x, y, dy: K._max_backward_dense(x, y, dy, kernel, stride, padding, out, np)


@pytest.fixture
def everywhere(monkeypatch):
    """The route taken for every window size and candidate share."""
    monkeypatch.setattr(K, "BY_VALUES_MIN_CELLS", 1)
    monkeypatch.setattr(K, "BY_VALUES_MAX_SHARE", 1.0)
    monkeypatch.setattr(K, "BY_VALUES_GIVE_UP", 1.0)


@settings(max_examples=150, deadline=None)
@given(pool_cases())
def test_distinct_values_match_the_reference(case):
    case = dict(case, kind="max")
    args = _args(case)
    rng = np.random.default_rng(case["seed"])
    saved = K.BY_VALUES_MIN_CELLS, K.BY_VALUES_MAX_SHARE, K.BY_VALUES_GIVE_UP
    K.BY_VALUES_MIN_CELLS, K.BY_VALUES_MAX_SHARE, K.BY_VALUES_GIVE_UP = 1, 1.0, 1.0
    try:
        for dtype in (np.float64, np.float32):
            x = _distinct(case["shape"], rng).astype(dtype)
            y = pool2d_forward(x, **args)
            dy = rng.standard_normal(y.shape).astype(dtype)
            dx = K._max_backward_by_values(x, y, dy, _refuse)      # no tie: never dense
            assert dx is not None and dx.dtype == x.dtype and dx.shape == x.shape
            tol = 1e-12 if dtype == np.float64 else 1e-5
            np.testing.assert_allclose(dx, ref_backward(x, dy, **args), rtol=tol, atol=tol)
            np.testing.assert_allclose(pool2d_backward(x, y, dy, **args), dx, rtol=tol,
                                       atol=tol)
    finally:
        K.BY_VALUES_MIN_CELLS, K.BY_VALUES_MAX_SHARE, K.BY_VALUES_GIVE_UP = saved


@settings(max_examples=100, deadline=None)
@given(pool_cases())
def test_ties_match_the_reference(case):
    """Integers in a small range and signed zeros: the tied maps go dense, the rest by values."""
    case = dict(case, kind="max")
    args = _args(case)
    rng = np.random.default_rng(case["seed"])
    shape = case["shape"]
    saved = K.BY_VALUES_MIN_CELLS, K.BY_VALUES_MAX_SHARE, K.BY_VALUES_GIVE_UP
    K.BY_VALUES_MIN_CELLS, K.BY_VALUES_MAX_SHARE, K.BY_VALUES_GIVE_UP = 1, 1.0, 1.0
    try:
        for dtype in (np.float64, np.float32):
            ties = rng.integers(0, 3, shape).astype(dtype)
            zeros = np.where(rng.uniform(size=shape) < 0.5, -0.0, 0.0).astype(dtype)
            mixed = _distinct(shape, rng).astype(dtype)
            mixed[:, ::2] = ties[:, ::2]                           # tied maps beside distinct
            for x in (ties, zeros, mixed):
                y = pool2d_forward(x, **args)
                dy = rng.integers(1, 4, y.shape).astype(dtype)
                dx = K._max_backward_by_values(x, y, dy, _dense(*(args[k] for k in (
                    "kernel", "stride", "padding", "output_size"))))
                assert dx is not None and dx.dtype == x.dtype
                np.testing.assert_array_equal(dx, ref_backward(x, dy, **args))
    finally:
        K.BY_VALUES_MIN_CELLS, K.BY_VALUES_MAX_SHARE, K.BY_VALUES_GIVE_UP = saved


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, k, s, p", [
    ((2, 3, 40, 37), (20, 20), (1, 1), (0, 0)),     # img_layers.py's kind: large, stride 1
    ((1, 4, 33, 41), (15, 17), (2, 3), (4, 6)),     # padded, strided, odd sizes
    ((3, 2, 16, 16), (16, 16), (1, 1), (3, 3)),     # windows larger than the image's half
])
def test_large_windows_take_the_route_by_default(shape, k, s, p, dtype):
    rng = np.random.default_rng(5)
    out = tuple(_out_size(n, kk, ss, pp, False) for n, kk, ss, pp in zip(shape[2:], k, s, p))
    args = dict(kind="max", kernel=k, stride=s, padding=p, output_size=out)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 1] = 0.0                                    # a dead map: all zero, every cell tied
    x[-1, 0, : shape[2] // 2] = np.maximum(x[-1, 0, : shape[2] // 2], 0)     # relu'd half
    y = pool2d_forward(x, **args)
    dy = rng.standard_normal(y.shape).astype(dtype)
    counts = K._all_counts(x, k, s, p, out)
    assert K._by_values_may_pay(x, k, counts, np)
    expected = ref_backward(x, dy, **args)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    dx = K._max_backward_by_values(x, y, dy, _dense(k, s, p, out))
    assert dx is not None
    np.testing.assert_allclose(dx, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(pool2d_backward(x, y, dy, **args), expected, rtol=tol, atol=tol)


def test_volumes_take_the_route(everywhere):
    rng = np.random.default_rng(6)
    args = dict(kind="max", kernel=(3, 4, 2), stride=(1, 2, 1), padding=(1, 0, 1),
                output_size=(5, 3, 6))
    for x in (rng.standard_normal((2, 3, 5, 8, 5)), rng.integers(0, 2, (2, 3, 5, 8, 5)) * 1.0):
        y = K.pool_forward(x, **args)
        dy = rng.standard_normal(y.shape)
        dense = np.zeros_like(x)                   # the offset loop, by hand
        for o, i in K._cells(x, args["kernel"], args["stride"], args["padding"],
                             args["output_size"]):
            dense[i] += (x[i] == y[o]) * dy[o]
        np.testing.assert_allclose(K.pool_backward(x, y, dy, **args), dense, rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("multipliers", [(1, 3), (1,), (5, 1, 7, 9, 11, 13, 15, 17)])
def test_hash_collisions_retry_or_give_up(multipliers, monkeypatch, everywhere):
    """Small multipliers put most keys in few slots: the rounds retry, and when they run out
    the dense route answers; the gradient is the reference's either way."""
    monkeypatch.setattr(K, "_HASH_MULTIPLIERS", multipliers)
    rng = np.random.default_rng(7)
    args = dict(kind="max", kernel=(5, 5), stride=(1, 1), padding=(2, 2), output_size=(9, 10))
    for dtype in (np.float32, np.float64):
        x = _distinct((2, 3, 9, 10), rng).astype(dtype)
        y = pool2d_forward(x, **args)
        dy = rng.integers(1, 4, y.shape).astype(dtype)
        np.testing.assert_array_equal(pool2d_backward(x, y, dy, **args),
                                      ref_backward(x, dy, **args))


def test_match_runs_labels_every_run_or_gives_up():
    vals = np.array([3.0, -0.0, 2.5, 3.0], np.float32)
    owners = np.array([0, 0, 1, 1])
    runs = K._keys(np.array([0.0, 3.0, 3.0, 2.5, 7.0], np.float32), np.array([0, 0, 1, 1, 1]))
    label = K._match_runs(K._keys(vals, owners), runs)
    np.testing.assert_array_equal(label, [1, 0, 3, 2, -1])


def test_crowded_maps_go_dense_and_crowded_inputs_give_up():
    rng = np.random.default_rng(8)
    args = dict(kind="max", kernel=(4, 4), stride=(1, 1), padding=(0, 0), output_size=(5, 5))
    x = np.zeros((2, 2, 8, 8))
    y = pool2d_forward(x, **args)
    assert np.count_nonzero(x >= y.min(axis=(2, 3), keepdims=True)) > x.size // 2
    assert K._max_backward_by_values(x, y, np.ones_like(y), _refuse) is None
    x = rng.standard_normal((2, 2, 40, 40))
    x[1, 0] = 0.0                                       # one crowded (and tied) map
    x[0, 1, ::2] = -5.0                                 # half the cells out of the running
    args = dict(args, kernel=(12, 12), output_size=(29, 29))
    y = pool2d_forward(x, **args)
    dy = rng.integers(1, 4, y.shape) * 1.0
    ran = []

    def dense(*a):
        ran.append(a[0].shape)
        return _dense((12, 12), (1, 1), (0, 0), (29, 29))(*a)

    dx = K._max_backward_by_values(x, y, dy, dense)
    np.testing.assert_array_equal(dx, ref_backward(x, dy, **args))
    assert ran and ran[0][0] < 4                        # some maps went by values


def test_a_nan_gives_up(everywhere):
    rng = np.random.default_rng(9)
    args = dict(kind="max", kernel=(4, 4), stride=(1, 1), padding=(0, 0), output_size=(5, 5))
    x = rng.standard_normal((2, 2, 8, 8))
    x[0, 0, 3, 3] = np.nan
    y = pool2d_forward(x, **args)
    assert K._max_backward_by_values(x, y, np.ones_like(y), _refuse) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_crowded_sampled_maps_go_dense_without_giving_up(dtype):
    """The maps counted first (every 16th) crowded, the others not: only the crowded maps go
    dense; crowded maps the sample misses are found from the list's length (or, fewer, as
    tied maps)."""
    rng = np.random.default_rng(10)
    args = dict(kind="max", kernel=(12, 12), stride=(1, 1), padding=(0, 0), output_size=(29, 29))
    for dead in ([0, 16], [1, 2, 3, 4], [5]):        # maps 0, 16 and 32 are sampled
        x = rng.standard_normal((2, 17, 40, 40)).astype(dtype)
        x.reshape(34, 40, 40)[dead] = 0.0             # all tied: crowded
        y = pool2d_forward(x, **args)
        dy = rng.integers(1, 4, y.shape).astype(dtype)
        ran = []

        def dense(*a):
            ran.append(a[0].shape[0])
            return _dense((12, 12), (1, 1), (0, 0), (29, 29))(*a)

        dx = K._max_backward_by_values(x, y, dy, dense)
        assert dx is not None and len(ran) == 1 and len(dead) <= ran[0] < 34
        np.testing.assert_array_equal(dx, ref_backward(x, dy, **args))
