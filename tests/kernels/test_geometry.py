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
    ]
    for out in outs:
        assert out.dtype == np.float32
