"""The weighted and id-selecting vector layers of issue 16 (facts: docs/layer_notes_16.md):
tensor, factorization_machine, selective_fc, maxid, multiplex.  Parameter shapes are the
types' declared facts (:mod:`minipaddle.config.layers.elementwise`)."""

from __future__ import annotations

from ...config import ConfigError
from ...kernels import elementwise as K
from ..registry import register
from .base import accumulate
from .elementwise import RowLayer, rows


@register("tensor")
class TensorLayer(RowLayer):
    """``y[k] = a W_k b^T + bias[k]``; the weight is ``(size, A, B)``, slice k at offset
    ``k * A * B`` of Paddle's buffer."""

    def forward(self, xs, params, p):
        bias = params[self.bias_name] if self.bias_name else None
        return K.tensor_forward(rows(xs[0]), rows(xs[1]), params[self.weight_name(0)], bias,
                                xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        da, db_in, dw, db = K.tensor_backward(rows(xs[0]), rows(xs[1]),
                                              params[self.weight_name(0)], rows(dz),
                                              bias=bool(self.bias_name), xp=p.xp)
        accumulate(grads, self.weight_name(0), dw)
        accumulate(grads, self.bias_name, db)
        return self.back([da, db_in], xs)


@register("factorization_machine")
class FactorizationMachineLayer(RowLayer):
    """Latent vectors ``V`` ``(input size, factor_size)``; output ``(N, 1)``."""

    def forward(self, xs, params, p):
        return K.factorization_machine_forward(rows(xs[0]), params[self.weight_name(0)],
                                               xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        dx, dv = K.factorization_machine_backward(rows(xs[0]), params[self.weight_name(0)],
                                                  rows(dz), xp=p.xp)
        accumulate(grads, self.weight_name(0), dv)
        return self.back([dx], xs)


@register("selective_fc")
class SelectiveFCLayer(RowLayer):
    """An fc with transposed weights ``(size, input size)``; with ``has_selected_colums`` the
    last input is the 0/1 column mask ``(N, size)`` (it takes no gradient)."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        self.selects = bool(config.get("has_selected_colums"))
        self.n_weighted = len(config.inputs) - (1 if self.selects else 0)

    def _parts(self, xs, params):
        flats = [rows(x) for x in xs[:self.n_weighted]]
        ws = [params[self.weight_name(i)] for i in range(self.n_weighted)]
        mask = rows(xs[-1]) if self.selects else None
        return flats, ws, mask

    def forward(self, xs, params, p):
        flats, ws, mask = self._parts(xs, params)
        bias = params[self.bias_name] if self.bias_name else None
        return K.selective_fc_forward(flats, ws, bias, mask, xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        flats, ws, mask = self._parts(xs, params)
        dxs, dws, db = K.selective_fc_backward(flats, ws, rows(dz), mask,
                                               bias=bool(self.bias_name), xp=p.xp)
        for i, dw in enumerate(dws):
            accumulate(grads, self.weight_name(i), dw)
        accumulate(grads, self.bias_name, db)
        return self.back(dxs + ([None] if self.selects else []), xs)


@register("maxid")
class MaxIdLayer(RowLayer):
    """The index of each row's largest value (lower index on ties), as a number ``(N, 1)``
    (``beam_size`` ids when the config sets it); no gradient."""

    def forward(self, xs, params, p):
        ids, _ = K.maxid_forward(rows(xs[0]), beam_size=self.config.beam_size or 1, xp=p.xp)
        return ids.astype(xs[0].dtype)

    def backward(self, xs, z, dz, params, grads, p):
        return [None]


@register("multiplex")
class MultiplexLayer(RowLayer):
    """Row n of candidate ``ids[n]`` (input 0 gives the ids as values ``(N, 1)``)."""

    def __init__(self, config, model, shapes):
        super().__init__(config, model, shapes)
        width = 1
        for extent in self.input_shapes[0]:
            width *= extent
        if width != 1:
            raise ConfigError(f"multiplex layer {self.name!r}: its index input "
                              f"{self.input_names[0]!r} gives {width} values per sample; it "
                              "must give one candidate index (a data layer of size 1 or a "
                              "maxid_layer)", layer=self.name)

    def _ids(self, xs, p):
        values = rows(xs[0])[:, 0]
        ids = p.xp.rint(values).astype(p.xp.int64)
        count = len(xs) - 1
        bad = (ids < 0) | (ids >= count) | (ids != values)
        if bool(bad.any()):
            first = values[bad][0]
            raise ValueError(f"multiplex layer {self.name!r}: index {float(first):g} from "
                             f"{self.input_names[0]!r} is not an integer in [0, {count}) "
                             f"(one of the {count} candidates)")
        return ids

    def forward(self, xs, params, p):
        return K.multiplex_forward(self._ids(xs, p), [rows(x) for x in xs[1:]], xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        grads_in = K.multiplex_backward(self._ids(xs, p), rows(dz), len(xs) - 1, xp=p.xp)
        return self.back([None] + grads_in, xs)
