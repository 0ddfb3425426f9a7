"""The "batch" layout's im2col copies (kernels/conv.py) against the direct reference where
their index arithmetic is at its edges: the same-width copy (_columns_by_rows) on images
narrower than their padding, with kept columns and every block size
(tests/kernels/test_conv_wide_padding.py runs such shapes through the transposed conv)."""

import numpy as np
import pytest

import minipaddle.kernels.conv as K
from test_conv import Workspace, _conv_data, ref_conv
from test_conv_blocks import _check_against_reference, block_bytes  # noqa: F401 (fixture)

NARROW_CASES = [
    # N, C, H, W, F, kh, kw, stride, padding, dilation, groups: stride 1, Wo == W <= pw
    (1, 1, 1, 1, 1, 1, 3, (1, 1), (0, 2), (1, 2), 1),        # hypothesis' example
    (2, 2, 3, 2, 3, 3, 5, (1, 1), (1, 4), (1, 2), 1),
    (1, 4, 2, 1, 2, 2, 3, (1, 1), (1, 3), (2, 3), 2),
]


@pytest.mark.parametrize("kept", [False, True])
@pytest.mark.parametrize("case", NARROW_CASES)
def test_columns_by_rows_on_images_narrower_than_the_padding(case, kept, block_bytes):
    """Every output column of such a conv reads only padding for some kernel columns: the
    cells to zero are clipped to the row (they indexed past it)."""
    rng = np.random.default_rng(14)
    ws = Workspace()
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-4)):
        x, w, dy, a = _conv_data(rng, case, dtype)
        geo = K._conv_geometry(x, w, a["stride"], a["padding"], a["dilation"], a["groups"],
                               "batch")
        assert K._same_width(geo, np)
        refs = ref_conv(x, w, dy, a["stride"], a["padding"], a["dilation"], a["groups"])
        cols = None
        if kept:
            cols = np.full(K.columns_shape(x.shape, w.shape, layout="batch", **a), np.nan,
                           dtype)
        _check_against_reference(x, w, dy, a, ws, cols, refs, tol)
