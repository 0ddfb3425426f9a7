"""Where a DSL call comes from, and the signature check every public DSL class gets.

A leaf of floor 2 (it imports no other DSL module), so that the activations, poolings,
attributes and optimizers can use it as well as the layer-function decorator in ``base.py``.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import sys
import sysconfig
from contextvars import ContextVar
from typing import Any, Callable, Optional

from ..config import ConfigError

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: frames in these folders are never "the user's call": minipaddle, pydantic, the standard
#: library and installed packages.
_LIBRARY_DIRS = tuple(dict.fromkeys(
    [_PACKAGE_DIR + os.sep]
    + [os.path.dirname(os.path.abspath(sys.modules[m].__file__)) + os.sep
       for m in ("pydantic", "pydantic_core") if m in sys.modules]
    + [os.path.abspath(sysconfig.get_paths()[k]) + os.sep
       for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in sysconfig.get_paths()]))


class _Call:
    """The DSL call being executed: function, layer name (once known)."""

    def __init__(self, function: str, layer: Optional[str]):
        self.function = function
        self.layer = layer


_CALL: ContextVar[Optional[_Call]] = ContextVar("minipaddle_dsl_call", default=None)
#: set while a YAML file drives the DSL: the reader names file, entry and key itself.
DATA_SOURCE: ContextVar[bool] = ContextVar("minipaddle_dsl_data_source", default=False)


def library_file(filename: str) -> bool:
    """Whether code in ``filename`` is minipaddle's, pydantic's, the standard library's or an
    installed package's, never the user's."""
    return filename.startswith("<frozen") or os.path.abspath(filename).startswith(_LIBRARY_DIRS)


def user_location() -> Optional[str]:
    """``file:line`` of the innermost stack frame outside minipaddle (and pydantic), or None
    inside a DSL call (whose wrapper locates the error itself)."""
    if _CALL.get() is not None:
        return None
    return user_frame()


def user_frame() -> Optional[str]:
    """``file:line`` of the innermost stack frame in the user's code, or None."""
    frame = sys._getframe(1)
    while frame is not None:
        if not library_file(frame.f_code.co_filename):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def close_match(word: str, options: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options``, or an empty string."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def bind_error(what: str, sig: inspect.Signature, args: tuple, kwargs: dict) -> Optional[str]:
    """Why ``args``/``kwargs`` do not fit ``sig`` (whose first parameter is ``self``), in the
    words of a DSL function's errors, or None when they fit."""
    params = [p for p in list(sig.parameters.values())[1:]
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    names = [p.name for p in params]
    known = f"; known arguments: {', '.join(names)}" if names else "; it takes no arguments"
    open_ended = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    for key in kwargs:
        if key not in names and not open_ended:
            return f"{what}: unknown argument {key!r}{close_match(key, names)}{known}"
    try:
        sig.bind(None, *args, **kwargs)
    except TypeError as err:
        text = str(err)
        if text.startswith("missing a required argument: "):
            return f"{what}: missing required argument {text.split(': ', 1)[1]}"
        if "too many positional" in text:
            if not names:
                return f"{what}: takes no arguments, got {len(args)}"
            return (f"{what}: takes at most {len(names)} positional argument(s) "
                    f"({', '.join(names)}), got {len(args)}")
        return f"{what}: {text}"
    return None


def checked_init(cls: type) -> None:
    """Give ``cls.__init__`` (when ``cls`` defines one) the argument errors of a DSL function:
    an unknown keyword (with a did-you-mean), too many positional arguments or a missing one
    is a ConfigError naming the class and the user's ``file:line``, not a TypeError. Called by
    the ``__init_subclass__`` of the public DSL base classes."""
    init: Callable[..., Any] = cls.__dict__.get("__init__")  # type: ignore[assignment]
    if init is None or getattr(init, "__minipaddle_checked__", False):
        return
    sig = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        # checked at the outermost __init__ only (a subclass's own super().__init__ calls are
        # ours, not the user's)
        outermost = next(c for c in type(self).__mro__ if "__init__" in c.__dict__)
        problem = bind_error(type(self).__name__, sig, args, kwargs) \
            if outermost is cls else None
        if problem is not None:
            raise ConfigError(problem, where=user_location())
        init(self, *args, **kwargs)

    __init__.__minipaddle_checked__ = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]
