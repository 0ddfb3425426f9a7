"""The fc layer's column blocks over the CPU backend's threads: forward, input and weight
gradients equal the plain products (float64) whatever the split, with several inputs and
widths that are not multiples of the block alignment."""

from __future__ import annotations

import numpy as np
import pytest

from minipaddle.runtime.backend import CPUBackend
from minipaddle.runtime.layers.base import Pass
from minipaddle.runtime.layers.fc import FCLayer, column_blocks


def test_column_blocks_cover_the_columns_in_aligned_blocks():
    for size in (1, 15, 16, 17, 31, 33, 250, 500, 801):
        for parts in (1, 2, 3, 4):
            blocks = column_blocks(size, parts)
            assert blocks[0].start == 0 and blocks[-1].stop == size
            assert all(a.stop == b.start for a, b in zip(blocks, blocks[1:]))
            assert len(blocks) <= parts
            assert all(b.stop > b.start for b in blocks)
            assert all((b.stop - b.start) % 16 == 0 for b in blocks[:-1])


class _Layer(FCLayer):
    """An FCLayer without a config: the few attributes forward/backward read."""

    def __init__(self, size, inputs, bias):
        self.name = "fc"
        self.input_names = [f"in{i}" for i in range(len(inputs))]
        self._size = size
        self._bias = bias
        self.cache = {}

    @property
    def config(self):
        return type("C", (), {"size": self._size})()

    def weight_name(self, index=0):
        return f"w{index}"

    @property
    def bias_name(self):
        return "b" if self._bias else None


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("size,widths,bias", [(500, (800,), True), (37, (19, 45), True),
                                              (129, (3,), False), (10, (500,), True)])
def test_fc_blocks_match_the_plain_products(threads, size, widths, bias):
    rng = np.random.default_rng(size)
    n = 7
    xs = [rng.standard_normal((n, w)) for w in widths]
    params = {f"w{i}": rng.standard_normal((w, size)) for i, w in enumerate(widths)}
    if bias:
        params["b"] = rng.standard_normal(size)
    layer = _Layer(size, xs, bias)
    layer.SPLIT_MACS = 0                               # split even this small layer
    backend = CPUBackend(threads=threads)
    p = Pass(Pass.TRAIN, backend)
    p.wanted = frozenset(layer.input_names[:1])        # the second input's gradient skipped
    z = layer.forward(xs, params, p)
    want = sum(x @ params[f"w{i}"] for i, x in enumerate(xs)) + (params["b"] if bias else 0)
    np.testing.assert_allclose(z, want, rtol=1e-12, atol=1e-12)
    dz = rng.standard_normal(z.shape)
    grads = {}
    dxs = layer.backward(xs, z, dz, params, grads, p)
    np.testing.assert_allclose(dxs[0], dz @ params["w0"].T, rtol=1e-12, atol=1e-12)
    assert all(dx is None for dx in dxs[1:])
    for i, x in enumerate(xs):
        np.testing.assert_allclose(grads[f"w{i}"], x.T @ dz, rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(grads["b"], dz.sum(axis=0), rtol=1e-12, atol=1e-12)
