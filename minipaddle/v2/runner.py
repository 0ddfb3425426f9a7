"""``minipaddle run PROGRAM.py [ARGS...]``: run a Paddle v2 program unchanged on minipaddle.

For this run only, ``paddle``, ``paddle.v2`` (and every submodule) and
``paddle.trainer_config_helpers`` resolve to minipaddle; nothing is installed, so an installed
PaddlePaddle is untouched.  The program runs as ``python PROGRAM.py ARGS...`` would: as
``__main__``, with its real ``__file__``, its folder first on ``sys.path`` and
``sys.argv == [PROGRAM, ARGS...]``; its exit status is passed on.  For the programs of the
Python 2 era, ``xrange`` is ``range`` during the run.

Errors: every exception the program ends with is one line naming the program's file and line
(the innermost line of the user's own code): a mistake minipaddle detects (a wrong argument, a
feed of the wrong width, a name that does not exist) in minipaddle's words, Python 2 syntax or
names saying so, any other exception as its type and message.  ``minipaddle --debug run`` (or
``MINIPADDLE_DEBUG=1``, as for every command) prints the full traceback instead.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.abc
import os
import pkgutil
import sys
import sysconfig
import traceback
import types
import warnings
from typing import Any, Iterator, Optional, Sequence

import minipaddle
import minipaddle.v2 as v2

from ..config import ConfigError
from ..dsl.parse import paddle_helpers_alias

PACKAGE_DIR = os.path.dirname(os.path.abspath(minipaddle.__file__)) + os.sep
LIBRARY_DIRS = tuple(os.path.realpath(p) + os.sep for p in {
    sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})
#: Python 2 names and modules a program of the era may use, and what replaced them
PY2_NAMES = {"unicode": "str", "basestring": "str", "long": "int", "raw_input": "input",
             "unichr": "chr", "reduce": "functools.reduce", "file": "open",
             "execfile": "exec(open(...).read())", "cmp": "a key function"}
PY2_MODULES = {"cPickle": "pickle", "StringIO": "io", "cStringIO": "io", "Queue": "queue",
               "urllib2": "urllib.request", "ConfigParser": "configparser",
               "commands": "subprocess", "Tkinter": "tkinter", "httplib": "http.client"}
PY2_ATTRIBUTES = ("iteritems", "itervalues", "iterkeys", "has_key")
#: modules besides paddle.v2's own that a v2-era program imports
EXTRA_ALIASES = {"paddle.trainer.PyDataProvider2": "minipaddle.v2.data_type"}


class _PaddleFinder(importlib.abc.MetaPathFinder):
    """Answers ``paddle.*`` names minipaddle does not provide with a clear ImportError."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.split(".")[0] == "paddle" and fullname not in sys.modules:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: minipaddle run provides paddle.v2 and "
                "paddle.trainer_config_helpers (PaddlePaddle's other packages are not part of "
                "minipaddle)", name=fullname)
        return None


def _v2_modules() -> dict[str, types.ModuleType]:
    """``paddle.v2...`` name -> the minipaddle module, every submodule imported."""
    found = {"paddle.v2": v2}
    for info in pkgutil.walk_packages(v2.__path__, "minipaddle.v2."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name.endswith(".runner"):
            continue
        module = __import__(info.name, fromlist=["_"])
        found["paddle.v2." + info.name[len("minipaddle.v2."):]] = module
    for alias, real in EXTRA_ALIASES.items():
        found[alias] = __import__(real, fromlist=["_"])
    return found


@contextlib.contextmanager
def paddle_aliases() -> Iterator[None]:
    """``paddle``, ``paddle.v2...`` and ``paddle.trainer_config_helpers`` resolve to minipaddle
    inside the block; ``sys.modules`` and ``sys.meta_path`` are restored after it."""
    modules = _v2_modules()
    saved = {name: sys.modules.get(name) for name in [*modules, "paddle.trainer"]}
    finder = _PaddleFinder()
    with paddle_helpers_alias():
        paddle = sys.modules["paddle"]
        had_v2, old_v2 = hasattr(paddle, "v2"), getattr(paddle, "v2", None)
        trainer = types.ModuleType("paddle.trainer", "minipaddle's stand-in")
        trainer.__path__ = []  # type: ignore[attr-defined]
        trainer.PyDataProvider2 = modules["paddle.trainer.PyDataProvider2"]  # type: ignore
        sys.modules.update(modules)
        sys.modules["paddle.trainer"] = trainer
        paddle.v2 = modules["paddle.v2"]  # type: ignore[attr-defined]
        paddle.trainer = trainer  # type: ignore[attr-defined]
        sys.meta_path.insert(0, finder)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
            if had_v2:
                paddle.v2 = old_v2  # type: ignore[attr-defined]
            else:
                with contextlib.suppress(AttributeError):
                    del paddle.v2


@contextlib.contextmanager
def _program_state(program: str, args: Sequence[str]) -> Iterator[types.ModuleType]:
    """``__main__``, ``sys.argv``, ``sys.path[0]``, one-line warnings and ``xrange`` for the
    run; everything restored afterwards."""
    main = types.ModuleType("__main__")
    main.__file__ = os.path.abspath(program)
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    saved_main, saved_argv, saved_path = sys.modules.get("__main__"), sys.argv, list(sys.path)
    saved_show = warnings.showwarning
    added_xrange = not hasattr(builtins, "xrange")
    sys.modules["__main__"] = main
    sys.argv = [program, *args]
    sys.path.insert(0, os.path.dirname(os.path.realpath(program)))
    warnings.showwarning = _one_line_warning
    if added_xrange:
        builtins.xrange = range  # type: ignore[attr-defined]
    try:
        yield main
    finally:
        if added_xrange:
            del builtins.xrange  # type: ignore[attr-defined]
        warnings.showwarning = saved_show
        sys.path[:] = saved_path
        sys.argv = saved_argv
        if saved_main is None:
            sys.modules.pop("__main__", None)
        else:
            sys.modules["__main__"] = saved_main


def _one_line_warning(message: Any, category: Any, filename: str, lineno: int,
                      file: Any = None, line: Any = None) -> None:
    print(f"minipaddle: warning: {message}", file=file or sys.stderr)


def run_program(program: str, args: Sequence[str] = (), debug: bool = False) -> int:
    """Run ``program`` as ``python program args...`` would, with paddle resolved to
    minipaddle; returns its exit status.  ``debug``: a failure prints its full traceback
    instead of one line."""
    try:
        with open(program, "rb") as f:
            source = f.read()
    except OSError as err:
        print(f"minipaddle: error: cannot open {program}: {err.strerror or err}",
              file=sys.stderr)
        return 2
    try:
        with paddle_aliases(), _program_state(program, args) as main:
            code = compile(source, program, "exec")
            exec(code, main.__dict__)  # noqa: S102 - running the user's program is the point
    except SystemExit as exit_:
        return _exit_status(exit_)
    except KeyboardInterrupt:
        print("minipaddle: interrupted", file=sys.stderr)
        return 130
    except BaseException as err:  # noqa: BLE001 - every failure of the program is reported
        _report(err, program, debug)
        return 1
    return 0


def _exit_status(exit_: SystemExit) -> int:
    code = exit_.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _is_library(filename: str) -> bool:
    path = os.path.realpath(filename)
    return filename.startswith("<") or (path.startswith(LIBRARY_DIRS)
                                        and not path.startswith(PACKAGE_DIR))


def _frames(err: BaseException) -> list[traceback.FrameSummary]:
    """The traceback from the program's first frame on (the runner's own frames dropped)."""
    frames = traceback.extract_tb(err.__traceback__)
    here = os.path.abspath(__file__)
    while frames and os.path.abspath(frames[0].filename) == here:
        frames.pop(0)
    return list(frames)


def _report(err: BaseException, program: str, debug: bool) -> None:
    frames = _frames(err)
    if debug:
        traceback.print_exception(type(err), err, err.__traceback__)
        return
    user = [f for f in frames if not f.filename.startswith(PACKAGE_DIR)
            and not _is_library(f.filename)]
    where = f"{user[-1].filename}:{user[-1].lineno}" if user else program
    line = _python2_hint(err, where) or f"{where}: {_message(err)}"
    print(f"minipaddle: error: {line} (minipaddle --debug run ... shows the traceback)",
          file=sys.stderr)


def _message(err: BaseException) -> str:
    text = err.args[0] if isinstance(err, KeyError) and err.args else err
    text = " ".join(str(text).split())
    if isinstance(err, ConfigError) and err.where:
        text = err.reason          # the location is the user's line, given in front
    return text if isinstance(err, (ConfigError, ValueError, TypeError, KeyError,
                                    NotImplementedError, AttributeError)) \
        else f"{type(err).__name__}: {text}"


def _python2_hint(err: BaseException, where: str) -> Optional[str]:
    if isinstance(err, SyntaxError):
        place = f"{err.filename}:{err.lineno}"
        msg = err.msg or ""
        if "Missing parentheses in call to 'print'" in msg:
            return (f"Python 2 syntax at {place}: a print statement; convert the print "
                    "statements to print(...) calls (minipaddle runs Python 3)")
        if "Missing parentheses in call to 'exec'" in msg or "multiple exception types" in msg \
                or "leading zeros" in msg:
            return f"Python 2 syntax at {place}: {msg} (minipaddle runs Python 3)"
        return f"{place}: syntax error: {msg}"
    if isinstance(err, NameError) and getattr(err, "name", None) in PY2_NAMES:
        return (f"Python 2 name {err.name!r} at {where}; use {PY2_NAMES[err.name]} "
                "(minipaddle runs Python 3)")
    if isinstance(err, ModuleNotFoundError) and err.name in PY2_MODULES:
        return (f"Python 2 module {err.name!r} imported at {where}; use "
                f"{PY2_MODULES[err.name]} (minipaddle runs Python 3)")
    if isinstance(err, AttributeError) and getattr(err, "name", None) in PY2_ATTRIBUTES:
        return (f"Python 2 method {err.name!r} at {where}; use items() / values() / keys() / "
                "'in' (minipaddle runs Python 3)")
    return None
