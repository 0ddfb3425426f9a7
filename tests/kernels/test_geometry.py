"""Geometry kernels: per-element loop references (Paddle's C++ loops re-told), float64
finite-difference gradients, float32 kept."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from minipaddle.kernels import geometry as G
from numgrad import numeric_grad

shapes = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 5), st.integers(1, 5))
seeds = st.integers(0, 2**16)


def fd_check(forward, x, grad, r):
    num = numeric_grad(lambda: float(np.sum(forward(x) * r)), x)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-7)


@given(shape=shapes, seed=seeds, data=st.data())
def test_crop(shape, seed, data):
    N, C, H, W = shape
    rng = np.random.default_rng(seed)
    c0, h0, w0 = (data.draw(st.integers(0, s - 1)) for s in (C, H, W))
    c, h, w = (data.draw(st.integers(1, s - o)) for s, o in ((C, c0), (H, h0), (W, w0)))
    x = rng.standard_normal(shape)
    y = G.crop_forward(x, corner=(c0, h0, w0), shape=(c, h, w))
    flat = x.reshape(-1)   # Paddle's offsets into the flat NCHW buffer
    for n in range(N):
        for cc in range(c):
            for hh in range(h):
                for ww in range(w):
                    assert y[n, cc, hh, ww] == flat[((n * C + cc + c0) * H + hh + h0) * W + ww + w0]
    r = rng.standard_normal(y.shape)
    fd_check(lambda x: G.crop_forward(x, corner=(c0, h0, w0), shape=(c, h, w)), x,
             G.crop_backward(x.shape, r, corner=(c0, h0, w0)), r)


def _pool_mask(x, k):
    """A max-pool (kernel = stride = k) mask by loops: the flat input-plane index of each
    window's first maximum."""
    N, C, H, W = x.shape
    mask = np.zeros((N, C, H // k, W // k), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(H // k):
                for j in range(W // k):
                    best = None
                    for u in range(i * k, i * k + k):
                        for v in range(j * k, j * k + k):
                            if best is None or x[n, c, u, v] > x[n, c, best // W, best % W]:
                                best = u * W + v
                    mask[n, c, i, j] = best
    return mask


@given(seed=seeds, k=st.integers(1, 3))
def test_upsample_with_pool_mask(seed, k):
    rng = np.random.default_rng(seed)
    big = rng.standard_normal((2, 2, 2 * k, 3 * k))
    mask = _pool_mask(big, k)
    x = rng.standard_normal(mask.shape)
    y = G.upsample_forward(x, mask, output_size=(2 * k, 3 * k))
    ref = np.zeros_like(big)
    for n in range(2):
        for c in range(2):
            for i in range(2):
                for j in range(3):
                    m = mask[n, c, i, j]
                    ref[n, c, m // (3 * k), m % (3 * k)] = x[n, c, i, j]
    np.testing.assert_array_equal(y, ref)
    r = rng.standard_normal(y.shape)
    fd_check(lambda x: G.upsample_forward(x, mask, output_size=(2 * k, 3 * k)), x,
             G.upsample_backward(mask, r), r)


@given(shape=shapes, seed=seeds)
def test_rotate_switch_order_trans(shape, seed):
    N, C, H, W = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    y = G.rotate_forward(x)
    assert y.shape == (N, C, W, H)
    for n in range(N):
        for c in range(C):
            for i in range(H):
                for j in range(W):   # Paddle: dataRot[j * H + i] = data[(H - i - 1) * W + j]
                    assert y[n, c].reshape(-1)[j * H + i] == x[n, c].reshape(-1)[(H - i - 1) * W + j]
    r = rng.standard_normal(y.shape)
    fd_check(G.rotate_forward, x, G.rotate_backward(r), r)

    y = G.switch_order_forward(x)
    for n in range(N):
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    assert y[n, h, w, c] == x[n, c, h, w]
    r = rng.standard_normal(y.shape)
    fd_check(G.switch_order_forward, x, G.switch_order_backward(r), r)

    x2 = x.reshape(N, -1)
    y = G.trans_forward(x2)
    assert y.shape == (x2.shape[1], N) and all(y[j, n] == x2[n, j] for n in range(N)
                                               for j in range(x2.shape[1]))
    r = rng.standard_normal(y.shape)
    fd_check(G.trans_forward, x2, G.trans_backward(r), r)


@given(shape=shapes, seed=seeds, data=st.data())
def test_scale_sub_region(shape, seed, data):
    N, C, H, W = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    ind = []
    for _ in range(N):
        row = []
        for s in (C, H, W):
            a = data.draw(st.integers(1, s))
            row += [a, data.draw(st.integers(a, s))]
        ind.append(row)
    ind = np.array(ind, dtype=np.float64)   # Paddle passes the indices as a real matrix
    y = G.scale_sub_region_forward(x, ind, value=3.0)
    for n in range(N):
        c0, c1, h0, h1, w0, w1 = ind[n].astype(int)
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    inside = c0 - 1 <= c <= c1 - 1 and h0 - 1 <= h <= h1 - 1 and w0 - 1 <= w <= w1 - 1
                    assert y[n, c, h, w] == (x[n, c, h, w] * 3.0 if inside else x[n, c, h, w])
    r = rng.standard_normal(shape)
    fd_check(lambda x: G.scale_sub_region_forward(x, ind, value=3.0), x,
             G.scale_sub_region_backward(ind, r, value=3.0), r)


@given(shape=shapes, seed=seeds, data=st.data())
def test_block_expand(shape, seed, data):
    N, C, H, W = shape
    rng = np.random.default_rng(seed)
    block = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    padding = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    x = rng.standard_normal(shape)
    oh, ow = G.block_expand_output_size((H, W), block, stride, padding)
    y = G.block_expand_forward(x, block=block, stride=stride, padding=padding)
    (bh, bw), (sh, sw), (ph, pw) = block, stride, padding
    assert y.shape == (N, oh * ow, C * bh * bw)
    for n in range(N):
        for i in range(oh):
            for j in range(ow):
                for c in range(C):
                    for u in range(bh):
                        for v in range(bw):
                            hh, ww = i * sh - ph + u, j * sw - pw + v
                            expect = x[n, c, hh, ww] if 0 <= hh < H and 0 <= ww < W else 0.0
                            assert y[n, i * ow + j, (c * bh + u) * bw + v] == expect
    r = rng.standard_normal(y.shape)
    fd_check(lambda x: G.block_expand_forward(x, block=block, stride=stride, padding=padding), x,
             G.block_expand_backward(x.shape, r, block=block, stride=stride, padding=padding), r)


def test_block_expand_output_size_rounds_up():
    # (5 + 0 - 2) / 2 = 1.5 -> 2 steps -> 3 blocks; block larger than the padded image -> 1
    assert G.block_expand_output_size((5, 5), (2, 2), (2, 2), (0, 0)) == (3, 3)
    assert G.block_expand_output_size((2, 3), (4, 4), (1, 1), (0, 0)) == (1, 1)


def ref_roi_pool(x, rois, pooled, scale):
    """Paddle's ROIPoolLayer::forward loop (running maximum starting at 0)."""
    N, C, H, W = x.shape
    y = np.zeros((len(rois), C) + pooled)
    for n, roi in enumerate(rois):
        b = int(roi[0])
        sw, sh, ew, eh = (int(np.floor(v * scale + 0.5)) for v in roi[1:5])
        rh, rw = max(eh - sh + 1, 1), max(ew - sw + 1, 1)
        bh, bw = rh / pooled[0], rw / pooled[1]
        for c in range(C):
            for ph in range(pooled[0]):
                for pw in range(pooled[1]):
                    hs = min(int(np.floor(ph * bh)) + sh, H)
                    ws = min(int(np.floor(pw * bw)) + sw, W)
                    he = min(int(np.ceil((ph + 1) * bh)) + sh, H)
                    we = min(int(np.ceil((pw + 1) * bw)) + sw, W)
                    for h in range(hs, he):
                        for w in range(ws, we):
                            if x[b, c, h, w] > y[n, c, ph, pw]:
                                y[n, c, ph, pw] = x[b, c, h, w]
    return y


@given(seed=seeds, pooled=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       scale=st.sampled_from([1.0, 0.5]))
def test_roi_pool(seed, pooled, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, 5, 6))
    rois = []
    for _ in range(3):
        x0, y0 = rng.integers(0, 10), rng.integers(0, 8)
        rois.append([rng.integers(0, 2), x0, y0, x0 + rng.integers(0, 6), y0 + rng.integers(0, 6)])
    rois = np.array(rois, dtype=np.float64)
    y, arg = G.roi_pool_forward(x, rois, pooled=pooled, spatial_scale=scale)
    np.testing.assert_array_equal(y, ref_roi_pool(x, rois, pooled, scale))
    r = rng.standard_normal(y.shape)
    fd_check(lambda x: G.roi_pool_forward(x, rois, pooled=pooled, spatial_scale=scale)[0], x,
             G.roi_pool_backward(x.shape, rois, arg, r), r)


def test_roi_pool_negative_bin_is_zero_without_gradient():
    x = -np.ones((1, 1, 2, 2))
    x[0, 0, 1, 1] = 2.0
    y, arg = G.roi_pool_forward(x, np.array([[0, 0, 0, 1, 1]]), pooled=(2, 2), spatial_scale=1.0)
    np.testing.assert_array_equal(y[0, 0], [[0, 0], [0, 2]])
    np.testing.assert_array_equal(arg[0, 0], [[-1, -1], [-1, 3]])


def test_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    mask = _pool_mask(x, 2)
    pooled = x[:, :, ::2, ::2].copy()
    ind = np.array([[1, 2, 1, 3, 2, 4]] * 2, np.float32)
    outs = [
        G.crop_forward(x, corner=(0, 1, 1), shape=(2, 2, 2)),
        G.crop_backward(x.shape, x[:, :2, :2, :2], corner=(0, 1, 1)),
        G.upsample_forward(pooled, mask, output_size=(4, 4)), G.upsample_backward(mask, x),
        G.rotate_forward(x), G.rotate_backward(x),
        G.switch_order_forward(x), G.switch_order_backward(x.transpose(0, 2, 3, 1)),
        G.scale_sub_region_forward(x, ind, value=2), G.scale_sub_region_backward(ind, x, value=2),
        G.block_expand_forward(x, block=(2, 2), stride=(1, 1), padding=(1, 1)),
        G.block_expand_backward(x.shape, np.ones((2, 25, 12), np.float32), block=(2, 2),
                                stride=(1, 1), padding=(1, 1)),
        G.trans_forward(x.reshape(2, -1)), G.trans_backward(x.reshape(2, -1).T),
        G.roi_pool_forward(x, np.array([[1, 0, 0, 3, 3]]), pooled=(2, 2), spatial_scale=1.0)[0],
        G.roi_pool_backward(x.shape, np.array([[1, 0, 0, 3, 3]]), np.zeros((1, 3, 2, 2), int),
                            np.ones((1, 3, 2, 2), np.float32)),
    ]
    for out in outs:
        assert out.dtype == np.float32


@given(shape=shapes, seed=seeds, data=st.data())
def test_max_pool_mask(shape, seed, data):
    """The mask of Paddle's max-pool-with-mask (``maxPoolForward`` with a mask): each
    window clipped to the image, the first maximum in row-major order; ties are forced by
    rounding the values to a few levels."""
    N, C, H, W = shape
    kh, kw = data.draw(st.integers(1, H)), data.draw(st.integers(1, W))
    sh, sw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    ph, pw = data.draw(st.integers(0, kh - 1)), data.draw(st.integers(0, kw - 1))
    oh = 1 + -(-(H + 2 * ph - kh) // sh)                       # Paddle's ceil output size
    ow = 1 + -(-(W + 2 * pw - kw) // sw)
    x = np.round(np.random.default_rng(seed).standard_normal(shape) * 2) / 2
    mask = G.max_pool_mask(x, window=(kh, kw), stride=(sh, sw), padding=(ph, pw),
                           output_size=(oh, ow))
    assert mask.shape == (N, C, oh, ow) and mask.dtype == np.int64
    for n, c, i, j in np.ndindex(N, C, oh, ow):
        h0, w0 = i * sh - ph, j * sw - pw
        best, at = -np.inf, -1
        for h in range(max(h0, 0), min(h0 + kh, H)):
            for w in range(max(w0, 0), min(w0 + kw, W)):
                if x[n, c, h, w] > best:
                    best, at = x[n, c, h, w], h * W + w
        if at >= 0:                     # a window wholly in the padding has no maximum
            assert mask[n, c, i, j] == at
