"""The performance check behind ``make bench``: every figure with its target, PASS/FAIL/SKIP.

    PYTHONPATH=. python3 bench/run.py [--rounds 7] [--steps 20] [--quick]
                                      [--only lenet,conv,...] [--json results.json]

Row groups (``--only``):

    lenet       LeNet training images/s, minipaddle / PyTorch                   >= 1.2
    models      resnet_cifar (batch 64) and small_vgg (batch 32) training
                images/s, minipaddle / PyTorch                                  >= 1.0
    conv        conv forward and forward+backward GFLOP/s / matmul GFLOP/s      >= 0.75, >= 0.65
    grouped     grouped (g4) and depthwise (g128) conv time / PyTorch's         <= 1.5
    transposed  transposed conv time / PyTorch's (f+b and forward)              <= 1.5
    pool        32x32 stride-1 max pool on 64x64 maps: forward, backward in
                full passes over the input                                      <= 10
                f+b time / PyTorch's                                            <= 1.0
    shares      pooling + batch norm + activations + optimizer share of a step  < 20% together
    memory      peak resident memory of a one-pass LeNet training run           < 400 MB
    parse       parse + validate model_zoo/vgg16.yaml                           < 50 ms
    v2          LeNet pass through paddle.trainer.SGD / through the Trainer loop  <= 1.05
    mpi         LeNet img/s 2 ranks x 1 thread / 1 rank x 2 threads                 info
                share of a 2-rank LeNet step in the allreduce                     < 10%
                allreduce bus bandwidth (bench/distributed.py)                      info

Method. Everything is float32 on the CPU. Each figure is a median over ``--rounds`` rounds after
one warm-up round. A ratio is always measured side by side in this one run: the rounds of its
sides are interleaved (A, B, A, B, ...) by :func:`interleave`, with a pause of ``PAUSE`` seconds
after every round so that OpenMP/BLAS worker threads stop spinning before the other side starts,
and the ratio is taken between the medians. Every round, on both sides, starts with one untimed
call or step: a core left idle for the pause starts cold on this VM (the first call after a
0.2 s sleep took 1.5-2x as long), which a training loop never sees. PyTorch never runs in this process (a second OpenMP
runtime next to NumPy's BLAS skews NumPy's timings): it runs in ``bench/torch_worker.py``, a
persistent subprocess that takes one JSON command per line and answers with the seconds it
measured. Without torch the PyTorch rows are SKIPped, not failed.

The training rows (lenet, models) also give the fraction of the physical floor each side
reaches (column "of floor", minipaddle / PyTorch): the step's FLOPs at the machine's matmul rate
over the measured step time. FLOPs are three times the forward multiply-adds of the conv and fc
layers (``minipaddle summary``'s count) times 2 and the batch (forward, data gradient, weight
gradient: the bound a step could reach if it did nothing but GEMMs at that rate); the matmul
rate is the median GFLOP/s of one float32 ``np.matmul`` of ``FLOOR_GEMM`` on BLAS's default
threads, timed in the same interleaved rounds as the row.

Per row:

* lenet: one step is what the Trainer runs per batch (ParameterUpdater.start_batch, forward,
  backward without input gradients, update, finish_batch) on full batches of 64 of mnist5k;
  PyTorch runs the same network and SGD settings (momentum 0.9, weight decay 0.032, summed cross
  entropy) on random data of the same shapes. images/s = steps * 64 / seconds of a round.
  The user-loop row is the loop a user writes on the bare API with its defaults (compile in
  float32, ``forward(feed, training=True)``, ``backward()``, ``p -= lr * g``) against the same
  hand-written loop in PyTorch (``p -= lr * p.grad`` under ``no_grad``).
* models: the same as lenet for model_zoo/resnet_cifar.yaml at batch 64 and small_vgg.yaml at
  batch 32 (its own 128 takes seconds a step on 2 cores) on a fixed random batch of 3x32x32
  images (``synthetic_feed``); PyTorch runs the same layers (``bench/torch_worker.py``: biases,
  batch norm in training mode, dropout, projection shortcuts as in the YAML) with the YAML's
  momentum, learning rate and L2 on random data of the same shapes.
* pool: ``minipaddle.kernels.pool`` on (8, 64, 64, 64) float32, max and average (excluding
  padding) over 32x32 windows at stride 1 (Paddle's img_layers.py pools 32x32 at stride 1 on
  a 227x227 map); a full pass is one ``np.copyto`` of the input into a second array (read
  and write the input once), timed in the same rounds. PyTorch: ``F.max_pool2d`` forward and
  forward + input gradient.
* conv: one img_conv_layer (linear activation) compiled as a network, so the figure includes
  the backend's scheduling; forward FLOPs 2*N*F*Ho*Wo*(C/g)*kh*kw (dilation not counted),
  forward+backward (data and weight gradients) three times that; the reference is one
  ``np.matmul`` of the same GEMM shape (g, F/g, C/g*kh*kw) x (g, C/g*kh*kw, N*Ho*Wo).
* grouped / transposed: the same one-layer networks against ``nn.Conv2d`` /
  ``nn.ConvTranspose2d`` (forward under ``no_grad``; f+b = forward + gradients of input, weight
  and bias). Small layers are called ``repeats`` times per round; the time is per call.
* shares: the memory-bound work around the GEMMs; per-layer ``timings`` of forward and backward, classified by layer type; a key
  ``NAME/activation`` (when the network records activations and dropout apart from the layer's
  kernel) counts as activation. The optimizer's ``update`` is timed separately; the total is the
  wall time of the steps; each share is the median over rounds.
* v2: one pass of LeNet (model_zoo/lenet.yaml's network and settings) over 1,024 mnist5k
  digits in batches of 64, once through ``minipaddle.v2``'s ``trainer.SGD.train`` (a
  ``paddle.batch`` reader of (pixels, label) samples, converted by the v2 data feeder) and once
  through the Trainer loop ``minipaddle train`` runs, fed the same batches as arrays; same
  seed, same threads.
* memory: ``minipaddle train`` in a fresh child process; its own peak RSS from ``os.wait4``
  (the per-child form of ``getrusage(RUSAGE_CHILDREN).ru_maxrss``, KiB on Linux, which would also
  count the torch worker once it has exited).
"""

from __future__ import annotations

import argparse
import itertools
import json
import operator
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import threadpoolctl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import minipaddle  # noqa: E402
from minipaddle import LinearActivation, data_layer, img_conv_layer, resolve  # noqa: E402
from minipaddle.train.datasets import batches, load_dataset  # noqa: E402
from minipaddle.train.diagnostics import synthetic_feed  # noqa: E402
from minipaddle.runtime.backend import get_backend  # noqa: E402
from minipaddle.train.optimizers import ParameterUpdater  # noqa: E402

#: seconds after every round of an interleaved comparison. Every timed round (both sides,
#: bench/torch_worker.py too) starts with one untimed call: on this VM a core left idle for
#: the pause starts cold (measured: a 25 ms grouped conv forward took 38 ms, a 7 ms transposed
#: one 12-13 ms, as the first call after a 0.2 s sleep), which a training loop never sees
PAUSE = 0.2
LENET_BATCH = 64
#: the plain SGD step of the user-loop row (bench/torch_worker.py's USER_LOOP_LR)
USER_LOOP_LR = 0.0003125
VGG_BATCH = 32       # small_vgg.yaml says 128: about 4 s a step on 2 cores, too slow to repeat
MODELS_BATCH = {"resnet_cifar": 64, "small_vgg": VGG_BATCH}
FLOOR_GEMM = (512, 4608, 1024)       # (M, K, N) of the matmul that sets the floor's rate
POOL_CASE = dict(n=8, c=64, h=64, w=64, k=32, stride=1, padding=0)
GROUPS = ("lenet", "models", "conv", "grouped", "transposed", "pool", "shares", "memory",
          "parse", "v2", "mpi")
TORCH_GROUPS = {"lenet", "models", "grouped", "transposed", "pool"}
NO_TORCH = "PyTorch not installed (pip install -e '.[bench]'): comparison skipped"
OPS = {">=": operator.ge, "<=": operator.le, "<": operator.lt}

# ---------------------------------------------------------------------------------------------
# timing


def elapsed(fn: Callable[[], Any], repeats: int = 1) -> float:
    """Seconds per call of ``repeats`` back-to-back calls of ``fn``, after one untimed call
    (:data:`PAUSE`: the first call after an idle pause runs on a cold core)."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def interleave(sides: dict[str, Callable[[], float]], rounds: int,
               pause: float = PAUSE) -> dict[str, float]:
    """Median seconds of each side. A side is one round of a measurement that returns the
    seconds it measured (locally through :func:`elapsed`, or the torch worker's answer). All
    sides run once to warm up, then ``rounds`` times in turn (A, B, A, B, ...), sleeping
    ``pause`` after each so that the other side starts on idle cores."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for round_ in range(rounds + 1):
        for name, side in sides.items():
            seconds = side()
            if round_:
                samples[name].append(seconds)
            if pause:
                time.sleep(pause)
    return {name: float(np.median(values)) for name, values in samples.items()}


def median_seconds(fn: Callable[[], Any], rounds: int, repeats: int = 1) -> float:
    """Median over ``rounds`` (after one warm-up) of the seconds per call of ``fn``."""
    return interleave({"fn": lambda: elapsed(fn, repeats)}, rounds, pause=0.0)["fn"]


# ---------------------------------------------------------------------------------------------
# results


@dataclass
class Row:
    """One figure of the table. ``value`` None means not measured (SKIP); ``op`` None means
    informational (no target)."""
    group: str
    figure: str
    value: Optional[float]
    measured: str
    op: Optional[str] = None
    limit: Optional[float] = None
    unit: str = ""
    detail: str = ""
    error: str = ""
    floor: str = ""      # training rows: fraction of the physical floor, minipaddle / PyTorch

    @property
    def target(self) -> str:
        return "-" if self.op is None else f"{self.op} {self.limit:g}{self.unit}"

    @property
    def result(self) -> str:
        if self.error:
            return "ERROR"
        if self.op is None:
            return "info"
        if self.value is None:
            return "SKIP"
        return "PASS" if OPS[self.op](self.value, self.limit) else "FAIL"


def print_table(rows: list[Row]) -> None:
    header = ("figure", "measured", "target", "result", "of floor")
    cells = [header] + [(r.figure, r.measured, r.target, r.result, r.floor) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    line = "-+-".join("-" * w for w in widths)
    print(line)
    for i, cell in enumerate(cells):
        print(" | ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip())
        if i == 0:
            print(line)
    print(line)
    details = [r for r in rows if r.detail]
    if details:
        print()
        for r in details:
            print(f"{r.figure}: {r.detail}")


def ms(seconds: float) -> str:
    return f"{1e3 * seconds:.2f} ms"


# ---------------------------------------------------------------------------------------------
# PyTorch worker


class TorchWorker:
    """``bench/torch_worker.py`` as a persistent subprocess: one JSON line each way."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "torch_worker.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        reply = self.request(case="version")
        self.error: Optional[str] = reply.get("error")
        self.version: Optional[str] = reply.get("torch")
        self.threads: Optional[int] = reply.get("threads")

    @property
    def available(self) -> bool:
        return self.error is None

    def request(self, **command: Any) -> dict:
        try:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError as exc:
            return {"error": f"the worker is gone: {exc}"}
        return json.loads(line) if line else {"error": "the worker exited"}

    def seconds(self, **command: Any) -> float:
        reply = self.request(**command)
        if "error" in reply:
            raise RuntimeError(f"torch worker, {command}: {reply['error']}")
        return float(reply["seconds"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# minipaddle pieces shared by the rows

class TrainingStep:
    """A model-zoo network with its ParameterUpdater, stepped as the Trainer's inner loop."""

    def __init__(self, name: str) -> None:
        self.config = minipaddle.parse_config(ROOT / "model_zoo" / f"{name}.yaml")
        self.net = minipaddle.compile(self.config, seed=1)
        params = self.net.parameters
        self.updater = ParameterUpdater(self.config.opt_config,
                                        self.config.model_config.parameters,
                                        {k: v.shape for k, v in params.items()})
        self.trainable = {k: v for k, v in params.items() if k not in params.static}

    def synthetic_feed(self, batch: int) -> dict:
        feed = synthetic_feed(self.net, batch, np.random.default_rng(0))
        return {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in feed.items()}

    def __call__(self, feed: dict, batch: int, forward_timings: Optional[dict] = None,
                 backward_timings: Optional[dict] = None) -> float:
        """One step; returns the seconds of the optimizer's update."""
        self.updater.start_batch(batch)
        self.net.forward(feed, training=True, timings=forward_timings)
        grads = self.net.backward(timings=backward_timings, input_grads=False)
        start = time.perf_counter()
        self.updater.update(self.trainable, grads.parameters)
        update = time.perf_counter() - start
        self.updater.finish_batch()
        return update


class UserLoop:
    """A user's own training loop on the library API with its defaults: ``compile`` (float32),
    ``forward(feed, training=True)``, ``backward()``, and a plain SGD update of the returned
    gradients in place (``p -= lr * g``)."""

    def __init__(self, name: str, lr: float) -> None:
        self.config = minipaddle.parse_config(ROOT / "model_zoo" / f"{name}.yaml")
        self.net = minipaddle.compile(self.config, seed=1)
        self.lr = np.float32(lr)

    def __call__(self, feed: dict, batch: int) -> None:
        self.net.forward(feed, training=True)
        for name, grad in self.net.backward().parameters.items():
            param = self.net.parameters[name]
            param -= self.lr * grad


@dataclass(frozen=True)
class ConvCase:
    """One convolution layer, NCHW. ``repeats``: calls per timed round (small layers)."""
    label: str
    n: int
    c: int
    h: int
    w: int
    f: int
    k: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    transposed: bool = False
    repeats: int = 1

    def output_size(self, size: int) -> int:
        if self.transposed:
            return (size - 1) * self.stride + self.dilation * (self.k - 1) + 1 - 2 * self.padding
        return (size + 2 * self.padding - self.dilation * (self.k - 1) - 1) // self.stride + 1

    @property
    def gemm(self) -> tuple[int, int, int, int]:
        """(groups, F/g, C/g*kh*kw, N*Ho*Wo) of a forward convolution."""
        g = self.groups
        ho, wo = self.output_size(self.h), self.output_size(self.w)
        return g, self.f // g, self.c // g * self.k * self.k, self.n * ho * wo

    @property
    def flops(self) -> float:
        g, m, k, n = self.gemm
        return 2.0 * g * m * k * n

    def torch_command(self, backward: bool) -> dict:
        fields = ("n", "c", "h", "w", "f", "k", "stride", "padding", "dilation", "groups",
                  "transposed", "repeats")
        return {"case": "conv", "backward": backward, **{k: getattr(self, k) for k in fields}}


class ConvNetwork:
    """``case`` as a one-layer network built with the DSL; times per call."""

    def __init__(self, case: ConvCase, rng: np.random.Generator) -> None:
        resolved = []

        def define() -> None:      # inside parse_config: a fresh DSL context (layer names)
            x = data_layer(name="x", size=case.c * case.h * case.w, height=case.h, width=case.w)
            resolved.append(resolve(img_conv_layer(
                input=x, name="conv", filter_size=case.k, num_filters=case.f,
                num_channels=case.c, stride=case.stride, padding=case.padding,
                dilation=case.dilation, groups=case.groups, act=LinearActivation(),
                trans=case.transposed)))

        minipaddle.parse_config(define)
        self.net = minipaddle.compile(resolved[0], seed=1)
        self.repeats = case.repeats
        self.x = rng.standard_normal((case.n, case.c, case.h, case.w), dtype=np.float32)
        self.shape = self.forward()["conv"].shape
        self.dy = rng.standard_normal(self.shape, dtype=np.float32)

    def forward(self) -> dict:
        return self.net.forward({"x": self.x}, training=True, fetch=["conv"])

    def step(self) -> None:
        self.forward()
        self.net.backward({"conv": self.dy}, input_grads=True)

    def sides(self, case: ConvCase, worker: Optional[TorchWorker]) -> dict:
        """Forward and forward+backward of minipaddle and, when available, PyTorch."""
        sides = {"mp fwd": lambda: elapsed(self.forward, self.repeats),
                 "mp f+b": lambda: elapsed(self.step, self.repeats)}
        if worker is not None and worker.available:
            sides["torch fwd"] = lambda: worker.seconds(**case.torch_command(False))
            sides["torch f+b"] = lambda: worker.seconds(**case.torch_command(True))
        return sides


# ---------------------------------------------------------------------------------------------
# the rows


@dataclass
class Context:
    rounds: int
    steps: int
    vgg_steps: int
    worker: Optional[TorchWorker] = None
    environment: dict = field(default_factory=dict)
    model_steps: int = 2
    gemm: Optional[tuple] = None

    def matmul_side(self) -> Callable[[], float]:
        """A round of the floor's matmul (float32 FLOOR_GEMM, BLAS's default threads): its
        seconds; interleaved with a training row's rounds, so the floor is that row's."""
        if self.gemm is None:
            m, k, n = FLOOR_GEMM
            rng = np.random.default_rng(0)
            self.gemm = (rng.standard_normal((m, k), dtype=np.float32),
                         rng.standard_normal((k, n), dtype=np.float32))
        a, b = self.gemm
        return lambda: elapsed(lambda: np.matmul(a, b))

    @property
    def torch(self) -> Optional[TorchWorker]:
        return self.worker if self.worker is not None and self.worker.available else None


def step_flops(config: Any, batch: int) -> float:
    """The physical floor's FLOPs of one training step: 2 * 3 * batch * the forward
    multiply-adds of the conv and fc layers."""
    from minipaddle.config.summary import summarize

    return 6.0 * batch * sum(layer.mult_adds for layer in summarize(config.model_config))


def training_row(ctx: Context, group: str, figure: str, step: TrainingStep, feeds: Any,
                 batch: int, steps: int, torch_command: dict, target: float) -> Row:
    """Images/s of ``steps`` training steps a round, minipaddle / PyTorch, interleaved, with
    the fraction of the physical floor each side reaches."""
    def minipaddle_round() -> float:
        step(next(feeds), batch)             # untimed: the first step after the pause
        start = time.perf_counter()
        for _ in range(steps):
            step(next(feeds), batch)
        return time.perf_counter() - start

    sides = {"minipaddle": minipaddle_round, "matmul": ctx.matmul_side()}
    if ctx.torch:
        sides["torch"] = lambda: ctx.torch.seconds(steps=steps, **torch_command)
    medians = interleave(sides, ctx.rounds)
    m, k, n = FLOOR_GEMM
    rate = 2.0 * m * k * n / medians.pop("matmul")
    floor_seconds = step_flops(step.config, batch) / rate
    rates = {name: steps * batch / s for name, s in medians.items()}
    floors = {name: floor_seconds / (s / steps) for name, s in medians.items()}
    detail = ", ".join(f"{name} {ms(s / steps)}/step ({rates[name]:.0f} img/s)"
                       for name, s in medians.items())
    detail += (f"; floor {ms(floor_seconds)} ({step_flops(step.config, batch) / 1e9:.2f} GFLOP"
               f" at {rate / 1e9:.0f} GFLOP/s)")
    floor = " / ".join(f"{floors[name]:.2f}" for name in medians)
    if "torch" not in rates:
        return Row(group, figure, None, f"- ({rates['minipaddle']:.0f} img/s)", ">=", target,
                   detail=detail, floor=floor)
    ratio = rates["minipaddle"] / rates["torch"]
    return Row(group, figure, ratio,
               f"{ratio:.2f} ({rates['minipaddle']:.0f} vs {rates['torch']:.0f})", ">=",
               target, detail=detail, floor=floor)


def bench_lenet(ctx: Context) -> list[Row]:
    step = TrainingStep("lenet")
    train, _ = load_dataset("mnist5k")
    data = [(images, labels) for images, labels in
            batches(train, LENET_BATCH, shuffle=True, rng=np.random.default_rng(0))
            if len(labels) == LENET_BATCH]
    feeds = itertools.cycle({"pixel": images, "label": labels} for images, labels in data)
    loop = UserLoop("lenet", USER_LOOP_LR)
    return [training_row(ctx, "lenet", "LeNet training img/s / PyTorch's", step, feeds,
                         LENET_BATCH, ctx.steps, {"case": "lenet_step"}, 1.2),
            training_row(ctx, "lenet", "LeNet user loop (API defaults) / PyTorch's", loop,
                         feeds, LENET_BATCH, ctx.steps, {"case": "lenet_user_loop"}, 1.2)]


def bench_models(ctx: Context) -> list[Row]:
    rows = []
    for name, batch in MODELS_BATCH.items():
        step = TrainingStep(name)
        feeds = itertools.repeat(step.synthetic_feed(batch))
        rows.append(training_row(
            ctx, "models", f"{name} training, batch {batch}: img/s / PyTorch's", step, feeds,
            batch, ctx.model_steps, {"case": "train_step", "model": name, "batch": batch}, 1.0))
        del step
    return rows


CONV_RATE_CASES = [
    ConvCase("64->64 3x3 pad 1, 32x32, N 64", 64, 64, 32, 32, 64, 3, padding=1),
    ConvCase("AlexNet conv1 3->96 11x11/4, 227x227, N 16", 16, 3, 227, 227, 96, 11, stride=4),
    ConvCase("dilated 64->64 3x3 d2 pad 2, 32x32, N 64", 64, 64, 32, 32, 64, 3, padding=2,
             dilation=2),
]


def bench_conv(ctx: Context) -> list[Row]:
    rows = []
    rng = np.random.default_rng(0)
    for case in CONV_RATE_CASES:
        layer = ConvNetwork(case, rng)
        g, m, k, n = case.gemm
        a = rng.standard_normal((g, m, k), dtype=np.float32)
        b = rng.standard_normal((g, k, n), dtype=np.float32)
        sides = layer.sides(case, None)
        sides["matmul"] = lambda: elapsed(lambda: np.matmul(a, b))
        t = interleave(sides, ctx.rounds)
        del layer, sides          # free the network's buffers before the next case
        mm_rate = case.flops / t["matmul"]
        fwd = case.flops / t["mp fwd"] / mm_rate
        fb = 3 * case.flops / t["mp f+b"] / mm_rate
        detail = (f"fwd {ms(t['mp fwd'])}, f+b {ms(t['mp f+b'])}, matmul {ms(t['matmul'])} "
                  f"({mm_rate / 1e9:.1f} GFLOP/s)")
        rows.append(Row("conv", f"{case.label}: fwd / matmul", fwd, f"{fwd:.2f}", ">=",
                        0.75, detail=detail))
        rows.append(Row("conv", f"{case.label}: f+b / matmul", fb, f"{fb:.2f}", ">=", 0.65))
    return rows


def compare_with_torch(ctx: Context, group: str, case: ConvCase,
                       targets: dict[str, Optional[float]]) -> list[Row]:
    """minipaddle / PyTorch time ratios of ``case``; ``targets`` maps "fwd"/"f+b" to the
    largest passing ratio (None: informational)."""
    layer = ConvNetwork(case, np.random.default_rng(0))
    t = interleave(layer.sides(case, ctx.torch), ctx.rounds)
    rows = []
    for kind, limit in targets.items():
        figure = f"{case.label}: {kind} time / PyTorch"
        op = None if limit is None else "<="
        mine = t[f"mp {kind}"]
        theirs = t.get(f"torch {kind}")
        if theirs is None:
            rows.append(Row(group, figure, None, "-", op, limit,
                            detail=f"minipaddle {ms(mine)}"))
            continue
        ratio = mine / theirs
        rows.append(Row(group, figure, ratio, f"{ratio:.2f}", op, limit,
                        detail=f"minipaddle {ms(mine)}, PyTorch {ms(theirs)}"))
    return rows


def bench_grouped(ctx: Context) -> list[Row]:
    rows = []
    for groups, label in ((4, "grouped g4"), (128, "depthwise g128")):
        case = ConvCase(f"{label} 128->128 3x3 pad 1, 28x28, N 32", 32, 128, 28, 28, 128, 3,
                        padding=1, groups=groups, repeats=1 if groups == 4 else 3)
        rows += compare_with_torch(ctx, "grouped", case, {"f+b": 1.5, "fwd": 1.5})
    return rows


def bench_transposed(ctx: Context) -> list[Row]:
    case = ConvCase("transposed 64->32 4x4/2 pad 1, 16x16, N 32", 32, 64, 16, 16, 32, 4,
                    stride=2, padding=1, transposed=True, repeats=5)
    expected = (32, 32, 32, 32)
    shape = ConvNetwork(case, np.random.default_rng(0)).shape
    if tuple(shape) != expected:
        raise ValueError(f"minipaddle's transposed conv gives {shape}, expected {expected}")
    if ctx.torch:
        reply = ctx.torch.request(**case.torch_command(False))
        if tuple(reply.get("shape", ())) != expected:
            raise ValueError(f"PyTorch's transposed conv gives {reply}, expected {expected}")
    return compare_with_torch(ctx, "transposed", case, {"f+b": 1.5, "fwd": 1.5})


def bench_pool(ctx: Context) -> list[Row]:
    from minipaddle.kernels.pool import pool2d_backward, pool2d_forward

    case = POOL_CASE
    n, c, h, w, k, stride = (case[key] for key in ("n", "c", "h", "w", "k", "stride"))
    out = (h - k) // stride + 1
    x = np.random.default_rng(0).standard_normal((n, c, h, w), dtype=np.float32)
    copy = np.empty_like(x)
    dy = np.random.default_rng(1).standard_normal((n, c, out, out), dtype=np.float32)
    label = f"{k}x{k}/{stride} pool, {h}x{w}, N {n} C {c}"
    sides = {"pass": lambda: elapsed(lambda: np.copyto(copy, x), 5)}
    outputs = {}
    for kind in ("max", "avg"):
        args = dict(kind=kind, kernel=(k, k), stride=(stride, stride), padding=(0, 0),
                    output_size=(out, out))
        outputs[kind] = pool2d_forward(x, **args)
        sides[f"{kind} fwd"] = (lambda a=args: elapsed(lambda: pool2d_forward(x, **a)))
        sides[f"{kind} bwd"] = (lambda a=args, kind=kind: elapsed(
            lambda: pool2d_backward(x, outputs[kind], dy, **a)))
    if ctx.torch:
        for backward in (False, True):
            sides[f"torch {'f+b' if backward else 'fwd'}"] = (
                lambda b=backward: ctx.torch.seconds(case="pool", kind="max", backward=b,
                                                     **case))
    t = interleave(sides, ctx.rounds)
    rows = []
    for kind in ("max", "avg"):
        for part in ("fwd", "bwd"):
            passes = t[f"{kind} {part}"] / t["pass"]
            rows.append(Row("pool", f"{kind} {label}: {part} in full passes", passes,
                            f"{passes:.1f} ({ms(t[f'{kind} {part}'])})", "<=", 10))
    mine = t["max fwd"] + t["max bwd"]
    if "torch f+b" in t:
        ratio = mine / t["torch f+b"]
        rows.append(Row("pool", f"max {label}: f+b time / PyTorch", ratio, f"{ratio:.3f}", "<=",
                        1.0, detail=f"minipaddle {ms(mine)}, PyTorch {ms(t['torch f+b'])} "
                                    f"(forward {ms(t['torch fwd'])}); a full pass "
                                    f"{ms(t['pass'])}"))
    else:
        rows.append(Row("pool", f"max {label}: f+b time / PyTorch", None, "-", "<=", 1.0,
                        detail=f"minipaddle {ms(mine)}; a full pass {ms(t['pass'])}"))
    return rows


SHARE_KINDS = {"pool": "pool", "batch_norm": "batch norm", "exconv": "conv",
               "cudnn_conv": "conv", "exconvt": "conv", "cudnn_convt": "conv", "fc": "fc"}
TARGETED = ("pool", "batch norm", "activation", "optimizer")


def step_shares(name: str, batch: int, steps: int, rounds: int) -> tuple[dict, bool, float]:
    """Median share of the step's wall time per kind, whether activations were timed apart,
    and the median step time."""
    step = TrainingStep(name)
    feed = step.synthetic_feed(batch)
    step(feed, batch)                       # warm-up
    shares: dict[str, list[float]] = {}
    totals, separate = [], False
    for _ in range(rounds):
        forward: dict[str, float] = {}
        backward_: dict[str, float] = {}
        seconds = {"optimizer": 0.0}
        start = time.perf_counter()
        for _ in range(steps):
            seconds["optimizer"] += step(feed, batch, forward, backward_)
        total = time.perf_counter() - start
        for timings in (forward, backward_):
            for key, s in timings.items():
                if key.endswith("/activation"):
                    kind, separate = "activation", True
                else:
                    kind = SHARE_KINDS.get(step.net.configs[key].type, "other layers")
                seconds[kind] = seconds.get(kind, 0.0) + s
        seconds["framework"] = total - sum(seconds.values())
        totals.append(total / steps)
        for kind, s in seconds.items():
            shares.setdefault(kind, []).append(s / total)
    return {k: float(np.median(v)) for k, v in shares.items()}, separate, float(np.median(totals))


def bench_shares(ctx: Context) -> list[Row]:
    rows = []
    for name, batch, steps in (("lenet", LENET_BATCH, ctx.steps), ("small_vgg", VGG_BATCH,
                                                                     ctx.vgg_steps)):
        shares, separate, step_time = step_shares(name, batch, steps, ctx.rounds)
        kinds = TARGETED if separate else tuple(k for k in TARGETED if k != "activation")
        together = sum(shares.get(k, 0.0) for k in kinds)
        measured = "{:.1f}%: {}".format(100 * together, ", ".join(
            f"{k} {100 * shares.get(k, 0.0):.1f}" for k in kinds))
        if not separate:
            measured += " (activations counted in their layers)"
        others = ", ".join(f"{k} {100 * v:.1f}%" for k, v in sorted(shares.items(),
                                                                     key=lambda kv: -kv[1]))
        rows.append(Row("shares", f"{name} step, batch {batch}: pool+bn+act+opt together",
                        100 * together, measured, "<", 20, "%",
                        detail=f"step {ms(step_time)}: {others}"))
    return rows


def bench_memory(ctx: Context) -> list[Row]:
    with tempfile.TemporaryDirectory() as save_dir, tempfile.TemporaryFile("w+") as log:
        command = [sys.executable, "-m", "minipaddle.cli", "train", "model_zoo/lenet.yaml",
                   "--data", "mnist5k", "--num-passes", "1", "--seed", "1", "--save-dir",
                   save_dir, "--quiet"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(child.pid, 0)      # this child's own peak, KiB on Linux
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if child.returncode:
            log.seek(0)
            raise RuntimeError(f"{' '.join(command)} exited {child.returncode}:\n{log.read()}")
    peak = usage.ru_maxrss / 1024
    return [Row("memory", "peak RSS, minipaddle train lenet, 1 pass", peak, f"{peak:.0f} MB",
                "<", 400, " MB", detail=f"{wall:.1f} s wall, mnist5k, batch 64")]


def bench_parse(ctx: Context) -> list[Row]:
    path = ROOT / "model_zoo" / "vgg16.yaml"
    seconds = median_seconds(lambda: minipaddle.parse_config(path), ctx.rounds)
    return [Row("parse", "parse + validate vgg16.yaml", 1e3 * seconds,
                f"{1e3 * seconds:.1f} ms", "<", 50, " ms")]


def bench_v2(ctx: Context) -> list[Row]:
    import minipaddle.v2 as paddle
    from minipaddle.train.trainer import Trainer

    paddle.init(seed=1, trainer_count=min(2, os.cpu_count() or 1))
    img = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    conv = img
    for filters in (20, 50):
        conv = paddle.networks.simple_img_conv_pool(
            input=conv, filter_size=5, num_filters=filters, num_channel=conv.num_filters or 1,
            pool_size=2, pool_stride=2, act=paddle.activation.Relu())
    hidden = paddle.layer.fc(input=conv, size=500, act=paddle.activation.Relu())
    predict = paddle.layer.fc(input=hidden, size=10, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=predict, label=label)
    optimizer = paddle.optimizer.Momentum(momentum=0.9, learning_rate=0.02 / 64,
                                          regularization=paddle.optimizer.L2Regularization(0.032))
    sgd = paddle.trainer.SGD(cost=cost, parameters=paddle.parameters.create(cost),
                             update_equation=optimizer)
    # the loop alone: the same network and optimizer, on the CPU backend's default threads
    loop = Trainer(minipaddle.TrainerConfig(model_config=sgd.get_topology_proto(),
                                            opt_config=optimizer.opt_config), None, seed=1)
    train, _ = load_dataset("mnist5k")
    images, labels = train.images[:1024].reshape(1024, 784), train.labels[:1024]
    samples = [(images[i] * 2 - 1, int(labels[i])) for i in range(len(labels))]
    feeds = [{"pixel": np.stack([s[0] for s in samples[i:i + LENET_BATCH]]),
              "label": labels[i:i + LENET_BATCH]} for i in range(0, 1024, LENET_BATCH)]
    reader = paddle.batch(lambda: iter(samples), LENET_BATCH)
    medians = interleave({
        "v2": lambda: elapsed(lambda: sgd.train(reader, 1, event_handler=lambda e: None)),
        "loop": lambda: elapsed(lambda: loop.train_one_pass(iter(feeds)))}, ctx.rounds)
    ratio = medians["v2"] / medians["loop"]
    return [Row("v2", "LeNet pass: paddle.trainer.SGD / the Trainer loop", ratio,
                f"{ratio:.3f}", "<=", 1.05,
                detail=f"v2 {ms(medians['v2'])}, loop {ms(medians['loop'])} per pass of 1,024")]


def bench_mpi(ctx: Context) -> list[Row]:
    from distributed import bench_mpi as rows

    return rows(ctx, Row, interleave, ms)


BENCHES = {"lenet": bench_lenet, "models": bench_models, "conv": bench_conv,
           "grouped": bench_grouped, "transposed": bench_transposed, "pool": bench_pool,
           "shares": bench_shares, "memory": bench_memory,
           "parse": bench_parse, "v2": bench_v2, "mpi": bench_mpi}

# ---------------------------------------------------------------------------------------------


def environment(worker: Optional[TorchWorker]) -> dict:
    pools = [{k: info.get(k) for k in ("user_api", "internal_api", "version", "architecture",
                                       "num_threads")}
             for info in threadpoolctl.threadpool_info()]
    return {"python": sys.version.split()[0], "numpy": np.__version__, "threadpools": pools,
            **cpu_model(),
            "cpu_count": os.cpu_count(), "cpu_affinity": len(os.sched_getaffinity(0)),
            "torch": worker.version if worker is not None else None,
            "torch_threads": worker.threads if worker is not None else None}


def cpu_model() -> dict:
    """The CPU's model name and whether it has AVX-512 (``lscpu``'s avx512f flag), from
    /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"cpu": "", "avx512f": None}
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return {"cpu": fields.get("model name", ""),
            "avx512f": "avx512f" in fields.get("flags", "").split()}


def print_environment(env: dict) -> None:
    print(f"python {env['python']}, numpy {env['numpy']}, {env['cpu_count']} CPUs "
          f"({env['cpu_affinity']} usable), float32")
    if env.get("cpu"):
        print(f"  cpu: {env['cpu']}, avx512f {'yes' if env['avx512f'] else 'no'}")
    for pool in env["threadpools"]:
        print(f"  {pool['user_api']}: {pool['internal_api']} {pool['version'] or ''} "
              f"{pool['architecture'] or ''}, {pool['num_threads']} threads")
    if env["torch"]:
        print(f"torch {env['torch']} ({env['torch_threads']} threads, in bench/torch_worker.py)")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per median (default 7)")
    parser.add_argument("--steps", type=int, default=20,
                        help="LeNet training steps per round (default 20)")
    parser.add_argument("--quick", action="store_true",
                        help="3 rounds, 5 LeNet steps: a smoke test, not a measurement")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated row groups: {', '.join(GROUPS)}")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    selected = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = [g for g in selected if g not in BENCHES]
    if unknown:
        parser.error(f"unknown row group(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(GROUPS)}")
    rounds, steps = (min(args.rounds, 3), min(args.steps, 5)) if args.quick else (args.rounds,
                                                                                   args.steps)
    ctx = Context(rounds=rounds, steps=steps, vgg_steps=1, model_steps=1 if args.quick else 2)
    # the CPU backend, made once here, tunes malloc as every compiled network's run does
    # (runtime/backend.py _keep_freed_memory): the kernel-only rows (pool) then run under the
    # same allocator settings whichever groups run before them
    get_backend("cpu")
    if TORCH_GROUPS & set(selected):
        ctx.worker = TorchWorker()
    ctx.environment = environment(ctx.worker)
    print_environment(ctx.environment)
    if ctx.worker is not None and not ctx.worker.available:
        print(NO_TORCH)
        print(f"  ({ctx.worker.error})")
    print(f"medians of {rounds} rounds{' (--quick)' if args.quick else ''}, "
          f"{steps} LeNet steps a round\n", flush=True)

    rows: list[Row] = []
    try:
        # memory first: nothing else runs beside the child then
        for group in sorted(selected, key=lambda g: g != "memory"):
            try:
                rows += BENCHES[group](ctx)
            except Exception as exc:  # one broken row group must not hide the others
                traceback.print_exc()
                message = f"{type(exc).__name__}: {exc}"
                rows.append(Row(group, f"{group} row group", None, message.splitlines()[0][:70],
                                error=message))
    finally:
        if ctx.worker is not None:
            ctx.worker.close()
    rows.sort(key=lambda r: GROUPS.index(r.group))
    print_table(rows)
    if args.json:
        payload = {"environment": ctx.environment, "rounds": rounds, "steps": steps,
                   "rows": [dict(asdict(r), target=r.target, result=r.result) for r in rows]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
