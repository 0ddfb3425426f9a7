"""Unpickling data files without running code: only the names a format needs are found."""

from __future__ import annotations

import codecs
import copyreg
import pickle
from typing import Any, Callable

#: what protocol-2 pickles of plain data refer to (Python 2's names included)
PLAIN_DATA: dict[tuple[str, str], Any] = {
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
    ("__builtin__", "object"): object, ("builtins", "object"): object,
    ("_codecs", "encode"): codecs.encode,          # bytes pickled by Python 3 at protocol 2
}


class RestrictedUnpickler(pickle.Unpickler):
    """Finds only ``PLAIN_DATA``, ``allowed`` and the names ``accept(module, name)`` admits;
    anything else is an UnpicklingError naming it and ``what`` the file should hold."""

    def __init__(self, file: Any, what: str, allowed: dict[tuple[str, str], Any] | None = None,
                 accept: Callable[[str, str], bool] | None = None, **kwargs: Any):
        super().__init__(file, **kwargs)
        self.what = what
        self.allowed = {**PLAIN_DATA, **(allowed or {})}
        self.accept = accept

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        if self.accept is not None and self.accept(module, name):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{self.what} holds no {module}.{name}")
