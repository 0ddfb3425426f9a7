"""Backends: where arrays live and which array module the kernels run on.

The CPU backend runs the kernels on NumPy.  A GPU backend (CuPy, cuDNN) will plug in here and
in the registry; the network loop never branches on the device.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ..config import ConfigError
from ..kernels.activations import ACTIVATIONS

IDENTITY = ("", "linear")


class Backend:
    """Device placement and array conversions for one array module."""

    name = "abstract"
    xp: Any = None

    def asarray(self, values: Any, dtype: Any) -> Any:
        """A new or converted array of ``dtype`` on this backend."""
        return self.xp.asarray(values, dtype=dtype)

    def asarray_like(self, value: Any) -> Any:
        """A fed value on this backend, dtype unchanged."""
        return self.xp.asarray(value)

    def to_output(self, array: Any) -> Any:
        """An array the caller owns (never aliasing a buffer a later call overwrites)."""
        return np.array(array, copy=True)

    def activation(self, active_type: str,
                   layer: str) -> Optional[tuple[Callable[..., Any], Callable[..., Any]]]:
        """(forward, backward) of an activation, None for the identity."""
        if active_type in IDENTITY:
            return None
        try:
            return ACTIVATIONS[active_type]
        except KeyError:
            known = ", ".join(repr(k) for k in sorted(ACTIVATIONS))
            raise ConfigError(f"layer {layer!r}: activation {active_type!r} is not supported "
                              f"by the {self.name} backend; known: {known}",
                              layer=layer) from None


class CPUBackend(Backend):
    name = "cpu"
    xp = np


def get_backend(device: str) -> Backend:
    if device == "cpu":
        return CPUBackend()
    if device == "gpu":
        raise ConfigError("device='gpu' needs the GPU backend, which is not available in this "
                          "installation: it requires an NVIDIA GPU with CuPy (pip install "
                          "'minipaddle[gpu]') and is not implemented yet; use device='cpu'")
    raise ConfigError(f"unknown device {device!r}; expected 'cpu' or 'gpu'")
