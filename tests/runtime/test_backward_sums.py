"""The backward loop (runtime/passes.py run_backward) sums the gradients a layer's output
receives from several readers as ``grads_out.pop(src) + taken``: NumPy adds into a term that
nothing else references (its elision of temporaries, for arrays of 256 KiB and more), so a
residual join sums in place. These tests check that the sums are the same bits as the plain
out-of-place sums, that the join's gradient is summed in place where NumPy can, and that a
gradient someone else still holds (a kept gradient: addto hands the same array to both of its
inputs) is never written into."""

from __future__ import annotations

import numpy as np
import pytest

import minipaddle as mp
import minipaddle.runtime.network as network_module
import minipaddle.runtime.passes as passes
from minipaddle import *  # noqa: F403

BATCH = 64          # (64, 4, 16, 16) float64 gradients: 512 KiB, above NumPy's elision size


def residual():
    x = data_layer(name="x", size=3 * 16 * 16, height=16, width=16)
    lab = data_layer(name="lab", size=4)
    c1 = img_conv_layer(input=x, name="c1", filter_size=3, num_filters=4, num_channels=3,
                        padding=1, act=LinearActivation(), bias_attr=False)
    b1 = batch_norm_layer(input=c1, name="b1", act=ReluActivation())
    c2 = img_conv_layer(input=b1, name="c2", filter_size=3, num_filters=4, padding=1,
                        act=LinearActivation(), bias_attr=False)
    b2 = batch_norm_layer(input=c2, name="b2", act=LinearActivation())
    add = addto_layer(input=[b2, b1], name="add", act=ReluActivation())
    c3 = img_conv_layer(input=add, name="c3", filter_size=3, num_filters=4, padding=1,
                        act=LinearActivation(), bias_attr=False)
    add2 = addto_layer(input=[c3, add], name="add2", act=LinearActivation())
    f = fc_layer(input=add2, name="f", size=4, act=SoftmaxActivation())
    outputs(classification_cost(input=f, label=lab, name="cost"))


def _net():
    return mp.compile(mp.parse_config(residual).model_config, dtype="float64", seed=5)


def _feed(seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((BATCH, 3 * 16 * 16)),
            "lab": rng.integers(0, 4, size=BATCH)}


def _elision_works() -> bool:
    """Whether this NumPy adds into a temporary (it checks the caller on some platforms)."""
    terms = {"a": np.ones(1 << 16)}
    address = terms["a"].ctypes.data
    return (terms.pop("a") + np.ones(1 << 16)).ctypes.data == address


def _run(net, keep=frozenset()):
    net.keep_gradients = keep
    net.forward(_feed(), training=True)
    grads = net.backward(input_grads=True)
    return grads, dict(net.kept_gradients)


def test_sums_are_the_plain_sums(monkeypatch):
    """The same bits as sums that never elide (every taken term also held elsewhere)."""
    fast, fast_kept = _run(_net(), frozenset(["b1", "add"]))
    held = []

    def take_and_hold(items, i):
        held.append(items[i])
        return passes._take.__wrapped__(items, i)

    take_and_hold.__wrapped__ = passes._take
    monkeypatch.setattr(passes, "_take", take_and_hold)
    plain, plain_kept = _run(_net(), frozenset(["b1", "add"]))
    assert held
    assert sorted(fast.parameters) == sorted(plain.parameters)
    for name in fast.parameters:
        np.testing.assert_array_equal(fast.parameters[name], plain.parameters[name])
    np.testing.assert_array_equal(fast.inputs["x"], plain.inputs["x"])
    for name in ("b1", "add"):
        np.testing.assert_array_equal(fast_kept[name], plain_kept[name])


class _Watch(dict):
    """grads_out, noting for each re-stored sum whether it is in the popped term's memory
    (only the address is noted: a reference would keep NumPy from adding into the term)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.popped, self.sums = {}, {}

    def pop(self, key, *default):
        value = super().pop(key, *default)
        self.popped[key] = value.ctypes.data
        return value

    def __setitem__(self, key, value):
        address = self.popped.pop(key, None)
        if address is not None:
            self.sums[key] = value.ctypes.data == address
        super().__setitem__(key, value)


def test_a_residual_join_sums_in_place(monkeypatch):
    if not _elision_works():
        pytest.skip("this NumPy does not elide temporaries")
    watched = []
    seed = passes.seed_gradients

    def watching(*args):
        grads_out = _Watch(seed(*args))
        watched.append(grads_out)
        return grads_out

    monkeypatch.setattr(network_module, "seed_gradients", watching)
    net = _net()
    net.forward(_feed(), training=True)
    net.backward(input_grads=True)
    # b1 sums add's gradient (an array of its own after the fused relu) and c2's data
    # gradient; add sums add2's gradient with c3's data gradient
    assert watched[0].sums.get("b1") is True


def test_a_kept_gradient_is_never_summed_into():
    """addto hands its gradient array to b2 and to b1; b2 keeps it (linear activation: the
    very array), so b1's sum with c2's data gradient must not be written into it."""
    net = _net()
    _, kept = _run(net, frozenset(["b2", "add", "add2", "c3"]))
    # add's kept gradient is the one after its fused relu, what both of its inputs receive
    np.testing.assert_array_equal(kept["b2"], kept["add"])
    np.testing.assert_array_equal(kept["c3"], kept["add2"])
    # and it is not the sum b1 received
    _, again = _run(_net(), frozenset(["b1", "add"]))
    assert not np.array_equal(again["b1"], again["add"])
