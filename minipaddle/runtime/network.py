"""compile(): a ModelConfig becomes a Network that runs forward and backward on a backend."""

from __future__ import annotations

import os
import warnings
from collections.abc import MutableMapping
from time import perf_counter
from typing import Any, Iterator, Optional, Union

import numpy as np

from ..config import ConfigError, LayerConfig, ModelConfig
from ..config.layers import facts_of, output_shape
from . import layers as _layers  # noqa: F401  (registers the runtime layers)
from .backend import IDENTITY, Backend, get_backend
from .layers.base import Pass, RuntimeLayer
from .registry import lookup


def memory_budget(device_bytes: Optional[int] = None) -> int:
    """Bytes one array may need: ``MINIPADDLE_MAX_BYTES`` if set, else the device's memory
    (``device_bytes``, a backend's), else physical memory."""
    env = os.environ.get("MINIPADDLE_MAX_BYTES")
    if env:
        return int(env)
    if device_bytes:
        return int(device_bytes)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 40
LABEL_EVALUATORS = ("classification_error",)
DTYPES = ("float32", "float64")


def natural_shape(layer: LayerConfig) -> tuple[int, ...]:
    """Per-sample shape, by the layer type's facts: (C, H, W) for image layers, (size,)
    otherwise."""
    return output_shape(layer)


class Parameters(MutableMapping):
    """Parameter name -> live array.  ``net.parameters[name] -= step`` updates in place;
    assignment copies into the existing buffer (dtype kept, shared parameters stay one
    buffer); a wrong shape is an error naming the parameter and both shapes.  ``convert``
    brings an assigned value to the arrays' module (a host array onto the device)."""

    def __init__(self, arrays: dict[str, Any], static: set[str],
                 convert: Any = np.asarray):
        self._arrays = arrays
        self.static = frozenset(static)
        self._convert = convert

    def __getitem__(self, name: str) -> Any:
        try:
            return self._arrays[name]
        except KeyError:
            raise KeyError(f"no parameter named {name!r}; parameters: "
                           f"{', '.join(self._arrays)}") from None

    def __setitem__(self, name: str, value: Any) -> None:
        target = self[name]
        value = self._convert(value)
        if tuple(value.shape) != tuple(target.shape):
            raise ValueError(f"parameter {name!r} has shape {tuple(target.shape)}, cannot "
                             f"assign an array of shape {tuple(value.shape)}")
        target[...] = value

    def __delitem__(self, name: str) -> None:
        raise TypeError("parameters cannot be deleted from a compiled network")

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self._arrays.items())
        return f"Parameters({shapes})"


#: timings key suffix under which a layer's activation and dropout seconds are recorded
ACTIVATION_SUFFIX = "/activation"


def _lap(timings: dict[str, float], key: str, start: float) -> float:
    """Add the seconds since ``start`` to ``timings[key]``; return now."""
    now = perf_counter()
    timings[key] = timings.get(key, 0.0) + now - start
    return now


class Gradients:
    """What backward returns: parameter gradients (same shapes as the parameters; static
    parameters have none) and data-layer gradients (in the shape that was fed)."""

    def __init__(self, parameters: dict[str, Any], inputs: dict[str, Any]):
        self.parameters = parameters
        self.inputs = inputs

    def __repr__(self) -> str:
        return (f"Gradients(parameters={sorted(self.parameters)}, "
                f"inputs={sorted(self.inputs)})")


class Network:
    """A compiled network.  Build it with :func:`compile`."""

    def __init__(self, model: ModelConfig, backend: Backend, dtype: str,
                 seed: Optional[int]):
        self.model = model
        self.backend = backend
        self.xp = backend.xp
        self.dtype = np.dtype(dtype)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.configs = {layer.name: layer for layer in model.layers}
        self.shapes = {layer.name: natural_shape(layer) for layer in model.layers}
        self.order = [layer.name for layer in model.layers]
        self.layers: dict[str, RuntimeLayer] = {}
        self.mapped: dict[str, list[str]] = {}
        for layer in model.layers:
            if layer.type == "data":
                continue
            backend.activation(layer.active_type or "", layer.name)  # known on this backend
            cls, runs_as = lookup(layer.type, backend.name, layer.name, backend.substitutes())
            runtime = cls(layer, model, self.shapes)
            self.layers[layer.name] = runtime
            mapping = (layer.type, runs_as) if runs_as else runtime.mapped
            if mapping:
                detail = runtime.algorithm.partition(": ")[2]
                runtime.algorithm = f"{mapping[0]} -> {mapping[1]}" + (f": {detail}"
                                                                       if detail else "")
                self.mapped.setdefault(f"{mapping[0]} -> {mapping[1]}", []).append(layer.name)
        self.label_slots = self._label_slots()
        self._check_layer_order()
        self._check_memory()
        self.parameters = Parameters(*self._init_parameters(), convert=backend.asarray_like)
        self._last: Optional[dict] = None
        self._check_masks: dict[str, Any] = {}
        self._relu_to_pool = self._relu_max_pool_pairs()
        #: None, or a function summing a 1-D array over the shards of a batch that other
        #: workers compute (data parallelism's synchronised batch norm; set by the trainer)
        self.batch_stat_sum: Optional[Any] = None
        if self.mapped:
            listing = "; ".join(f"{k}: {', '.join(v)}" for k, v in self.mapped.items())
            warnings.warn(backend.substitution_warning(listing), RuntimeWarning, stacklevel=4)

    # -- compile-time checks ---------------------------------------------------------------
    def _label_slots(self) -> dict[str, int]:
        """data layer -> number of classes, for data layers used only as integer labels."""
        label_uses: dict[str, list[tuple[str, int]]] = {}
        dense_uses: dict[str, list[str]] = {}
        for layer in self.model.layers:
            for i, inp in enumerate(layer.inputs):
                src = inp.input_layer_name
                is_label = i in facts_of(layer.type).label_inputs
                if is_label and self.configs[src].type != "data":
                    raise ConfigError(f"layer {layer.name!r}: its label {src!r} is a "
                                      f"{self.configs[src].type!r} layer; a cross-entropy cost "
                                      "takes integer labels from a data layer", layer=layer.name)
                if self.configs[src].type != "data":
                    continue
                if is_label:
                    classes = self.configs[layer.inputs[0].input_layer_name].size or 0
                    label_uses.setdefault(src, []).append((layer.name, classes))
                else:
                    dense_uses.setdefault(src, []).append(layer.name)
        for ev in self.model.evaluators:
            if ev.type in LABEL_EVALUATORS and len(ev.input_layers) > 1:
                src = ev.input_layers[1]
                if src in self.configs and self.configs[src].type == "data":
                    classes = self.configs[ev.input_layers[0]].size or 0
                    label_uses.setdefault(src, []).append((ev.name, classes))
        slots = {}
        for name, uses in label_uses.items():
            if name in dense_uses:
                raise ConfigError(
                    f"data layer {name!r} is used both as an integer label (by "
                    f"{', '.join(u for u, _ in uses)}) and as a dense input (by "
                    f"{', '.join(dense_uses[name])}); feed labels through their own data layer",
                    layer=name)
            classes = {c for _, c in uses}
            if len(classes) > 1:
                raise ConfigError(f"data layer {name!r} labels inputs of different sizes "
                                  f"{sorted(classes)}", layer=name)
            slots[name] = classes.pop()
        return slots

    def _check_layer_order(self) -> None:
        seen: set[str] = set()
        for name in self.order:
            for inp in self.configs[name].inputs:
                if inp.input_layer_name not in seen:
                    raise ConfigError(f"layer {name!r} reads {inp.input_layer_name!r}, which "
                                      "is not defined before it", layer=name)
            seen.add(name)

    def _check_memory(self) -> None:
        """Refuse, before allocating, a network whose parameters (or any layer's output for
        one sample) need more than the memory budget."""
        limit = memory_budget(self.backend.memory_bytes())
        item = self.dtype.itemsize
        total = sum(int(p.size) for p in self.model.parameters) * item
        if total > limit:
            largest = max(self.model.parameters, key=lambda p: p.size)
            raise ConfigError(f"the parameters need {total:,} bytes, more than the {limit:,} "
                              f"bytes available (largest: {largest.name!r} with "
                              f"{int(largest.size) * item:,} bytes)")
        for layer in self.model.layers:
            need, what = self._layer_bytes(layer.name, 1, item)
            if need > limit:
                raise ConfigError(f"layer {layer.name!r}: one sample needs {need:,} bytes "
                                  f"({what}), more than the {limit:,} bytes available",
                                  layer=layer.name)

    def _layer_bytes(self, name: str, batch: int, item: int) -> tuple[int, str]:
        """Bytes a layer needs for ``batch`` samples (its output and its working memory),
        and what they are."""
        output = batch * int(self.configs[name].size or 0) * item
        runtime = self.layers.get(name)
        work = runtime.working_bytes(batch, item, self.backend) if runtime else 0
        if not work:
            return output, "its output"
        return (output + work, f"{output:,} for its output and {work:,} for its "
                f"{runtime.working_memory}")

    def _check_batch_memory(self, needed: list[str], batch: int) -> None:
        limit = memory_budget(self.backend.memory_bytes())
        item = self.dtype.itemsize
        for name in needed:
            need, what = self._layer_bytes(name, batch, item)
            if need > limit:
                raise ValueError(f"layer {name!r}: a batch of {batch} needs {need:,} bytes "
                                 f"({what}), more than the {limit:,} bytes available; use a "
                                 "smaller batch")

    def _init_parameters(self) -> tuple[dict[str, Any], set[str]]:
        shapes: dict[str, tuple[int, ...]] = {}
        static: set[str] = set()
        for runtime in self.layers.values():
            for pname, shape in runtime.param_shapes.items():
                if pname in shapes and shapes[pname] != shape:
                    raise ConfigError(f"parameter {pname!r} is shared by layers that need "
                                      f"shapes {shapes[pname]} and {shape}", layer=runtime.name)
                shapes[pname] = shape
            static |= runtime.static_params
        arrays: dict[str, Any] = {}
        for param in self.model.parameters:
            if param.name not in shapes:
                raise ConfigError(f"parameter {param.name!r} is not used by any layer")
            shape = shapes[param.name]
            if int(np.prod(shape)) != param.size:
                raise ConfigError(f"parameter {param.name!r}: config size {param.size} does "
                                  f"not match the layer's shape {shape}")
            if param.is_static:
                static.add(param.name)
            mean, std = param.get("initial_mean"), param.get("initial_std")
            if param.get("initial_strategy") == 1:
                values = self.rng.uniform(mean - std, mean + std, size=shape)
            elif std == 0:
                values = np.full(shape, mean, dtype=np.float64)
            else:
                values = self.rng.normal(mean, std, size=shape)
            arrays[param.name] = self.backend.asarray(values, self.dtype)
        return arrays, static

    # -- forward ------------------------------------------------------------------------------
    def _needed(self, fetch: list[str]) -> list[str]:
        needed: set[str] = set()
        stack = list(fetch)
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            stack.extend(inp.input_layer_name for inp in self.configs[name].inputs)
        return [name for name in self.order if name in needed]

    def _feed(self, name: str, value: Any) -> Any:
        xp = self.xp
        shape = self.shapes[name]
        if name in self.label_slots:
            arr = self.backend.asarray_like(value)
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr.reshape(arr.shape[0])
            if arr.ndim != 1:
                raise ValueError(f"label data layer {name!r}: expected integer labels of shape "
                                 f"(N,) or (N, 1), got shape {tuple(arr.shape)}")
            if not np.issubdtype(arr.dtype, np.integer):
                raise ValueError(f"label data layer {name!r}: expected integer labels, got "
                                 f"dtype {arr.dtype}")
            classes = self.label_slots[name]
            if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= classes):
                bad = arr[(arr < 0) | (arr >= classes)][0]
                raise ValueError(f"label data layer {name!r}: label {int(bad)} is outside "
                                 f"[0, {classes})")
            return arr.astype(np.int64, copy=False)
        arr = self.backend.asarray_like(value)
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"data layer {name!r}: expected a numeric array, got dtype "
                             f"{arr.dtype}")
        size = int(np.prod(shape))
        if arr.ndim == 2 and arr.shape[1] == size:
            pass
        elif arr.ndim == 1 + len(shape) and tuple(arr.shape[1:]) == shape:
            pass
        else:
            forms = f"(N, {size})" + (f" or (N, {', '.join(map(str, shape))})"
                                       if len(shape) > 1 else "")
            raise ValueError(f"data layer {name!r}: expected an array of shape {forms}, got "
                             f"shape {tuple(arr.shape)}")
        out = xp.ascontiguousarray(arr.reshape((arr.shape[0],) + shape), dtype=self.dtype)
        finite = xp.isfinite(out)
        if not finite.all():
            sample = int(xp.argwhere(~finite)[0][0])
            bad = out[~finite].ravel()[0]
            raise ValueError(f"data layer {name!r}: the feed contains {bad} (sample {sample}); "
                             "expected finite values")
        return out

    def forward(self, feed: dict[str, Any], training: Union[bool, str] = False,
                fetch: Optional[list[str]] = None,
                timings: Optional[dict[str, float]] = None,
                as_numpy: Optional[bool] = None,
                given: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        """Run the layers the fetched outputs need.  ``training``: False (test), True
        (training: batch statistics, dropout masks), or ``"check"`` (training arithmetic,
        no moving-statistics update, one fixed dropout mask per layer).  ``timings``, when
        given, gets each computed layer's seconds added under its name, and the seconds of its
        activation and dropout under ``name + "/activation"``.  The outputs are NumPy arrays,
        or device arrays when a feed was one (a CuPy feed on the GPU); ``as_numpy`` forces
        either.  ``given`` maps layers to their outputs as an earlier forward with the same
        feed and mode fetched them: those layers are not computed again (a gradient check that
        moves one layer's parameters re-runs only the layers after it); such a forward cannot
        be followed by :meth:`backward`."""
        mode = {False: Pass.TEST, True: Pass.TRAIN, "check": Pass.CHECK}.get(training)
        if mode is None:
            raise ValueError(f"training must be False, True or 'check', got {training!r}")
        fetch = list(self.model.output_layer_names) if fetch is None else list(fetch)
        for name in fetch:
            if name not in self.configs:
                raise KeyError(f"cannot fetch {name!r}: no such layer; layers: "
                               f"{', '.join(self.order)}")
        if not isinstance(feed, dict):
            raise TypeError(f"feed must map data layer names to arrays, got "
                            f"{type(feed).__name__}")
        for name in feed:
            if name not in self.configs or self.configs[name].type != "data":
                raise KeyError(f"feed names {name!r}, which is not a data layer; data layers: "
                               f"{', '.join(n for n in self.order if self.configs[n].type == 'data')}")
        needed = self._needed(fetch)
        host = (as_numpy if as_numpy is not None
                else not any(self.backend.is_device_array(v) for v in feed.values()))
        p = Pass(mode, self.backend)
        p.stat_sum = self.batch_stat_sum
        values: dict[str, Any] = {}
        batch: Optional[int] = None
        for name in needed:
            if self.configs[name].type != "data":
                continue
            if name not in feed:
                users = [n for n in needed if any(i.input_layer_name == name
                                                  for i in self.configs[n].inputs)]
                raise ValueError(f"missing feed for data layer {name!r} (needed by "
                                 f"{', '.join(users) or 'the fetched outputs'})")
            values[name] = self._feed(name, feed[name])
            n = values[name].shape[0]
            if batch is not None and n != batch:
                raise ValueError(f"data layer {name!r} has {n} samples but another feed has "
                                 f"{batch}; every feed must have the same batch size")
            if n == 0:
                raise ValueError(f"data layer {name!r}: the batch is empty")
            batch = n
        self._check_batch_memory(needed, batch or 0)
        given = given or {}
        acts = self._activations(needed, fetch + list(given))    # a given output is activated
        pre: dict[str, Any] = {}
        masks: dict[str, Any] = {}
        with self.backend.compute():
            for name in needed:
                runtime = self.layers.get(name)
                if runtime is None:
                    continue
                if name in given:
                    values[name] = given[name]
                    continue
                start = perf_counter() if timings is not None else 0.0
                xs = [values[i] for i in runtime.input_names]
                z = runtime.forward(xs, self.parameters, p)
                z = z.reshape((xs[0].shape[0],) + runtime.out_shape)    # the layer's natural shape
                if timings is not None:
                    start = self._lap(timings, name, start)
                y = self._activate(acts[name], z)
                activated = y
                y, mask = self._dropout(runtime, y, p)
                pre[name], values[name] = z, y
                if mask is not None:
                    masks[name] = (mask, activated)
                if timings is not None:
                    self._lap(timings, name + ACTIVATION_SUFFIX, start)
        self._last = None if given else {
            "pass": p, "needed": needed, "values": values, "pre": pre, "masks": masks,
            "acts": acts, "fed": {k: feed[k] for k in feed if k in values}}
        return {name: self.backend.to_output(values[name], host=host) for name in fetch}

    def _lap(self, timings: dict[str, float], key: str, start: float) -> float:
        self.backend.synchronize()          # a device computes asynchronously
        return _lap(timings, key, start)

    #: apply a relu feeding only a max pool after the pooling (see _relu_max_pool_pairs)
    RELU_AFTER_MAX_POOL = True

    def _relu_max_pool_pairs(self) -> dict[str, str]:
        """Layers whose relu can run after the max pooling that is their only reader:
        ``maxpool(relu(z)) == relu(maxpool(z))`` (max and relu are both monotone), and the
        gradients agree too: a window whose maximum is positive routes its gradient to the
        same cells either way, and one whose maximum is not passes none either way (relu's
        derivative is 0 there). The relu then touches a quarter of the values (2x2 windows)
        forward and backward. Only for a relu layer without dropout or error clipping whose
        single reader is a max pool with no activation, dropout or clipping of its own; a
        forward that fetches the layer itself applies its relu in place (layer -> pool)."""
        if not self.RELU_AFTER_MAX_POOL:
            return {}
        readers: dict[str, list[str]] = {}
        for layer in self.model.layers:
            for inp in layer.inputs:
                readers.setdefault(inp.input_layer_name, []).append(layer.name)
        pairs = {}
        for name, users in readers.items():
            config, runtime = self.configs[name], self.layers.get(name)
            if (runtime is None or len(users) != 1 or config.active_type != "relu"
                    or config.drop_rate or config.error_clipping_threshold
                    or name in self.model.output_layer_names):
                continue
            pool = self.layers.get(users[0])
            pool_config = self.configs[users[0]]
            if (getattr(pool, "kind", None) == "max" and pool_config.type == "pool"
                    and (pool_config.active_type or "") in IDENTITY
                    and not pool_config.drop_rate
                    and not pool_config.error_clipping_threshold):
                pairs[name] = users[0]
        return pairs

    def _activations(self, needed: list[str], fetch: list[str]) -> dict[str, str]:
        """The activation each computed layer applies in this pass: its own, except that a
        relu that can run after its max pool (and is not fetched) moves there."""
        acts = {name: self.configs[name].active_type or "" for name in needed}
        for name, pool in self._relu_to_pool.items():
            if name in acts and pool in acts and name not in fetch:
                acts[name], acts[pool] = "", acts[name]
        return acts

    def _activate(self, active_type: str, z: Any) -> Any:
        act = self.backend.activation(active_type, "")
        if act is None:
            return z
        forward, _ = act
        if active_type == "softmax":
            return forward(z.reshape(z.shape[0], -1), xp=self.xp).reshape(z.shape)
        return forward(z, xp=self.xp)

    def _dropout(self, runtime: RuntimeLayer, y: Any, p: Pass) -> tuple[Any, Any]:
        rate = runtime.config.drop_rate or 0.0
        if not rate:
            return y, None
        if p.mode == Pass.TEST:
            return y * y.dtype.type(1.0 - rate), None
        if p.mode == Pass.CHECK:
            mask = self._check_masks.get(runtime.name)
            if mask is None or mask.shape != y.shape:
                rng = np.random.default_rng(None if self.seed is None
                                            else [self.seed, len(self._check_masks)])
                mask = self.backend.asarray(rng.uniform(size=y.shape) > rate, y.dtype)
                self._check_masks[runtime.name] = mask
        else:
            mask = self.backend.asarray(self.rng.uniform(size=y.shape) > rate, y.dtype)
        return y * mask, mask

    # -- backward -----------------------------------------------------------------------------
    def backward(self, grad_outputs: Optional[dict[str, Any]] = None,
                 timings: Optional[dict[str, float]] = None,
                 input_grads: bool = True) -> Gradients:
        """Gradients after a training (or check) forward.  ``grad_outputs`` maps layer names
        to output gradients (returned shape or (N, size)); None seeds every computed cost
        layer with ones (the gradient of the summed cost, as Paddle does).  ``timings`` as in
        :meth:`forward`.  The gradients are arrays of the backend (device arrays on the GPU).
        ``input_grads=False`` skips the gradients of the fed data layers (training needs
        none): layers whose inputs need no gradient are not run backward at all, and a
        convolution reading a data layer computes only its weight gradient."""
        last = self._last
        if last is None or last["pass"].mode == Pass.TEST:
            raise RuntimeError("backward() needs a preceding forward(..., training=True or "
                               "'check')")
        values, pre = last["values"], last["pre"]
        p: Pass = last["pass"]
        xp = self.xp
        grads_out: dict[str, Any] = {}
        if grad_outputs is None:
            for name in last["needed"]:
                runtime = self.layers.get(name)
                if runtime is not None and runtime.is_cost:
                    grads_out[name] = xp.ones_like(values[name])
            if not grads_out:
                raise ValueError("backward(None) seeds cost layers, but the last forward "
                                 "computed none; pass grad_outputs")
        else:
            for name, g in grad_outputs.items():
                if name not in values:
                    raise KeyError(f"grad_outputs names {name!r}, which the last forward did "
                                   "not compute")
                arr = self.backend.asarray(g, self.dtype)
                target = values[name].shape
                if arr.shape != target:
                    if arr.size != int(np.prod(target)) or arr.ndim not in (2, len(target)):
                        raise ValueError(f"grad_outputs[{name!r}] has shape {arr.shape}; "
                                         f"expected {tuple(target)} or "
                                         f"({target[0]}, {int(np.prod(target[1:]))})")
                    arr = arr.reshape(target)
                own = self.configs[name].active_type or ""
                if last["acts"].get(name, own) != own:
                    # a layer whose relu moved after its pool: the seed is the gradient of
                    # relu(z), and the layer's backward takes the gradient of z
                    z = pre[name]
                    arr = self._activate_backward(own, z, self._activate(own, z), arr)
                grads_out[name] = arr
        param_grads: dict[str, Any] = {}
        p.wanted = self._gradients_wanted(last["needed"], input_grads)
        with self.backend.compute():
            for name in reversed(last["needed"]):
                runtime = self.layers.get(name)
                if runtime is None or name not in grads_out or name not in p.wanted:
                    continue
                start = perf_counter() if timings is not None else 0.0
                dy = grads_out.pop(name)
                activated = values[name]
                dropout = last["masks"].get(name)
                if dropout is not None:
                    mask, activated = dropout          # the activation's output before dropout
                    dy = dy * mask
                clip = runtime.config.error_clipping_threshold
                if clip:
                    dy = xp.clip(dy, -clip, clip)
                dz = self._activate_backward(last["acts"][name], pre[name], activated, dy)
                if timings is not None:
                    start = self._lap(timings, name + ACTIVATION_SUFFIX, start)
                xs = [values[i] for i in runtime.input_names]
                dxs = runtime.backward(xs, pre[name], dz, self.parameters, param_grads, p)
                for src, dx in zip(runtime.input_names, dxs):
                    if dx is None or src not in p.wanted:
                        continue
                    dx = dx.reshape(values[src].shape)
                    if src in grads_out:
                        grads_out[src] = grads_out[src] + dx
                    else:
                        grads_out[src] = dx
                if timings is not None:
                    self._lap(timings, name, start)
        static = self.parameters.static
        params = {k: self.backend.to_output(v.reshape(self.parameters[k].shape), host=False)
                  for k, v in param_grads.items() if k not in static}
        inputs = {}
        for name, fed in last["fed"].items():
            if name not in p.wanted:
                continue
            g = grads_out.get(name)
            if g is None:
                g = xp.zeros_like(values[name])
            inputs[name] = self.backend.to_output(g.reshape(np.shape(fed)), host=False)
        return Gradients(params, inputs)

    def _activate_backward(self, active_type: str, z: Any, y: Any, dy: Any) -> Any:
        act = self.backend.activation(active_type, "")
        if act is None:
            return dy
        _, backward = act
        if active_type == "softmax":
            n = z.shape[0]
            return backward(z.reshape(n, -1), y.reshape(n, -1), dy.reshape(n, -1),
                            xp=self.xp).reshape(z.shape)
        return backward(z, y, dy, xp=self.xp)

    def _gradients_wanted(self, needed: list[str], input_grads: bool) -> frozenset:
        """The layers (in ``needed``) whose output gradient the backward pass must compute: a
        fed data layer when ``input_grads`` (never a label slot), a layer with trainable
        parameters, and every layer reading one of those."""
        static = self.parameters.static
        wanted: set[str] = set()
        for name in needed:
            runtime = self.layers.get(name)
            if runtime is None:
                if input_grads and name not in self.label_slots:
                    wanted.add(name)
            elif (any(k not in static for k in runtime.param_shapes)
                  or any(i in wanted for i in runtime.input_names)):
                wanted.add(name)
        return frozenset(wanted)

    def first_non_finite(self, feed: dict[str, Any]) -> Optional[tuple[str, str]]:
        """Re-run ``feed`` in gradient-check mode and return (layer, what) for the first layer
        whose output (or whose parameters) are not finite, or None.  Only called after a
        failure, so the normal step pays nothing for it."""
        xp = self.xp
        for name, value in self.parameters.items():
            if not bool(xp.isfinite(value).all()):
                user = next((n for n in self.order if n in self.layers
                             and name in self.layers[n].param_shapes), name)
                return user, f"parameter {name!r} is not finite"
        out = self.forward(feed, training="check", fetch=list(self.order), as_numpy=True)
        for name in self.order:
            if name in self.layers and not np.all(np.isfinite(out[name])):
                return name, "its output is not finite"
        return None

    # -- conveniences --------------------------------------------------------------------------
    def output_shape(self, name: str) -> tuple[int, ...]:
        """Per-sample shape a fetch of ``name`` returns."""
        return self.shapes[name]

    def __repr__(self) -> str:
        return (f"Network({len(self.layers)} layers, {len(self.parameters)} parameters, "
                f"backend={self.backend.name}, dtype={self.dtype})")


def compile(model: ModelConfig, device: Any = "cpu", dtype: str = "float32",  # noqa: A001
            seed: Optional[int] = None) -> Network:
    """Build a Network from a ModelConfig on ``device``: "cpu", "gpu" (CuPy and cuDNN; an
    error naming what is missing without them) or a backend instance (e.g.
    ``GPUBackend(xp=numpy)``: the GPU code paths with NumPy standing in for CuPy)."""
    if not isinstance(model, ModelConfig):
        raise TypeError(f"runtime compile takes a ModelConfig, got {type(model).__name__}")
    if str(dtype) not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return Network(model, get_backend(device), str(dtype), seed)
