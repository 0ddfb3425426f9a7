"""Kernels of Paddle v1's two large-label-space costs: the hierarchical sigmoid over the
implicit complete binary tree of class codes, and noise-contrastive estimation over sampled
negative classes.  Array-module agnostic (``xp``); per-sample costs are ``(N, 1)``.

Hierarchical sigmoid (Paddle's ``HierarchicalSigmoidLayer`` with ``SimpleCode``): class
``c`` of ``C`` has the code ``c + C``; its path has ``bit_length(code) - 1`` nodes, node ``j``
being the tree node ``(code >> (j + 1)) - 1`` (a row of the ``(C - 1, D)`` weight) with the
target bit ``(code >> j) & 1``.  With ``z_j = w[node_j] . x + b[node_j]`` clipped to
[-40, 40], the cost is ``sum_j softrelu(z_j) - bit_j z_j`` over the ``L = bit_length(C - 1)``
columns of the longest path; a shorter path's unused columns hold ``z = 0`` and add
``log 2`` each, as Paddle's row sum did (no gradient flows there).

NCE (Paddle's ``NCELayer``): each sample has its true class and ``k`` sampled classes; a
class ``y`` scores ``o = sigmoid(w[y] . x + b[y])``; with ``b = k q(y)`` (``q`` the noise
distribution, uniform ``1 / C`` by default) the true class costs ``-log(o / (o + b))`` and a
sampled one ``-log(b / (o + b))``; a sample's cost is their sum.
"""

from __future__ import annotations

import numpy as np

from .mixed import table_backward

__all__ = ["code_length", "bit_codes", "hsigmoid_forward", "hsigmoid_backward",
           "nce_forward", "nce_backward", "CLIP"]

#: Paddle clips the hierarchical sigmoid's pre-activations to [-CLIP, CLIP]
CLIP = 40.0


def code_length(num_classes: int) -> int:
    """The longest path of ``num_classes`` classes: ``bit_length(num_classes - 1)``."""
    return int(num_classes - 1).bit_length()


def bit_codes(labels, num_classes: int, xp=np):
    """``(node, bit, on)``, each ``(N, L)``: the tree node (weight row) of each path step, its
    target bit, and whether the step is on the sample's path (node 0 where not)."""
    code = labels.reshape(-1).astype(xp.int64) + num_classes
    j = xp.arange(code_length(num_classes), dtype=xp.int64)
    node = (code[:, None] >> (j + 1)) - 1
    on = node >= 0
    bit = ((code[:, None] >> j) & 1) * on
    return xp.where(on, node, 0), bit, on


def _gathered(x, w, node, xp):
    """``(N, L)``: ``w[node[n, j]] . x[n]``."""
    return xp.einsum("nd,nld->nl", x, xp.take(w, node, axis=0))


def hsigmoid_forward(xs, weights, bias, labels, num_classes: int, xp=np):
    """Cost ``(N, 1)`` and the clipped pre-activations ``z`` ``(N, L)`` (kept for backward).
    ``xs``: inputs ``(N, D_i)``; ``weights``: ``(C - 1, D_i)`` each; ``bias``: ``(C - 1,)``
    or None; ``labels``: ``(N,)`` class ids."""
    node, bit, on = bit_codes(labels, num_classes, xp)
    z = xp.zeros(node.shape, dtype=xs[0].dtype)
    for x, w in zip(xs, weights):
        z = z + _gathered(x, w, node, xp)
    if bias is not None:
        z = z + xp.take(bias.reshape(-1), node)
    z = xp.clip(z * on, -CLIP, CLIP)
    cost = (xp.logaddexp(0, z) - bit * z).sum(axis=1, keepdims=True)
    return cost.astype(xs[0].dtype, copy=False), z


def hsigmoid_backward(xs, weights, labels, num_classes: int, z, dcost, has_bias: bool,
                      xp=np):
    """``(dxs, dweights, dbias)`` from the output gradient ``dcost`` (N, 1): each path step's
    gradient is ``sigmoid(z) - bit`` (Paddle's, at the clipped ``z``)."""
    node, bit, on = bit_codes(labels, num_classes, xp)
    g = (1 / (1 + xp.exp(-z)) - bit) * on * dcost.reshape(-1, 1)
    g = g.astype(xs[0].dtype, copy=False)
    rows = num_classes - 1
    flat = node.reshape(-1)
    dxs, dws = [], []
    for x, w in zip(xs, weights):
        dxs.append(xp.einsum("nl,nld->nd", g, xp.take(w, node, axis=0)))
        dws.append(table_backward(flat, (g[:, :, None] * x[:, None, :]).reshape(
            -1, x.shape[1]), rows, xp=xp))
    dbias = table_backward(flat, g.reshape(-1, 1), rows, xp=xp).reshape(-1) if has_bias \
        else None
    return dxs, dws, dbias


def _noise(classes, num_classes: int, num_neg: int, dist, xp):
    """``b = k q(y)`` for each sampled class."""
    if dist is None:
        return xp.full(classes.shape, num_neg / num_classes, dtype=np.float64)
    return num_neg * xp.asarray(dist, dtype=np.float64)[classes]


def nce_forward(xs, weights, bias, classes, num_classes: int, num_neg: int, dist=None,
                xp=np):
    """Cost ``(N, 1)`` and the scores ``o`` ``(N, 1 + k)``.  ``classes`` ``(N, 1 + k)``:
    column 0 the true class, the others the sampled ones; ``dist``: the noise distribution
    (None: uniform)."""
    s = xp.zeros(classes.shape, dtype=xs[0].dtype)
    for x, w in zip(xs, weights):
        s = s + _gathered(x, w, classes, xp)
    if bias is not None:
        s = s + xp.take(bias.reshape(-1), classes)
    o = 1 / (1 + xp.exp(-s))
    b = _noise(classes, num_classes, num_neg, dist, xp).astype(o.dtype)
    cost = -xp.log(o[:, :1] / (o[:, :1] + b[:, :1])).sum(axis=1) \
        - xp.log(b[:, 1:] / (o[:, 1:] + b[:, 1:])).sum(axis=1)
    return cost.reshape(-1, 1).astype(xs[0].dtype, copy=False), o


def nce_backward(xs, weights, classes, num_classes: int, num_neg: int, o, dcost,
                 has_bias: bool, dist=None, xp=np):
    """``(dxs, dweights, dbias)`` from the output gradient ``dcost`` (N, 1) (which carries a
    sample weight where there is one)."""
    b = _noise(classes, num_classes, num_neg, dist, xp).astype(o.dtype)
    do = 1 / (o + b)
    do[:, 0] = do[:, 0] - 1 / o[:, 0]
    g = (do * o * (1 - o) * dcost.reshape(-1, 1)).astype(xs[0].dtype, copy=False)
    flat = classes.reshape(-1)
    dxs, dws = [], []
    for x, w in zip(xs, weights):
        dxs.append(xp.einsum("nl,nld->nd", g, xp.take(w, classes, axis=0)))
        dws.append(table_backward(flat, (g[:, :, None] * x[:, None, :]).reshape(
            -1, x.shape[1]), num_classes, xp=xp))
    dbias = table_backward(flat, g.reshape(-1, 1), num_classes, xp=xp).reshape(-1) \
        if has_bias else None
    return dxs, dws, dbias
