"""The GPU backend: parameters and activations on an NVIDIA GPU as CuPy arrays.

Every layer type runs its shared runtime class on CuPy (the kernels take the array module), so
the GPU computes the same maths as the CPU; the registry adds the GPU's own classes
(:mod:`.layers.cudnn`): the cuDNN conv types through cuDNN, and the cuDNN batch-norm and pool
types without a substitution warning.  Random numbers (initial parameters, dropout
masks) are drawn on the host and copied, so a CPU and a GPU network of one seed start equal.

``GPUBackend(xp=numpy)`` runs all of it with NumPy standing in for CuPy: the GPU code paths are
tested on any machine (cuDNN is then missing unless a stand-in ``cudnn`` module is given).
CuPy is imported only when a ``GPUBackend()`` is made; importing this module (the runtime
package does) registers the backend as ``device="gpu"``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..config import ConfigError
from ..config.layers import declared
from ..kernels.gpu.cudnn import ConvGraphs, frontend
from . import layers as _layers  # noqa: F401  (the shared runtime layers)
from .backend import Backend, register_backend
from .layers import cudnn as _gpu_layers  # noqa: F401  (registers the GPU layer classes)

INSTALL_HINT = "pip install 'minipaddle[gpu]'"
UNAVAILABLE = "device='gpu' needs the GPU backend, which is not available"


def import_cupy() -> Any:
    """The ``cupy`` module with at least one CUDA device, or a ConfigError saying why not."""
    try:
        import cupy  # noqa: PLC0415  (optional dependency)
    except Exception as err:  # ImportError, or a CUDA library failing to load
        raise ConfigError(f"{UNAVAILABLE} in this installation: CuPy cannot be imported "
                          f"({type(err).__name__}: {err}); it requires an NVIDIA GPU with CuPy "
                          f"({INSTALL_HINT}); use device='cpu'") from None
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
        why = "no CUDA device"
    except Exception as err:  # no driver: CUDARuntimeError
        count, why = 0, f"{type(err).__name__}: {err}"
    if count < 1:
        raise ConfigError(f"{UNAVAILABLE} on this machine: CuPy is installed but finds no GPU "
                          f"({why}); use device='cpu'")
    return cupy


class GPUBackend(Backend):
    """CuPy arrays on the current CUDA device; one batch slice, no worker threads (the GPU
    is the parallelism).

    ``xp``: the array module (default: CuPy, imported now); ``numpy`` stands in for CuPy.
    ``cudnn``: the cuDNN Frontend module (default: ``import cudnn`` when ``xp`` is CuPy; a
    stand-in with the same graph API may be given for tests).  ``allow_tf32``: let cuDNN pick
    TF32 tensor-core engines for float32 convolutions (default off: float32 results then match
    the CPU's within float32 rounding).
    """

    name = "gpu"

    def __init__(self, xp: Any = None, cudnn: Any = None, allow_tf32: bool = False):
        super().__init__()
        self.xp = import_cupy() if xp is None else xp
        #: NumPy stands in for CuPy (the GPU code paths on the host)
        self.standin = self.xp is np
        self.allow_tf32 = allow_tf32
        self.cudnn: Optional[Any] = cudnn
        #: why cuDNN is missing (None when it is there)
        self.cudnn_missing: Optional[str] = None
        if cudnn is None:
            if self.standin:
                self.cudnn_missing = ("NumPy stands in for CuPy, and cuDNN computes on CUDA "
                                      "arrays only")
            else:
                self.cudnn, self.cudnn_missing = frontend()
        self._graphs: Optional[ConvGraphs] = None

    def conv_graphs(self) -> ConvGraphs:
        """The cuDNN convolution graphs of this backend (made on first use)."""
        if self._graphs is None:
            self._graphs = ConvGraphs(self.xp, self.cudnn, allow_tf32=self.allow_tf32)
        return self._graphs

    def substitutes(self) -> dict[str, str]:
        if self.cudnn is not None:
            return {}
        return {t: f.runs_as for t, f in declared().items() if f.needs_cudnn}

    def substitution_warning(self, listing: str) -> str:
        return (f"cuDNN is not available to the gpu backend ({self.cudnn_missing}): running "
                f"the cuDNN layer types with the im2col kernels on the GPU ({listing})")

    def synchronize(self) -> None:
        if not self.standin:
            self.xp.cuda.get_current_stream().synchronize()

    def memory_bytes(self) -> Optional[int]:
        if self.standin:
            return None
        return int(self.xp.cuda.Device().mem_info[1])

    def __repr__(self) -> str:
        module = "NumPy stand-in" if self.standin else self.xp.__name__
        cudnn = "cuDNN" if self.cudnn is not None else "no cuDNN"
        return f"GPUBackend({module}, {cudnn})"


register_backend("gpu", GPUBackend)
