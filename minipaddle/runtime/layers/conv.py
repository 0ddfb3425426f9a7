"""Convolution and transposed convolution of images and volumes by im2col + GEMM (spec 6.1):
``exconv``/``exconvt`` and their cuDNN types, ``conv3d``/``deconv3d``.

The weight and bias shapes are the conv types' facts (:mod:`minipaddle.config.layers.conv`);
the geometry is the config's, resolved once into per-axis tuples
(:func:`minipaddle.config.geometry.conv_axes`); the kernel (batch or pixel column layout,
or depthwise shifted adds) is chosen here, once, and handed to the kernels.  The cuDNN types
run here where cuDNN is missing (their facts' ``runs_as``).
"""

from __future__ import annotations

from math import prod

import numpy as np

from ...config.geometry import conv_axes
from ...config import ConfigError
from ...config.layers.conv import CONV3D, DECONV3D, EXCONV, EXCONVT
from ...kernels import conv as K
from ..algorithm import Algorithm
from ..registry import register
from .base import RuntimeLayer, accumulate, kept_buffers, sum_parts
from .winograd import WinogradConv


class _ConvBase(WinogradConv, RuntimeLayer):
    transposed = False
    #: a layer keeps its im2col columns from forward to backward when they need at most this
    #: many bytes for the whole batch (else the backward recomputes them)
    KEEP_COLUMNS_BYTES = 32 * 1024 * 1024

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        #: the geometry, per spatial axis; ``geo.output`` is the conv's output side (for a
        #: transposed conv: its input)
        self.geo = geo = conv_axes(config.inputs[0].conv_conf, self.transposed)
        self.groups = geo.groups
        self.stride, self.padding, self.dilation = geo.stride, geo.padding, geo.dilation
        if self.transposed:   # the kernels run the conv whose data gradient this is
            channels, groups, filters = config.num_filters, 1, geo.channels
        else:
            channels, groups, filters = geo.channels, geo.groups, config.num_filters
        #: "batch", "pixel", "depthwise", "flat" or "winograd": which kernel runs (decided here
        #: only)
        self.layout = K.conv_algorithm(channels, groups, geo.output, filters=filters,
                                       filter_hw=geo.filter, in_hw=geo.image,
                                       **({} if self.transposed else dict(
                                           stride=geo.stride, padding=geo.padding,
                                           dilation=geo.dilation)))
        if not self.transposed and self.winograd_runs(geo, config.num_filters):
            self.layout = "winograd"
        self.implementation = Algorithm(config.type, detail=(
            "depthwise shifted adds" if self.layout == "depthwise"
            else "winograd F(2x2, 3x3)" if self.layout == "winograd"
            else f"im2col + GEMM, {self.layout} layout"))

    def _args(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, layout=self.layout)

    def _column_values(self) -> int:
        """im2col workspace per sample: (channels x filter) rows by pixels columns (of the
        conv's output side: for a transposed conv, columns of its input against F/groups
        filters)."""
        if self.layout == "winograd":
            return self.winograd_workspace_values()
        channels = self.config.num_filters if self.transposed else self.geo.channels
        return channels * prod(self.geo.filter) * prod(self.geo.output)

    def _column_bytes(self, x) -> int:
        return self._column_values() * x.dtype.itemsize

    working_memory = "im2col working buffer"

    def working_bytes(self, batch: int, itemsize: int, backend) -> int:
        """The column buffers of the chunks of the batch that run at once."""
        per_sample = self._column_values() * itemsize
        chunks = sorted((s.stop - s.start for s in backend.batch_slices(batch, per_sample)),
                        reverse=True)
        return per_sample * sum(chunks[:backend.workers])

    def _input(self, x):
        geo = self.geo      # a transposed conv's input is the convolution's "output" side
        spatial = geo.output if self.transposed else geo.image
        return x.reshape((x.shape[0], geo.channels) + spatial)

    def _weight(self, params):
        """The weight in the kernels' layout (module docstring of the conv facts)."""
        return params[self.weight_name(0)]

    def _weight_grad(self, dw):
        """A gradient in the kernels' layout, in the parameter's layout."""
        return dw

    def forward(self, xs, params, p):
        x = self._input(xs[0])
        w = self._weight(params)
        if self.layout == "winograd":
            return self._winograd_forward(x, w, params, p)
        args = self._args()
        n = x.shape[0]
        z = p.xp.empty((n,) + self.out_shape, dtype=x.dtype)
        slices = p.backend.batch_slices(n, self._column_bytes(x))
        kept = self._kept_columns(x, w, slices, p)
        if self.transposed:
            # a shared bias goes in with the kernel's last copy (one pass over z fewer)
            bias = (params[self.bias_name].reshape(-1)
                    if self.bias_name and self.config.shared_biases else None)

            def run(item):
                i, part = item
                K.conv_transpose_forward(x[part], w, output_size=self.geo.image, out=z[part],
                                         ws=p.backend.workspace(), xp=p.xp, bias=bias, **args)
                if bias is None:
                    self._add_bias(z[part], params)
        else:
            def run(item):
                i, part = item
                K.conv_forward(x[part], w, out=z[part], ws=p.backend.workspace(),
                                 columns=None if kept is None else kept[i], xp=p.xp,
                                 output_size=self.geo.output, **args)
                self._add_bias(z[part], params)    # while the chunk is in cache
        p.backend.parallel(run, list(enumerate(slices)))
        return z

    def _add_bias(self, z, params):
        """z += the bias (shared: one per filter; unshared: one per filter and pixel)."""
        if self.bias_name:
            b = params[self.bias_name]
            z += (b.reshape((1, -1) + (1,) * self.geo.rank) if self.config.shared_biases
                  else b[None])

    def _bias_grad(self, dz):
        """The bias gradient of ``dz`` (a batch or a chunk of it), None without a bias. A
        shared bias sums each sample's maps by a matrix-vector product with ones, then the
        samples: 2-4x faster than ``sum`` over the batch and spatial axes together (which
        reduces a strided (N, H, W) set per filter), the same float32 rounding scale."""
        if not self.bias_name:
            return None
        if not self.config.shared_biases:
            return dz.sum(axis=0)
        n, f = dz.shape[0], dz.shape[1]
        maps = dz.reshape(n, f, -1)
        ones = self.cache.get("bias_ones")     # (a race of the chunks' threads is benign)
        if ones is None or ones.shape[0] != maps.shape[2] or ones.dtype != dz.dtype:
            ones = self.cache["bias_ones"] = np.ones_like(maps[0, 0])
        return (maps @ ones).sum(axis=0)

    def _kept_columns(self, x, w, slices, p):
        """Per-slice column buffers the forward fills and the backward reuses, when this is a
        training pass of a conv whose columns fit ``KEEP_COLUMNS_BYTES`` (else None, and the
        backward recomputes them). The buffers persist across steps."""
        self.cache["columns"] = None
        if self.transposed or not p.training:
            return None
        args = self._args()
        shapes = [K.columns_shape(x[part].shape, w.shape, output_size=self.geo.output, **args)
                  for part in slices]
        if shapes[0] is None:
            return None
        nbytes = sum(int(np.prod(s)) for s in shapes) * x.dtype.itemsize
        if nbytes > self.KEEP_COLUMNS_BYTES:
            return None
        kept = kept_buffers(self.cache, "kept", shapes, x.dtype, p.xp)
        self.cache["columns"] = (slices, kept)
        return kept

    def backward(self, xs, z, dz, params, grads, p):
        x = self._input(xs[0])
        w = self._weight(params)
        if self.layout == "winograd":
            return self._winograd_backward(x, w, dz, params, grads, p)
        fn = K.conv_transpose_backward if self.transposed else K.conv_backward
        args = self._args()
        need_dx = p.needs_grad(self.input_names[0])
        slices = p.backend.batch_slices(x.shape[0], self._column_bytes(x))
        kept = self.cache.get("columns")
        columns = kept[1] if kept is not None and kept[0] == slices else None
        dx = p.xp.empty_like(x) if need_dx else None

        def run(item):
            i, part = item
            extra = {} if self.transposed else {"output_size": self.geo.output}
            if columns is not None:
                extra["columns"] = columns[i]
            # each chunk's data gradient is written straight into its slice of dx
            _, dw_part = fn(x[part], w, dz[part], need_dx=need_dx,
                            dx_out=dx[part] if need_dx else None,
                            ws=p.backend.workspace(), xp=p.xp, **args, **extra)
            return dw_part, self._bias_grad(dz[part])

        dw, db = sum_parts(p.backend.parallel(run, list(enumerate(slices))))
        accumulate(grads, self.weight_name(0), self._weight_grad(dw))
        accumulate(grads, self.bias_name, db)
        return [dx]


@register(EXCONV, CONV3D)
class ConvLayer(_ConvBase):
    transposed = False


@register(EXCONVT)
class ConvTransLayer(_ConvBase):
    transposed = True


@register(DECONV3D)
class DeConv3DLayer(_ConvBase):
    """Paddle's deconv3d: a transposed conv whose weight is stored ``(num_filters, *filter,
    num_filters/groups)``; DeConv3DLayer reads it as the transposed conv's weight only when
    the input has num_filters channels, which is required here (spec 10 quirk 14)."""

    transposed = True

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        if self.geo.channels != config.num_filters:
            raise ConfigError(
                f"layer {config.name!r}: deconv3d with num_channels={self.geo.channels} and "
                f"num_filters={config.num_filters} cannot run: Paddle's config sizes its "
                f"weight num_filters x num_filters/groups x filter and its runtime reads that "
                f"as num_channels x num_filters/groups x filter, which agree only when "
                f"num_channels == num_filters (docs/paddle_compat.md)", layer=config.name)
        g = self.groups
        f = config.num_filters
        #: the stored weight seen as (G, F/G, *filter, C/G)
        self._stored = (g, f // g) + self.geo.filter + (f // g,)
        rank = self.geo.rank
        #: stored -> kernel layout (G, C/G, F/G, *filter), and back
        self._to_kernel = (0, rank + 2, 1) + tuple(range(2, rank + 2))
        self._to_stored = (0, 2) + tuple(range(3, rank + 3)) + (1,)

    def _weight(self, params):
        w = params[self.weight_name(0)].reshape(self._stored).transpose(self._to_kernel)
        return w.reshape((self.geo.channels, self.config.num_filters // self.groups)
                         + self.geo.filter)

    def _weight_grad(self, dw):
        g, f = self.groups, self.config.num_filters
        grouped = dw.reshape((g, f // g, f // g) + self.geo.filter)
        return grouped.transpose(self._to_stored).reshape(
            (f,) + self.geo.filter + (f // g,))
