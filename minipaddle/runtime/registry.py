"""The runtime-layer registry: (LayerConfig.type, backend) -> runtime layer class.

``compile(device=...)`` chooses the backend, the layer type chooses the algorithm.  Adding a
layer type is one runtime module plus one ``@register(...)`` line; nothing else changes.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from ..config import ConfigError

T = TypeVar("T", bound=type)

_LAYERS: dict[tuple[str, str], type] = {}
#: (algorithm type, backend) -> the type whose implementation runs it there, e.g. cuDNN's
#: ``cudnn_conv`` runs as ``exconv`` on the CPU (with a warning naming the layers).
_FALLBACKS: dict[tuple[str, str], str] = {}


def register(*layer_types: str, backend: str = "cpu") -> Callable[[T], T]:
    """Class decorator: the class runs these LayerConfig types on ``backend``."""

    def decorate(cls: T) -> T:
        for layer_type in layer_types:
            key = (layer_type, backend)
            if key in _LAYERS and _LAYERS[key] is not cls:
                raise RuntimeError(f"layer type {layer_type!r} is registered twice for "
                                   f"backend {backend!r}")
            _LAYERS[key] = cls
        return cls

    return decorate


def register_fallback(layer_type: str, runs_as: str, backend: str = "cpu") -> None:
    _FALLBACKS[(layer_type, backend)] = runs_as


def known_types(backend: str) -> list[str]:
    return sorted({t for t, b in _LAYERS if b == backend}
                  | {t for t, b in _FALLBACKS if b == backend})


def lookup(layer_type: str, backend: str, layer_name: str) -> tuple[type, str | None]:
    """(runtime class, the type it runs as when that differs from ``layer_type``)."""
    runs_as = _FALLBACKS.get((layer_type, backend))
    try:
        return _LAYERS[(runs_as or layer_type, backend)], runs_as
    except KeyError:
        raise ConfigError(f"layer {layer_name!r}: type {layer_type!r} has no implementation on "
                          f"the {backend} backend; known types: "
                          f"{', '.join(known_types(backend))}", layer=layer_name) from None
