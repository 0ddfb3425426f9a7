"""Geometry layers of issue 16: crop, upsample, rotate, switch_order, resize,
scale_sub_region, roi_pool, blockexpand, trans (kernels: minipaddle/kernels/geometry.py;
Paddle's runtime facts: docs/layer_notes_16.md)."""

from __future__ import annotations

from ...config.models import ModelConfig
from ...kernels import geometry as K
from ..backend import to_host
from ..registry import register
from .base import RuntimeLayer


def _image(x, conf):
    """``x`` as ``(N, C, H, W)`` by an ImageConfig."""
    return x.reshape(x.shape[0], conf.channels, conf.img_size_y, conf.img_size)


def _plane_of(model: ModelConfig, name: str) -> tuple[int, int, int]:
    """(C, H, W) of layer ``name`` from its config's height and width."""
    layer = model.layer(name)
    h, w = layer.height or 0, layer.width or 0
    return (layer.size or 0) // (h * w), h, w


@register("crop")
class CropLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.image_conf = config.inputs[0].image_conf
        axis = config.get("axis")
        self.corner = tuple([0] * (axis - 1) + list(config.offset or []))

    def forward(self, xs, params, p):
        return K.crop_forward(_image(xs[0], self.image_conf), corner=self.corner,
                              shape=self.out_shape, xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        x_shape = _image(xs[0], self.image_conf).shape
        dx = K.crop_backward(x_shape, dz, corner=self.corner, xp=p.xp)
        return [dx.reshape(xs[0].shape)] + [None] * (len(xs) - 1)


@register("upsample")
class UpsampleLayer(RuntimeLayer):
    """Max-unpooling by the mask of the MaxWithMaskPooling pool that is input 1.  Paddle's
    pool layer has a second output, ``mask``; minipaddle's has one, so this layer also reads
    the pool's own input (a third input, added here only) and finds the same maxima: the
    first maximum of each clipped window, as Paddle's ``maxPoolForward`` with a mask.  That
    input's relu (when it has one) is applied first: relu is idempotent, and the network may
    have moved the relu after the max pool (docs/runtime.md)."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.conf = config.inputs[0].upsample_conf
        pool = model.layer(config.inputs[1].input_layer_name)
        pc = pool.inputs[0].pool_conf
        source = pool.inputs[0].input_layer_name
        self.input_names.append(source)
        self.input_shapes.append(shapes[source])
        self.source_relu = (model.layer(source).active_type or "") == "relu"
        self.pool = dict(window=(pc.get("size_y") or pc.size_x, pc.size_x),
                         stride=(pc.get("stride_y") or pc.stride, pc.stride),
                         padding=(pc.get("padding_y") if pc.padding_y is not None
                                  else pc.get("padding"), pc.get("padding")),
                         output_size=(pc.get("output_y") or pc.output_x, pc.output_x))
        self.pool_image = (pc.channels, pc.get("img_size_y") or pc.img_size, pc.img_size)

    def _mask(self, source, p):
        x = source.reshape((source.shape[0],) + self.pool_image)
        if self.source_relu:
            x = p.xp.maximum(x, 0)
        return K.max_pool_mask(x, xp=p.xp, **self.pool)

    def forward(self, xs, params, p):
        mask = self._mask(xs[2], p)
        self.cache["mask"] = mask
        return K.upsample_forward(_image(xs[0], self.conf.image_conf), mask,
                                  output_size=self.out_shape[1:], xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        mask = self.cache.get("mask")
        if mask is None:
            mask = self._mask(xs[2], p)
        return [K.upsample_backward(mask, dz, xp=p.xp).reshape(xs[0].shape), None, None]


@register("rotate")
class RotateLayer(RuntimeLayer):
    def _image(self, x):
        c, w, h = self.out_shape         # the output is the turned (C, W, H) plane
        return x.reshape(x.shape[0], c, h, w)

    def forward(self, xs, params, p):
        return K.rotate_forward(self._image(xs[0]), xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        c, w, h = self.out_shape
        g = dz.reshape(dz.shape[0], c, w, h)
        return [K.rotate_backward(g, xp=p.xp).reshape(xs[0].shape)]


@register("switch_order")
class SwitchOrderLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.plane = _plane_of(model, config.inputs[0].input_layer_name)

    def forward(self, xs, params, p):
        x = xs[0].reshape((xs[0].shape[0],) + self.plane)
        return K.switch_order_forward(x, xp=p.xp).reshape(x.shape[0], -1)

    def backward(self, xs, z, dz, params, grads, p):
        c, h, w = self.plane
        g = dz.reshape(dz.shape[0], h, w, c)
        return [K.switch_order_backward(g, xp=p.xp).reshape(xs[0].shape)]


@register("resize")
class ResizeLayer(RuntimeLayer):
    """The batch matrix ``(N, D)`` read as rows of ``size``: ``N*D/size`` of them."""

    changes_batch = True

    def forward(self, xs, params, p):
        x = xs[0]
        total, size = x.size, self.out_shape[0]
        if total % size:
            raise ValueError(f"resize_layer {self.name!r}: the batch holds {total} values "
                             f"({x.shape[0]} rows), not a multiple of size {size}")
        return x.reshape(-1, size)

    def backward(self, xs, z, dz, params, grads, p):
        return [dz.reshape(xs[0].shape)]


@register("trans")
class TransLayer(RuntimeLayer):
    """Paddle transposes the whole batch matrix, ``(N, D) -> (D, N)``; minipaddle's layers
    keep the batch size, so this runs when N == D (docs/paddle_compat.md)."""

    def forward(self, xs, params, p):
        x = xs[0].reshape(xs[0].shape[0], -1)
        if x.shape[0] != x.shape[1]:
            raise ValueError(f"trans_layer {self.name!r}: transposing a batch of "
                             f"{x.shape[0]} rows of {x.shape[1]} values would make "
                             f"{x.shape[1]} rows; minipaddle runs trans_layer only when the "
                             f"batch size equals the input size {x.shape[1]}")
        return K.trans_forward(x, xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        return [K.trans_backward(dz.reshape(dz.shape[0], -1), xp=p.xp).reshape(xs[0].shape)]


@register("scale_sub_region")
class ScaleSubRegionLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].scale_sub_region_conf
        self.image_conf, self.value = conf.image_conf, conf.value

    def _indices(self, xs):
        return to_host(xs[1]).reshape(xs[1].shape[0], -1)[:, :6]

    def forward(self, xs, params, p):
        return K.scale_sub_region_forward(_image(xs[0], self.image_conf), self._indices(xs),
                                          value=self.value, xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        dx = K.scale_sub_region_backward(self._indices(xs), dz, value=self.value, xp=p.xp)
        return [dx.reshape(xs[0].shape), None]


@register("roi_pool")
class ROIPoolLayer(RuntimeLayer):
    """ROI max pooling; the rois input has one ROI per row, so as many ROIs as the batch
    has rows (minipaddle feeds share one batch size)."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        conf = config.inputs[0].roi_pool_conf
        self.plane = _plane_of(model, config.inputs[0].input_layer_name)
        if not all(self.plane):
            self.plane = tuple(shapes[config.inputs[0].input_layer_name])
        self.args = dict(pooled=(conf.pooled_height, conf.pooled_width),
                         spatial_scale=float(conf.spatial_scale))

    def _inputs(self, xs):
        x = xs[0].reshape((xs[0].shape[0],) + self.plane)
        return x, to_host(xs[1]).reshape(xs[1].shape[0], -1)

    def forward(self, xs, params, p):
        x, rois = self._inputs(xs)
        y, argmax = K.roi_pool_forward(to_host(x), rois, xp=p.xp, **self.args)
        self.cache["argmax"] = argmax
        return y.astype(x.dtype, copy=False)

    def backward(self, xs, z, dz, params, grads, p):
        x, rois = self._inputs(xs)
        argmax = self.cache["argmax"]
        dx = K.roi_pool_backward(x.shape, rois, to_host(argmax), to_host(dz), xp=p.xp)
        return [dx.reshape(xs[0].shape), None]


@register("blockexpand")
class BlockExpandLayer(RuntimeLayer):
    """All blocks of a sample in one row, in Paddle's time-step order."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        c = config.inputs[0].block_expand_conf
        self.image = (c.channels, c.img_size_y, c.img_size_x)
        self.args = dict(block=(c.block_y, c.block_x), stride=(c.stride_y, c.stride_x),
                         padding=(c.padding_y, c.padding_x))

    def forward(self, xs, params, p):
        x = xs[0].reshape((xs[0].shape[0],) + self.image)
        return K.block_expand_forward(x, xp=p.xp, **self.args).reshape(x.shape[0], -1)

    def backward(self, xs, z, dz, params, grads, p):
        shape = (xs[0].shape[0],) + self.image
        return [K.block_expand_backward(shape, dz, xp=p.xp, **self.args).reshape(xs[0].shape)]
