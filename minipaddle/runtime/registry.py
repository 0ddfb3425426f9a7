"""The runtime-layer registry: (LayerConfig.type, backend) -> runtime layer class.

``compile(device=...)`` chooses the backend, the layer type chooses the algorithm.  Adding a
layer type is one runtime module plus one ``@register(...)`` line; nothing else changes.

A class registered without a backend runs on every backend (its kernels take the backend's
array module: NumPy on the CPU, CuPy on the GPU).  A registration for one backend takes
precedence there, e.g. ``cudnn_conv`` on ``"gpu"`` is a cuDNN class while ``exconv`` is the
shared im2col class on both.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional, TypeVar

from ..config import ConfigError

T = TypeVar("T", bound=type)

#: the backend of a registration that runs on every backend
ANY = "*"

_LAYERS: dict[tuple[str, str], type] = {}
#: (algorithm type, backend) -> the type whose implementation runs it there, e.g. cuDNN's
#: ``cudnn_conv`` runs as ``exconv`` on the CPU (with a warning naming the layers).
_FALLBACKS: dict[tuple[str, str], str] = {}


def register(*layer_types: str, backend: str = ANY) -> Callable[[T], T]:
    """Class decorator: the class runs these LayerConfig types on ``backend`` (every backend
    by default)."""

    def decorate(cls: T) -> T:
        for layer_type in layer_types:
            key = (layer_type, backend)
            if key in _LAYERS and _LAYERS[key] is not cls:
                where = "every backend" if backend == ANY else f"backend {backend!r}"
                raise RuntimeError(f"layer type {layer_type!r} is registered twice for "
                                   f"{where}")
            _LAYERS[key] = cls
        return cls

    return decorate


def register_fallback(layer_type: str, runs_as: str, backend: str = "cpu") -> None:
    _FALLBACKS[(layer_type, backend)] = runs_as


def known_types(backend: str) -> list[str]:
    return sorted({t for t, b in _LAYERS if b in (backend, ANY)}
                  | {t for t, b in _FALLBACKS if b == backend})


def lookup(layer_type: str, backend: str, layer_name: str,
           substitutes: Optional[Mapping[str, str]] = None) -> tuple[type, str | None]:
    """(runtime class, the type it runs as when that differs from ``layer_type``).
    ``substitutes`` are the backend's fallbacks of the moment (type -> type it runs as), e.g.
    the GPU backend's ``cudnn_conv -> exconv`` when cuDNN is not installed."""
    runs_as = (substitutes or {}).get(layer_type) or _FALLBACKS.get((layer_type, backend))
    target = runs_as or layer_type
    cls = _LAYERS.get((target, backend)) or _LAYERS.get((target, ANY))
    if cls is None:
        raise ConfigError(f"layer {layer_name!r}: type {layer_type!r} has no implementation on "
                          f"the {backend} backend; known types: "
                          f"{', '.join(known_types(backend))}", layer=layer_name)
    return cls, runs_as
