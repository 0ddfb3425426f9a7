"""batch_norm and norm (cross-map response normalization, spec 6.3-6.4; SSD's cross-channel
L2 normalisation)."""

from __future__ import annotations

from ...config import ConfigError
from ...config.geometry import image_axes
from ...kernels import elementwise as E
from ...kernels import norm as K
from ...kernels.clamp import relu_in_place
from ..registry import register
from .base import Pass, RuntimeLayer, accumulate, as_image


@register("batch_norm")
class BatchNormLayer(RuntimeLayer):
    """w0 = scale, w1/w2 = moving mean/variance (static, updated here), bias = shift."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.channels = config.inputs[0].image_conf.channels
        self.scale, self.mean, self.var = (self.weight_name(i) for i in range(3))
        self.static_params = {self.mean, self.var}
        self.epsilon = config.get("epsilon")
        self.fraction = config.get("moving_average_fraction")

    #: the relu is applied inside the kernels when the network hands it over
    #: (rewrites.fuse_activations): in place on the output, and its gradient in the backward
    fusable_activations = ("relu",)
    fused_activation = ""

    working_memory = "temporaries"

    def working_bytes(self, batch: int, itemsize: int, backend) -> int:
        """The kernels' temporaries: two arrays of the output's size (x - mean, x * x, ...)."""
        return 2 * batch * int(self.config.size or 0) * itemsize

    def _as_nchw(self, x):
        """``x`` as (N, C, H, W); a flat input or a volume (N, C, D, H, W) as (N, C, -1, 1)."""
        if x.ndim == 4 and x.shape[1] == self.channels:
            return x
        return x.reshape(x.shape[0], self.channels, -1, 1)

    def _beta(self, params, p):
        if self.bias_name:
            return params[self.bias_name]
        return p.xp.zeros(self.channels, dtype=params[self.scale].dtype)

    def _use_batch_stats(self, p: Pass) -> bool:
        """Training uses batch statistics unless use_global_stats is set; testing uses the
        moving ones unless use_global_stats is explicitly false (spec 6.4)."""
        flag = self.config.use_global_stats
        if p.training:
            return flag is not True
        return flag is False

    def forward(self, xs, params, p):
        x = self._as_nchw(xs[0])
        gamma, beta = params[self.scale], self._beta(params, p)
        relu = self.fused_activation == "relu"
        if self._use_batch_stats(p):
            y, mean, var, inv_std = K.batch_norm_forward(x, gamma, beta, epsilon=self.epsilon,
                                                         xp=p.xp, sum_shards=p.stat_sum,
                                                         relu=relu, run=p.backend.parallel,
                                                         workers=p.backend.workers)
            if p.mode == Pass.TRAIN:
                f = self.fraction
                moving_mean, moving_var = params[self.mean], params[self.var]
                moving_mean *= f
                moving_mean += (1 - f) * mean
                moving_var *= f
                moving_var += (1 - f) * var
            self.cache = {"batch": True, "mean": mean, "inv_std": inv_std}
        else:
            mean, var = params[self.mean], params[self.var]
            y = K.batch_norm_inference(x, gamma, beta, mean, var, epsilon=self.epsilon, xp=p.xp)
            if relu:
                relu_in_place(p.xp, y)
            inv_std = 1.0 / p.xp.sqrt(var + var.dtype.type(self.epsilon))
            self.cache = {"batch": False, "mean": mean.copy(), "inv_std": inv_std}
        return y.reshape(xs[0].shape)

    def backward(self, xs, z, dz, params, grads, p):
        x = self._as_nchw(xs[0])
        dy = dz.reshape(x.shape)
        gamma = params[self.scale]
        c = self.cache
        y = z.reshape(x.shape) if self.fused_activation == "relu" else None  # the relu's output
        if c["batch"]:
            dx, dgamma, dbeta = K.batch_norm_backward(x, dy, gamma, c["mean"], c["inv_std"],
                                                      xp=p.xp, sum_shards=p.stat_sum, y=y,
                                                      run=p.backend.parallel,
                                                      workers=p.backend.workers)
        else:
            if y is not None:
                dy = K.relu_grad(p.xp, y, dy)
            dx, dgamma, dbeta = K.batch_norm_backward_fixed(dy, gamma, c["inv_std"], x,
                                                            c["mean"])
        accumulate(grads, self.scale, dgamma)
        if self.bias_name:
            accumulate(grads, self.bias_name, dbeta)
        return [dx.reshape(xs[0].shape)]


#: norm_conf.norm_type -> the runtime class of a ``norm`` layer (filled by :func:`norm_type`)
NORM_TYPES: dict[str, type] = {}


def norm_type(name: str):
    """Class decorator: the class runs ``norm`` layers of this ``norm_type``."""
    def decorate(cls):
        NORM_TYPES[name] = cls
        return cls
    return decorate


@register("norm")
class NormLayer(RuntimeLayer):
    """A ``norm`` layer: its ``norm_conf.norm_type`` picks the class that runs it from
    :data:`NORM_TYPES` (as Paddle's NormLayer::create did)."""

    def __new__(cls, config=None, *args, **kwargs):
        # (copy and pickle call __new__ with the class of the instance and no arguments)
        if cls is NormLayer:
            conf = config.inputs[0].norm_conf if config.inputs else None
            kind = conf.norm_type if conf else None
            cls = NORM_TYPES.get(kind)
            if cls is None:
                raise ConfigError(f"layer {config.name!r}: norm_type {kind!r} is not "
                                  f"supported (expected one of {', '.join(sorted(NORM_TYPES))})",
                                  layer=config.name)
        return super().__new__(cls)

    def _geometry(self):
        channels, image = image_axes(self.config.inputs[0].norm_conf)
        return (channels,) + image


@norm_type("cmrnorm-projection")
class CrossMapNormLayer(NormLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].norm_conf
        self.args = dict(size=conf.size, scale=conf.scale, power=conf.pow)
        self.geometry = self._geometry()

    working_memory = "temporaries"

    def working_bytes(self, batch: int, itemsize: int, backend) -> int:
        """The denominators kept for the backward and two temporaries (squares, the window
        sums), each of the output's size."""
        return 3 * batch * int(self.config.size or 0) * itemsize

    def forward(self, xs, params, p):
        y, denom = K.cmrnorm_forward(as_image(xs[0], *self.geometry), xp=p.xp, **self.args)
        self.cache = {"y": y, "denom": denom}
        return y

    def backward(self, xs, z, dz, params, grads, p):
        x = as_image(xs[0], *self.geometry)
        return [K.cmrnorm_backward(x, self.cache["y"], self.cache["denom"],
                                   dz.reshape(x.shape), xp=p.xp, **self.args)]


@norm_type("cross-channel-norm")
class CrossChannelNormLayer(NormLayer):
    """SSD's L2 normalisation across channels at every pixel, times a learned per-channel
    scale (input 0's parameter, C values)."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.geometry = self._geometry()
        self.scale = self.weight_name(0)

    working_memory = "temporaries"

    def working_bytes(self, batch: int, itemsize: int, backend) -> int:
        """The kernels' temporaries: about three arrays of the output's size (squares,
        the normalised input, the product with the scale)."""
        return 3 * batch * int(self.config.size or 0) * itemsize

    def forward(self, xs, params, p):
        return E.cross_channel_norm_forward(as_image(xs[0], *self.geometry),
                                            params[self.scale], xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        x = as_image(xs[0], *self.geometry)
        dx, dscale = E.cross_channel_norm_backward(x, dz.reshape(x.shape), params[self.scale],
                                                   xp=p.xp)
        accumulate(grads, self.scale, dscale)
        return [dx]
