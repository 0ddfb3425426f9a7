"""Shared helpers of the GPU suite (conftest.py holds the ``device`` fixture).

The device side of the CPU-GPU consistency suite, over array modules.

Each test taking ``device`` runs against:

* ``standin``: ``GPUBackend(xp=numpy)``, the GPU code paths with NumPy standing in for CuPy
  (cuDNN types run im2col, as on a GPU without cuDNN) - always;
* ``standin-cudnn``: the same with ``tests/gpu/fake_cudnn.py`` standing in for the cuDNN
  Frontend, so the cuDNN layer classes run (their maths by the im2col kernels) - always;
* ``cupy``: the real GPU backend (CuPy, and cuDNN when ``import cudnn`` works) - skipped, with
  the reason, where CuPy or a CUDA device is missing.

Tolerances (float32, per array): ``max|device - cpu| <= ATOL + RTOL * max|cpu|``.  The CPU sums
a convolution's batch in per-thread chunks, cuBLAS and cuDNN in their own orders, so float32
results differ by rounding: RTOL = 1e-4 with TF32 off (the default), TF32_RTOL = 1e-2 where a
cuDNN frontend cannot filter TF32 engines out (``GPUBackend.conv_graphs().tf32``).
"""

from __future__ import annotations

import numpy as np
import pytest

from minipaddle.runtime.backend import to_host
from minipaddle.runtime.gpu import GPUBackend

from fake_cudnn import FakeCudnn

RTOL = 1e-4
TF32_RTOL = 1e-2
ATOL = 1e-6

DEVICES = ["standin", "standin-cudnn", "cupy"]

_CUPY: dict = {}


def cupy_backend() -> GPUBackend:
    """The real GPU backend (one per session), or a pytest skip naming what is missing."""
    if "backend" not in _CUPY:
        try:
            import cupy
        except Exception as err:  # ImportError, or CUDA libraries failing to load
            _CUPY["skip"] = f"CuPy is not importable ({type(err).__name__}: {err})"
        else:
            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except Exception as err:
                count, why = 0, f"{type(err).__name__}: {err}"
            else:
                why = "no CUDA device"
            if count < 1:
                _CUPY["skip"] = f"CuPy finds no CUDA device ({why})"
            else:
                _CUPY["backend"] = GPUBackend()
        _CUPY.setdefault("backend", None)
    if _CUPY["backend"] is None:
        pytest.skip(f"real GPU run skipped: {_CUPY['skip']}")
    return _CUPY["backend"]


def make_backend(kind: str) -> GPUBackend:
    if kind == "standin":
        return GPUBackend(xp=np)
    if kind == "standin-cudnn":
        return GPUBackend(xp=np, cudnn=FakeCudnn())
    return cupy_backend()


def rtol_of(backend: GPUBackend) -> float:
    graphs = backend._graphs
    return TF32_RTOL if graphs is not None and graphs.tf32 else RTOL


def assert_close(actual, expected, rtol: float, what: str) -> None:
    """``max|actual - expected| <= ATOL + rtol * max|expected|``, both on the host."""
    a = np.asarray(to_host(actual), dtype=np.float64)
    e = np.asarray(to_host(expected), dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} vs {e.shape}"
    if not a.size:
        return
    err = float(np.max(np.abs(a - e)))
    bound = ATOL + rtol * float(np.max(np.abs(e)))
    assert err <= bound, f"{what}: max abs difference {err:.3g} > {bound:.3g}"
