"""kernels/mixed.py against direct loops and finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from minipaddle.kernels import mixed as M

from numgrad import numerical_grad

RNG = np.random.default_rng(3)


def test_table_rows_and_scatter_add():
    table = RNG.standard_normal((5, 3))
    ids = np.array([4, 0, 4, 2])
    np.testing.assert_array_equal(M.table_forward(ids, table), [table[i] for i in ids])
    dy = RNG.standard_normal((4, 3))
    expected = np.zeros((5, 3))
    for n, i in enumerate(ids):
        expected[i] += dy[n]
    np.testing.assert_allclose(M.table_backward(ids, dy, 5), expected)


def test_columns_gather_and_scatter():
    x = RNG.standard_normal((2, 9))
    ranges = [(1, 3), (5, 9)]
    y = M.gather_columns(x, ranges)
    np.testing.assert_array_equal(y, np.hstack([x[:, 1:3], x[:, 5:9]]))
    r = RNG.standard_normal(y.shape)
    np.testing.assert_allclose(M.scatter_columns(r, ranges, 9),
                               numerical_grad(lambda v: M.gather_columns(v, ranges), x, r),
                               atol=1e-8)


@pytest.mark.parametrize("as_row", [True, False])
def test_repeat(as_row):
    x = RNG.standard_normal((2, 3))
    y = M.repeat_forward(x, 4, as_row)
    for n in range(2):
        for k in range(4):
            for i in range(3):
                assert y[n, k * 3 + i if as_row else i * 4 + k] == x[n, i]
    r = RNG.standard_normal(y.shape)
    np.testing.assert_allclose(M.repeat_backward(r, 4, as_row),
                               numerical_grad(lambda v: M.repeat_forward(v, 4, as_row), x, r),
                               atol=1e-8)


@pytest.mark.parametrize("transposed", [False, True])
def test_per_sample_conv(transposed):
    n, c, f, k = 2, 2, 3, 2
    x = RNG.standard_normal((n, c, 3, 3))
    w_shape = (c, f, k, k) if transposed else (f, c, k, k)
    filters = RNG.standard_normal((n, c * f * k * k))
    args = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, layout=None)
    out_side = (4, 4) if transposed else (2, 2)
    y = M.per_sample_conv_forward(x, filters, w_shape, transposed=transposed, conv_args=args,
                                  output_size=out_side)
    expected = np.zeros((n, f) + out_side)
    for s in range(n):
        w = filters[s].reshape(w_shape)
        for ch, fo, i, j, a, b in np.ndindex(c, f, 3 if transposed else 2,
                                             3 if transposed else 2, k, k):
            if transposed:
                expected[s, fo, i + a, j + b] += w[ch, fo, a, b] * x[s, ch, i, j]
            else:
                expected[s, fo, i, j] += w[fo, ch, a, b] * x[s, ch, i + a, j + b]
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    r = RNG.standard_normal(y.shape)
    dx, dfilters = M.per_sample_conv_backward(x, filters, r, w_shape, transposed=transposed,
                                              conv_args=args, output_size=out_side)

    def with_x(v):
        return M.per_sample_conv_forward(v, filters, w_shape, transposed=transposed,
                                         conv_args=args, output_size=out_side)

    def with_filters(v):
        return M.per_sample_conv_forward(x, v, w_shape, transposed=transposed,
                                         conv_args=args, output_size=out_side)
    np.testing.assert_allclose(dx, numerical_grad(with_x, x, r), atol=1e-7)
    np.testing.assert_allclose(dfilters, numerical_grad(with_filters, filters, r), atol=1e-7)
