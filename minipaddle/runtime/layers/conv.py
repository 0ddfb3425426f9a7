"""exconv / exconvt: im2col + GEMM convolution and transposed convolution (spec 6.1).

Weights: conv ``(num_filters, channels/groups, filter_size_y, filter_size)``, transposed conv
``(channels, num_filters/groups, filter_size_y, filter_size)``: C-order flattening is Paddle's
buffer layout.  Bias: shared ``(num_filters,)``, unshared ``(num_filters, out_h, out_w)``.
"""

from __future__ import annotations

from ...kernels import conv as K
from ..registry import register, register_fallback
from .base import RuntimeLayer, accumulate, as_image


class _ConvBase(RuntimeLayer):
    transposed = False

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
        if self.bias_name:
            self.param_shapes[self.bias_name] = ((filters,) if config.shared_biases
                                                 else self.out_shape)

    def _args(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    def _column_bytes(self, x) -> int:
        """im2col workspace per sample: (channels x filter) rows by pixels columns."""
        kh, kw = self.conf.filter_size_y, self.conf.filter_size
        if self.transposed:   # columns of the input image against F/groups filters
            rows, pixels = self.config.num_filters * kh * kw, x.shape[2] * x.shape[3]
        else:
            rows, pixels = self.conf.channels * kh * kw, self.out_shape[1] * self.out_shape[2]
        return rows * pixels * x.dtype.itemsize

    def _input(self, x):
        c = self.conf
        if self.transposed:   # the input is the convolution's "output" side
            return as_image(x, c.channels, c.get("output_y") or c.output_x, c.output_x)
        return as_image(x, c.channels, c.get("img_size_y") or c.img_size, c.img_size)

    def forward(self, xs, params, p):
        x = self._input(xs[0])
        w = params[self.weight_name(0)]
        args = self._args()
        if self.transposed:
            def kernel(part):
                return K.conv2d_transpose_forward(part, w, output_size=self.out_shape[1:],
                                                  xp=p.xp, **args)
        else:
            def kernel(part):
                return K.conv2d_forward(part, w, xp=p.xp, **args)
        slices = p.backend.batch_slices(x.shape[0], self._column_bytes(x))
        if len(slices) == 1:
            z = kernel(x)
        else:
            z = p.xp.empty((x.shape[0],) + self.out_shape, dtype=x.dtype)

            def run(part):
                z[part] = kernel(x[part])

            p.backend.parallel(run, slices)
        if self.bias_name:
            b = params[self.bias_name]
            z += b.reshape(1, -1, 1, 1) if self.config.shared_biases else b[None]
        return z

    def backward(self, xs, z, dz, params, grads, p):
        x = self._input(xs[0])
        w = params[self.weight_name(0)]
        fn = K.conv2d_transpose_backward if self.transposed else K.conv2d_backward
        args = self._args()
        slices = p.backend.batch_slices(x.shape[0], self._column_bytes(x))
        if len(slices) == 1:
            dx, dw = fn(x, w, dz, xp=p.xp, **args)
        else:
            dx = p.xp.empty_like(x)

            def run(part):
                dx[part], dw_part = fn(x[part], w, dz[part], xp=p.xp, **args)
                return dw_part

            dws = p.backend.parallel(run, slices)
            dw = dws[0]
            for part in dws[1:]:
                dw += part
        accumulate(grads, self.weight_name(0), dw)
        if self.bias_name:
            axes = (0, 2, 3) if self.config.shared_biases else (0,)
            accumulate(grads, self.bias_name, dz.sum(axis=axes))
        return [dx]


@register("exconv")
class ConvLayer(_ConvBase):
    transposed = False


@register("exconvt")
class ConvTransLayer(_ConvBase):
    transposed = True


register_fallback("cudnn_conv", "exconv")
register_fallback("cudnn_convt", "exconvt")
