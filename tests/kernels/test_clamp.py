"""kernels/clamp.py relu_in_place against NumPy's maximum with 0, bit for bit: below, at and
across the row width (with a tail), NaN, signed zeros and infinities, float32 and float64,
a non-contiguous view (written through, not into a copy), integers, and the shared row of
zeros left untouched."""

import numpy as np
import pytest

from minipaddle.kernels import clamp
from minipaddle.kernels.clamp import ROW, relu_in_place


def _values(rng, size, dtype):
    a = rng.standard_normal(size).astype(dtype)
    special = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -1e-30, 1e-30], dtype=dtype)
    a[:min(size, special.size)] = special[:size]
    rng.shuffle(a)
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 7, ROW - 1, ROW, ROW + 1, 3 * ROW + 123])
def test_relu_in_place_is_numpys_maximum(size, dtype):
    a = _values(np.random.default_rng(size), size, dtype)
    want = np.maximum(a, 0)
    got = a.copy()
    assert relu_in_place(np, got) is got
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))   # the bits, NaN too


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_in_place_of_images_and_views(dtype):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 16, 32, 32)).astype(dtype)
    b = a.copy()
    relu_in_place(np, b)
    np.testing.assert_array_equal(b, np.maximum(a, 0))
    c = a.copy()
    view = c[:, ::2]                               # not contiguous: written through
    relu_in_place(np, view)
    np.testing.assert_array_equal(c[:, ::2], np.maximum(a[:, ::2], 0))
    np.testing.assert_array_equal(c[:, 1::2], a[:, 1::2])


def test_relu_in_place_of_integers_and_the_shared_zeros():
    a = np.arange(-3 * ROW, 3 * ROW, dtype=np.int64)
    relu_in_place(np, a)
    np.testing.assert_array_equal(a, np.maximum(np.arange(-3 * ROW, 3 * ROW), 0))
    for dtype in (np.float32, np.float64):
        relu_in_place(np, np.full(2 * ROW + 5, 7.0, dtype=dtype))
        zeros = clamp._ZEROS[np.dtype(dtype)]
        assert not zeros.flags.writeable and not np.any(zeros)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [7, ROW, 2 * ROW + 5])
def test_relu_into_a_new_array_leaves_the_input(size, dtype):
    x = _values(np.random.default_rng(size + 1), size, dtype)
    before = x.copy()
    out = np.empty_like(x)
    assert clamp.relu_into(np, x, out) is out
    assert np.array_equal(out.view(np.uint8), np.maximum(x, 0).view(np.uint8))
    assert np.array_equal(x.view(np.uint8), before.view(np.uint8))
