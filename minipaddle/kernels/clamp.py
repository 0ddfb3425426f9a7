"""The ReLU, ``max(x, 0)``: the relu activation (:mod:`.activations`) and the kernels that
fuse it in place (batch norm's and addto's forward).

Why not ``np.maximum(a, 0, out=a)``: NumPy (2.4) runs ``maximum`` with a scalar operand
through a loop 3-5x slower than with two arrays (0.51 ms against 0.11-0.13 ms for 4 MB of
float32 on the AVX2 machine; ``clip``, ``fmax`` and a float32 scalar alike), while ``add`` or
``multiply`` with a scalar run at full speed. So a contiguous array is taken as rows of
:data:`ROW` values against one cached row of zeros. The row has a fixed width: with rows of the
array's own sample size, 4096-value rows (resnet's 64x8x8 maps) ran 3-8x SLOWER than the
scalar loop at some addresses of the two operands, while 16384-value rows were fast at every
size tried. Paired (41 pairs, in place, the AVX2 machine): float32 0.23-0.31 of the scalar
loop's time for (64, 16, 32, 32), (64, 32, 16, 16), (64, 64, 8, 8) and (8, 16, 32, 32);
float64 0.44-0.69. The values are NumPy's ``maximum``'s, bit for bit (NaN kept, -0.0 gives
0.0 both ways).
"""

from __future__ import annotations

import numpy as np

__all__ = ["relu_into", "relu_in_place", "ROW"]

#: values per row of the two-array ``maximum`` (arrays smaller than this take the scalar loop)
ROW = 16384

_ZEROS: dict = {}


def _zeros(dtype):
    zeros = _ZEROS.get(dtype)
    if zeros is None:          # (a race of two threads creates two equal rows: harmless)
        zeros = np.zeros(ROW, dtype=dtype)
        zeros.setflags(write=False)
        _ZEROS[dtype] = zeros
    return zeros


def relu_into(xp, x, out):
    """``out[...] = max(x, 0)`` (``out`` may be ``x``); returns ``out``."""
    if (xp is not np or x.size < ROW or not x.flags.c_contiguous
            or not out.flags.c_contiguous or x.dtype.kind != "f" or out.dtype != x.dtype):
        xp.maximum(x, 0, out=out)
        return out
    zeros = _zeros(x.dtype)
    src, dst = x.reshape(-1), out.reshape(-1)        # views: both are contiguous
    rows = src.size // ROW
    np.maximum(src[:rows * ROW].reshape(rows, ROW), zeros,
               out=dst[:rows * ROW].reshape(rows, ROW))
    if rows * ROW < src.size:
        np.maximum(src[rows * ROW:], zeros[:src.size - rows * ROW], out=dst[rows * ROW:])
    return out


def relu_in_place(xp, a):
    """``a[...] = max(a, 0)``; returns ``a``."""
    return relu_into(xp, a, a)
