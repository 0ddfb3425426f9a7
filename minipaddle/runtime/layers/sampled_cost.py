"""hsigmoid and nce on the kernels of :mod:`minipaddle.kernels.sampled_cost`: one cost per
sample ``(N, 1)``; Paddle gives them no ``coeff``.

nce draws its negative classes on the host from the network's generator (a compile ``seed``
makes them reproducible), as Paddle sampled on the CPU; a gradient-check pass draws once and
reuses the draw, so the check's repeated forwards agree.  Its ``sigmoid`` activation is its
own (the scores of the true and sampled classes), never applied to its cost output."""

from __future__ import annotations

import numpy as np

from ...config.layers.sampled_cost import nce_label_index
from ...kernels import sampled_cost as K
from ..backend import to_host
from ..registry import register
from .base import Pass, RuntimeLayer, accumulate


def _rows(x):
    return x.reshape(x.shape[0], -1)


class _SampledCost(RuntimeLayer):
    is_cost = True
    #: the config's activation is applied inside the layer, not to its output
    owns_activation = True

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.num_classes = int(config.num_classes or 0)
        self.label_index = self._label_index(model)

    def _label_index(self, model) -> int:
        return len(self.config.inputs) - 1

    def _labels(self, xs, p):
        labels = xs[self.label_index].reshape(-1)
        if labels.size:
            low, high = int(labels.min()), int(labels.max())
            if low < 0 or high >= self.num_classes:
                bad = low if low < 0 else high
                raise ValueError(f"layer {self.name!r} ({self.config.type}): label {bad} is "
                                 f"outside [0, {self.num_classes}) (num_classes "
                                 f"{self.num_classes})")
        return labels.astype(p.xp.int64)

    def _weights(self, params):
        return [params[self.weight_name(i)] for i in range(self.label_index)]

    def _bias(self, params):
        return params[self.bias_name].reshape(-1) if self.bias_name else None

    def _grads(self, grads, dws, dbias):
        for i, dw in enumerate(dws):
            accumulate(grads, self.weight_name(i), dw)
        if self.bias_name:
            accumulate(grads, self.bias_name, dbias)


@register("hsigmoid")
class HSigmoidLayer(_SampledCost):
    """Inputs ``[x_1 .. x_m, label]``; weights ``(C - 1, D_i)``, bias ``(C - 1,)``."""

    owns_activation = False

    def forward(self, xs, params, p):
        vectors = [_rows(x) for x in xs[:self.label_index]]
        cost, z = K.hsigmoid_forward(vectors, self._weights(params), self._bias(params),
                                     self._labels(xs, p), self.num_classes, xp=p.xp)
        self.cache = {"z": z}
        return cost

    def backward(self, xs, z, dz, params, grads, p):
        vectors = [_rows(x) for x in xs[:self.label_index]]
        dxs, dws, dbias = K.hsigmoid_backward(
            vectors, self._weights(params), self._labels(xs, p), self.num_classes,
            self.cache["z"], dz, self.bias_name is not None, xp=p.xp)
        self._grads(grads, dws, dbias)
        return [dx.reshape(x.shape) for dx, x in zip(dxs, xs)] + [None]


@register("nce")
class NCELayer(_SampledCost):
    """Inputs ``[x_1 .. x_m, label]`` or ``[x_1 .. x_m, label, weight]`` (Paddle's rule for
    which is which: :func:`minipaddle.config.layers.sampled_cost.nce_label_index`); weights
    ``(C, D_i)``, bias ``(C,)``; ``num_neg_samples`` classes drawn per sample, independently
    and with repeats (a draw may hit the true class, as in Paddle)."""

    def _label_index(self, model) -> int:
        return nce_label_index(self.config, model)

    @property
    def _dist(self):
        return self.config.neg_sampling_dist or None

    def _negatives(self, n: int, p: Pass) -> np.ndarray:
        k = int(self.config.get("num_neg_samples"))
        if p.mode == Pass.CHECK:
            kept = self.cache.get("check_negatives")
            if kept is None or kept.shape != (n, k):
                kept = self.cache["check_negatives"] = self._draw(n, k, p)
            return kept
        return self._draw(n, k, p)

    def _draw(self, n: int, k: int, p: Pass) -> np.ndarray:
        if self._dist is None:
            return p.rng.integers(0, self.num_classes, size=(n, k))
        dist = np.asarray(self._dist, dtype=np.float64)
        return p.rng.choice(self.num_classes, size=(n, k), p=dist / dist.sum())

    def _sample_weight(self, xs):
        if len(xs) > self.label_index + 1:
            return xs[self.label_index + 1].reshape(-1, 1)
        return None

    def forward(self, xs, params, p):
        labels = self._labels(xs, p)
        negatives = p.xp.asarray(self._negatives(labels.shape[0], p))
        classes = p.xp.concatenate([labels.reshape(-1, 1), negatives], axis=1)
        vectors = [_rows(x) for x in xs[:self.label_index]]
        cost, o = K.nce_forward(vectors, self._weights(params), self._bias(params), classes,
                                self.num_classes, int(self.config.get("num_neg_samples")),
                                self._dist, xp=p.xp)
        keep = self.cache.get("check_negatives")
        self.cache = {"classes": classes, "o": o, "cost": cost}
        if keep is not None:
            self.cache["check_negatives"] = keep
        w = self._sample_weight(xs)
        return cost * w if w is not None else cost

    def backward(self, xs, z, dz, params, grads, p):
        w = self._sample_weight(xs)
        scale = dz * w if w is not None else dz
        vectors = [_rows(x) for x in xs[:self.label_index]]
        dxs, dws, dbias = K.nce_backward(
            vectors, self._weights(params), self.cache["classes"], self.num_classes,
            int(self.config.get("num_neg_samples")), self.cache["o"], scale,
            self.bias_name is not None, self._dist, xp=p.xp)
        self._grads(grads, dws, dbias)
        out = [dx.reshape(x.shape) for dx, x in zip(dxs, xs)] + [None]
        if w is not None:
            out.append((dz * self.cache["cost"]).reshape(xs[-1].shape))
        return out
