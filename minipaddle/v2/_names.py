"""Clear errors for names a v2 program asks for and minipaddle does not have."""

from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable

from .. import dsl


def public_name(module: str, name: str = "") -> str:
    """``minipaddle.v2.layer`` -> ``paddle.v2.layer`` (what a v2 program writes)."""
    text = module.replace("minipaddle.v2", "paddle.v2", 1)
    return f"{text}.{name}" if name else text


def not_implemented(what: str) -> str:
    return (f"{what} is part of Paddle's v2 API but not implemented in minipaddle "
            "(docs/v2.md lists what is)")


def missing_attribute(module: str, known: Iterable[str],
                      paddle_names: Iterable[str] = ()) -> Callable[[str], Any]:
    """A module ``__getattr__``: AttributeError naming the attribute, saying whether Paddle had
    it (and minipaddle not) or suggesting a close known name."""
    known = list(known)
    paddle_names = frozenset(paddle_names)

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        full = public_name(module, name)
        if name in paddle_names:
            raise AttributeError(not_implemented(full))
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise AttributeError(f"{public_name(module)} has no attribute {name!r}{hint}")

    return __getattr__


def unsupported_function(full_name: str) -> Callable[..., Any]:
    """A stand-in for a Paddle function minipaddle lacks: calling it raises
    NotImplementedError naming it."""

    def function(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(not_implemented(full_name))

    function.__name__ = function.__qualname__ = full_name.rsplit(".", 1)[-1]
    function.__doc__ = "Not implemented in minipaddle: calling it raises NotImplementedError."
    return function


def export_v1(namespace: dict, module: str, names: dict[str, str],
              wrap: Callable[[Callable[..., Any], str], Callable[..., Any]] = None) -> list[str]:
    """Put each v2 name of ``names`` (v2 name -> v1 function name) into a module's namespace:
    the v1 DSL function (through ``wrap`` if given) when minipaddle has it, else a stand-in that
    raises NotImplementedError naming it.  Returns the names."""
    supported = set(dsl.__all__) - set(dsl._unsupported.__all__)
    for name, v1 in names.items():
        if v1 in supported:
            function = getattr(dsl, v1)
            namespace[name] = wrap(function, name) if wrap else function
        else:
            namespace[name] = unsupported_function(public_name(module, name))
    return list(names)
