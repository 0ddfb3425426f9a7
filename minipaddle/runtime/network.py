"""compile(): a ModelConfig becomes a Network that runs forward and backward on a backend.

The Network holds what a compiled network is and answers its public calls; the parts live
beside it, each one a reader can hold in mind alone:

- ``graph``: per-sample shapes, layer order, the layers a fetch needs, label slots, feeds
- ``memory``: the memory budget and the guard that refuses what does not fit
- ``params``: ``Parameters``, ``Gradients`` and parameter initialisation
- ``passes``: the forward and backward loops (and per-layer timings)
- ``activation``: activation, its gradient and dropout, applied around every layer
- ``rewrites``: the relu-after-max-pool move
- ``diagnostics``: the first layer that is not finite
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Optional, Union

import numpy as np

from ..config import ModelConfig
from . import layers as _layers  # noqa: F401  (registers the runtime layers)
from .backend import Backend, get_backend
from .diagnostics import first_non_finite
from .graph import (check_layer_order, check_request,  # noqa: F401
                    feed_values, label_slots, natural_shape, needed_layers,
                    with_observers)
from .layers.base import Pass, RuntimeLayer
from .memory import check_batch_memory, check_network_memory, memory_budget  # noqa: F401
from .params import Gradients, Parameters, init_parameters
from .passes import (ACTIVATION_SUFFIX, gradients, gradients_wanted, run_backward,  # noqa: F401
                     run_forward, seed_gradients)
from .registry import lookup
from .rewrites import fuse_activations, pass_activations, relu_max_pool_pairs

DTYPES = ("float32", "float64")

__all__ = ["ACTIVATION_SUFFIX", "DTYPES", "Gradients",
           "Network", "Parameters", "compile", "memory_budget", "natural_shape"]


def bind_layers(model: ModelConfig, backend: Backend, shapes: dict[str, tuple[int, ...]]
                ) -> tuple[dict[str, RuntimeLayer], list[str], dict[str, list[str]]]:
    """The runtime layer of every computed layer, the fed (data) layers in model order, and
    the substitutions made on this backend ("type -> type it runs as" -> the layers)."""
    layers: dict[str, RuntimeLayer] = {}
    fed: list[str] = []
    mapped: dict[str, list[str]] = {}
    for layer in model.layers:
        cls, runs_as = lookup(layer.type, backend.name, layer.name, backend.substitutes())
        if cls.fed:
            fed.append(layer.name)
            continue
        backend.activation(layer.active_type or "", layer.name)  # known on this backend
        runtime = cls(layer, model, shapes)
        layers[layer.name] = runtime
        mapping = (layer.type, runs_as) if runs_as else runtime.mapped
        if mapping:
            runtime.implementation = replace(runtime.implementation, type=mapping[0],
                                             runs_as=mapping[1])
            mapped.setdefault(runtime.implementation.substitution, []).append(layer.name)
    return layers, fed, mapped


def _applies_own_activation(runtime: Any) -> bool:
    return bool(getattr(runtime, "owns_activation", False)
                or getattr(runtime, "fused_activation", ""))


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
        self.layers, self.data_layers, self.mapped = bind_layers(model, backend, self.shapes)
        self.label_slots = label_slots(model, self.configs, set(self.data_layers))
        check_layer_order(self.order, self.configs)
        check_network_memory(self)
        self.parameters = init_parameters(model, self.layers, backend, self.dtype, self.rng)
        self._last: Optional[dict] = None
        self._check_masks: dict[str, Any] = {}
        #: a relu feeding only a max pool runs after the pooling (rewrites.relu_max_pool_pairs)
        self._relu_to_pool = relu_max_pool_pairs(model, self.configs, self.layers)
        fuse_activations(self.configs, self.layers, self._relu_to_pool)
        #: the activation the network applies after each layer: the config's, except where
        #: the layer applies it inside itself (``owns_activation``: nce; a
        #: ``fused_activation``: batch norm's and addto's relu, rewrites.fuse_activations)
        self.activations = {name: "" if _applies_own_activation(self.layers.get(name))
                            else config.active_type or "" for name, config in self.configs.items()}
        #: None, or a function summing a 1-D array over the shards of a batch that other
        #: workers compute (data parallelism's synchronised batch norm; set by the trainer)
        self.batch_stat_sum: Optional[Any] = None
        #: layers whose output gradients backward() keeps in ``kept_gradients`` (a gradient
        #: printer's inputs; set by the trainer): each is computed even when no parameter
        #: needs it, and kept as the layer's own backward received it
        self.keep_gradients: frozenset[str] = frozenset()
        #: layer name -> host array of the last backward's gradient, for ``keep_gradients``
        self.kept_gradients: dict[str, Any] = {}
        if self.mapped:
            listing = "; ".join(f"{k}: {', '.join(v)}" for k, v in self.mapped.items())
            warnings.warn(backend.substitution_warning(listing), RuntimeWarning, stacklevel=4)

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
        check_request(feed, fetch, self.configs, self.order, self.data_layers)
        needed = with_observers(needed_layers(fetch, self.configs, self.order), self.layers,
                                self.order)
        host = (as_numpy if as_numpy is not None
                else not any(self.backend.is_device_array(v) for v in feed.values()))
        p = Pass(mode, self.backend, rng=self.rng)
        p.stat_sum = self.batch_stat_sum
        values, batch = feed_values(self, feed, needed)
        check_batch_memory(self, needed, batch or 0)
        given = given or {}
        # a given output is activated
        acts = pass_activations(self.activations, self._relu_to_pool, needed,
                                fetch + list(given))
        pre, masks = run_forward(self, p, values, needed, acts, given, timings)
        self._last = None if given else {
            "pass": p, "needed": needed, "values": values, "pre": pre, "masks": masks,
            "acts": acts, "fed": {k: feed[k] for k in feed if k in values}}
        return {name: self.backend.to_output(values[name], host=host) for name in fetch}

    def backward(self, grad_outputs: Optional[dict[str, Any]] = None,
                 timings: Optional[dict[str, float]] = None,
                 input_grads: bool = False) -> Gradients:
        """Gradients after a training (or check) forward.  ``grad_outputs`` maps layer names
        to output gradients (returned shape or (N, size)); None seeds every computed cost
        layer with ones (the gradient of the summed cost, as Paddle does).  ``timings`` as in
        :meth:`forward`.  The gradients are arrays of the backend (device arrays on the GPU).
        The fed data layers' gradients are computed only with ``input_grads=True`` (training
        needs none; the default skips them): layers whose inputs need no gradient are not
        run backward at all, and a convolution reading a data layer computes only its
        weight gradient."""
        last = self._last
        if last is None or last["pass"].mode == Pass.TEST:
            raise RuntimeError("backward() needs a preceding forward(..., training=True or "
                               "'check')")
        grads_out = seed_gradients(self, last, grad_outputs)
        last["pass"].wanted = gradients_wanted(self, last["needed"], input_grads)
        param_grads = run_backward(self, last, grads_out, timings)
        self.kept_gradients = {k: self.backend.to_output(v, host=True)
                               for k, v in last.pop("kept", {}).items()}
        return gradients(self, last, param_grads, grads_out, input_grads)

    def first_non_finite(self, feed: dict[str, Any]) -> Optional[tuple[str, str]]:
        """Re-run ``feed`` in gradient-check mode and return (layer, what) for the first layer
        whose output (or whose parameters) are not finite, or None."""
        return first_non_finite(self, feed)

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
