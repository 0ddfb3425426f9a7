"""exconv / exconvt: im2col + GEMM convolution and transposed convolution (spec 6.1).

Weights: conv ``(num_filters, channels/groups, filter_size_y, filter_size)``, transposed conv
``(channels, num_filters/groups, filter_size_y, filter_size)``: C-order flattening is Paddle's
buffer layout.  Bias: shared ``(num_filters,)``, unshared ``(num_filters, out_h, out_w)``.
"""

from __future__ import annotations

import numpy as np

from ...kernels import conv as K
from ..registry import register, register_fallback
from .base import RuntimeLayer, accumulate, as_image


class _ConvBase(RuntimeLayer):
    transposed = False
    #: a layer keeps its im2col columns from forward to backward when they need at most this
    #: many bytes for the whole batch (else the backward recomputes them)
    KEEP_COLUMNS_BYTES = 32 * 1024 * 1024

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].conv_conf
        self.conf = conf
        self.groups = conf.groups
        self.stride = (conf.stride_y, conf.stride)
        self.padding = (conf.padding_y, conf.padding)
        self.dilation = (conf.get("dilation_y"), conf.get("dilation"))
        kernel = (conf.filter_size_y, conf.filter_size)
        filters = config.num_filters
        if self.transposed:
            w_shape = (conf.channels, filters // conf.groups) + kernel
        else:
            w_shape = (filters, conf.channels // conf.groups) + kernel
        self.param_shapes[self.weight_name(0)] = w_shape
        if self.transposed:   # the kernels run the conv whose data gradient this is
            image, channels = (conf.get("output_y") or conf.output_x, conf.output_x), filters
        else:
            image, channels = self.out_shape[1:], conf.channels
        kernel_name = K.conv_algorithm(channels, 1 if self.transposed else conf.groups, image)
        self.algorithm = f"{config.type}: " + (
            "depthwise shifted adds" if kernel_name == "depthwise"
            else f"im2col + GEMM, {kernel_name} layout")
        if self.bias_name:
            self.param_shapes[self.bias_name] = ((filters,) if config.shared_biases
                                                 else self.out_shape)

    def _args(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    def _column_values(self) -> int:
        """im2col workspace per sample: (channels x filter) rows by pixels columns."""
        c = self.conf
        kh, kw = c.filter_size_y, c.filter_size
        if self.transposed:   # columns of the input image against F/groups filters
            rows = self.config.num_filters * kh * kw
            pixels = (c.get("output_y") or c.output_x) * c.output_x
        else:
            rows, pixels = c.channels * kh * kw, self.out_shape[1] * self.out_shape[2]
        return rows * pixels

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
        c = self.conf
        if self.transposed:   # the input is the convolution's "output" side
            return as_image(x, c.channels, c.get("output_y") or c.output_x, c.output_x)
        return as_image(x, c.channels, c.get("img_size_y") or c.img_size, c.img_size)

    def forward(self, xs, params, p):
        x = self._input(xs[0])
        w = params[self.weight_name(0)]
        args = self._args()
        n = x.shape[0]
        z = p.xp.empty((n,) + self.out_shape, dtype=x.dtype)
        slices = p.backend.batch_slices(n, self._column_bytes(x))
        kept = self._kept_columns(x, w, slices, p)
        if self.transposed:
            def run(item):
                i, part = item
                z[part] = K.conv2d_transpose_forward(
                    x[part], w, output_size=self.out_shape[1:], ws=p.backend.workspace(),
                    xp=p.xp, **args)
                self._add_bias(z[part], params)
        else:
            def run(item):
                i, part = item
                K.conv2d_forward(x[part], w, out=z[part], ws=p.backend.workspace(),
                                 columns=None if kept is None else kept[i], xp=p.xp, **args)
                self._add_bias(z[part], params)    # while the chunk is in cache
        p.backend.parallel(run, list(enumerate(slices)))
        return z

    def _add_bias(self, z, params):
        """z += the bias (shared: one per filter; unshared: one per filter and pixel)."""
        if self.bias_name:
            b = params[self.bias_name]
            z += b.reshape(1, -1, 1, 1) if self.config.shared_biases else b[None]

    def _bias_grad(self, dz):
        """The bias gradient of ``dz`` (a batch or a chunk of it), None without a bias."""
        if not self.bias_name:
            return None
        return dz.sum(axis=(0, 2, 3) if self.config.shared_biases else (0,))

    def _kept_columns(self, x, w, slices, p):
        """Per-slice column buffers the forward fills and the backward reuses, when this is a
        training pass of a conv whose columns fit ``KEEP_COLUMNS_BYTES`` (else None, and the
        backward recomputes them). The buffers persist across steps."""
        self.cache["columns"] = None
        if self.transposed or not p.training:
            return None
        args = self._args()
        shapes = [K.columns_shape(x[part].shape, w.shape, **args) for part in slices]
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
        w = params[self.weight_name(0)]
        fn = K.conv2d_transpose_backward if self.transposed else K.conv2d_backward
        args = self._args()
        need_dx = p.needs_grad(self.input_names[0])
        slices = p.backend.batch_slices(x.shape[0], self._column_bytes(x))
        kept = self.cache.get("columns")
        columns = kept[1] if kept is not None and kept[0] == slices else None
        dx = p.xp.empty_like(x) if need_dx else None

        def run(item):
            i, part = item
            extra = {} if columns is None else {"columns": columns[i]}
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
        accumulate(grads, self.weight_name(0), dw)
        accumulate(grads, self.bias_name, db)
        return [dx]


@register("exconv")
class ConvLayer(_ConvBase):
    transposed = False


@register("exconvt")
class ConvTransLayer(_ConvBase):
    transposed = True


register_fallback("cudnn_conv", "exconv")
register_fallback("cudnn_convt", "exconvt")
