"""The remaining vector layers of issue 16 on the kernels of :mod:`minipaddle.kernels.misc`:
conv_shift (circular convolution), sampling_id (one id drawn per row, as a number ``(N, 1)``
like maxid's; no gradient) and print (writes its inputs' values to standard error at each
forward that computes them; its output is empty and nothing reads it)."""

from __future__ import annotations

import sys

import numpy as np

from ...kernels import misc as K
from ..backend import to_host
from ..registry import register
from .base import Pass
from .elementwise import RowLayer, rows


@register("conv_shift")
class ConvShiftLayer(RowLayer):
    """Inputs ``[a (N, M), b (N, K)]``, K odd; output ``(N, M)``."""

    def forward(self, xs, params, p):
        return K.conv_shift_forward(rows(xs[0]), rows(xs[1]), xp=p.xp)

    def backward(self, xs, z, dz, params, grads, p):
        da, db = K.conv_shift_backward(rows(xs[0]), rows(xs[1]), rows(dz), xp=p.xp)
        return self.back([da, db], xs)


@register("sampling_id")
class SamplingIdLayer(RowLayer):
    """The uniforms come from the network's generator (a compile ``seed`` makes them
    reproducible) on the host, as Paddle sampled on the CPU; a gradient-check pass draws them
    once and reuses them, so repeated forwards of the check agree."""

    def _uniforms(self, n: int, p: Pass) -> np.ndarray:
        if p.mode == Pass.CHECK:
            kept = self.cache.get("check_uniforms")
            if kept is None or kept.shape != (n,):
                kept = self.cache["check_uniforms"] = p.rng.uniform(size=n)
            return kept
        return p.rng.uniform(size=n)

    def forward(self, xs, params, p):
        probs = to_host(rows(xs[0]))
        ids = K.sampling_id_forward(probs, self._uniforms(probs.shape[0], p))
        return p.backend.asarray(ids.reshape(-1, 1), xs[0].dtype)

    def backward(self, xs, z, dz, params, grads, p):
        return [None]


def value_text(x: np.ndarray) -> str:
    """Paddle's ``Argument::printValueString`` of a value matrix: ``value:`` then one line
    per sample, its values separated by spaces (C++ stream formatting, 6 digits)."""
    lines = [" ".join(f"{v:.6g}" for v in row) for row in x.reshape(x.shape[0], -1)]
    return "value:\n" + "".join(line + "\n" for line in lines)


def print_text(format: str, values: list[str]) -> str:
    """``format`` with its ``%s`` replaced by ``values`` in order (Paddle's PrintLayer)."""
    parts = format.split("%s")
    out = [parts[0]]
    for i, rest in enumerate(parts[1:]):
        out.append((values[i] if i < len(values) else "%s") + rest)
    return "".join(out)


@register("print")
class PrintLayer(RowLayer):
    """One block per forward on ``sys.stderr`` (looked up at each call): the format with
    each ``%s`` replaced by an input's values, after a ``[print NAME]`` header line."""

    observes = True

    def forward(self, xs, params, p):
        values = [value_text(to_host(x)) for x in xs]
        text = print_text(self.config.user_arg or "", values)
        print(f"[print {self.name}]\n{text.rstrip(chr(10))}", file=sys.stderr, flush=True)
        return p.xp.zeros((xs[0].shape[0], 0), dtype=xs[0].dtype)

    def backward(self, xs, z, dz, params, grads, p):
        return [None] * len(xs)
