"""The forward and backward loops: each computed layer in model order (backward: in
reverse), with its activation, dropout and error clipping around it, and optional per-layer
timings."""

from __future__ import annotations

from time import perf_counter
from typing import Any, Optional

import numpy as np

from .activation import activate, activate_backward, dropout
from .layers.base import Pass
from .params import Gradients
from .rewrites import unmove_seed

#: timings key suffix under which a layer's activation and dropout seconds are recorded
ACTIVATION_SUFFIX = "/activation"


def _lap(timings: dict[str, float], key: str, start: float) -> float:
    """Add the seconds since ``start`` to ``timings[key]``; return now."""
    now = perf_counter()
    timings[key] = timings.get(key, 0.0) + now - start
    return now


def lap(backend: Any, timings: dict[str, float], key: str, start: float) -> float:
    """:func:`_lap` after the device finished (a device computes asynchronously)."""
    backend.synchronize()
    return _lap(timings, key, start)


def run_forward(net: Any, p: Pass, values: dict[str, Any], needed: list[str],
                acts: dict[str, str], given: dict[str, Any],
                timings: Optional[dict[str, float]]) -> tuple[dict, dict]:
    """Compute the ``needed`` layers into ``values`` (a ``given`` output is taken as is);
    return each computed layer's pre-activation output and its dropout (mask, output before
    dropout)."""
    pre: dict[str, Any] = {}
    masks: dict[str, Any] = {}
    with net.backend.compute():
        for name in needed:
            runtime = net.layers.get(name)
            if runtime is None:
                continue
            if name in given:
                values[name] = given[name]
                continue
            start = perf_counter() if timings is not None else 0.0
            xs = [values[i] for i in runtime.input_names]
            z = runtime.forward(xs, net.parameters, p)
            rows = -1 if runtime.changes_batch else xs[0].shape[0]
            z = z.reshape((rows,) + runtime.out_shape)                 # the layer's natural shape
            if timings is not None:
                start = lap(net.backend, timings, name, start)
            y = activate(net.backend, acts[name], z)
            activated = y
            y, mask = dropout(net, runtime, y, p)
            pre[name], values[name] = z, y
            if mask is not None:
                masks[name] = (mask, activated)
            if timings is not None:
                lap(net.backend, timings, name + ACTIVATION_SUFFIX, start)
    return pre, masks


def seed_gradients(net: Any, last: dict, grad_outputs: Optional[dict[str, Any]]) -> dict:
    """The output gradients backward starts from: ``grad_outputs`` (checked, in the layers'
    shapes), or ones for every computed cost layer."""
    values = last["values"]
    grads_out: dict[str, Any] = {}
    if grad_outputs is None:
        for name in last["needed"]:
            runtime = net.layers.get(name)
            if runtime is not None and runtime.is_cost:
                grads_out[name] = net.xp.ones_like(values[name])
        if not grads_out:
            raise ValueError("backward(None) seeds cost layers, but the last forward "
                             "computed none; pass grad_outputs")
        return grads_out
    for name, g in grad_outputs.items():
        if name not in values:
            raise KeyError(f"grad_outputs names {name!r}, which the last forward did "
                           "not compute")
        arr = net.backend.asarray(g, net.dtype)
        target = values[name].shape
        if arr.shape != target:
            if arr.size != int(np.prod(target)) or arr.ndim not in (2, len(target)):
                raise ValueError(f"grad_outputs[{name!r}] has shape {arr.shape}; "
                                 f"expected {tuple(target)} or "
                                 f"({target[0]}, {int(np.prod(target[1:]))})")
            arr = arr.reshape(target)
        own = net.activations[name]
        grads_out[name] = unmove_seed(net.backend, own, last["acts"].get(name, own),
                                      last["pre"].get(name), arr)
    return grads_out


def _take(items: list, i: int) -> Any:
    """``items[i]``, the list's reference to it dropped."""
    item, items[i] = items[i], None
    return item


def run_backward(net: Any, last: dict, grads_out: dict[str, Any],
                 timings: Optional[dict[str, float]]) -> dict[str, Any]:
    """Run the wanted layers of the last forward backward, from the output gradients
    ``grads_out`` (which gathers the input gradients); return the parameter gradients.
    The gradients of ``net.keep_gradients`` go to ``last["kept"]``: a layer's as its own
    backward receives it (after dropout's mask, error clipping and the activation's
    derivative: what Paddle's in-place backwardActivation left in ``output.grad``), a data
    layer's as gathered."""
    values, pre, p = last["values"], last["pre"], last["pass"]
    param_grads: dict[str, Any] = {}
    keep = net.keep_gradients
    kept: dict[str, Any] = {}
    with net.backend.compute():
        for name in reversed(last["needed"]):
            runtime = net.layers.get(name)
            if runtime is None or name not in grads_out or name not in p.wanted:
                continue
            start = perf_counter() if timings is not None else 0.0
            dy = grads_out.pop(name)
            activated = values[name]
            if name in last["masks"]:
                mask, activated = last["masks"][name]   # the activation's output before dropout
                dy = dy * mask
            clip = runtime.config.error_clipping_threshold
            if clip:
                dy = net.xp.clip(dy, -clip, clip)
            dz = activate_backward(net.backend, last["acts"][name], pre[name], activated, dy)
            if name in keep:
                fused = getattr(runtime, "fused_activation", "")
                # a fused activation's derivative is taken inside the layer's backward: the
                # kept gradient is still the one after it
                kept[name] = (activate_backward(net.backend, fused, pre[name], activated, dz)
                              if fused else dz)
            if timings is not None:
                start = lap(net.backend, timings, name + ACTIVATION_SUFFIX, start)
            xs = [values[i] for i in runtime.input_names]
            dxs = list(runtime.backward(xs, pre[name], dz, net.parameters, param_grads, p))
            del dz, dy
            for i, src in enumerate(runtime.input_names[:len(dxs)]):
                if dxs[i] is None or src not in p.wanted:
                    continue
                shape = values[src].shape
                if dxs[i].shape != shape:
                    dxs[i] = dxs[i].reshape(shape)
                if src in grads_out:
                    # both terms reach the sum referenced by the expression alone unless
                    # something else holds them: NumPy then adds into one of them in place
                    # (its elision of temporaries) instead of a new array
                    grads_out[src] = grads_out.pop(src) + _take(dxs, i)
                else:
                    grads_out[src] = _take(dxs, i)
            if timings is not None:
                lap(net.backend, timings, name, start)
    kept.update((k, grads_out[k]) for k in keep if k not in kept and k in grads_out)
    last["kept"] = kept
    return param_grads


def gradients(net: Any, last: dict, param_grads: dict[str, Any],
              grads_out: dict[str, Any], input_grads: bool) -> Gradients:
    """What backward returns: trainable parameters' gradients in their shapes, and the
    wanted fed data layers' gradients in the shape that was fed."""
    static = net.parameters.static
    params = {k: net.backend.to_output(v.reshape(net.parameters[k].shape), host=False)
              for k, v in param_grads.items() if k not in static}
    inputs = {}
    for name, fed in last["fed"].items():
        if name not in last["pass"].wanted:
            continue
        g = grads_out.get(name)
        if g is None:
            g = net.xp.zeros_like(last["values"][name])
        inputs[name] = net.backend.to_output(g.reshape(np.shape(fed)), host=False)
    return Gradients(params, inputs, input_grads)


def gradients_wanted(net: Any, needed: list[str], input_grads: bool) -> frozenset:
    """The layers (in ``needed``) whose output gradient the backward pass must compute: a
    fed data layer when ``input_grads`` (never a label slot), a layer with trainable
    parameters, a layer of ``net.keep_gradients``, and every layer reading one of those."""
    static = net.parameters.static
    keep = net.keep_gradients
    wanted: set[str] = set()
    for name in needed:
        runtime = net.layers.get(name)
        if runtime is None:
            if (input_grads or name in keep) and name not in net.label_slots:
                wanted.add(name)
        elif (name in keep or any(k not in static for k in runtime.param_shapes)
              or any(i in wanted for i in runtime.input_names)):
            wanted.add(name)
    return frozenset(wanted)
