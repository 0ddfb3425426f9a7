"""The conv layers' backward hands each batch chunk's slice of the layer's data gradient to the
kernels as ``dx_out``, which they write in place (no per-chunk gradient copied into the
layer's array): every route (the im2col "batch", "pixel" and "flat" layouts, strided, the
transposed conv, Winograd, the depthwise kernel), on two threads with several chunks,
and the gradients equal those of the same network run as one chunk (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
import minipaddle.kernels.conv as K
from minipaddle import *  # noqa: F403
from minipaddle.kernels import winograd as WG
from minipaddle.runtime.backend import CPUBackend
from tests.dsl_models import model_of

SIDE, CHANNELS = 9, 4

LAYERS = {
    # name: (img_conv_layer arguments, the layout forced on it (None: the rule's))
    "batch": (dict(filter_size=3, num_filters=5, padding=1), "batch"),
    "batch_strided": (dict(filter_size=3, num_filters=6, padding=1, stride=2), "batch"),
    "batch_col2im": (dict(filter_size=3, num_filters=9, padding=1), "batch"),
    "pixel": (dict(filter_size=3, num_filters=5, padding=1), "pixel"),
    "pixel_strided": (dict(filter_size=3, num_filters=6, padding=1, stride=2), "pixel"),
    "flat": (dict(filter_size=3, num_filters=5, padding=1), "flat"),
    "winograd": (dict(filter_size=3, num_filters=5, padding=1), "winograd"),
    "transposed": (dict(filter_size=3, num_filters=3, padding=1, stride=2, trans=True),
                   "batch"),
    "transposed_pixel": (dict(filter_size=2, num_filters=3, padding=0, stride=2, trans=True),
                         "pixel"),
    "depthwise": (dict(filter_size=3, num_filters=8, padding=1, groups=CHANNELS), None),
}


def _net(kwargs, layout, backend):
    def fn():
        x = data_layer(name="x", size=CHANNELS * SIDE * SIDE, height=SIDE, width=SIDE)
        return img_conv_layer(input=x, name="c", act=LinearActivation(), **kwargs)

    net = mp.compile(model_of(fn), device=backend, dtype="float64", seed=2)
    if layout is not None:
        net.layers["c"].layout = layout
    return net


def _gradients(net, feed, seed):
    out = net.forward(feed, training=True)
    grads = net.backward({"c": seed}, input_grads=True)
    return out["c"], grads


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_chunks_write_the_layer_gradient_in_place(name, monkeypatch):
    kwargs, layout = LAYERS[name]
    monkeypatch.setattr(CPUBackend, "CHUNK_BYTES", 1)    # a chunk per sample
    rng = np.random.default_rng(5)
    n = 5
    feed = {"x": rng.uniform(-1, 1, size=(n, CHANNELS * SIDE * SIDE))}
    one = _net(kwargs, layout, CPUBackend(threads=1))
    out = one.forward(feed, training=True)["c"]
    seed = rng.uniform(-1, 1, size=out.shape)
    _, ref = _gradients(one, feed, seed)

    net = _net(kwargs, layout, CPUBackend(threads=2))
    layer = net.layers["c"]
    handed, copied, returned = [], [], []
    for module, fn_name in ((K, "conv_backward"), (K, "conv_transpose_backward"),
                            (WG, "winograd_backward")):
        original = getattr(module, fn_name)

        def spy(*args, _original=original, **kw):
            handed.append(kw.get("dx_out"))
            dx, dw = _original(*args, **kw)
            assert dx is kw.get("dx_out")
            return dx, dw

        monkeypatch.setattr(module, fn_name, spy)
    deliver = K._deliver

    def deliver_spy(dx, dx_out):
        if dx is not None and dx_out is not None and dx is not dx_out:
            copied.append(dx.shape)
        return deliver(dx, dx_out)

    monkeypatch.setattr(K, "_deliver", deliver_spy)
    backward = layer.backward

    def layer_spy(*args, **kw):
        result = backward(*args, **kw)
        returned.append(result[0])
        return result

    monkeypatch.setattr(layer, "backward", layer_spy)
    _, grads = _gradients(net, feed, seed)
    assert len(handed) > 1 and len(returned) == 1
    dx = returned[0]
    assert all(h is not None and h.flags.c_contiguous and np.shares_memory(h, dx)
               for h in handed)
    assert sum(h.shape[0] for h in handed) == n
    assert copied == []
    np.testing.assert_allclose(grads.inputs["x"], ref.inputs["x"], rtol=1e-12, atol=1e-12)
    for key in ref.parameters:
        np.testing.assert_allclose(grads.parameters[key], ref.parameters[key], rtol=1e-10,
                                   atol=1e-10)
