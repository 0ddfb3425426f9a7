"""Clamps against constants, ``max(x, lo)`` / ``min(x, hi)``: the relu activation
(:mod:`.activations`) and the kernels that fuse it in place (batch norm's and addto's forward),
tanh's and softmax's clamps, the optimizer's L1 soft threshold.

Why not ``np.maximum(a, 0, out=a)``: NumPy (2.4) runs ``maximum``, ``minimum``, ``fmax`` and
``fmin`` with a scalar operand through a loop 3-5x slower than with two arrays (0.51 ms against
0.11-0.13 ms for 4 MB of float32 on the AVX2 machine; a float32 scalar alike), while ``add``,
``multiply``, the comparisons and ``clip`` with scalars run at full speed (``clip`` stays the
plain call: its values differ from ``minimum(maximum(x, lo), hi)`` at signed zeros, e.g.
``clip(-0.0, 0, 24)`` is -0.0). So a contiguous array is taken as rows of :data:`ROW` values
against one cached row of the constant. The row has a fixed width: with rows of the array's
own sample size, 4096-value rows (resnet's 64x8x8 maps) ran 3-8x SLOWER than the scalar loop
at some addresses of the two operands, while 16384-value rows were fast at every size tried.
Paired (41 pairs, in place, the AVX2 machine): float32 0.23-0.31 of the scalar loop's time for
(64, 16, 32, 32), (64, 32, 16, 16), (64, 64, 8, 8) and (8, 16, 32, 32); float64 0.44-0.69.

The values are NumPy's own call's, bit for bit: the array stays the first operand and the row
the second, so NaN propagates (``maximum``/``minimum``) or is dropped (``fmax``/``fmin``) the
same way and an equal pair gives the constant's zero (``maximum(-0.0, 0)`` is 0.0,
``maximum(0.0, -0.0)`` -0.0). Only a constant that NumPy would take as the array's own dtype
and that converts exactly takes the rows (a Python ``int`` or ``float``, NEP 50's weak
scalars, or a NumPy scalar of that dtype); anything else (another backend, integers, small or
non-contiguous arrays, an ``out`` overlapping ``x`` other than ``x`` itself, a NaN or
inexact constant) is the plain call.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["clamp_into", "relu_into", "relu_in_place", "ROW"]

#: values per row of the two-array ufunc (arrays smaller than this take the scalar loop)
ROW = 16384

#: the largest finite value of each dtype that takes the rows
_FINITE = {np.dtype(np.float32): float(np.finfo(np.float32).max),
           np.dtype(np.float64): float(np.finfo(np.float64).max)}

#: (dtype, type of the constant, constant, whether it is -0.0) -> its read-only row
_ROWS: dict = {}
#: constants kept as rows at most (beyond, a row is made for the call)
_MAX_ROWS = 64


def _exact(c, dtype):
    """``c`` as a NumPy scalar of ``dtype`` when NumPy's call would use it as that, exactly;
    else None."""
    if type(c) is float or type(c) is int:
        limit = _FINITE[dtype]
        try:
            f = float(c)
        except OverflowError:                       # an int beyond any float
            return None
        if not -limit <= f <= limit and f not in (np.inf, -np.inf):    # NaN, or overflows
            return None
        t = dtype.type(f)
        return t if float(t) == c else None
    if isinstance(c, np.generic) and c.dtype == dtype and not np.isnan(c):
        return c
    return None


def _row(c, dtype):
    """The cached read-only row of ``ROW`` copies of the constant ``c`` in ``dtype`` (0.0 and
    -0.0 are two rows), or None when ``c`` must take NumPy's own call."""
    key = (dtype, type(c), c, c == 0 and math.copysign(1.0, c) < 0)
    row = _ROWS.get(key)
    if row is None:            # (a race of two threads creates two equal rows: harmless)
        t = _exact(c, dtype)
        if t is None:
            return None
        row = np.full(ROW, t, dtype=dtype)
        row.setflags(write=False)
        if len(_ROWS) < _MAX_ROWS:
            _ROWS[key] = row
    return row


def _flat(x, out):
    """``(x, out)`` as 1-D views in memory order, or None when the rows cannot serve them."""
    xf, of = x.flags, out.flags
    if xf.c_contiguous and of.c_contiguous:
        order = "C"
    elif xf.f_contiguous and of.f_contiguous:
        order = "F"
    else:
        return None
    src = x.reshape(-1) if order == "C" else x.reshape(-1, order="F")
    if out is x:
        return src, src
    if np.may_share_memory(x, out):
        return None
    return src, out.reshape(-1) if order == "C" else out.reshape(-1, order="F")


def _by_rows(ufunc, src, row, dst, c):
    """``dst = ufunc(src, c)`` for the 1-D ``src`` and ``dst`` by ``row``, ``c``'s row.

    The tail past the last whole row is ``maximum``/``minimum`` against the row's start too,
    but ``fmax``/``fmin`` against the scalar: NumPy's two-array float32 ``fmax``/``fmin``
    leave the SIMD loop for the last (size mod 8) values, whose first four take ``src``'s
    zero where the two are zeros of opposite signs (the scalar call takes ``c``'s, as the
    SIMD loop does)."""
    rows, tail = divmod(src.size, ROW)
    if not tail:
        ufunc(src.reshape(rows, ROW), row, out=dst.reshape(rows, ROW))
        return
    body = rows * ROW
    ufunc(src[:body].reshape(rows, ROW), row, out=dst[:body].reshape(rows, ROW))
    if ufunc is np.maximum or ufunc is np.minimum:
        ufunc(src[body:], row[:tail], out=dst[body:])
    else:
        ufunc(src[body:], c, out=dst[body:])


def clamp_into(xp, x, out, lo=None, hi=None, *, propagate_nan=True):
    """``out[...] = minimum(maximum(x, lo), hi)`` (``out`` may be ``x``; a bound left None is
    not applied); with ``propagate_nan=False`` ``fmax``/``fmin`` instead (a NaN of ``x`` gives
    the bound). The values of NumPy's own calls, bit for bit (not ``clip``'s: see the module's
    docstring). Returns ``out``."""
    flat = None
    if (xp is np and x.size >= ROW and x.dtype in _FINITE and out.dtype == x.dtype
            and x.shape == out.shape):
        flat = _flat(x, out)
    src = x
    for ufunc, c in ((xp.maximum if propagate_nan else xp.fmax, lo),
                     (xp.minimum if propagate_nan else xp.fmin, hi)):
        if c is None:
            continue
        row = None if flat is None else _row(c, x.dtype)
        if row is None:
            ufunc(src, c, out=out)
        else:
            _by_rows(ufunc, flat[0] if src is x else flat[1], row, flat[1], c)
        src = out
    if src is x and out is not x:                   # no bound: a copy
        out[...] = x
    return out


def relu_into(xp, x, out):
    """``out[...] = max(x, 0)`` (``out`` may be ``x``); returns ``out``."""
    return clamp_into(xp, x, out, lo=0)


def relu_in_place(xp, a):
    """``a[...] = max(a, 0)``; returns ``a``."""
    return clamp_into(xp, a, a, lo=0)
