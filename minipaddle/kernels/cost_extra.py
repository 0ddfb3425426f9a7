"""The second round of cost kernels (issue 16): smooth L1, Huber regression and two-class
Huber, sum cost, rank cost, multi-binary-label cross entropy and self-normalised cross
entropy, each as Paddle v1's C++ runtime computes it (facts and their Paddle files:
docs/layer_notes_16.md).

As in :mod:`.cost`: per-sample costs are ``(N, 1)``; backward functions take the output
gradient ``dcost`` (``(N, 1)`` or ``(N,)``, where the runtime puts ``coeff`` and the optional
weight) and return the gradient of the first input (labels get none, as in Paddle);
float32 stays float32.
"""

import numpy as np

__all__ = [
    "smooth_l1_forward", "smooth_l1_backward",
    "huber_regression_forward", "huber_regression_backward",
    "huber_classification_forward", "huber_classification_backward",
    "sum_cost_forward", "sum_cost_backward",
    "rank_cost_forward", "rank_cost_backward", "RANK_COST_CLAMP",
    "multi_binary_label_cross_entropy_forward", "multi_binary_label_cross_entropy_backward",
    "cross_entropy_with_selfnorm_forward", "cross_entropy_with_selfnorm_backward",
]


def _rows(a):
    return a.reshape(a.shape[0], -1)


def _col(dcost, n):
    return dcost.reshape(n, 1)


# ------------------------------------------------------------------------------------- smooth L1

def smooth_l1_forward(y, t, xp=np):
    """``cost[n] = sum_j f(y[n, j] - t[n, j])`` with ``f(d) = d^2 / 2`` for ``|d| < 1`` and
    ``|d| - 1/2`` otherwise (Paddle's threshold is fixed at 1)."""
    a = xp.abs(_rows(y) - _rows(t))
    per = xp.where(a < 1, a * a / 2, a - y.dtype.type(0.5))
    return xp.sum(per, axis=1, keepdims=True)


def smooth_l1_backward(y, t, dcost, xp=np):
    """``dy = dcost[n] * (d if |d| < 1 else sign(d))`` with ``d = y - t``, shaped like ``y``."""
    d = _rows(y) - _rows(t)
    g = xp.where(xp.abs(d) < 1, d, xp.sign(d))
    return (g * _col(dcost, y.shape[0])).reshape(y.shape)


# ------------------------------------------------------------------------------- Huber regression

def huber_regression_forward(y, t, *, delta, xp=np):
    """``cost[n] = sum_j h(|t - y|)`` with ``h(a) = a^2 / 2`` for ``a <= delta`` and
    ``delta * (a - delta / 2)`` otherwise."""
    a = xp.abs(_rows(t) - _rows(y))
    delta = y.dtype.type(delta)
    per = xp.where(a <= delta, a * a / 2, delta * (a - delta / 2))
    return xp.sum(per, axis=1, keepdims=True)


def huber_regression_backward(y, t, dcost, *, delta, xp=np):
    """``dy = dcost[n] * (y - t)`` where ``|t - y| <= delta``, else ``dcost[n] * delta *
    sign(y - t)``."""
    d = _rows(y) - _rows(t)
    delta = y.dtype.type(delta)
    g = xp.where(xp.abs(d) <= delta, d, delta * xp.sign(d))
    return (g * _col(dcost, y.shape[0])).reshape(y.shape)


# ----------------------------------------------------------------------- Huber two-class (labels)

def _signed_labels(labels, dtype, xp):
    """Paddle's ``2 * label - 1``: label 0 -> -1, 1 -> +1 (as a column of ``dtype``)."""
    return (2 * xp.asarray(labels).reshape(-1, 1) - 1).astype(dtype)


def huber_classification_forward(y, labels, xp=np):
    """Two-class modified Huber on one score per sample: ``y`` is ``(N, 1)``, ``labels``
    integer ``(N,)`` in {0, 1}, mapped to ``s = 2 * label - 1``; with ``a = y * s``:
    ``cost = -4 a`` for ``a < -1``, ``(1 - a)^2`` for ``-1 <= a < 1``, else 0."""
    s = _signed_labels(labels, y.dtype, xp)
    a = _rows(y) * s
    return xp.where(a < -1, -4 * a, xp.where(a < 1, (1 - a) * (1 - a), 0 * a))


def huber_classification_backward(y, labels, dcost, xp=np):
    """``dy = dcost * (-4 s)`` for ``a < -1``, ``dcost * (-2 (1 - a) s)`` for ``a < 1``,
    else 0 (``a = y * s``)."""
    s = _signed_labels(labels, y.dtype, xp)
    a = _rows(y) * s
    g = xp.where(a < -1, -4 * s, xp.where(a < 1, -2 * (1 - a) * s, 0 * a))
    return (g * _col(dcost, y.shape[0])).reshape(y.shape)


# -------------------------------------------------------------------------------------- sum cost

def sum_cost_forward(x, xp=np):
    """``cost[n] = sum of every value of sample n`` (a cost layer with one input)."""
    return xp.sum(_rows(x), axis=1, keepdims=True)


def sum_cost_backward(x, dcost, xp=np):
    """``dx[n, ...] = dcost[n]`` (Paddle adds 1: the runtime passes the gradient it wants)."""
    return xp.broadcast_to(_col(dcost, x.shape[0]), _rows(x).shape).astype(
        x.dtype).reshape(x.shape)


# ------------------------------------------------------------------------------------- rank cost

RANK_COST_CLAMP = 40.0


def _rank_margin(left, right, xp):
    m = _rows(left) - _rows(right)
    return xp.clip(m, -RANK_COST_CLAMP, RANK_COST_CLAMP)


def rank_cost_forward(left, right, label, xp=np):
    """Pairwise ranking cost (RankNet): with ``o = clip(left - right, -40, 40)`` (scores
    ``(N, 1)``) and ``label`` the target probability that left ranks above right (``(N,)`` or
    ``(N, 1)``, 0, 0.5 or 1): ``cost = log(1 + exp(o)) - label * o``."""
    o = _rank_margin(left, right, xp)
    lab = xp.asarray(label).reshape(-1, 1).astype(o.dtype)
    return xp.log1p(xp.exp(o)) - lab * o


def rank_cost_backward(left, right, label, dcost, xp=np):
    """``(dleft, dright)`` with ``dleft = dcost * (sigmoid(o) - label)``, ``dright = -dleft``.
    As in Paddle, ``o`` is the clipped margin and the clip passes the gradient through (beyond
    +-40 this is not the derivative of the clipped forward)."""
    o = _rank_margin(left, right, xp)
    lab = xp.asarray(label).reshape(-1, 1).astype(o.dtype)
    e = xp.exp(o)
    g = (e / (1 + e) - lab) * _col(dcost, left.shape[0])
    return g.reshape(left.shape), (-g).reshape(right.shape)


# ------------------------------------------------------------------ multi-binary-label entropy

def multi_binary_label_cross_entropy_forward(p, label, xp=np):
    """``cost[n] = -sum_j (log p[n, j] if label[n, j] > 0.5 else log(1 - p[n, j]))``.

    ``p`` is ``(N, K)`` probabilities (each a separate sigmoid), ``label`` a dense ``(N, K)``
    array (a sparse binary label vector as 0/1 rows). No clamp: ``p`` at 0 or 1 gives ``inf``.
    """
    on = _rows(label) > 0.5
    with np.errstate(divide="ignore"):
        return -xp.sum(xp.log(xp.where(on, p, 1 - p)), axis=1, keepdims=True)


def multi_binary_label_cross_entropy_backward(p, label, dcost, xp=np):
    """``dp = dcost[n] * (-1 / p)`` where the label is on, ``dcost[n] / (1 - p)`` elsewhere."""
    on = _rows(label) > 0.5
    with np.errstate(divide="ignore"):
        g = xp.where(on, -1 / p, 1 / (1 - p))
    return g * _col(dcost, p.shape[0])


# ---------------------------------------------------------------- self-normalised cross entropy

def cross_entropy_with_selfnorm_forward(p, labels, *, alpha, xp=np):
    """``cost[n] = -log p[n, labels[n]] + log Z + alpha * (log Z)^2`` with ``Z = sum_j p[n, j]``
    (the input is an unnormalised exp-like output; the last term pulls ``Z`` to 1)."""
    rows = xp.arange(p.shape[0])
    labels = xp.asarray(labels).reshape(-1)
    log_z = xp.log(xp.sum(p, axis=1, keepdims=True))
    with np.errstate(divide="ignore"):
        ce = -xp.log(p[rows, labels]).reshape(-1, 1)
    return ce + log_z + p.dtype.type(alpha) * log_z * log_z


def cross_entropy_with_selfnorm_backward(p, labels, dcost, *, alpha, xp=np):
    """``dp[n, j] = dcost[n] * (1/Z + 2 alpha log(Z) / Z - [j == labels[n]] / p[n, j])``."""
    rows = xp.arange(p.shape[0])
    labels = xp.asarray(labels).reshape(-1)
    z = xp.sum(p, axis=1, keepdims=True)
    g = xp.broadcast_to((1 + 2 * p.dtype.type(alpha) * xp.log(z)) / z, p.shape).copy()
    with np.errstate(divide="ignore"):
        g[rows, labels] -= 1 / p[rows, labels]
    return g * _col(dcost, p.shape[0])
