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
    for name in net.data_layers:
        if name in net.label_slots:
            feed[name] = rng.integers(0, net.label_slots[name], size=batch_size)
        else:
            feed[name] = rng.uniform(0, 1, size=(batch_size,) + net.shapes[name])
    return feed


#: A check's error is |analytic - numeric| / max(|analytic|, |numeric|, ERROR_FLOOR x the
#: network's largest gradient along a step): a derivative that is truly zero (a bias in front
#: of batch norm) is compared with an absolute tolerance scaled by the gradient's norm, as
#: Paddle's and Chainer's checks do, not with its own rounding noise.
ERROR_FLOOR = 1e-4


@dataclass
class GradientCheck:
    """One parameter's check: the analytic directional derivative of the summed cost and its
    central difference along the worst of the random directions tried, the error's absolute
    scale, and the asymmetry of the two one-sided differences, which is what a kink (a ReLU
    input, a max-pool window's maximum) crossed within the step costs the central difference.
    ``checked`` is False for a parameter no cost depends on; ``note`` explains a failure."""
    parameter: str
    analytic: float = 0.0
    numeric: float = 0.0
    scale: float = 0.0
    asymmetry: float = 0.0
    checked: bool = True
    note: str = ""

    @property
    def error(self) -> float:
        if not self.checked:
            return 0.0
        return abs(self.analytic - self.numeric) / max(abs(self.analytic), abs(self.numeric),
                                                        self.scale, 1e-300)

    @property
    def kinked(self) -> bool:
        """The one-sided differences disagree by a tenth or more of what analytic and numeric
        do: a kink (or several) lies within the step, and the central difference may say
        nothing about the gradient. (Smoothly, they differ by the step times the curvature.)"""
        return self.asymmetry >= 0.1 * abs(self.analytic - self.numeric) > 0


def check_gradients(model: ModelConfig, *, batch_size: int = 2, seed: int = 0,
                    directions: int = 3, eps: float = 1e-7, tolerance: float = 1e-3,
                    redraws: int = 4, points: int = 3) -> list[GradientCheck]:
    """Paddle's ``--job=checkgrad``: for every trainable parameter, the worst (over
    ``directions`` random directions) analytic directional derivative of the summed cost
    against a central difference with relative step ``eps``, in float64 and gradient-check
    mode (fixed dropout masks, batch statistics, no moving-statistics update).

    A direction whose check a kink within the step may have spoilt (see
    :attr:`GradientCheck.kinked`; an error of a tenth of the tolerance or more) is drawn again,
    up to ``redraws`` times; when every one is, the probe point itself (the synthetic batch,
    and the parameters moved by a few percent) is drawn again, up to ``points`` times in all.
    A kink never passes a check, it can only cost retries; a failure that remains is explained
    when the network knows why (tied max-pool windows downstream, or kinks).
    Parameters no cost depends on are reported with ``checked=False``; a network without
    trainable parameters is a ConfigError."""
    if batch_size < 1:
        raise ConfigError(f"checkgrad: batch size must be positive, got {batch_size}")
    checker = _GradientChecker(model, batch_size, seed, eps, tolerance)
    results = []
    for name in checker.trainable:
        check = checker.check(name, directions, redraws)
        while checker.spoilt(check) and points > 0:
            points -= 1
            checker.draw_point(jitter=True)
            check = checker.check(name, directions, redraws)
        if check.error > tolerance:
            check.note = checker.explain(name, check)
        results.append(check)
    return results


class _GradientChecker:
    """The probe point (a synthetic batch, the parameters, every layer's output and the
    analytic gradients there) and the numerical probes around it. A probe re-runs only the
    layers after the perturbed parameter's layers."""

    def __init__(self, model: ModelConfig, batch_size: int, seed: int, eps: float,
                 tolerance: float):
        self.net = net = compile(model, dtype="float64", seed=seed)
        self.rng = np.random.default_rng(seed)
        self.batch_size, self.eps, self.tolerance = batch_size, eps, tolerance
        self.costs = [n for n in model.output_layer_names if n in net.layers]
        if not self.costs:
            raise ConfigError("checkgrad needs output layers that are not data layers")
        static = net.parameters.static
        self.trainable = [k for k in net.parameters if k not in static]
        if not self.trainable:
            raise ConfigError("checkgrad: the network has no trainable parameters, so there "
                              "is no gradient to check")
        readers: dict[str, list[str]] = {}
        for layer in model.layers:
            for inp in layer.inputs:
                readers.setdefault(inp.input_layer_name, []).append(layer.name)
        self.readers = readers
        self.needed = _closure(self.costs, lambda n: [i.input_layer_name
                                                      for i in net.configs[n].inputs])
        self.users = {k: [n for n in net.order if n in net.layers
                          and k in net.layers[n].param_shapes] for k in self.trainable}
        self.draw_point(jitter=False)

    def draw_point(self, jitter: bool) -> None:
        """A new synthetic batch (and, with ``jitter``, every trainable parameter moved by 5%
        of its spread, off any exact zero); forward, backward and the error scale there."""
        net = self.net
        if jitter:
            for name in self.trainable:
                value = net.parameters[name]
                value += self.rng.normal(0.0, 0.05 * (float(value.std()) or 1.0), value.shape)
        self.feed = synthetic_feed(net, self.batch_size, self.rng)
        fetch = [n for n in net.order if n in self.needed and n in net.layers]
        self.values = net.forward(self.feed, training="check", fetch=fetch)
        for value in self.values.values():
            value.flags.writeable = False          # reused by every probe: never written
        self.base = sum(float(self.values[c].sum()) for c in self.costs)
        seeds = {c: np.ones_like(self.values[c]) for c in self.costs}
        self.grads = net.backward(seeds, input_grads=False).parameters
        self.scale = ERROR_FLOOR * max(
            [float(np.linalg.norm(g)) * _step_norm(net.parameters[k])
             for k, g in self.grads.items() if k in self.users] + [0.0])

    def _loss(self, name: str) -> float:
        moved = _closure(self.users[name], lambda n: self.readers.get(n, []))
        given = {n: v for n, v in self.values.items() if n not in moved}
        out = self.net.forward(self.feed, training="check", fetch=self.costs, given=given)
        return sum(float(out[c].sum()) for c in self.costs)

    def probe(self, name: str, eps: float) -> GradientCheck:
        """The check along one random direction, as long as the parameter (``eps`` is then a
        relative step)."""
        param = self.net.parameters[name]
        original = param.copy()
        # in place throughout: a large fc weight (alexnet's fc6: 300 MB in float64) is drawn,
        # stepped and dotted without temporaries of its size
        d = self.rng.standard_normal(param.shape, dtype=np.float32)
        step = np.multiply(d, eps * _step_norm(original) / np.linalg.norm(d), dtype=np.float64)
        del d
        try:
            np.add(original, step, out=param)
            plus = self._loss(name)
            np.subtract(original, step, out=param)
            minus = self._loss(name)
        finally:
            param[...] = original
        return GradientCheck(name, float(np.vdot(self.grads[name], step)) / eps,
                             (plus - minus) / (2 * eps), self.scale,
                             abs((plus - self.base) - (self.base - minus)) / (2 * eps))

    def check(self, name: str, directions: int, redraws: int) -> GradientCheck:
        """The worst of ``directions`` probes, each drawn again while a kink spoils it, with a
        step ten times smaller each time down to ``eps / 100`` (fewer kinks lie within a
        shorter step); a probe still spoilt after ``redraws`` is returned at once (the point
        must move)."""
        if not any(n in self.needed for n in self.users[name]) or name not in self.grads:
            users = ", ".join(repr(n) for n in self.users[name])
            return GradientCheck(name, checked=False, note=f"no cost depends on it (layer "
                                 f"{users} is not on the path to an output)")
        worst: Optional[GradientCheck] = None
        for _ in range(directions):
            eps = self.eps
            check = self.probe(name, eps)
            for _ in range(redraws):
                if not self.spoilt(check):
                    break
                eps = max(eps / 10, self.eps / 100)
                check = self.probe(name, eps)
            if self.spoilt(check):
                return check
            if worst is None or check.error > worst.error:
                worst = check
        assert worst is not None
        return worst

    def spoilt(self, check: GradientCheck) -> bool:
        """A kink within the step may have cost this probe a tenth of the tolerance or more:
        it is drawn again rather than trusted either way."""
        return check.kinked and check.error > 0.1 * self.tolerance

    def explain(self, name: str, check: GradientCheck) -> str:
        """Why a check failed, when the network knows: tied max-pool windows downstream of the
        parameter, or kinks within every step tried."""
        ties = []
        for layer in sorted(_closure(self.users[name], lambda n: self.readers.get(n, []))
                            & self.needed, key=self.net.order.index):
            count_ties = getattr(self.net.layers.get(layer), "tied_maxima", None)
            source = self.net.configs[layer].inputs[0].input_layer_name if count_ties else None
            if source in self.values:
                x = np.array(self.values[source])
                # a ReLU's zeros pass no gradient whichever cell gets it: they do not count
                zeros = x == 0
                x[zeros] = -np.arange(1, int(zeros.sum()) + 1)
                tied = count_ties(x)
                if tied:
                    ties.append(f"{layer!r} ({tied} cells share their window's maximum)")
        if ties:
            return ("tied max-pool windows downstream: " + ", ".join(ties) + "; Paddle's "
                    "max-pool gradient goes in full to every tied cell, which is not the "
                    "derivative there (docs/paddle_compat.md)")
        if check.kinked:
            return ("every step tried crossed a kink (a ReLU input or a max-pool window's "
                    "maximum within the step), even at re-drawn probe points")
        return ""


def _step_norm(value: np.ndarray) -> float:
    """How long a probe direction is: as long as the parameter, or sqrt(size) for zeros."""
    return float(np.linalg.norm(value)) or float(np.sqrt(value.size))


def _closure(start: list[str], step: Any) -> set[str]:
    """``start`` and everything reachable from it through ``step(name) -> names``."""
    seen: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(step(name))
    return seen


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
            updater.step(batch_size, net.parameters, grads.parameters)
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
