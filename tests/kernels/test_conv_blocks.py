"""The "batch" layout's cache blocks (kernels/conv.py BLOCK_BYTES): blocks of whole samples, and
bands of output lines of one sample, give the direct references' results, with and without kept
columns and reused NaN-filled buffers, in 2-D and 3-D, with groups, strides, dilation and
padding. The block size is forced small here so that tiny images take every path."""

import numpy as np
import pytest

import minipaddle.kernels.conv as K
import minipaddle.kernels.subpixel as S
from test_conv import Workspace, _conv_data, ref_conv
from test_volume import ref_conv3d

#: 1: every output line its own band; 600: a few lines a band; 10**6: blocks of samples
BLOCK_SIZES = [1, 600, 10**6]

CASES_2D = [
    # N, C, H, W, F, kh, kw, stride, padding, dilation, groups
    (3, 4, 9, 7, 6, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (2, 4, 11, 10, 6, 3, 2, (2, 3), (1, 0), (1, 1), 2),
    (2, 3, 12, 9, 4, 3, 3, (1, 2), (2, 1), (2, 1), 1),
    (1, 3, 19, 19, 5, 11, 11, (4, 4), (0, 0), (1, 1), 1),   # AlexNet conv1's shape, small
]


@pytest.fixture(params=BLOCK_SIZES)
def block_bytes(request, monkeypatch):
    monkeypatch.setattr(K, "BLOCK_BYTES", request.param)
    monkeypatch.setattr(S, "BLOCK_BYTES", request.param)
    return request.param


def _check_against_reference(x, w, dy, a, ws, cols, refs, tol, after_forward=None):
    """The "batch" layout's forward and backward (into ``cols`` when given) equal the
    reference's ``refs`` = (y, dx, dw) within ``tol``, and nothing returned aliases a ``ws``
    buffer; ``after_forward(y)`` runs between the two."""
    ry, rdx, rdw = refs
    y = K.conv_forward(x, w, **a, layout="batch", ws=ws, columns=cols)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y, ry, rtol=tol, atol=tol)
    if after_forward is not None:
        after_forward(y)
    dx, dw = K.conv_backward(x, w, dy, **a, layout="batch", ws=ws, columns=cols)
    np.testing.assert_allclose(dx, rdx, rtol=tol, atol=tol)
    np.testing.assert_allclose(dw, rdw, rtol=tol, atol=tol)
    ws.assert_not_aliased(y, dx, dw)


@pytest.mark.parametrize("kept", [False, True])
@pytest.mark.parametrize("case", CASES_2D)
def test_blocks_against_reference(case, kept, block_bytes):
    rng = np.random.default_rng(7)
    ws = Workspace()
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-4)):
        x, w, dy, a = _conv_data(rng, case, dtype)
        ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                a["groups"])
        for _ in range(2):          # the second call reuses the buffers
            cols = None
            if kept:
                cols = np.empty(K.columns_shape(x.shape, w.shape, layout="batch", **a), dtype)
            _check_against_reference(x, w, dy, a, ws, cols, (ry, rdx, rdw), tol)


def test_blocks_of_a_volume(block_bytes):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 5, 6, 7))
    w = rng.standard_normal((6, 2, 3, 2, 3))
    a = dict(stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1), groups=2)
    ref = ref_conv3d(x, w, a["stride"], a["padding"], a["dilation"], a["groups"])
    np.testing.assert_allclose(K.conv_forward(x, w, **a, layout="batch", ws=Workspace()), ref,
                               rtol=1e-12, atol=1e-12)


def test_blocks_write_into_a_non_contiguous_out(block_bytes):
    rng = np.random.default_rng(5)
    x, w, _, a = _conv_data(rng, CASES_2D[0])
    ref = K.conv_forward(x, w, **a, layout="pixel")
    big = np.full(ref.shape[:-1] + (2 * ref.shape[-1],), np.nan)
    out = big[..., ::2]
    assert K.conv_forward(x, w, **a, layout="batch", out=out) is out
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_block_plan_covers_every_output_once():
    for n, rows, out, block in [(5, 27, (13, 9), 1), (5, 27, (13, 9), 3000),
                                (5, 27, (13, 9), 10**6), (1, 8, (3, 4, 5), 200)]:
        seen = np.zeros((n, out[0]), int)
        for i0, i1, o0, o1 in K._block_plan(n, rows, out, 8, block):
            assert i1 == i0 + 1 or (o0, o1) == (0, out[0])     # a band is of one sample
            seen[i0:i1, o0:o1] += 1
        assert (seen == 1).all()


# ------------------------------------------------------------- the data gradient's three methods

from test_conv import TRANSPOSE_CASES, _transpose_data, ref_conv_transpose  # noqa: E402

#: "subpixel": one stride-1 conv per phase; "phases": all phases in one GEMM (kernels/subpixel.py)
METHODS = ["col2im", "subpixel", "phases", "conv"]

#: more geometries than test_conv's for the phase decomposition: filter smaller than the
#: stride (phases without taps), padding beyond the filter's reach (cropped phases), dilation
#: with stride, 1-pixel outputs, groups
PHASE_CASES = [
    # N, C, H, W, F, kh, kw, stride, padding, dilation, groups
    (2, 4, 9, 9, 6, 4, 4, (2, 2), (1, 1), (1, 1), 1),
    (1, 3, 10, 11, 5, 2, 3, (3, 3), (0, 1), (1, 1), 1),
    (2, 4, 8, 9, 4, 3, 2, (2, 3), (3, 2), (2, 1), 2),
    (1, 2, 7, 12, 3, 3, 3, (2, 4), (1, 0), (3, 2), 1),
    (2, 6, 5, 5, 4, 5, 5, (2, 2), (2, 2), (1, 1), 2),
    (1, 2, 6, 6, 2, 1, 1, (2, 2), (0, 0), (1, 1), 1),
    (1, 3, 4, 4, 2, 3, 3, (1, 1), (3, 2), (1, 1), 1),    # padding > k - 1: cropped
    (2, 4, 9, 8, 4, 3, 3, (1, 1), (2, 1), (2, 1), 4),    # depthwise-like groups, dilation
]


def force_method(monkeypatch, name):
    """Force the data-gradient method ``name`` of METHODS (the sub-pixel routes even for a
    stride of 1, where they work too)."""
    monkeypatch.setattr(K, "phases_pay", lambda geo: name == "phases")
    monkeypatch.setattr(K, "_data_grad_method",
                        lambda geo: "subpixel" if name == "phases" else name)


@pytest.fixture(params=METHODS)
def method(request, monkeypatch):
    """Force a data-gradient method where it applies ("conv": stride 1, p <= (k-1)*d)."""
    real = K._data_grad_method
    monkeypatch.setattr(K, "phases_pay", lambda geo: request.param == "phases")

    def forced(geo):
        conv_applies = all(s == 1 for s in geo.stride) and all(
            (k - 1) * d >= p for k, d, p in zip(geo.filter, geo.dilation, geo.padding))
        if request.param == "conv" and not conv_applies:
            return real(geo)
        return "subpixel" if request.param == "phases" else request.param
    monkeypatch.setattr(K, "_data_grad_method", forced)
    return request.param


@pytest.mark.parametrize("layout", ["batch", "pixel"])
@pytest.mark.parametrize("case", PHASE_CASES)
def test_data_gradient_methods_against_reference(case, method, block_bytes, layout):
    """(The "pixel" layout runs the sub-pixel phases too, its own col2im otherwise.)"""
    rng = np.random.default_rng(11)
    ws = Workspace()
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-4)):
        x, w, dy, a = _conv_data(rng, case, dtype)
        _, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
        for _ in range(2):
            dx, dw = K.conv_backward(x, w, dy, **a, layout=layout, ws=ws)
            assert dx.dtype == dtype
            np.testing.assert_allclose(dx, rdx, rtol=tol, atol=tol)
            np.testing.assert_allclose(dw, rdw, rtol=tol, atol=tol)
            ws.assert_not_aliased(dx, dw)


@pytest.mark.parametrize("layout", ["batch", "pixel"])
@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_transposed_forward_methods_against_reference(case, method, block_bytes, layout):
    x, w, dy, a, out = _transpose_data(np.random.default_rng(12), case)
    ry, rdx, rdw = ref_conv_transpose(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                      a["groups"], out)
    ws = Workspace()
    for _ in range(2):
        y = K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout, ws=ws)
        np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
        dx, dw = K.conv_transpose_backward(x, w, dy, **a, layout=layout, ws=ws)
        np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)
        ws.assert_not_aliased(y, dx, dw)


@pytest.mark.parametrize("method_name", ["col2im", "subpixel", "phases"])
def test_data_gradient_methods_of_a_volume(method_name, monkeypatch):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 4, 5, 6, 7))
    w = rng.standard_normal((6, 2, 3, 2, 3))
    a = dict(stride=(2, 1, 3), padding=(1, 0, 2), dilation=(1, 2, 1), groups=2)
    y = K.conv_forward(x, w, **a, layout="batch")
    dy = rng.standard_normal(y.shape)
    force_method(monkeypatch, "col2im")
    want = K.conv_backward(x, w, dy, **a, layout="pixel")[0]
    force_method(monkeypatch, method_name)
    got = K.conv_backward(x, w, dy, **a, layout="batch", ws=Workspace())[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # and against the forward: <conv(x), dy> is linear in x, so <dx, x> == <y, dy>
    np.testing.assert_allclose(float((got * x).sum()), float((y * dy).sum()), rtol=1e-10)


def test_phases_route_on_many_geometries(monkeypatch):
    """The one-GEMM phases route against the direct reference on random 2-D geometries:
    strides 1-4 (filters smaller and larger than the stride, phases without taps), padding
    up to and beyond the filter's reach, dilation, groups, float64 and float32, reused
    NaN-filled buffers."""
    force_method(monkeypatch, "phases")
    rng = np.random.default_rng(31)
    ws = Workspace()
    done = 0
    while done < 40:
        g = int(rng.choice([1, 2]))
        k = tuple(int(v) for v in rng.integers(1, 6, 2))
        s = tuple(int(v) for v in rng.integers(1, 5, 2))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        p = tuple(int(rng.integers(0, (kk - 1) * dd + 2)) for kk, dd in zip(k, d))
        image = tuple(int(v) for v in rng.integers(1, 12, 2))
        if any((i + 2 * pp - (kk - 1) * dd - 1) < 0 for i, pp, kk, dd in zip(image, p, k, d)):
            continue
        case = (int(rng.integers(1, 3)), 2 * g, image[0], image[1], 3 * g, k[0], k[1], s, p, d,
                g)
        dtype = np.float32 if done % 3 == 0 else np.float64
        tol = 1e-4 if dtype == np.float32 else 1e-12
        x, w, dy, a = _conv_data(rng, case, dtype)
        _, rdx, _ = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
        dx, _ = K.conv_backward(x, w, dy, **a, layout="batch", ws=ws)
        assert dx.dtype == dtype
        np.testing.assert_allclose(dx, rdx, rtol=tol, atol=tol, err_msg=str(case))
        done += 1


@pytest.mark.parametrize("layout", ["batch", "pixel"])
@pytest.mark.parametrize("method_name", METHODS[:3])
@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_transposed_forward_adds_the_bias(case, method_name, layout, monkeypatch):
    """``bias`` is added per output channel by every route (the phases route while it
    copies each phase into place), also into a given ``out``."""
    force_method(monkeypatch, method_name)
    x, w, _, a, out = _transpose_data(np.random.default_rng(15), case)
    bias = np.random.default_rng(16).standard_normal(w.shape[1] * a["groups"])
    want = K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout)
    want = want + bias.reshape(1, -1, 1, 1)
    got = K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout, bias=bias,
                                   ws=Workspace())
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    target = np.full(want.shape, np.nan)
    K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout, bias=bias,
                             out=target)
    np.testing.assert_allclose(target, want, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="bias has shape"):
        K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout, bias=bias[:-1])


def test_phases_route_is_chosen_where_its_gemm_wastes_little():
    """PHASES_MAX_WASTE and the columns' size: the bench's 4x4/2 transposed conv, 11x11/4 and
    3x3/3 take the one-GEMM route; 3x3/2 and 5x5/2 (a window offset without a tap in half the phases) and
    a single phase (1x1/2: one GEMM either way) keep the per-phase route."""
    def pays(image, filt, stride, padding, c=4, f=8):
        out = tuple(K.conv_output_size(i, k, p, s, 1)
                    for i, k, p, s in zip(image, filt, padding, stride))
        geo = K._Geometry((1, c) + image, (f, c) + filt, out, 1, stride, padding, (1, 1),
                          "batch")
        return S.phases_pay(geo)
    assert pays((32, 32), (4, 4), (2, 2), (1, 1), 32, 64)
    assert pays((32, 32), (4, 4), (2, 2), (1, 1), 32, 256)
    assert pays((227, 227), (11, 11), (4, 4), (0, 0), 48, 96)
    assert pays((30, 30), (3, 3), (3, 3), (0, 0))
    assert not pays((32, 32), (3, 3), (2, 2), (1, 1))
    assert not pays((32, 32), (5, 5), (2, 2), (2, 2))
    assert not pays((32, 32), (1, 1), (2, 2), (0, 0))
    # columns beyond a block and beyond the conv's own im2col (AlexNet conv1's 3 channels
    # against 96 filters): no columns at all on the per-phase route
    assert not pays((227, 227), (11, 11), (4, 4), (0, 0), 3, 96)
    assert not pays((256, 256), (4, 4), (2, 2), (1, 1), 32, 256)


@pytest.mark.parametrize("layout", ["batch", "pixel"])
def test_transposed_forward_writes_into_out(layout):
    x, w, _, a, out = _transpose_data(np.random.default_rng(14), TRANSPOSE_CASES[1])
    want = K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout)
    target = np.full(want.shape, np.nan)
    assert K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout,
                                    out=target) is target
    np.testing.assert_array_equal(target, want)
    strided = np.full(want.shape[:-1] + (2 * want.shape[-1],), np.nan)[..., ::2]
    K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout, out=strided)
    np.testing.assert_array_equal(strided, want)
    with pytest.raises(ValueError, match="out has shape"):
        K.conv_transpose_forward(x, w, **a, output_size=out, layout=layout, out=target[:, :1])


def test_an_array_module_other_than_numpy_runs_the_batch_in_one_block():
    """Off the CPU (CuPy) the batch layout runs one block: same results, and the block plan
    is the whole batch. A copy of NumPy's namespace stands in for the other module."""
    import types
    other = types.ModuleType("other_numpy")
    other.__dict__.update(np.__dict__)
    rng = np.random.default_rng(21)
    for case in CASES_2D + PHASE_CASES[:3]:
        x, w, dy, a = _conv_data(rng, case)
        geo = K._conv_geometry(x, w, a["stride"], a["padding"], a["dilation"], a["groups"],
                               "batch")
        assert geo.blocks(8, other) == ((0, x.shape[0], 0, geo.out[0]),)
        for xp in (np, other):
            y = K.conv_forward(x, w, **a, layout="batch", xp=xp)
            dx, dw = K.conv_backward(x, w, dy, **a, layout="batch", xp=xp)
            yt = K.conv_transpose_forward(dy, w, **a, output_size=x.shape[2:], layout="batch",
                                          xp=xp)
            if xp is np:
                want = (y, dx, dw, yt)
            else:
                for got, ref in zip((y, dx, dw, yt), want):
                    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(yt, dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["batch", "pixel"])
def test_gradients_are_contiguous(layout, block_bytes):
    x, w, dy, a = _conv_data(np.random.default_rng(22), CASES_2D[1])
    dx, dw = K.conv_backward(x, w, dy, **a, layout=layout)
    assert dx.flags.c_contiguous and dw.flags.c_contiguous
    dx, dw = K.conv_transpose_backward(dy, w, x, **a, layout=layout)
    assert dx.flags.c_contiguous and dw.flags.c_contiguous


SHIFTED_ROWS_CASES = [
    # N, C, H, W, F, kh, kw, stride, padding, dilation, groups: stride 1, dilation 1
    (3, 1, 28, 28, 4, 5, 5, (1, 1), (0, 0), (1, 1), 1),     # LeNet's conv1, small
    (2, 4, 9, 7, 6, 3, 2, (1, 1), (1, 2), (1, 1), 2),        # padding, groups, kh != kw
    (2, 3, 6, 11, 5, 1, 4, (1, 1), (0, 1), (1, 1), 1),       # a 1-row filter
    (1, 2, 5, 5, 3, 5, 5, (1, 1), (0, 0), (1, 1), 1),        # a single output pixel
]


@pytest.mark.parametrize("width", [0, 10**6])
@pytest.mark.parametrize("kept", [False, True])
@pytest.mark.parametrize("case", SHIFTED_ROWS_CASES)
def test_columns_by_shifted_rows_against_reference(case, kept, width, block_bytes,
                                                    monkeypatch):
    """The two-step im2col copy (kernels/conv.py _columns_by_shifted_rows) forced on (every
    width) and off (width 0) gives the reference's results; with bands of output lines
    (small blocks) the one-step copy runs."""
    monkeypatch.setattr(K, "SHIFTED_ROWS_MAX_WIDTH", width)
    monkeypatch.setattr(K, "SAME_WIDTH_MIN_WIDTH", 10**9)    # never the same-width copy
    rng = np.random.default_rng(11)
    ws = Workspace()
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-4)):
        x, w, dy, a = _conv_data(rng, case, dtype)
        ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                a["groups"])
        for _ in range(2):          # the second call reuses NaN-free but stale buffers
            cols = None
            if kept:
                cols = np.full(K.columns_shape(x.shape, w.shape, layout="batch", **a),
                               np.nan, dtype)
            _check_against_reference(x, w, dy, a, ws, cols, (ry, rdx, rdw), tol)


SAME_WIDTH_CASES = [
    # N, C, H, W, F, kh, kw, stride, padding, dilation, groups: stride 1, Wo == W
    (3, 4, 9, 7, 6, 3, 3, (1, 1), (1, 1), (1, 1), 1),        # "same" padding both ways
    (2, 4, 6, 9, 6, 3, 3, (1, 1), (2, 2), (2, 2), 2),        # dilated, groups
    (2, 3, 7, 8, 5, 4, 3, (1, 1), (0, 1), (1, 1), 1),        # no row padding, kh != kw
    (2, 2, 5, 6, 3, 2, 5, (1, 1), (3, 4), (3, 2), 1),        # rows grow, wide dilation
    (1, 3, 4, 5, 2, 3, 1, (1, 1), (1, 0), (1, 1), 1),        # a 1-column filter
]


@pytest.mark.parametrize("width", [1, 10**6])
@pytest.mark.parametrize("kept", [False, True])
@pytest.mark.parametrize("case", SAME_WIDTH_CASES)
def test_columns_by_rows_against_reference(case, kept, width, block_bytes, monkeypatch):
    """The same-width im2col copy (kernels/conv.py _columns_by_rows: flat rows, one long run
    per column row, the wrapped cells zeroed) forced on (width 1) and off gives the
    reference's results, in blocks of samples and in bands, into NaN-filled kept columns and
    stale reused buffers, forward, backward (its data gradient as the flipped conv of dy, a
    same-width conv itself) and a transposed conv's."""
    monkeypatch.setattr(K, "SAME_WIDTH_MIN_WIDTH", width)
    rng = np.random.default_rng(12)
    ws = Workspace()
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-4)):
        x, w, dy, a = _conv_data(rng, case, dtype)
        geo = K._conv_geometry(x, w, a["stride"], a["padding"], a["dilation"], a["groups"],
                               "batch")
        assert K._same_width(geo, np) == (width == 1)
        ry, rdx, rdw = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                a["groups"])
        for _ in range(2):
            cols = None
            if kept:
                cols = np.full(K.columns_shape(x.shape, w.shape, layout="batch", **a),
                               np.nan, dtype)

            def columns_are_im2col(_y, cols=cols):
                if cols is not None:
                    fresh = np.empty_like(cols)
                    K._im2col(x, geo, np, out=fresh)
                    np.testing.assert_array_equal(cols, fresh)

            _check_against_reference(x, w, dy, a, ws, cols, (ry, rdx, rdw), tol,
                                     after_forward=columns_are_im2col)
            tx = K.conv_transpose_forward(dy, w, **a, layout="batch", ws=ws,
                                          output_size=x.shape[2:])
            np.testing.assert_allclose(tx, rdx, rtol=tol, atol=tol)
            tdx, tdw = K.conv_transpose_backward(dy, w, x, **a, layout="batch", ws=ws)
            np.testing.assert_allclose(tdx, ry, rtol=tol, atol=tol)
            np.testing.assert_allclose(tdw, rdw, rtol=tol, atol=tol)
