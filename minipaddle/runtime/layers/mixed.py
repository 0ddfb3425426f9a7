"""mixed: the sum of its projections' and operators' outputs plus the bias (Paddle's
MixedLayer; the network applies the activation); concat2 (concat_layer of projections: their
outputs side by side); featmap_expand (repeat_layer).

Each projection type (``proj_conf.type``) and operator type is a small class found in a
registry (:data:`PROJECTIONS`, :data:`OPERATORS`): ``forward`` gives its term of the sum,
``backward`` its input and weight gradients.  Inputs arrive flat ``(N, size)`` (a table
projection's ids ``(N,)``); a convolution term sees its input as the image its ``conv_conf``
states.  Weight shapes are the projection facts (:mod:`minipaddle.config.layers.mixed`).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ...config.geometry import conv_axes
from ...kernels import conv as K
from ...kernels import mixed as M
from ..registry import register
from .base import RuntimeLayer, accumulate, as_image

#: proj_conf.type -> class; operator type -> class
PROJECTIONS: dict[str, type["Projection"]] = {}
OPERATORS: dict[str, type["Operator"]] = {}


def register_projection(kind: str) -> Callable[[type], type]:
    def add(cls: type) -> type:
        PROJECTIONS[kind] = cls
        return cls
    return add


def register_operator(kind: str) -> Callable[[type], type]:
    def add(cls: type) -> type:
        OPERATORS[kind] = cls
        return cls
    return add


class Projection:
    """One projection term: ``forward(x, w, xp)`` -> (N, size); ``backward(x, w, dz,
    need_dx, xp)`` -> (dx or None, dw or None); ``x`` is the input flat (ids for a table)."""

    def __init__(self, conf: Any):
        self.conf = conf

    def forward(self, x, w, xp):
        raise NotImplementedError

    def backward(self, x, w, dz, need_dx, xp):
        raise NotImplementedError


@register_projection("fc")
class FullMatrix(Projection):
    def forward(self, x, w, xp):
        return x @ w

    def backward(self, x, w, dz, need_dx, xp):
        return (dz @ w.T if need_dx else None), x.T @ dz


@register_projection("trans_fc")
class TransposedFullMatrix(Projection):
    def forward(self, x, w, xp):
        return x @ w.T

    def backward(self, x, w, dz, need_dx, xp):
        return (dz @ w if need_dx else None), dz.T @ x


@register_projection("table")
class Table(Projection):
    def forward(self, x, w, xp):
        return M.table_forward(x, w, xp)

    def backward(self, x, w, dz, need_dx, xp):
        return None, M.table_backward(x, dz, w.shape[0], xp)


@register_projection("dot_mul")
class DotMul(Projection):
    def forward(self, x, w, xp):
        return x * w

    def backward(self, x, w, dz, need_dx, xp):
        return (dz * w if need_dx else None), (dz * x).sum(axis=0)


@register_projection("scaling")
class Scaling(Projection):
    def forward(self, x, w, xp):
        return x * w[0]

    def backward(self, x, w, dz, need_dx, xp):
        return (dz * w[0] if need_dx else None), (dz * x).sum().reshape(1)


@register_projection("identity")
class Identity(Projection):
    def forward(self, x, w, xp):
        return x

    def backward(self, x, w, dz, need_dx, xp):
        return dz, None


@register_projection("identity_offset")
@register_projection("slice")
class Columns(Projection):
    """Columns of the input: [offset, offset + size) or the slices, side by side."""

    def __init__(self, conf):
        super().__init__(conf)
        if conf.type == "slice":
            self.ranges = [(s.start, s.end) for s in conf.slices]
        else:
            offset = conf.offset or 0
            self.ranges = [(offset, offset + conf.output_size)]

    def forward(self, x, w, xp):
        return M.gather_columns(x, self.ranges, xp)

    def backward(self, x, w, dz, need_dx, xp):
        return M.scatter_columns(dz, self.ranges, x.shape[1], xp), None


class _ConvTerm:
    """The geometry of a convolution term (as exconv / exconvt run it)."""

    transposed = False

    def _setup(self, conf, num_filters):
        self.geo = geo = conv_axes(conf, self.transposed)
        self.num_filters = num_filters
        channels, groups = (num_filters, 1) if self.transposed else (geo.channels, geo.groups)
        self.args = dict(stride=geo.stride, padding=geo.padding, dilation=geo.dilation,
                         groups=geo.groups,
                         layout=K.conv_algorithm(channels, groups, geo.output))

    def image(self, x):
        geo = self.geo
        return as_image(x, geo.channels, *(geo.output if self.transposed else geo.image))


@register_projection("conv")
class Conv(Projection, _ConvTerm):
    def __init__(self, conf):
        super().__init__(conf)
        self._setup(conf.conv_conf, conf.num_filters)

    def forward(self, x, w, xp):
        y = K.conv2d_forward(self.image(x), w, output_size=self.geo.output, xp=xp, **self.args)
        return y.reshape(x.shape[0], -1)

    def backward(self, x, w, dz, need_dx, xp):
        dy = dz.reshape((x.shape[0], self.num_filters) + self.geo.output)
        dx, dw = K.conv2d_backward(self.image(x), w, dy, need_dx=need_dx,
                                   output_size=self.geo.output, xp=xp, **self.args)
        return (dx.reshape(x.shape) if need_dx else None), dw


@register_projection("convt")
class ConvTrans(Conv):
    transposed = True

    def forward(self, x, w, xp):
        y = K.conv2d_transpose_forward(self.image(x), w, output_size=self.geo.image, xp=xp,
                                       **self.args)
        return y.reshape(x.shape[0], -1)

    def backward(self, x, w, dz, need_dx, xp):
        dy = dz.reshape((x.shape[0], self.num_filters) + self.geo.image)
        dx, dw = K.conv2d_transpose_backward(self.image(x), w, dy, need_dx=need_dx, xp=xp,
                                             **self.args)
        return (dx.reshape(x.shape) if need_dx else None), dw


class Operator:
    """One operator term over several inputs (flat): ``forward(xs, xp)`` -> (N, size);
    ``backward(xs, dz, wanted, xp)`` -> one gradient (or None) per operand."""

    def __init__(self, conf: Any):
        self.conf = conf


@register_operator("dot_mul")
class DotMulOperator(Operator):
    def forward(self, xs, xp):
        a, b = xs
        return self.conf.get("dotmul_scale") * (a * b)

    def backward(self, xs, dz, wanted, xp):
        a, b = xs
        scaled = self.conf.get("dotmul_scale") * dz
        return [scaled * b if wanted[0] else None, scaled * a if wanted[1] else None]


@register_operator("conv")
class ConvOperator(Operator, _ConvTerm):
    """Each sample convolved by its own filters (the second operand)."""

    def __init__(self, conf):
        super().__init__(conf)
        self._setup(conf.conv_conf, conf.num_filters)
        geo = self.geo
        first = (geo.channels, conf.num_filters) if self.transposed else (conf.num_filters,
                                                                           geo.channels)
        self.w_shape = first + geo.filter
        self.out_side = geo.image if self.transposed else geo.output

    def _kw(self):
        return dict(transposed=self.transposed, conv_args=self.args,
                    output_size=self.out_side)

    def forward(self, xs, xp):
        x, filters = xs
        y = M.per_sample_conv_forward(self.image(x), filters, self.w_shape, xp=xp, **self._kw())
        return y.reshape(x.shape[0], -1)

    def backward(self, xs, dz, wanted, xp):
        x, filters = xs
        dy = dz.reshape((x.shape[0], self.num_filters) + self.out_side)
        dx, dfilters = M.per_sample_conv_backward(self.image(x), filters, dy, self.w_shape,
                                                  need_dx=wanted[0], xp=xp, **self._kw())
        return [None if dx is None else dx.reshape(x.shape), dfilters]


@register_operator("convt")
class ConvTransOperator(ConvOperator):
    transposed = True


@register("mixed")
class MixedLayer(RuntimeLayer):
    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.terms: list[tuple[int, Projection]] = [
            (i, PROJECTIONS[inp.proj_conf.type](inp.proj_conf))
            for i, inp in enumerate(config.inputs) if inp.proj_conf is not None]
        self.operators: list[tuple[list[int], Operator]] = [
            (list(op.input_indices), OPERATORS[op.type](op))
            for op in config.operator_confs or []]
        self.shared_bias = bool(config.shared_biases)
        #: input index -> the output columns its term writes (all of them in a mixed layer)
        self.blocks = {i: slice(None) for i, _ in self.terms}

    def _flat(self, xs, i):
        x = xs[i]
        if self.config.inputs[i].proj_conf is not None and \
                self.config.inputs[i].proj_conf.type == "table":
            return x.reshape(x.shape[0])
        return x.reshape(x.shape[0], -1)

    def _dtype(self, xs, params):
        for x in xs:
            if x.dtype.kind == "f":
                return x.dtype
        return next(iter(params[n] for n in self.param_shapes)).dtype

    def forward(self, xs, params, p):
        xp, n = p.xp, xs[0].shape[0]
        z = xp.zeros((n, self.config.size), dtype=self._dtype(xs, params))
        for i, term in self.terms:
            z[:, self.blocks[i]] += term.forward(self._flat(xs, i),
                                                 params.get(self.weight_name(i)), xp)
        for indices, op in self.operators:
            z += op.forward([self._flat(xs, j) for j in indices], xp)
        if self.bias_name:
            b = params[self.bias_name]
            if self.shared_bias:      # one bias per filter: over each block of the row
                z.reshape(n, b.shape[0], -1)[...] += b[:, None]
            else:
                z += b
        return z

    def backward(self, xs, z, dz, params, grads, p):
        xp, n = p.xp, dz.shape[0]
        dz = dz.reshape(n, -1)
        dxs: list[Optional[Any]] = [None] * len(xs)

        def add(i, dx):
            if dx is not None:
                dx = dx.reshape(xs[i].shape)
                dxs[i] = dx if dxs[i] is None else dxs[i] + dx

        if self.bias_name:
            accumulate(grads, self.bias_name,
                       dz.reshape(n, self.param_shapes[self.bias_name][0], -1).sum(axis=(0, 2))
                       if self.shared_bias else dz.sum(axis=0))
        for i, term in self.terms:
            need = p.needs_grad(self.input_names[i])
            dx, dw = term.backward(self._flat(xs, i), params.get(self.weight_name(i)),
                                   dz[:, self.blocks[i]], need, xp)
            accumulate(grads, self.weight_name(i), dw)
            add(i, dx if need else None)
        for indices, op in self.operators:
            wanted = [p.needs_grad(self.input_names[j]) for j in indices]
            for j, dx in zip(indices, op.backward([self._flat(xs, j) for j in indices], dz,
                                                  wanted, xp)):
                add(j, dx if p.needs_grad(self.input_names[j]) else None)
        return dxs


@register("concat2")
class ConcatProjections(MixedLayer):
    """concat_layer of projections: each term writes its own columns, in input order."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        start = 0
        for i, _ in self.terms:
            width = config.inputs[i].proj_conf.output_size
            self.blocks[i] = slice(start, start + width)
            start += width


@register("featmap_expand")
class FeatureMapExpand(RuntimeLayer):
    """repeat_layer: the input row repeated ``num_filters`` times (or each value in place)."""

    def _row(self):
        return self.config.user_arg != "as_col_vec"

    def forward(self, xs, params, p):
        x = xs[0].reshape(xs[0].shape[0], -1)
        return M.repeat_forward(x, self.config.num_filters, self._row(), p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        dx = M.repeat_backward(dz.reshape(dz.shape[0], -1), self.config.num_filters, self._row())
        return [dx.reshape(xs[0].shape)]
