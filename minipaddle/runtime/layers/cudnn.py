"""The GPU backend's own layer classes (registered for backend "gpu" only; every other type
runs there with its shared class on CuPy, the im2col convolutions included: im2col + cuBLAS,
as Paddle's ExpandConvLayer was on either device).

* the cuDNN conv and transposed conv types: cuDNN graphs (:mod:`minipaddle.kernels.gpu.cudnn`) for the
  forward pass, the data gradient and the weight gradient; the bias is added as the im2col conv
  adds it.  A transposed convolution is the data gradient of the convolution with the same
  weight, so the transposed type runs dgrad forward, fprop for its input gradient and wgrad with the roles
  of image and gradient swapped.  Without cuDNN the backend maps these types onto their
  im2col types (their facts' ``runs_as``) at compile (one warning); a graph cuDNN cannot build sends that one
  layer to the im2col path with a warning naming it and the reason.
* ``cudnn_batch_norm``: the shared batch-norm kernels (Paddle's CudnnBatchNormLayer computed
  the same function as BatchNormLayer).
* ``pool`` with ``cudnn-max-pool`` / ``cudnn-avg-pool``: the shared max / average pooling
  kernels, with no warning: on the GPU they are not substitutes.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

from ...config.layers import facts_of
from ...config.layers.conv import CUDNN_CONV, CUDNN_CONVT
from ...kernels.gpu.cudnn import CudnnUnsupported
from ..algorithm import Algorithm
from ..registry import register
from .base import accumulate
from .conv import ConvLayer, ConvTransLayer
from .norm import BatchNormLayer
from .pool import PoolLayer


class _CudnnConv:
    """cuDNN forward and backward for a conv layer class (mixed in before it)."""

    transposed: bool
    runs_as: str = ""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        #: the im2col algorithm this layer runs if cuDNN cannot build its graphs
        self.im2col = self.implementation
        self.implementation = Algorithm(config.type, detail="cuDNN")
        #: why this layer runs im2col instead of cuDNN (None while it runs cuDNN)
        self.fallback_reason = None

    def _geometry(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation)

    def _fall_back(self, err: CudnnUnsupported) -> None:
        self.fallback_reason = str(err)
        self.implementation = replace(self.im2col, runs_as=self.runs_as,
                                      note="cuDNN could not build it")
        warnings.warn(f"layer {self.name!r} ({self.config.type}): {err}; running it as "
                      f"{self.runs_as} (im2col + GEMM) on the GPU instead", RuntimeWarning,
                      stacklevel=4)

    def forward(self, xs, params, p):
        if self.fallback_reason is None:
            try:
                return self._cudnn_forward(xs, params, p)
            except CudnnUnsupported as err:
                self._fall_back(err)
        return super().forward(xs, params, p)

    def backward(self, xs, z, dz, params, grads, p):
        if self.fallback_reason is None:
            try:
                return self._cudnn_backward(xs, dz, params, grads, p)
            except CudnnUnsupported as err:
                self._fall_back(err)
        return super().backward(xs, z, dz, params, grads, p)

    def _cudnn_forward(self, xs, params, p):
        graphs = p.backend.conv_graphs()
        x = self._input(xs[0])
        w = params[self.weight_name(0)]
        if self.transposed:   # the data gradient of the conv from out_shape back to x
            z = graphs.dgrad(x, w, image_shape=(x.shape[0],) + tuple(self.out_shape),
                             **self._geometry())
        else:
            z = graphs.fprop(x, w, **self._geometry())
        self.cache["columns"] = None        # nothing kept for an im2col backward
        self._add_bias(z, params)
        return z

    def _cudnn_backward(self, xs, dz, params, grads, p):
        graphs = p.backend.conv_graphs()
        x = self._input(xs[0])
        w = params[self.weight_name(0)]
        dz = p.xp.ascontiguousarray(dz)
        need_dx = p.needs_grad(self.input_names[0])
        geometry = self._geometry()
        if self.transposed:   # the conv's image is dz, its output gradient is x
            dw = graphs.wgrad(dz, x, weight_shape=w.shape, **geometry)
            dx = graphs.fprop(dz, w, **geometry) if need_dx else None
        else:
            dw = graphs.wgrad(x, dz, weight_shape=w.shape, **geometry)
            dx = graphs.dgrad(dz, w, image_shape=x.shape, **geometry) if need_dx else None
        accumulate(grads, self.weight_name(0), dw)
        accumulate(grads, self.bias_name, self._bias_grad(dz))
        return [dx]


@register(CUDNN_CONV, backend="gpu")
class CudnnConvLayer(_CudnnConv, ConvLayer):
    runs_as = facts_of(CUDNN_CONV).runs_as


@register(CUDNN_CONVT, backend="gpu")
class CudnnConvTransLayer(_CudnnConv, ConvTransLayer):
    runs_as = facts_of(CUDNN_CONVT).runs_as


@register("cudnn_batch_norm", backend="gpu")
class GPUBatchNormLayer(BatchNormLayer):
    """Batch norm with the shared kernels on the GPU's array module."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.implementation = Algorithm(config.type, detail="batch-norm kernels")


@register("pool", backend="gpu")
class GPUPoolLayer(PoolLayer):
    """Pooling with the shared kernels; the cuDNN pool types are what they name."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        if self.mapped:
            self.implementation = Algorithm(
                config.type, detail=f"{self.conf.pool_type} as {self.kind} pooling kernels")
            self.mapped = None
