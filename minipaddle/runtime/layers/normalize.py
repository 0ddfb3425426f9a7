"""Row normalisations (kernels in :mod:`minipaddle.kernels.elementwise`)."""

from __future__ import annotations

from ...kernels import elementwise as K
from ..registry import register
from .base import RuntimeLayer


def _rows(x):
    return x.reshape(x.shape[0], -1)


@register("sum_to_one_norm")
class SumToOneNormLayer(RuntimeLayer):
    def forward(self, xs, params, p):
        return K.sum_to_one_norm_forward(_rows(xs[0]), xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        x = _rows(xs[0])
        y = K.sum_to_one_norm_forward(x, xp=p.xp)
        return [K.sum_to_one_norm_backward(x, y, _rows(dz), xp=p.xp).reshape(xs[0].shape)]


@register("row_l2_norm")
class RowL2NormLayer(RuntimeLayer):
    def forward(self, xs, params, p):
        return K.row_l2_norm_forward(_rows(xs[0]), xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        x = _rows(xs[0])
        y = K.row_l2_norm_forward(x, xp=p.xp)
        return [K.row_l2_norm_backward(x, y, _rows(dz), xp=p.xp).reshape(xs[0].shape)]
