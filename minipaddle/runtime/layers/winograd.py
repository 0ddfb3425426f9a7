"""The Winograd F(2x2, 3x3) path of the 2-D convolution layers
(:mod:`minipaddle.kernels.winograd`): the size rule's choice, and forward and backward per
batch chunk on the backend's worker threads. Mixed into the conv layers of
:mod:`.conv`, which run it when their ``layout`` is "winograd" (docs/runtime.md has the
rule and its measurements)."""

from __future__ import annotations

from math import prod

from ...kernels import winograd as WG
from .base import accumulate, kept_buffers, sum_parts


class WinogradConv:
    """Winograd forward and backward for a conv layer (uses its ``geo``, ``padding``,
    ``config``, ``cache``, ``out_shape``, ``KEEP_COLUMNS_BYTES``, bias helpers)."""

    @staticmethod
    def winograd_runs(geo, filters) -> bool:
        """Whether a conv of this geometry runs Winograd: it applies (2-D, 3x3, stride 1,
        dilation 1, one group) and the size rule says it pays."""
        return (geo.rank == 2
                and WG.winograd_applies(geo.filter, geo.stride, geo.dilation, geo.groups)
                and WG.winograd_pays(geo.channels, filters, geo.output))

    def winograd_workspace_values(self) -> int:
        return WG.winograd_workspace_values(self.geo.channels, self.config.num_filters,
                                            self.geo.image, self.padding)

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
        kept = kept_buffers(self.cache, "winograd_kept", shapes, x.dtype, p.xp)
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

        du, db = sum_parts(p.backend.parallel(run, list(enumerate(slices))))
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
        """The transformed weight, in a buffer kept across steps (16 MB for a 512x512
        conv)."""
        shape = (16,) + w.shape[:2]
        u = self.cache.get("winograd_weight")
        if u is None or u.shape != shape or u.dtype != w.dtype:
            u = p.xp.empty(shape, dtype=w.dtype)
        p.backend.parallel(lambda f: WG.winograd_weight(w[f], out=u[:, f], xp=p.xp),
                           self._filter_slices(p))
        self.cache["winograd_weight"] = u
        return u
