"""Cost kernels (spec section 3, Cost layers: runtime part): per-sample cost columns ``(N, 1)``.

Per-sample weights and ``coeff`` are the runtime's business (coeff scales only the gradient).
Every function keeps the dtype of its float inputs (float32 stays float32).
"""

import numpy as np


def _rows_labels(p, labels, xp):
    labels = labels.reshape(-1)
    return xp.arange(labels.shape[0]), labels


def cross_entropy_forward(p, labels, xp=np):
    """Multi-class cross entropy ``cost[n] = -log p[n, labels[n]]`` of shape ``(N, 1)``.

    ``p`` is ``(N, K)`` probabilities, ``labels`` integer ``(N,)`` (or ``(N, 1)``). No clamp,
    as in Paddle: a zero probability gives ``inf`` (without a NumPy warning).
    """
    rows, labels = _rows_labels(p, labels, xp)
    with np.errstate(divide="ignore"):
        return -xp.log(p[rows, labels]).reshape(-1, 1)


def cross_entropy_backward(p, labels, dcost, xp=np):
    """Gradient with respect to ``p``: zero except
    ``dp[n, labels[n]] = -dcost[n] / p[n, labels[n]]``; ``dcost`` is ``(N, 1)`` or ``(N,)``."""
    rows, labels = _rows_labels(p, labels, xp)
    dp = xp.zeros_like(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        dp[rows, labels] = -dcost.reshape(-1) / p[rows, labels]
    return dp


def square_error_forward(y, t, xp=np):
    """``cost[n] = sum_j (y[n, j] - t[n, j])^2`` of shape ``(N, 1)`` (all non-batch axes summed)."""
    d = (y - t).reshape(y.shape[0], -1)
    return xp.sum(d * d, axis=1, keepdims=True)


def square_error_backward(y, t, dcost, xp=np):
    """``(dy, dt)`` with ``dy = 2 * (y - t) * dcost[n]`` and ``dt = -dy``; ``dcost`` is ``(N, 1)``
    or ``(N,)``."""
    dc = dcost.reshape((y.shape[0],) + (1,) * (y.ndim - 1))
    dy = 2 * (y - t) * dc
    return dy, -dy
