"""Activation kernels: formula references (element loops), clamps, finite-difference gradients."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minipaddle.kernels import activations as A
from minipaddle.kernels.activations import ACTIVATIONS
from numgrad import numeric_grad as _numeric_grad


def numeric_grad(f, x, h=1e-5):
    return _numeric_grad(f, x, h)


def _ref_scalar(name, v):
    """Obviously-correct per-element formulas (spec section 5), in Python floats."""
    if name in ("", "linear"):
        return v
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-min(max(v, -40.0), 13.0)))
    if name == "tanh":
        t = min(-2.0 * v, 40.0)
        return 2.0 / (1.0 + math.exp(t)) - 1.0
    if name == "stanh":
        return 1.7159 * (2.0 / (1.0 + math.exp(-2.0 * (2.0 / 3.0) * v)) - 1.0)
    if name == "relu":
        return v if v > 0 else 0.0
    if name == "brelu":
        return min(max(v, 0.0), 24.0)
    if name == "softrelu":
        return math.log1p(math.exp(min(max(v, -40.0), 40.0)))
    if name == "abs":
        return abs(v)
    if name == "square":
        return v * v
    if name == "exponential":
        return math.exp(v)
    if name == "log":
        return math.log(v)
    if name == "sqrt":
        return math.sqrt(v)
    if name == "reciprocal":
        return 1.0 / v
    if name == "softsign":
        return v / (1.0 + abs(v))
    raise KeyError(name)


def ref_forward(name, x):
    x = np.asarray(x, dtype=np.float64)
    if name == "softmax":
        out = np.empty_like(x)
        for n in range(x.shape[0]):
            m = max(x[n])
            e = [math.exp(max(v - m, -64.0)) for v in x[n]]
            s = sum(e)
            for j, ej in enumerate(e):
                out[n, j] = ej / s
        return out
    return np.array([_ref_scalar(name, float(v)) for v in x.ravel()]).reshape(x.shape)


ELEMENTWISE = ["", "linear", "sigmoid", "tanh", "stanh", "relu", "brelu", "softrelu", "abs",
               "square", "exponential", "log", "sqrt", "reciprocal", "softsign"]

# value ranges (unions of intervals) inside each domain, away from kinks and clamp edges
DOMAINS = {
    "": [(-3, 3)], "linear": [(-3, 3)], "sigmoid": [(-10, 10)], "tanh": [(-5, 5)],
    "stanh": [(-5, 5)], "relu": [(-3, -0.05), (0.05, 3)],
    "brelu": [(-3, -0.05), (0.05, 23.9), (24.1, 27)], "softrelu": [(-10, 10)],
    "abs": [(-3, -0.05), (0.05, 3)], "square": [(-3, 3)], "exponential": [(-3, 3)],
    "log": [(0.2, 3)], "sqrt": [(0.2, 3)], "reciprocal": [(0.2, 3)], "softsign": [(-5, 5)],
    "softmax": [(-5, 5)],
}


def _elements(name, width=64):
    return st.one_of(*[st.floats(lo, hi, width=width) for lo, hi in DOMAINS[name]])


def _sample(name, shape, rng):
    parts = DOMAINS[name]
    which = rng.integers(len(parts), size=shape)
    lo = np.array([p[0] for p in parts], dtype=np.float64)[which]
    hi = np.array([p[1] for p in parts], dtype=np.float64)[which]
    return lo + (hi - lo) * rng.random(shape)


def test_registry_keys():
    assert set(ACTIVATIONS) == set(ELEMENTWISE) | {"softmax"}
    assert "sequence_softmax" not in ACTIVATIONS
    for fwd, bwd in ACTIVATIONS.values():
        assert callable(fwd) and callable(bwd)
    assert ACTIVATIONS[""] == ACTIVATIONS["linear"]


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_forward_matches_reference_float64(name):
    rng = np.random.default_rng(0)
    x = _sample(name, (4, 7), rng)
    y = ACTIVATIONS[name][0](x)
    np.testing.assert_allclose(y, ref_forward(name, x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_backward_finite_differences_float64(name):
    rng = np.random.default_rng(1)
    fwd, bwd = ACTIVATIONS[name]
    x = _sample(name, (3, 5), rng)
    dy = rng.standard_normal(x.shape)
    dx = bwd(x, fwd(x), dy)
    num = numeric_grad(lambda: float(np.sum(dy * fwd(x))), x)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_float32_preserved(name):
    rng = np.random.default_rng(2)
    fwd, bwd = ACTIVATIONS[name]
    x = _sample(name, (3, 4), rng).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y = fwd(x)
    assert y.dtype == np.float32
    assert bwd(x, y, dy).dtype == np.float32


@settings(max_examples=20)
@pytest.mark.parametrize("name", ELEMENTWISE)
@given(data=st.data())
def test_elementwise_any_shape(name, data):
    fwd, bwd = ACTIVATIONS[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))
    x64 = data.draw(hnp.arrays(np.float64, shape, elements=_elements(name)))
    dy = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2)))
    # float64: analytic gradient equals central differences (elementwise, so vectorised)
    y = fwd(x64)
    assert y.shape == shape
    h = 1e-6
    num = (fwd(x64 + h) - fwd(x64 - h)) / (2 * h) * dy
    np.testing.assert_allclose(bwd(x64, y, dy), num, rtol=1e-5, atol=1e-7)
    # float32: same values within float32 precision, dtype kept
    x32 = x64.astype(np.float32)
    y32 = fwd(x32)
    assert y32.dtype == np.float32
    assert bwd(x32, y32, dy.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(y32, ref_forward(name, x32), rtol=2e-6, atol=5e-7)


@given(x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                    elements=st.one_of(st.floats(-50, 50, width=32), st.just(np.float32(-1000)))))
def test_softmax_rows_sum_to_one(x):
    y = A.softmax_forward(x)
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y)) and np.all(y > 0)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(y, ref_forward("softmax", x), rtol=1e-5, atol=1e-7)
    dy = np.ones_like(x)  # d(sum y)/dx = 0 for every row
    np.testing.assert_allclose(A.softmax_backward(x, y, dy), 0.0, atol=1e-6)


# --- Paddle's clamps ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_clamp(dtype):
    y = A.sigmoid_forward(np.array([100, 13, -100, -40, 1e30], dtype=dtype))
    assert y[0] == y[1] and y[4] == y[1]
    assert y[2] == y[3]
    assert y[1] < 1
    assert y[3] > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_clamp_finite(dtype):
    x = np.array([-30, -1000, -1e30, 30, 1000, 1e30], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = A.tanh_forward(x)
    assert y.dtype == dtype
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [-1, -1, -1, 1, 1, 1], atol=1e-15)
    # exactly Paddle's value at the clamp: 2/(1+e^40) - 1
    assert y[1] == y[0] == dtype(2) / (dtype(1) + np.exp(dtype(40))) - dtype(1)


def test_stanh_and_softrelu_extremes_finite():
    x = np.array([-1000, -50, 0, 50, 1000], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = A.stanh_forward(x)
        r = A.softrelu_forward(x)
    np.testing.assert_allclose(s, [-1.7159, -1.7159, 0, 1.7159, 1.7159], rtol=1e-6)
    # softrelu clips x to [-40, 40]
    assert r[0] == r[1] and r[3] == r[4]
    np.testing.assert_allclose(r[3], 40.0, rtol=1e-6)
    assert 0 < r[0] < 1e-17


def test_softmax_with_minus_1000_entries():
    x = np.array([[0, -1000, -1000], [-1000, -1000, -1000], [5, 5, -1000]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = A.softmax_forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    # shifted values are clamped at -64, so the "-1000" entries keep e^-64, as in Paddle
    e64 = math.exp(-64)
    np.testing.assert_allclose(y[0], [1 / (1 + 2 * e64), e64 / (1 + 2 * e64), e64 / (1 + 2 * e64)],
                               rtol=1e-6)
    assert y[0, 1] > 0
    np.testing.assert_allclose(y[1], 1 / 3, rtol=1e-6)
    np.testing.assert_allclose(y[2, :2], 0.5, rtol=1e-6)


def test_brelu_relu_abs_gradients_at_edges():
    x = np.array([-1, 0, 0.5, 24, 30], dtype=np.float32)
    dy = np.ones_like(x)
    np.testing.assert_array_equal(A.brelu_forward(x), [0, 0, 0.5, 24, 24])
    np.testing.assert_array_equal(A.brelu_backward(x, A.brelu_forward(x), dy), [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(A.relu_backward(x, A.relu_forward(x), dy), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(A.abs_backward(x, A.abs_forward(x), dy), [-1, 0, 1, 1, 1])


def test_softrelu_backward_uses_output():
    x = np.array([-3.0, 0.0, 2.0])
    y = A.softrelu_forward(x)
    # 1 - e^(-y) = sigmoid(x)
    np.testing.assert_allclose(A.softrelu_backward(None, y, np.ones(3)), 1 / (1 + np.exp(-x)))


# --- the in-place chains against the one-expression forms, bit for bit ------------------------

def _expressions(xp=np):
    """Each activation as one NumPy expression (how they were written before their steps were
    written over one fresh array): the same bits are required, NaN payloads included (NumPy
    runs ``a * t`` of a large temporary ``t`` as ``t *= a``, which decides the NaN a product
    of two NaNs keeps)."""
    def softmax(x):
        shifted = x - xp.max(x, axis=-1, keepdims=True)
        e = xp.exp(xp.maximum(shifted, -64.0))
        return e / xp.sum(e, axis=-1, keepdims=True)
    return {
        "sigmoid": (lambda x: 1 / (1 + xp.exp(-xp.clip(x, -40.0, 13.0))),
                    lambda x, y, dy: dy * y * (1 - y)),
        "tanh": (lambda x: 2 / (1 + xp.exp(xp.minimum(-2 * x, 40.0))) - 1,
                 lambda x, y, dy: dy * (1 - y * y)),
        "stanh": (lambda x: A.STANH_A * xp.tanh(A.STANH_B * x),
                  lambda x, y, dy: dy * (A.STANH_B / A.STANH_A)
                  * (A.STANH_A * A.STANH_A - y * y)),
        "relu": (lambda x: xp.maximum(x, 0), None),
        "softrelu": (lambda x: xp.log1p(xp.exp(xp.clip(x, -40.0, 40.0))),
                     lambda x, y, dy: dy * -xp.expm1(-xp.clip(y, -40.0, 40.0))),
        "abs": (None, lambda x, y, dy: dy * xp.sign(x)),
        "square": (None, lambda x, y, dy: 2 * x * dy),
        "sqrt": (None, lambda x, y, dy: 0.5 * dy / y),
        "reciprocal": (None, lambda x, y, dy: -dy * y * y),
        "softsign": (lambda x: x / (1 + xp.abs(x)),
                     lambda x, y, dy: dy / ((1 + xp.abs(x)) * (1 + xp.abs(x)))),
        "softmax": (softmax,
                    lambda x, y, dy: y * (dy - xp.sum(dy * y, axis=-1, keepdims=True))),
    }


def _bits(a):
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def _special(rng, shape, dtype, scale):
    """Normal values with NaNs (both signs, a payload), infinities, signed zeros and the
    clamps' bounds at random places."""
    a = (rng.standard_normal(shape) * scale).astype(dtype)
    flat = a.reshape(-1)
    bits = (np.array([0x7FC00123, 0xFFC00001], dtype=np.uint32).view(np.float32)
            if dtype == np.float32 else
            np.array([0x7FF8000000000123, 0xFFF8000000000001], dtype=np.uint64).view(np.float64))
    special = np.concatenate([np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, 40.0,
                                        -40.0, 13.0, -64.0, 24.0], dtype=dtype), bits])
    k = min(flat.size, 4 * special.size)
    flat[rng.choice(flat.size, k, replace=False)] = np.resize(special, k)
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (7,), (5, 10), (16385,), (3, 7, 2343), (8, 16, 32, 32)])
@pytest.mark.parametrize("name", sorted(_expressions()))
def test_same_bits_as_the_one_expression_forms(name, shape, dtype):
    forward, backward = ACTIVATIONS[name]
    ref_forward_, ref_backward = _expressions()[name]
    if name == "softmax" and not shape:
        pytest.skip("row-wise")
    rng = np.random.default_rng(len(shape))
    x = _special(rng, shape, dtype, 30.0)
    if name in ("sqrt", "reciprocal"):
        x = np.abs(x)
    dy = _special(rng, shape, dtype, 1.0)
    # NaN in x and dy at the same places, of opposite signs
    if x.size > 100:
        both = rng.choice(x.size, 40, replace=False)
        x.reshape(-1)[both[:20]] = np.nan
        x.reshape(-1)[both[20:]] = -np.nan
        dy.reshape(-1)[both[::2]] = -np.nan
        dy.reshape(-1)[both[1::2]] = np.nan
    inputs = [x, dy]
    if len(shape) >= 2:                             # non-contiguous inputs too
        inputs += [np.swapaxes(x, 0, 1), np.swapaxes(dy, 0, 1)]
    before = [a.copy() for a in inputs]
    with np.errstate(all="ignore"):
        for xi, di in zip(inputs[::2], inputs[1::2]):
            y = forward(xi)
            if ref_forward_ is not None:
                want = np.asarray(ref_forward_(xi))
                assert np.asarray(y).dtype == want.dtype and y.shape == want.shape
                assert np.array_equal(_bits(y), _bits(want))
            if ref_backward is not None:
                got, want = np.asarray(backward(xi, y, di)), np.asarray(ref_backward(xi, y, di))
                assert got.dtype == want.dtype and got.shape == want.shape
                assert np.array_equal(_bits(got), _bits(want))
    for a, b in zip(inputs, before):                # the inputs are left alone
        assert np.array_equal(_bits(a), _bits(b))
