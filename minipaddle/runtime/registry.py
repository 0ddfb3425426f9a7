"""The runtime-layer registry: (LayerConfig.type, backend) -> runtime layer class.

``compile(device=...)`` chooses the backend, the layer type chooses the algorithm.  A runtime
layer type is one class with a ``@register("type")`` line, in a module of
``minipaddle/runtime/layers/`` (found by :func:`discover`: nothing lists them) or anywhere
else that is imported before ``compile``; its config-side facts (output shape, parameter
shapes, label inputs, GPU substitution) are declared with
:func:`minipaddle.config.layers.declare`.

A class registered without a backend runs on every backend (its kernels take the backend's
array module: NumPy on the CPU, CuPy on the GPU).  A registration for one backend takes
precedence there, e.g. the cuDNN conv type on ``"gpu"`` is a cuDNN class while the im2col
conv is the shared class on both.  On the CPU a type with no class of its own (a GPU
algorithm) runs as the type its facts name in ``runs_as``, which ``compile`` reports in one
warning.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Iterable, Mapping, Optional, TypeVar

from ..config import ConfigError
from ..config.layers import declared, facts_of

T = TypeVar("T", bound=type)

#: the backend of a registration that runs on every backend
ANY = "*"

_LAYERS: dict[tuple[str, str], type] = {}


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


def unregister(*layer_types: str, backend: str = ANY) -> None:
    """Undo :func:`register` (a type defined for a while only, as in a test)."""
    for layer_type in layer_types:
        _LAYERS.pop((layer_type, backend), None)


def discover(package: str, path: Iterable[str]) -> None:
    """Import every module of a package of runtime layers (their ``@register`` lines fill
    the registry)."""
    for info in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{info.name}")


def _implementation(layer_type: str, backend: str) -> Optional[type]:
    return _LAYERS.get((layer_type, backend)) or _LAYERS.get((layer_type, ANY))


#: the backend on which a GPU algorithm without a class of its own runs as its facts'
#: ``runs_as`` (another backend refuses it; the GPU backend substitutes on its own terms)
FALLBACK_BACKEND = "cpu"


def _substitute(layer_type: str, backend: str) -> Optional[str]:
    """The type a type without a class on ``backend`` runs as there (its facts' runs_as)."""
    if backend != FALLBACK_BACKEND or _implementation(layer_type, backend) is not None:
        return None
    return facts_of(layer_type).runs_as


def known_types(backend: str) -> list[str]:
    own = {t for t, b in _LAYERS if b in (backend, ANY)}
    return sorted(own | {t for t in declared() if t not in own and _substitute(t, backend)})


def lookup(layer_type: str, backend: str, layer_name: str,
           substitutes: Optional[Mapping[str, str]] = None) -> tuple[type, str | None]:
    """(runtime class, the type it runs as when that differs from ``layer_type``).
    ``substitutes`` are the backend's fallbacks of the moment (type -> type it runs as), e.g.
    the GPU backend's ``cudnn_conv -> exconv`` when cuDNN is not installed."""
    runs_as = (substitutes or {}).get(layer_type) or _substitute(layer_type, backend)
    target = runs_as or layer_type
    cls = _implementation(target, backend)
    if cls is None:
        raise ConfigError(f"layer {layer_name!r}: type {layer_type!r} has no implementation on "
                          f"the {backend} backend; known types: "
                          f"{', '.join(known_types(backend))}", layer=layer_name)
    return cls, runs_as
