"""Runtime layers, one module per family; every module of this package is imported (found
by the registry's discovery, not listed here), which fills the registry."""

from ..registry import discover

discover(__name__, __path__)
