"""Runtime layers, one module per family; importing them fills the registry."""

from . import combine, conv, cost, fc, image, norm, pool  # noqa: F401
