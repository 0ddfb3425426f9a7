"""Row normalisations and data_norm (kernels in :mod:`minipaddle.kernels.elementwise`)."""

from __future__ import annotations

from ...config import ConfigError
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


@register("data_norm")
class DataNormLayer(RuntimeLayer):
    """Per-feature normalisation by the static ``(5, size)`` statistics; the parameter is
    static (no gradient), the input's gradient is ``dy * factor`` (Paddle's backward)."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.strategy = config.get("data_norm_strategy") or "z-score"
        if self.strategy not in K.DATA_NORM_STRATEGIES:
            raise ConfigError(f"layer {config.name!r} (data_norm): data_norm_strategy="
                              f"{self.strategy!r}: expected one of "
                              f"{', '.join(map(repr, K.DATA_NORM_STRATEGIES))}")

    def forward(self, xs, params, p):
        stats = params[self.weight_name(0)]
        return K.data_norm_forward(_rows(xs[0]), stats, strategy=self.strategy,
                                   xp=p.xp).reshape(xs[0].shape)

    def backward(self, xs, z, dz, params, grads, p):
        stats = params[self.weight_name(0)]
        return [K.data_norm_backward(_rows(dz), stats, strategy=self.strategy,
                                     xp=p.xp).reshape(xs[0].shape)]
