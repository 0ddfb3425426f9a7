"""Running minipaddle under ``mpiexec`` from a test: the launcher beside this Python (the
``mpi`` extra's ``mpich`` package installs it into the environment's bin/), a hang guard that
kills the whole process group, never a timed kill."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minipaddle.train import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MPIEXEC = shutil.which("mpiexec", path=str(BIN)) or shutil.which("mpiexec")
MINIPADDLE = shutil.which("minipaddle", path=str(BIN))
#: a hang guard only: a healthy run takes seconds; never what a test asserts
HANG_GUARD = 300

needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None or MINIPADDLE is None,
    reason="the 'mpi' extra (mpi4py, mpich) is not installed: make test installs it")


def run(args: list[str], env: dict | None = None, cwd: Path | None = None
        ) -> subprocess.CompletedProcess:
    """Run ``args`` in a process group of its own; on the hang guard, kill the group (every
    rank) and fail."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    full_env.pop("MINIPADDLE_TEST_KILL_AT", None)
    full_env.pop("MINIPADDLE_TEST_FAIL_AT", None)
    full_env.update(env or {})
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=full_env, cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(args)} hung for {HANG_GUARD} s:\n{out}\n{err}")
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def mpiexec(n: int, *args: str, launcher: tuple[str, ...] = (), **kw
            ) -> subprocess.CompletedProcess:
    return run([MPIEXEC, *launcher, "-n", str(n), *args], **kw)


def mpmd(*segments: tuple[dict, list[str]], launcher: tuple[str, ...] = (), **kw
         ) -> subprocess.CompletedProcess:
    """One rank per segment: (environment of that rank only, its command line)."""
    line: list[str] = [MPIEXEC, *launcher]
    for i, (env, args) in enumerate(segments):
        line += ([":"] if i else []) + ["-n", "1"]
        for key, value in env.items():
            line += ["-env", key, value]
        line += args
    return run(line, **kw)


def parameters(pass_dir: Path) -> dict[str, np.ndarray]:
    """The parameters of a checkpoint, by name."""
    names = [p.name for p in pass_dir.iterdir()
             if p.is_file() and not p.name.startswith(ckpt.RESERVED_PREFIX)]
    return {n: ckpt.read_paddle_parameter(pass_dir / n) for n in names}


def relative_differences(a: dict, b: dict) -> dict[str, float]:
    """max|a - b| / max|a| per parameter (0 for an all-zero parameter that stays zero)."""
    assert set(a) == set(b)
    out = {}
    for name in a:
        scale = float(np.max(np.abs(a[name]))) or 1.0
        out[name] = float(np.max(np.abs(a[name].astype(np.float64) - b[name]))) / scale
    return out
