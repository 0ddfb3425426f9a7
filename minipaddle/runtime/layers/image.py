"""maxout, spp, pad, bilinear_interp and prelu (spec 6.5-6.7, 6.9)."""

from __future__ import annotations

from ...config.geometry import image_axes
from ...kernels import image as K
from ..registry import register
from .base import RuntimeLayer, accumulate


def _as_image(x, conf):
    """An input seen as (N, C, H, W) with the geometry its consumer's image_conf states."""
    channels, image = image_axes(conf)
    return x.reshape((x.shape[0], channels) + image)


@register("maxout")
class MaxoutLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.conf = config.inputs[0].maxout_conf

    def forward(self, xs, params, p):
        return K.maxout_forward(_as_image(xs[0], self.conf.image_conf),
                                groups=self.conf.groups, xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        x = _as_image(xs[0], self.conf.image_conf)
        return [K.maxout_backward(x, dz, groups=self.conf.groups, xp=p.xp).reshape(xs[0].shape)]


@register("spp")
class SppLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].spp_conf
        self.image_conf = conf.image_conf
        self.args = dict(pyramid_height=conf.pyramid_height,
                         kind="max" if conf.pool_type.startswith("max") else "avg")

    def forward(self, xs, params, p):
        return K.spp_forward(_as_image(xs[0], self.image_conf), xp=p.xp, **self.args)

    def backward(self, xs, z, dz, params, grads, p):
        x = _as_image(xs[0], self.image_conf)
        return [K.spp_backward(x, dz, xp=p.xp, **self.args).reshape(xs[0].shape)]


@register("pad")
class PadLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].pad_conf
        self.image_conf = conf.image_conf
        self.args = dict(pad_c=tuple(conf.pad_c), pad_h=tuple(conf.pad_h),
                         pad_w=tuple(conf.pad_w))

    def forward(self, xs, params, p):
        return K.pad_forward(_as_image(xs[0], self.image_conf), xp=p.xp, **self.args)

    def backward(self, xs, z, dz, params, grads, p):
        return [K.pad_backward(dz, **self.args).reshape(xs[0].shape)]


@register("bilinear_interp")
class BilinearInterpLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].bilinear_interp_conf
        self.image_conf = conf.image_conf
        self.output_size = (conf.out_size_y, conf.out_size_x)

    def forward(self, xs, params, p):
        return K.bilinear_forward(_as_image(xs[0], self.image_conf),
                                  output_size=self.output_size, xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        x = _as_image(xs[0], self.image_conf)
        return [K.bilinear_backward(x, dz, output_size=self.output_size,
                                    xp=p.xp).reshape(xs[0].shape)]


@register("prelu")
class PReluLayer(RuntimeLayer):
    """y = x if x > 0 else w[i // partial_sum] * x over the flat row index i."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.partial_sum = config.get("partial_sum") or 1

    def _slope(self, x, params):
        w = params[self.weight_name(0)]
        return w.reshape(1, -1, 1), x.reshape(x.shape[0], -1, self.partial_sum)

    def forward(self, xs, params, p):
        w, x = self._slope(xs[0], params)
        return p.xp.where(x > 0, x, w * x).reshape(xs[0].shape)

    def backward(self, xs, z, dz, params, grads, p):
        w, x = self._slope(xs[0], params)
        g = dz.reshape(x.shape)
        negative = x <= 0
        accumulate(grads, self.weight_name(0), (g * x * negative).sum(axis=(0, 2)))
        return [p.xp.where(negative, w * g, g).reshape(xs[0].shape)]
