"""The layer functions, one module per family, found by discovery: a module here exports
every ``@dsl_function`` it defines (and the aliases of one, such as ``regression_cost``), so a
new layer function is written in its family's module and nothing lists it again."""

import importlib
import pkgutil

from ..base import REGISTRY

__all__: list[str] = []
for _info in pkgutil.iter_modules(__path__):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    _registered = set(map(id, REGISTRY.values()))
    for _name, _value in vars(_module).items():
        if (not _name.startswith("_") and id(_value) in _registered
                and getattr(_value, "__module__", None) == _module.__name__):
            globals()[_name] = _value
            __all__.append(_name)
__all__ = sorted(set(__all__))
