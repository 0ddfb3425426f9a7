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
from ...kernels import winograd as WG
from ..algorithm import Algorithm
from ..registry import register
from .base import RuntimeLayer, accumulate


class _ConvBase(RuntimeLayer):
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
        #: "batch", "pixel", "depthwise" or "winograd": which kernel runs (decided here only)
        self.layout = K.conv_algorithm(channels, groups, geo.output, filters=filters,
                                       filter_hw=geo.filter, in_hw=geo.image)
        if (not self.transposed and geo.rank == 2
                and WG.winograd_applies(geo.filter, geo.stride, geo.dilation, geo.groups)
                and WG.winograd_pays(geo.channels, config.num_filters, geo.output)):
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
            return WG.winograd_workspace_values(self.geo.channels, self.config.num_filters,
                                                self.geo.image, self.padding)
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
            def run(item):
                i, part = item
                K.conv_transpose_forward(x[part], w, output_size=self.geo.image, out=z[part],
                                         ws=p.backend.workspace(), xp=p.xp, **args)
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

    def _winograd_forward(self, x, w, params, p):
        """The forward by :mod:`~minipaddle.kernels.winograd`, per batch chunk; the
        transformed weight is kept for the backward."""
        u = self._winograd_weight(w, p)
        z = p.xp.empty((x.shape[0],) + self.out_shape, dtype=x.dtype)
        slices = self._winograd_slices(x, p)
        kept = self._winograd_kept(x, slices, p)

        def run(item):
            i, part = item
            WG.winograd_forward(x[part], u, padding=self.padding, out=z[part],
                                keep=None if kept is None else kept[i],
                                ws=p.backend.workspace(), xp=p.xp)
            self._add_bias(z[part], params)

        p.backend.parallel(run, list(enumerate(slices)))
        return z

    def _winograd_slices(self, x, p):
        values = WG.winograd_chunk_values(self.geo.channels, self.config.num_filters,
                                          self.geo.image, self.padding)
        return p.backend.batch_slices(x.shape[0], values * x.dtype.itemsize)

    def _winograd_kept(self, x, slices, p):
        """Per-slice buffers for the transformed input, which the backward reuses, in a
        training pass when they fit ``KEEP_COLUMNS_BYTES`` (else None)."""
        self.cache["winograd_input"] = None
        if not p.training:
            return None
        shapes = [WG.winograd_input_shape(x[part].shape, self.padding) for part in slices]
        if sum(prod(s) for s in shapes) * x.dtype.itemsize > self.KEEP_COLUMNS_BYTES:
            return None
        old = self.cache.get("winograd_kept") or []
        kept = [old[i] if i < len(old) and old[i].shape == s and old[i].dtype == x.dtype
                else p.xp.empty(s, dtype=x.dtype) for i, s in enumerate(shapes)]
        self.cache["winograd_kept"] = kept
        self.cache["winograd_input"] = (slices, kept)
        return kept

    def _winograd_backward(self, x, w, dz, params, grads, p):
        u = self.cache.get("winograd_weight")
        if u is None or u.dtype != x.dtype:
            u = self._winograd_weight(w, p)
        need_dx = p.needs_grad(self.input_names[0])
        dx = p.xp.empty_like(x) if need_dx else None
        slices = self._winograd_slices(x, p)
        kept = self.cache.get("winograd_input")
        kept = kept[1] if kept is not None and kept[0] == slices else None

        def run(item):
            i, part = item
            _, du = WG.winograd_backward(x[part], u, dz[part], padding=self.padding,
                                         need_dx=need_dx, cells=True,
                                         kept=None if kept is None else kept[i],
                                         dx_out=None if dx is None else dx[part],
                                         ws=p.backend.workspace(), xp=p.xp)
            return du, self._bias_grad(dz[part])

        parts = p.backend.parallel(run, list(enumerate(slices)))
        du, db = parts[0]
        for du_part, db_part in parts[1:]:   # a fixed order: the same sums every step
            du += du_part
            if db is not None:
                db += db_part
        dw = p.xp.empty(w.shape, dtype=du.dtype)
        p.backend.parallel(lambda f: WG.winograd_weight_grad(du[:, f], out=dw[f], xp=p.xp),
                           self._filter_slices(p))
        accumulate(grads, self.weight_name(0), dw)
        accumulate(grads, self.bias_name, db)
        return [dx]

    def _filter_slices(self, p):
        """The filters split over the worker threads (the weight transforms are memory-bound
        passes over 16*F*C values: 5 ms for 512x512 on one thread)."""
        f, k = self.config.num_filters, p.backend.workers
        return [slice(i * f // k, (i + 1) * f // k) for i in range(k)]

    def _winograd_weight(self, w, p):
        """The transformed weight, in a buffer kept across steps (a fresh 16 MB array for a
        512x512 conv cost page faults on every step)."""
        shape = (16,) + w.shape[:2]
        u = self.cache.get("winograd_weight")
        if u is None or u.shape != shape or u.dtype != w.dtype:
            u = p.xp.empty(shape, dtype=w.dtype)
        p.backend.parallel(lambda f: WG.winograd_weight(w[f], out=u[:, f], xp=p.xp),
                           self._filter_slices(p))
        self.cache["winograd_weight"] = u
        return u

    def _add_bias(self, z, params):
        """z += the bias (shared: one per filter; unshared: one per filter and pixel)."""
        if self.bias_name:
            b = params[self.bias_name]
            z += (b.reshape((1, -1) + (1,) * self.geo.rank) if self.config.shared_biases
                  else b[None])

    def _bias_grad(self, dz):
        """The bias gradient of ``dz`` (a batch or a chunk of it), None without a bias."""
        if not self.bias_name:
            return None
        spatial = tuple(range(2, 2 + self.geo.rank))
        return dz.sum(axis=(0,) + spatial if self.config.shared_biases else (0,))

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
        old = self.cache.get("kept") or []
        kept = [old[i] if i < len(old) and old[i].shape == s and old[i].dtype == x.dtype
                else p.xp.empty(s, dtype=x.dtype) for i, s in enumerate(shapes)]
        self.cache["kept"] = kept
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
            dx_part, dw_part = fn(x[part], w, dz[part], need_dx=need_dx,
                                  ws=p.backend.workspace(), xp=p.xp, **args, **extra)
            if need_dx:
                dx[part] = dx_part
            return dw_part, self._bias_grad(dz[part])

        parts = p.backend.parallel(run, list(enumerate(slices)))
        dw, db = parts[0]
        for dw_part, db_part in parts[1:]:   # a fixed order: the same sums every step
            dw += dw_part
            if db is not None:
                db += db_part
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
