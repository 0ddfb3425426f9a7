"""The faster pooling paths (kernels/pool.py) against the direct-loop references of
test_pool.py: max windows that tile the image exactly (flat NumPy passes), the average backward
as a sliding sum of the spread gradient, and its sliding-sum helper."""

import numpy as np
import pytest

from minipaddle.kernels import pool as K
from minipaddle.kernels.pool import pool2d_backward, pool2d_forward
from test_pool import _distinct, _out_size, ref_backward, ref_forward


def _inputs(shape, rng, dtype):
    """Ties (small integers), distinct values and signed zeros, in ``dtype``."""
    ties = rng.integers(0, 3, shape).astype(dtype)
    zeros = np.where(rng.uniform(size=shape) < 0.5, -0.0, 0.0).astype(dtype)
    return ties, _distinct(shape, rng).astype(dtype), zeros


# ------------------------------------------------------------------------ tiling max windows

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, k", [
    ((3, 5, 8, 8), (2, 2)),             # LeNet's 2x2/2 (odd numbers of maps)
    ((2, 3, 24, 24), (2, 2)),
    ((1, 2, 6, 4), (2, 1)),
    ((2, 1, 3, 8), (1, 2)),
    ((2, 2, 6, 9), (2, 3)),
    ((1, 3, 9, 4), (3, 2)),
    ((2, 2, 9, 9), (3, 3)),
    ((1, 1, 8, 12), (4, 4)),
    ((1, 1, 2, 2), (2, 2)),             # one window per map
])
def test_flat_tiling_max_matches_the_reference(shape, k, dtype):
    rng = np.random.default_rng(11)
    out = (shape[2] // k[0], shape[3] // k[1])
    args = dict(kind="max", kernel=k, stride=k, padding=(0, 0), output_size=out)
    for x in _inputs(shape, rng, dtype):
        assert K._flat_tiles(x, *k, *out, np)
        y = pool2d_forward(x, **args)
        assert y.dtype == x.dtype and y.shape == shape[:2] + out
        np.testing.assert_array_equal(y, ref_forward(x, **args))
        for dy_dtype in (dtype, np.float64):
            dy = rng.integers(1, 4, y.shape).astype(dy_dtype)
            dy0 = dy.copy()
            dx = pool2d_backward(x, y, dy, **args)
            assert dx.dtype == x.dtype and dx.shape == x.shape
            np.testing.assert_array_equal(dx, ref_backward(x, dy, **args))
            np.testing.assert_array_equal(dy, dy0)
            assert not np.shares_memory(dx, dy) and not np.shares_memory(y, x)


def test_flat_tiling_max_takes_strided_inputs():
    """A non-contiguous x (a channel slice) and dy (a transposed copy) give the same result."""
    rng = np.random.default_rng(12)
    base = rng.integers(0, 4, (2, 6, 8, 8)).astype(np.float32)
    x = base[:, ::2]
    args = dict(kind="max", kernel=(2, 2), stride=(2, 2), padding=(0, 0), output_size=(4, 4))
    y = pool2d_forward(x, **args)
    np.testing.assert_array_equal(y, ref_forward(x, **args))
    dy = np.ascontiguousarray(rng.integers(1, 4, (4, 4, 3, 2)).astype(np.float32)).transpose(
        3, 2, 1, 0)
    np.testing.assert_array_equal(pool2d_backward(x, y, dy, **args), ref_backward(x, dy, **args))


def test_partial_tilings_keep_the_strided_path():
    """Trailing rows or columns left unread are not the flat path's: it needs exact tiling."""
    x = np.zeros((1, 1, 7, 8), np.float32)
    assert not K._flat_tiles(x, 2, 2, 3, 4, np)
    assert K._flat_tiles(x[:, :, :6], 2, 2, 3, 4, np)
    assert not K._flat_tiles(x[:, :, :6], 1, 1, 6, 8, np)       # 1x1: a copy, elsewhere


# ------------------------------------------------------------- average backward: spread sums

@pytest.mark.parametrize("k", range(1, 10))
@pytest.mark.parametrize("unit", [1, 3])
def test_window_sums_match_direct_sums(k, unit):
    rng = np.random.default_rng(k * 10 + unit)
    n = 40 * unit
    flat = rng.standard_normal(n)
    need = n - (k - 1) * unit
    direct = np.array([sum(flat[j + i * unit] for i in range(k)) for j in range(need)])
    np.testing.assert_allclose(K._window_sums(flat, unit, k, need, np), direct, rtol=1e-13,
                               atol=1e-13)
    out = np.full(need + 5, np.nan)
    K._window_sums(flat, unit, k, need, np, out)
    np.testing.assert_allclose(out[:need], direct, rtol=1e-13, atol=1e-13)
    assert np.isnan(out[need:]).all()                      # nothing written past ``need``


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exclude", [True, False])
@pytest.mark.parametrize("shape, k, s, p, ceil", [
    ((2, 3, 9, 11), (3, 3), (1, 1), (1, 1), False),     # overlapping, padded
    ((1, 2, 10, 7), (2, 3), (3, 4), (0, 1), True),      # stride larger than the window
    ((2, 2, 13, 8), (5, 2), (2, 1), (4, 1), True),      # windows past the padded edge
    ((1, 1, 5, 9), (2, 2), (2, 2), (2, 0), False),      # spp: a window in the padding only
    ((2, 1, 9, 3), (2, 1), (2, 1), (4, 0), False),      # padding wider than the window
    ((1, 2, 20, 21), (16, 9), (1, 2), (3, 0), False),   # large windows
    ((1, 1, 6, 6), (1, 1), (1, 1), (0, 0), False),
])
def test_spread_sums_give_the_average_gradient(shape, k, s, p, ceil, exclude, dtype,
                                                 monkeypatch):
    """Every window through the separable path (SEPARABLE_MARGIN 0), one map per chunk too."""
    monkeypatch.setattr(K, "SEPARABLE_MARGIN", 0.0)
    rng = np.random.default_rng(13)
    out = tuple(_out_size(n, kk, ss, pp, ceil) for n, kk, ss, pp in zip(shape[2:], k, s, p))
    args = dict(kind="avg", kernel=k, stride=s, padding=p, output_size=out,
                exclude_mode=exclude)
    x = rng.standard_normal(shape).astype(dtype)
    y = pool2d_forward(x, **args)
    dy = rng.standard_normal(y.shape).astype(dtype)
    expected = ref_backward(x, dy, **args)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for chunk in (K.SEPARABLE_CHUNK_BYTES, 1):
        monkeypatch.setattr(K, "SEPARABLE_CHUNK_BYTES", chunk)
        dx = pool2d_backward(x, y, dy, **args)
        assert dx.dtype == x.dtype and dx.shape == x.shape
        np.testing.assert_allclose(dx, expected, rtol=tol, atol=tol)
