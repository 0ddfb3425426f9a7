"""Verify the GPU backend on a machine with an NVIDIA GPU, in one run (docs/gpu.md).

    python bench/gpu_check.py [--wheels DIR] [--out DIR] [--batch 64] [--iterations 20]

1. (``--wheels``) install the carried wheels: pydantic and its parts, threadpoolctl, pytest and
   hypothesis from DIR, and nvidia-cudnn-frontend with ``--no-deps``;
2. the environment (Python, NumPy, CuPy, the device, the cuDNN Frontend and backend versions)
   and one tiny convolution through cuDNN (forward, data and weight gradients) against the
   float64 CPU kernel: the first thing that fails on a new image;
3. the tests/gpu suite against the real CuPy backend (``pytest -k cupy``);
4. LeNet (model_zoo/lenet.yaml): per-layer milliseconds of a training step with the
   algorithm each layer ran (``minipaddle.train.diagnostics.time_layers``) and images/s, on the
   CPU, on the GPU with ``use_gpu=1`` (cudnn_conv) and on the GPU with exconv (im2col + cuBLAS);
   then one mnist5k training pass per device (the second of two, after a warm-up pass).

A bare machine compiles CuPy's kernels on first use: every timing follows a warm-up.  Prints
one report and writes it to ``DIR/gpu_check.txt`` with ``--out`` (or ``$OUT``).  Exits 1 when
a step failed; the later steps still run.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: installed from --wheels with their dependencies (all carried in the same folder)
WHEELS = ["pydantic", "threadpoolctl", "pytest", "hypothesis"]
#: where --wheels installs them (a folder of its own: the image's Python is left as it is)
SITE = Path(os.environ.get("TMPDIR", "/tmp")) / "minipaddle-gpu-site"
#: installed alone: its own dependencies (CUTLASS DSL, TVM FFI) serve other operations
NO_DEPS = "nvidia_cudnn_frontend-*.whl"


class Report:
    def __init__(self, out: str | None = None) -> None:
        self.lines: list[str] = []
        self.failed: list[str] = []
        self.path = None
        if out:  # written line by line: a run killed at its time limit still leaves its report
            Path(out).mkdir(parents=True, exist_ok=True)
            self.path = Path(out) / "gpu_check.txt"
            self.path.write_text("")

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)
        if self.path is not None:
            with self.path.open("a") as stream:
                stream.write(text + "\n")

    def step(self, title: str, fn, *args) -> None:
        self.say(f"\n## {title}")
        start = time.perf_counter()
        try:
            fn(self, *args)
        except Exception:  # report and go on with the next step
            self.failed.append(title)
            for line in traceback.format_exc().rstrip().splitlines():
                self.say(f"    {line}")
        self.say(f"({time.perf_counter() - start:.1f} s)")


def install(report: Report, wheels: str) -> None:
    frontend = glob.glob(os.path.join(wheels, NO_DEPS))
    if not frontend:
        raise FileNotFoundError(f"no {NO_DEPS} in {wheels}")
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--quiet", "--target",
           str(SITE)]
    subprocess.run(pip + ["--find-links", wheels] + WHEELS, check=True)
    subprocess.run(pip + ["--no-deps"] + frontend, check=True)
    use_site()
    report.say(f"installed {', '.join(WHEELS)} and {os.path.basename(frontend[0])} (--no-deps) "
               f"into {SITE}")


def use_site() -> None:
    """Import from the folder --wheels installs into (this process and pytest's)."""
    if SITE.is_dir() and str(SITE) not in sys.path:
        sys.path.insert(1, str(SITE))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), str(SITE), os.environ.get("PYTHONPATH")) if p)
        importlib.invalidate_caches()


def environment(report: Report) -> None:
    import numpy as np
    import cupy

    from minipaddle.kernels import conv as K
    from minipaddle.kernels.gpu.cudnn import ConvGraphs, frontend

    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    report.say(f"python {platform.python_version()}, numpy {np.__version__}, cupy "
               f"{cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}")
    report.say(f"device: {name}, {props['totalGlobalMem'] / 2**30:.0f} GiB")
    cudnn, error = frontend()
    if cudnn is None:
        raise RuntimeError(error)
    report.say(f"cuDNN Frontend {getattr(cudnn, '__version__', '?')}, cuDNN backend "
               f"{cudnn.backend_version()}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 2, 3, 3))                  # groups 2
    dy = rng.standard_normal((2, 6, 4, 6))
    geometry = dict(stride=(2, 1), padding=(1, 1), dilation=(1, 1))
    y_ref = K.conv2d_forward(x, w, groups=2, **geometry)
    dx_ref, dw_ref = K.conv2d_backward(x, w, dy, groups=2, **geometry)
    graphs = ConvGraphs(cupy, cudnn)
    gx, gw, gdy = (cupy.asarray(a, dtype=cupy.float32) for a in (x, w, dy))
    results = {"fprop": (graphs.fprop(gx, gw, **geometry), y_ref),
               "dgrad": (graphs.dgrad(gdy, gw, image_shape=x.shape, **geometry), dx_ref),
               "wgrad": (graphs.wgrad(gx, gdy, weight_shape=w.shape, **geometry), dw_ref)}
    worst = 0.0
    for op, (got, ref) in results.items():
        err = float(np.abs(cupy.asnumpy(got) - ref).max() / np.abs(ref).max())
        worst = max(worst, err)
        report.say(f"tiny conv {op}: max error {err:.2e} of max |value| (float32 vs float64)")
    report.say(f"TF32 engines {'allowed' if graphs.tf32 else 'deselected'}")
    if worst > 1e-4 and not graphs.tf32:
        raise AssertionError(f"cuDNN differs from the CPU kernel by {worst:.2e}")


def test_suite(report: Report) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
               "tests/gpu", "-k", "cupy"]
    report.say("$ " + " ".join(command[1:]))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=420)
    for line in (done.stdout + done.stderr).strip().splitlines()[-25:]:
        report.say(f"    {line}")
    if done.returncode != 0:
        raise RuntimeError(f"pytest exited {done.returncode}")


def lenet_timings(report: Report, batch: int, iterations: int) -> None:
    import minipaddle as mp
    from minipaddle.train.diagnostics import time_layers

    runs = [("cpu", "", "cpu"), ("gpu, cudnn_conv", "use_gpu=1", "gpu"),
            ("gpu, exconv", "", "gpu")]
    rates = {}
    for label, config_args, device in runs:
        config = mp.parse_config(str(ROOT / "model_zoo" / "lenet.yaml"), config_args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            step = time_layers(config.model_config, batch_size=batch, iterations=iterations,
                               seed=1, opt_config=config.opt_config, device=device)
        rates[label] = 1e3 * batch / step.total_ms
        report.say(f"\n{label}: {step.total_ms:.3f} ms per step of {batch} "
                   f"({rates[label]:.0f} images/s), optimizer {step.optimizer_ms:.3f} ms")
        width = max(len(row.algorithm) for row in step.layers)
        report.say(f"    {'layer':12s} {'algorithm':{width}s} {'fwd ms':>8s} {'bwd ms':>8s} "
                   f"{'act ms':>8s}")
        for row in step.layers:
            report.say(f"    {row.layer:12s} {row.algorithm:{width}s} {row.forward_ms:8.3f} "
                       f"{row.backward_ms:8.3f} {row.activation_ms:8.3f}")
    report.say("\nimages/s (training steps): " + ", ".join(
        f"{label} {rate:.0f}" for label, rate in rates.items())
        + f"; gpu (cudnn_conv) / cpu = {rates['gpu, cudnn_conv'] / rates['cpu']:.1f}x")


def lenet_training(report: Report) -> None:
    import minipaddle as mp
    from minipaddle.train.trainer import Trainer

    for label, config_args, device in [("cpu", "", "cpu"), ("gpu", "use_gpu=1", "gpu")]:
        config = mp.parse_config(str(ROOT / "model_zoo" / "lenet.yaml"), config_args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            trainer = Trainer(config, "mnist5k", seed=1, device=device)
            result = trainer.train(2)
        last = result.passes[-1]
        report.say(f"{label}: pass 2 of mnist5k ({len(trainer.train_data)} images) in "
                   f"{last.seconds:.2f} s = {len(trainer.train_data) / last.seconds:.0f} "
                   f"images/s; test accuracy {100 * result.test_accuracy:.2f}%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", default=None, metavar="DIR",
                        help="install the carried wheels from DIR first")
    parser.add_argument("--out", default=os.environ.get("OUT"), metavar="DIR",
                        help="also write the report to DIR/gpu_check.txt (default: $OUT)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    report = Report(args.out)
    report.say(f"# minipaddle GPU check, {time.strftime('%Y-%m-%d %H:%M:%S')}")
    if args.wheels:
        report.step("install", install, args.wheels)
    use_site()
    report.step("environment and one tiny cuDNN convolution", environment)
    report.step("tests/gpu against CuPy", test_suite)
    report.step(f"LeNet training steps, batch {args.batch}", lenet_timings, args.batch,
                args.iterations)
    report.step("LeNet training passes", lenet_training)
    report.say("\n" + ("FAILED: " + ", ".join(report.failed) if report.failed
                       else "all steps passed"))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
