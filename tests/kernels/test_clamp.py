"""kernels/clamp.py against NumPy's own calls with a scalar, bit for bit: relu_in_place and
relu_into against ``maximum(x, 0)``, clamp_into against ``maximum``/``minimum``/``fmax``/
``fmin`` with each constant (0.0, -0.0, ints, infinities, a NumPy scalar) and both bounds;
below, at and across the row width (with a tail), NaN (payloads and sign), signed zeros and
infinities, float32 and float64, in place and into a new array; non-contiguous views (written
through, not into a copy), Fortran order, an overlapping ``out``, integers, constants that
must take NumPy's call (inexact, NaN, another dtype), which route each input takes, and the
shared rows left untouched."""

import numpy as np
import pytest

from minipaddle.kernels import clamp
from minipaddle.kernels.clamp import ROW, relu_in_place


def _nans(dtype):
    """A quiet NaN with a payload and a negative one (their bits must come through)."""
    bits = ([0x7FC00123, 0xFFC00001] if dtype == np.float32
            else [0x7FF8000000000123, 0xFFF8000000000001])
    return np.array(bits, dtype=np.uint32 if dtype == np.float32 else np.uint64).view(dtype)


def _values(rng, size, dtype, scale=1.0):
    a = (rng.standard_normal(size) * scale).astype(dtype)
    special = np.concatenate([np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -1e-30, 1e-30,
                                        40.0, -40.0, -64.0, 24.0, 1.0], dtype=dtype),
                              _nans(dtype)])
    a[:min(size, special.size)] = special[:size]
    rng.shuffle(a)
    return a


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
        np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


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
        zeros = clamp._row(0, np.dtype(dtype))
        assert zeros is clamp._row(0, np.dtype(dtype))      # cached
        assert not zeros.flags.writeable and not np.any(zeros) and not np.signbit(zeros).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [7, ROW, 2 * ROW + 5])
def test_relu_into_a_new_array_leaves_the_input(size, dtype):
    x = _values(np.random.default_rng(size + 1), size, dtype)
    before = x.copy()
    out = np.empty_like(x)
    assert clamp.relu_into(np, x, out) is out
    assert np.array_equal(out.view(np.uint8), np.maximum(x, 0).view(np.uint8))
    assert np.array_equal(x.view(np.uint8), before.view(np.uint8))


# ------------------------------------------------------------------------------ clamp_into

SIZES = [1, 7, ROW - 1, ROW, ROW + 1, 3 * ROW + 123]
UFUNCS = {(True, "lo"): np.maximum, (True, "hi"): np.minimum,
          (False, "lo"): np.fmax, (False, "hi"): np.fmin}
CONSTANTS = [0, 0.0, -0.0, 40.0, -40.0, -64.0, 13, np.inf, -np.inf, 2.0 ** -100]


@pytest.fixture
def routes(monkeypatch):
    """Counts the calls that take the rows."""
    calls = []
    by_rows = clamp._by_rows

    def counting(*args):
        calls.append(args[0])
        return by_rows(*args)
    monkeypatch.setattr(clamp, "_by_rows", counting)
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("propagate_nan", [True, False])
@pytest.mark.parametrize("side", ["lo", "hi"])
def test_clamp_into_is_numpys_call_with_the_scalar(side, propagate_nan, size, dtype, routes):
    ufunc = UFUNCS[propagate_nan, side]
    x = _values(np.random.default_rng(size), size, dtype, scale=50.0)
    before = x.copy()
    for c in CONSTANTS + [dtype(13.0), dtype(-0.0)]:
        want = ufunc(x, c)
        out = np.empty_like(x)
        got = clamp.clamp_into(np, x, out, propagate_nan=propagate_nan, **{side: c})
        assert got is out and _same_bits(got, want), (c, ufunc)
        inplace = x.copy()
        assert clamp.clamp_into(np, inplace, inplace, propagate_nan=propagate_nan,
                                **{side: c}) is inplace
        assert _same_bits(inplace, want), (c, ufunc)
    assert _same_bits(x, before)
    # every constant above takes the rows from ROW values on, none below
    assert len(routes) == (2 * (len(CONSTANTS) + 2) if size >= ROW else 0)
    assert all(u is ufunc for u in routes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [7, ROW, 2 * ROW + 5])
@pytest.mark.parametrize("propagate_nan", [True, False])
def test_clamp_into_with_both_bounds(propagate_nan, size, dtype, routes):
    mx, mn = (np.maximum, np.minimum) if propagate_nan else (np.fmax, np.fmin)
    x = _values(np.random.default_rng(size + 2), size, dtype, scale=50.0)
    for lo, hi in [(-40.0, 13.0), (0, 24.0), (-0.0, 0.0), (-40.0, 40.0)]:
        want = mn(mx(x, lo), hi)
        got = clamp.clamp_into(np, x, np.empty_like(x), lo, hi, propagate_nan=propagate_nan)
        assert _same_bits(got, want), (lo, hi)
        inplace = x.copy()
        clamp.clamp_into(np, inplace, inplace, lo, hi, propagate_nan=propagate_nan)
        assert _same_bits(inplace, want), (lo, hi)
    assert len(routes) == (16 if size >= ROW else 0)


def test_clamp_into_without_bounds_copies():
    x = np.arange(2.0 * ROW)
    out = np.zeros_like(x)
    assert clamp.clamp_into(np, x, out) is out
    np.testing.assert_array_equal(out, x)
    assert clamp.clamp_into(np, x, x) is x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clamp_into_views_and_layouts(dtype, routes):
    rng = np.random.default_rng(3)
    a = _values(rng, 6 * 16 * 32 * 32, dtype, scale=50.0).reshape(6, 16, 32, 32)
    # a strided view: the scalar call, written through
    c = a.copy()
    view = c[:, ::2]
    assert clamp.clamp_into(np, view, view, hi=13.0) is view
    assert _same_bits(c[:, ::2], np.minimum(a[:, ::2], 13.0))
    assert _same_bits(c[:, 1::2], a[:, 1::2])
    assert not routes
    # Fortran order (a transposed array and output): the rows, in memory order
    t = a.T
    out = np.empty_like(t)
    assert out.flags.f_contiguous and not out.flags.c_contiguous
    assert _same_bits(clamp.clamp_into(np, t, out, lo=-0.0), np.maximum(t, -0.0))
    assert len(routes) == 1
    # a C-ordered input into a Fortran-ordered output: the scalar call
    out = np.empty(a.shape, dtype=dtype, order="F")
    assert _same_bits(clamp.clamp_into(np, a, out, lo=0), np.maximum(a, 0))
    assert len(routes) == 1
    # an output overlapping the input elsewhere than in place: NumPy's call
    flat = a.reshape(-1).copy()
    want = flat.copy()
    np.maximum(want[ROW:], 0.0, out=want[:-ROW])
    clamp.clamp_into(np, flat[ROW:], flat[:-ROW], lo=0.0)
    assert _same_bits(flat, want)
    assert len(routes) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clamp_into_constants_numpy_must_take(dtype, routes):
    x = _values(np.random.default_rng(4), 2 * ROW + 3, dtype, scale=50.0)
    inexact = [0.1, 1e300, 2 ** 25 + 1] if dtype == np.float32 else []
    for c in inexact + [np.nan, -np.nan, 2 ** 60 + 1, True, np.float16(0.5)]:
        with np.errstate(over="ignore"):
            want = np.maximum(x, c)
            got = clamp.clamp_into(np, x, np.empty_like(want), lo=c)
        assert _same_bits(got, want), c
    for call in (lambda: np.maximum(x, 10 ** 400),
                 lambda: clamp.clamp_into(np, x, np.empty_like(x), lo=10 ** 400)):
        with pytest.raises(OverflowError):     # NumPy's own refusal
            call()
    other = np.float64(0.5) if dtype == np.float32 else np.float32(0.5)
    out = np.empty_like(x)
    want = np.minimum(x, other, out=x.copy())        # computed in the wider type, cast back
    assert _same_bits(clamp.clamp_into(np, x, out, hi=other), want)
    assert not routes
    ints = np.arange(-2 * ROW, 2 * ROW)
    assert _same_bits(clamp.clamp_into(np, ints, ints.copy(), lo=-5, hi=7),
                      np.minimum(np.maximum(ints, -5), 7))
    assert not routes


def test_clamp_rows_are_cached_per_constant_and_sign():
    dt = np.dtype(np.float32)
    plus, minus = clamp._row(0.0, dt), clamp._row(-0.0, dt)
    assert plus is not minus and not np.signbit(plus).any() and np.signbit(minus).all()
    assert clamp._row(0, dt) is clamp._row(0, dt)
    assert clamp._row(np.float32(13), dt)[0] == 13 and clamp._row(13.0, dt)[0] == 13
    assert clamp._row(0.1, dt) is None and clamp._row(np.float64(1), dt) is None
    for row in clamp._ROWS.values():
        assert not row.flags.writeable and row.size == ROW
    assert len(clamp._ROWS) <= clamp._MAX_ROWS


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0, 1, 3])
def test_clamp_into_zeros_and_nans_in_every_tail(offset, dtype, routes):
    """Zeros of the constant's opposite sign and NaNs at every place of the last rows and of
    tails of 1 to 19 values, at misaligned starts (float32's ``fmax``/``fmin`` treat the
    last size-mod-8 values of two arrays apart: :func:`clamp._by_rows`)."""
    rng = np.random.default_rng(offset)
    tails = list(range(20)) + [ROW - 1]
    for tail in tails:
        n = ROW + tail
        base = rng.choice(np.array([-0.0, 0.0, np.nan, -np.nan, 1.0, -1.0], dtype=dtype),
                          n + offset)
        base[-3:] = _nans(dtype)[[0, 1, 0]]
        x = base[offset:]
        for propagate_nan in (True, False):
            for side, c in (("lo", 0.0), ("lo", -0.0), ("hi", 0.0), ("hi", -0.0)):
                want = UFUNCS[propagate_nan, side](x, c)
                got = clamp.clamp_into(np, x, np.empty_like(x), propagate_nan=propagate_nan,
                                       **{side: c})
                assert _same_bits(got, want), (tail, propagate_nan, side, c)
                inplace = x.copy()
                clamp.clamp_into(np, inplace, inplace, propagate_nan=propagate_nan,
                                 **{side: c})
                assert _same_bits(inplace, want), (tail, propagate_nan, side, c)
    assert len(routes) == len(tails) * 16
