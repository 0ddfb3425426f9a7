"""The backward kernels' ``dx_out``: the data gradient written straight into the caller's
array (the runtime's slice of its whole batch's gradient) by every route: the im2col "batch"
layout's three data-gradient methods (the flipped conv, col2im, the sub-pixel phases with and
without the one-GEMM route), the "pixel" layout's col2im and phases, the "flat" kernel, the
transposed conv in both layouts, Winograd, and the depthwise kernel. Each:
the same buffer returned, bit-for-bit the gradient computed without ``dx_out``, within
rounding of the direct-loop reference, the neighbouring rows of the larger array untouched;
float32 and float64, odd shapes. A non-contiguous ``dx_out`` or one of another dtype gets a
copy, a wrongly shaped one is refused."""

import numpy as np
import pytest
from numgrad import numeric_grad
from test_conv import Workspace, _conv_data, _transpose_data, ref_conv, ref_conv_transpose

import minipaddle.kernels.conv as K
from minipaddle.kernels.winograd import winograd_backward, winograd_weight

#: (N, C, H, W, F, kh, kw, stride, padding, dilation, groups), the route each one takes
CONV_ROUTES = [
    # "batch" by the flipped conv of dy (stride 1, padding within the reach, F <= 2C)
    ("batch", (3, 4, 7, 9, 5, 3, 3, (1, 1), (1, 1), (1, 1), 1), "conv"),
    ("batch", (2, 4, 6, 5, 6, 3, 2, (1, 1), (1, 0), (2, 1), 2), "conv"),
    # col2im: many more filters than channels; padding beyond the filter's reach
    ("batch", (2, 2, 7, 6, 7, 3, 2, (1, 1), (1, 0), (1, 1), 1), "col2im"),
    ("batch", (2, 3, 5, 5, 3, 2, 2, (1, 1), (2, 2), (1, 1), 1), "col2im"),
    # strided: the sub-pixel phases
    ("batch", (3, 4, 9, 7, 4, 3, 3, (2, 2), (1, 1), (1, 1), 2), "subpixel"),
    ("batch", (2, 3, 8, 11, 6, 3, 3, (2, 3), (2, 1), (1, 2), 1), "subpixel"),
    ("batch", (3, 4, 9, 9, 8, 1, 1, (2, 2), (0, 0), (1, 1), 1), "subpixel"),   # projection
    ("pixel", (3, 4, 7, 9, 5, 3, 3, (1, 1), (1, 1), (1, 1), 1), "col2im"),
    ("pixel", (2, 2, 7, 6, 7, 3, 2, (1, 1), (1, 0), (1, 1), 1), "col2im"),
    ("pixel", (3, 4, 9, 7, 4, 3, 3, (2, 2), (1, 1), (1, 1), 2), "subpixel"),
    ("pixel", (2, 3, 8, 11, 6, 3, 3, (2, 3), (2, 1), (1, 2), 1), "subpixel"),
    ("flat", (3, 3, 7, 9, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1), None),
    ("flat", (2, 4, 9, 8, 3, 3, 2, (1, 1), (2, 1), (2, 3), 1), None),
    ("flat", (3, 2, 5, 6, 5, 3, 3, (1, 1), (0, 0), (1, 1), 1), None),
    ("depthwise", (2, 4, 7, 6, 8, 3, 3, (2, 1), (1, 1), (1, 1), 4), None),
]

TRANSPOSE_ROUTES = [
    # N, C, H, W, F, kh, kw, stride, padding, dilation, groups, extra output
    (2, 3, 5, 4, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, (0, 0)),
    (3, 4, 4, 5, 6, 3, 2, (2, 3), (1, 0), (1, 2), 2, (1, 0)),
    (1, 2, 3, 3, 2, 3, 3, (3, 2), (1, 0), (1, 2), 1, (2, 1)),
]

DTYPES = [(np.float64, 1e-11), (np.float32, 2e-4)]


def _into(shape, dtype):
    """A NaN-filled (N + 3, ...) array and its C-contiguous rows 1 .. N (a chunk's slice)."""
    big = np.full((shape[0] + 3,) + tuple(shape[1:]), np.nan, dtype)
    return big, big[1:1 + shape[0]]


def _check_into(big, into, got, plain, ref, tol):
    assert got is into
    assert np.isnan(big[0]).all() and np.isnan(big[1 + into.shape[0]:]).all()
    np.testing.assert_array_equal(into, plain)
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(into, ref, rtol=tol, atol=tol * scale)


def _check_backward_into(backward, x, w, dy, a, layout, dtype, rdx, tol):
    """``backward`` with a ``dx_out`` slice of a larger buffer against the same call without
    one (bit for bit) and the reference ``rdx``; the weight gradient unchanged and not
    aliased with dx in the workspace."""
    ws = Workspace()
    plain, dw0 = backward(x, w, dy, **a, layout=layout, ws=ws)
    big, into = _into(x.shape, dtype)
    got, dw = backward(x, w, dy, **a, layout=layout, ws=ws, dx_out=into)
    _check_into(big, into, got, plain, rdx, tol)
    np.testing.assert_array_equal(dw, dw0)
    ws.assert_not_aliased(got, dw)


@pytest.fixture
def copies(monkeypatch):
    """The gradients :func:`K._deliver` had to copy into a ``dx_out`` (none, when written in
    place)."""
    seen = []
    deliver = K._deliver

    def spy(dx, dx_out):
        if dx is not None and dx_out is not None and dx is not dx_out:
            seen.append(dx.shape)
        return deliver(dx, dx_out)

    monkeypatch.setattr(K, "_deliver", spy)
    return seen


#: the strided routes once more with the one-GEMM phases route forced on and off
ROUTES_AND_PHASES = [r + (None,) for r in CONV_ROUTES] + [
    r + (phases,) for r in CONV_ROUTES if r[2] == "subpixel" for phases in (True, False)]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("layout,case,method,phases", ROUTES_AND_PHASES)
def test_conv_backward_writes_dx_out_in_place(layout, case, method, phases, dtype, tol,
                                              copies, monkeypatch):
    if phases is not None:
        monkeypatch.setattr(K, "phases_pay", lambda geo: phases)
    x, w, dy, a = _conv_data(np.random.default_rng(11), case, dtype)
    if method is not None:
        shape = K.columns_shape(x.shape, w.shape, layout=layout, **a)
        assert shape is not None
        geo = K._conv_geometry(x, w, a["stride"], a["padding"], a["dilation"], a["groups"],
                               layout)
        route = K._data_grad_method(geo)
        if layout == "pixel" and route == "conv":     # "pixel" runs col2im unless strided
            route = "col2im"
        assert route == method
    _, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
    _check_backward_into(K.conv_backward, x, w, dy, a, layout, dtype, rdx, tol)
    assert copies == []
    # no data gradient wanted: dx_out is left alone
    again = np.full(x.shape, np.nan, dtype)
    assert K.conv_backward(x, w, dy, **a, layout=layout, need_dx=False, dx_out=again)[0] is None
    assert np.isnan(again).all()


@pytest.mark.parametrize("layout", ["batch", "pixel"])
def test_conv_backward_with_kept_columns_into_dx_out(layout, copies):
    x, w, dy, a = _conv_data(np.random.default_rng(12), CONV_ROUTES[0][1], np.float32)
    cols = np.empty(K.columns_shape(x.shape, w.shape, layout=layout, **a), np.float32)
    K.conv_forward(x, w, **a, layout=layout, columns=cols)
    plain, _ = K.conv_backward(x, w, dy, **a, layout=layout, columns=cols)
    big, into = _into(x.shape, np.float32)
    got, _ = K.conv_backward(x, w, dy, **a, layout=layout, columns=cols, dx_out=into)
    _check_into(big, into, got, plain, ref_conv(x, w, dy, a["stride"], a["padding"],
                                                a["dilation"], a["groups"])[1], 2e-4)
    assert copies == []


@pytest.mark.parametrize("layout", ["batch", "pixel", "flat"])
def test_a_non_contiguous_or_other_dtype_dx_out_gets_a_copy(layout, copies):
    case = CONV_ROUTES[-3][1] if layout == "flat" else CONV_ROUTES[0][1]
    x, w, dy, a = _conv_data(np.random.default_rng(13), case)
    plain, _ = K.conv_backward(x, w, dy, **a, layout=layout)
    strided = np.full(x.shape[:-1] + (2 * x.shape[-1],), np.nan)[..., ::2]
    assert K.conv_backward(x, w, dy, **a, layout=layout, dx_out=strided)[0] is strided
    np.testing.assert_array_equal(strided, plain)
    narrow = np.full(x.shape, np.nan, np.float32)
    assert K.conv_backward(x, w, dy, **a, layout=layout, dx_out=narrow)[0] is narrow
    np.testing.assert_array_equal(narrow, plain.astype(np.float32))
    assert copies == [x.shape, x.shape]


def test_a_wrongly_shaped_dx_out_is_refused():
    x, w, dy, a = _conv_data(np.random.default_rng(14), CONV_ROUTES[0][1])
    with pytest.raises(ValueError, match="dx_out"):
        K.conv_backward(x, w, dy, **a, dx_out=np.empty((1,) + x.shape[1:]))
    tx, tw, tdy, ta, _ = _transpose_data(np.random.default_rng(14), TRANSPOSE_ROUTES[0])
    with pytest.raises(ValueError, match="dx_out"):
        K.conv_transpose_backward(tx, tw, tdy, **ta, dx_out=np.empty(tx.shape[:-1] + (1,)))


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("layout", ["batch", "pixel"])
@pytest.mark.parametrize("case", TRANSPOSE_ROUTES)
def test_transpose_backward_writes_dx_out_in_place(case, layout, dtype, tol, copies):
    x, w, dy, a, out = _transpose_data(np.random.default_rng(15), case, dtype)
    _, rdx, _ = ref_conv_transpose(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                   a["groups"], out)
    _check_backward_into(K.conv_transpose_backward, x, w, dy, a, layout, dtype, rdx, tol)
    assert copies == []


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("case", [(3, 5, 7, 9, 4, (1, 1)), (2, 3, 6, 5, 6, (0, 2)),
                                  (17, 4, 5, 3, 3, (1, 0))])
def test_winograd_backward_writes_dx_out_in_place(case, dtype, tol):
    n, c, h, wd, f, pad = case
    rng = np.random.default_rng(16)
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)
    w = rng.standard_normal((f, c, 3, 3)).astype(dtype)
    dy = rng.standard_normal((n, f, h + 2 * pad[0] - 2, wd + 2 * pad[1] - 2)).astype(dtype)
    _, rdx, _ = ref_conv(x, w, dy, (1, 1), pad, (1, 1), 1)
    u = winograd_weight(w)
    ws = Workspace()
    plain, _ = winograd_backward(x, u, dy, padding=pad, ws=ws)
    big, into = _into(x.shape, dtype)
    got, _ = winograd_backward(x, u, dy, padding=pad, ws=ws, dx_out=into)
    _check_into(big, into, got, plain, rdx, tol)


@pytest.mark.parametrize("layout,stride", [("batch", (1, 1, 1)), ("batch", (2, 1, 2)),
                                           ("pixel", (1, 2, 1))])
def test_volume_backward_writes_dx_out_in_place(layout, stride, copies):
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2, 4, 5, 4, 3))
    w = rng.standard_normal((6, 2, 3, 2, 3))
    a = dict(stride=stride, padding=(1, 0, 1), dilation=1, groups=2)
    y = K.conv_forward(x, w, **a, layout=layout)
    dy = rng.standard_normal(y.shape)
    plain, _ = K.conv_backward(x, w, dy, **a, layout=layout)
    big, into = _into(x.shape, np.float64)
    got, _ = K.conv_backward(x, w, dy, **a, layout=layout, dx_out=into)
    loss = lambda: float(np.sum(K.conv_forward(x, w, **a, layout=layout) * dy))  # noqa: E731
    _check_into(big, into, got, plain, numeric_grad(loss, x), 1e-6)
    assert copies == []
