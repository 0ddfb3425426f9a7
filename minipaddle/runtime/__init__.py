"""Floor 3: how a config runs. ``compile()`` turns a ModelConfig into a Network; a registry
keyed by (LayerConfig.type, backend) picks the runtime layer binding parameters to kernels.
Imports floors 0 and 1."""

from . import gpu  # noqa: F401  (registers the "gpu" backend; CuPy is imported on use)
from .network import Gradients, Network, Parameters, compile  # noqa: A004

__all__ = ["Gradients", "Network", "Parameters", "compile"]
