"""The "batch" layout's same-width column copy (kernels/conv.py ``_columns_by_rows``) when the
width padding is wider than the image row (both ends of the zeroed edge columns reach past
the row): forward, backward and the transposed conv against the direct-loop references."""

import numpy as np
import pytest
from test_conv import _transpose_data, ref_conv, ref_conv_transpose

import minipaddle.kernels.conv as K

CASES = [
    # N, C, H, W, F, kh, kw, stride, padding, dilation, groups, extra output
    (1, 1, 1, 1, 1, 1, 3, (1, 1), (0, 2), (1, 2), 1, (0, 0)),   # hypothesis's case
    (2, 2, 3, 2, 3, 3, 5, (1, 1), (1, 4), (1, 2), 1, (0, 0)),
    (1, 3, 2, 1, 2, 1, 3, (1, 1), (0, 1), (1, 1), 1, (0, 0)),
]


@pytest.mark.parametrize("case", CASES)
def test_padding_wider_than_the_image(case):
    x, w, dy, a, out = _transpose_data(np.random.default_rng(1), case)
    ry, rdx, rdw = ref_conv_transpose(x, w, dy, a["stride"], a["padding"], a["dilation"],
                                      a["groups"], out)
    y = K.conv_transpose_forward(x, w, **a, output_size=out, layout="batch")
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    dx, dw = K.conv_transpose_backward(x, w, dy, **a, layout="batch")
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)
    # the conv of dy (as wide as its output: the same-width copy) and its gradients
    cy, cdx, cdw = ref_conv(dy, w, x, a["stride"], a["padding"], a["dilation"], a["groups"])
    np.testing.assert_allclose(K.conv_forward(dy, w, **a, layout="batch"), cy, rtol=1e-12,
                               atol=1e-12)
    gdx, gdw = K.conv_backward(dy, w, x, **a, layout="batch")
    np.testing.assert_allclose(gdx, cdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gdw, cdw, rtol=1e-12, atol=1e-12)
