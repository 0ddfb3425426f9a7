"""Kernels of the remaining vector layers of Paddle v1 (issue 16): ``conv_shift``
(circular convolution) and ``sampling_id`` (one id drawn per row).  Array-module agnostic
(``xp``) like the other kernel modules; reference tests in tests/kernels/test_misc_kernels.py.

conv_shift, as Paddle's CPU ``circularConv`` computed it: for rows ``a`` of M values and ``b``
of K values (K odd, ``h = (K - 1) / 2``)::

    c[i] = sum_{j < K} a[(i + j - h) mod M] * b[j]

sampling_id, as Paddle's ``SamplingIdLayer``: for a row ``p`` and a uniform ``r`` in [0, 1),
the first ``j`` with ``r - (p[0] + ... + p[j]) < 0``, or the last index when none is."""

from __future__ import annotations

from typing import Any

import numpy as np


def conv_shift_forward(a: Any, b: Any, *, xp: Any = np) -> Any:
    """``a`` (N, M), ``b`` (N, K) -> ``c`` (N, M)."""
    half = (b.shape[1] - 1) // 2
    out = xp.zeros_like(a)
    for j in range(b.shape[1]):
        out += xp.roll(a, -(j - half), axis=1) * b[:, j:j + 1]
    return out


def conv_shift_backward(a: Any, b: Any, dc: Any, *, xp: Any = np) -> tuple[Any, Any]:
    """(da, db) from the output gradient ``dc`` (N, M)."""
    half = (b.shape[1] - 1) // 2
    da = xp.zeros_like(a)
    db = xp.zeros_like(b)
    for j in range(b.shape[1]):
        shift = j - half
        da += xp.roll(dc * b[:, j:j + 1], shift, axis=1)
        db[:, j] = (dc * xp.roll(a, -shift, axis=1)).sum(axis=1)
    return da, db


def conv_shift_mult_adds(m: int, k: int) -> int:
    """Multiply-adds per sample."""
    return m * k


def sampling_id_forward(probs: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Ids (N,) int64 drawn from the rows of ``probs`` (N, D) by the uniforms (N,) in [0, 1)
    (host arrays: Paddle sampled on the CPU too).  The running sum is in float64."""
    cumulative = np.cumsum(np.asarray(probs, dtype=np.float64), axis=1)
    below = cumulative > np.asarray(uniforms, dtype=np.float64)[:, None]
    ids = np.argmax(below, axis=1)
    ids[~below.any(axis=1)] = probs.shape[1] - 1
    return ids.astype(np.int64)
