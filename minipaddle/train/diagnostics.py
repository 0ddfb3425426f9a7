"""Paddle's ``--job=checkgrad`` and ``caffe time``: numerical gradient checks and per-layer
timings of a network on one synthetic batch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..config import ConfigError, ModelConfig, OptimizationConfig
from ..runtime import Network, compile
from ..runtime.network import ACTIVATION_SUFFIX
from .optimizers import ParameterUpdater


def synthetic_feed(net: Network, batch_size: int, rng: np.random.Generator) -> dict:
    """Dense inputs uniform in [0, 1) (Paddle used sigmoid(U(0,1) - 0.5)); labels uniform."""
    feed = {}
    for name in net.order:
        if net.configs[name].type != "data":
            continue
        if name in net.label_slots:
            feed[name] = rng.integers(0, net.label_slots[name], size=batch_size)
        else:
            feed[name] = rng.uniform(0, 1, size=(batch_size,) + net.shapes[name])
    return feed


@dataclass
class GradientCheck:
    parameter: str
    analytic: float
    numeric: float

    @property
    def relative_error(self) -> float:
        scale = max(abs(self.analytic), abs(self.numeric), 1e-20)
        return abs(self.analytic - self.numeric) / scale


def check_gradients(model: ModelConfig, *, batch_size: int = 2, seed: int = 0,
                    directions: int = 3, eps: float = 1e-6) -> list[GradientCheck]:
    """For every trainable parameter: the worst (over ``directions`` random directions) of
    the analytic directional derivative of the summed cost against a central difference, in
    float64 and gradient-check mode (fixed dropout masks, no moving-statistics update)."""
    net = compile(model, dtype="float64", seed=seed)
    rng = np.random.default_rng(seed)
    feed = synthetic_feed(net, batch_size, rng)
    costs = [n for n in model.output_layer_names if net.layers.get(n) is not None]
    if not costs:
        raise ConfigError("checkgrad needs output layers")

    def loss() -> float:
        out = net.forward(feed, training="check", fetch=costs)
        return float(sum(v.sum() for v in out.values()))

    net.forward(feed, training="check", fetch=costs)
    grads = net.backward({n: np.ones((batch_size,) + net.shapes[n]) for n in costs})
    results = []
    for name, param in net.parameters.items():
        if name in net.parameters.static:
            continue
        worst: Optional[GradientCheck] = None
        original = param.copy()
        for _ in range(directions):
            d = rng.standard_normal(param.shape)
            d *= (np.linalg.norm(original) or np.sqrt(d.size)) / np.linalg.norm(d)
            param[...] = original + eps * d
            plus = loss()
            param[...] = original - eps * d
            minus = loss()
            param[...] = original
            check = GradientCheck(name, float((grads.parameters[name] * d).sum()),
                                  (plus - minus) / (2 * eps))
            if worst is None or check.relative_error > worst.relative_error:
                worst = check
        results.append(worst)
    return results


@dataclass
class LayerTiming:
    """Mean milliseconds of one layer per training step: its own kernels forward and
    backward, its activation (and dropout) both ways, and which implementation ran."""
    layer: str
    type: str
    forward_ms: float
    backward_ms: float
    activation_ms: float = 0.0
    algorithm: str = ""


@dataclass
class StepTiming:
    """What :func:`time_layers` measured: per-layer rows, the mean wall milliseconds of a
    forward + backward, and of the optimizer update (0 when no optimizer was timed)."""
    layers: list[LayerTiming]
    total_ms: float
    optimizer_ms: float = 0.0


def time_layers(model: ModelConfig, *, batch_size: int, iterations: int = 10,
                seed: int = 0, opt_config: Optional[OptimizationConfig] = None,
                device: Any = "cpu") -> StepTiming:
    """Mean milliseconds per layer over ``iterations`` training steps (after one warm-up
    step), float32, synthetic data, no data-layer gradients (as in training); with
    ``opt_config``, each step also runs and times that optimizer's update.  ``device`` is
    ``compile``'s (a GPU is synchronized before every reading of the clock)."""
    net = compile(model, device=device, seed=seed)
    rng = np.random.default_rng(seed)
    # fed and seeded with arrays of the backend: a GPU step copies nothing from the host
    feed = {k: net.backend.asarray_like(v) for k, v in synthetic_feed(net, batch_size, rng).items()}
    costs = [n for n in model.output_layer_names if net.layers.get(n) is not None]
    seeds = {n: net.backend.asarray(np.ones((batch_size,) + net.shapes[n]), np.float32)
             for n in costs}
    updater = None
    trainable = {k: v for k, v in net.parameters.items() if k not in net.parameters.static}
    if opt_config is not None:
        updater = ParameterUpdater(opt_config, model.parameters,
                                   {k: v.shape for k, v in net.parameters.items()}, xp=net.xp)
    forward: dict[str, float] = {}
    backward: dict[str, float] = {}
    optimizer = 0.0
    for i in range(iterations + 1):       # the first is a warm-up
        timed = i > 0
        start = time.perf_counter()
        net.forward(feed, training=True, timings=forward if timed else None)
        grads = net.backward(seeds, timings=backward if timed else None, input_grads=False)
        if updater is not None:
            update_start = time.perf_counter()
            updater.start_batch(batch_size)
            updater.update(trainable, grads.parameters)
            updater.finish_batch()
            net.backend.synchronize()
            if timed:
                optimizer += time.perf_counter() - update_start
        net.backend.synchronize()
        if i == 0:
            total = 0.0
        else:
            total += time.perf_counter() - start

    def ms(seconds: float) -> float:
        return 1e3 * seconds / iterations

    act = ACTIVATION_SUFFIX
    rows = [LayerTiming(name, net.configs[name].type, ms(forward.get(name, 0.0)),
                        ms(backward.get(name, 0.0)),
                        ms(forward.get(name + act, 0.0) + backward.get(name + act, 0.0)),
                        net.layers[name].algorithm)
            for name in net.order if name in net.layers]
    return StepTiming(rows, ms(total), ms(optimizer))
