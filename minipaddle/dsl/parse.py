"""parse_config: Python config files, callables, model-zoo YAML and resolved dumps ->
TrainerConfig."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import types
from pathlib import Path
from typing import Any, Callable, Iterator, Union

from ..config import ConfigError, TrainerConfig, from_document, read_yaml_file
from .calls import library_file
from .context import ParseContext, fresh_context
from .graph import model_config_of
from .optimizers import opt_config_of
from .raw import config_namespace, syntax_error_message
from .zoo import read_model_document

PADDLE_HELPERS = "paddle.trainer_config_helpers"
PADDLE_SUBMODULES = ("layers", "networks", "activations", "poolings", "attrs", "optimizers",
                     "evaluators", "data_sources", "default_decorators", "config_parser_utils",
                     "layer_math", "utils")

Source = Union[str, os.PathLike, Callable[[], Any], dict]


def trainer_config_of(ctx: ParseContext) -> TrainerConfig:
    trainer = {"save_dir": "./output/model", "start_pass": 0, **ctx.trainer_settings}
    return TrainerConfig(model_config=model_config_of(ctx), opt_config=opt_config_of(ctx),
                         data_config=ctx.data_config, test_data_config=ctx.test_data_config,
                         **{k: v for k, v in trainer.items() if v is not None})


def parse_config(source: Source, config_args: Any = "") -> TrainerConfig:
    """Resolve a network definition into a TrainerConfig.

    ``source`` is a Python config file (``from paddle.trainer_config_helpers import *`` works
    unchanged), a zero-argument callable making DSL calls, a model-zoo YAML file or an already
    loaded ``kind: model`` mapping, or a resolved dump (``kind: trainer_config``, loaded as is).
    Name counters, settings and global parameter defaults start afresh on every call.
    """
    if isinstance(source, dict):
        return _from_document(source, "<mapping>", config_args)
    if callable(source) and not isinstance(source, (str, os.PathLike)):
        with fresh_context(config_args) as ctx:
            source()
            return trainer_config_of(ctx)
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"parse_config takes a file path, a callable or a mapping, got "
                          f"{type(source).__name__}")
    path = Path(source)
    if path.is_dir():
        raise ConfigError("is a directory, not a config file", where=str(path))
    if not path.exists():
        raise ConfigError("no such config file", where=str(path))
    suffix = path.suffix.lower()
    if suffix in (".py", ".conf"):     # Paddle's .conf files are Python configs too
        return _from_python_file(path, config_args)
    if suffix in (".yaml", ".yml"):
        return _from_document(read_yaml_file(path), str(path), config_args)
    if suffix == ".json":
        try:
            doc = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as err:
            raise ConfigError(f"invalid JSON: {err}", where=str(path)) from None
        return _from_document(doc, str(path), config_args)
    raise ConfigError(f"unknown config file type {suffix!r}: expected .py, .conf, .yaml, "
                      ".yml or .json", where=str(path))


def _from_document(doc: Any, source: str, config_args: Any) -> TrainerConfig:
    if not isinstance(doc, dict):
        raise ConfigError(f"expected a mapping with a 'kind' key at the top level, got "
                          f"{type(doc).__name__}", where=source)
    kind = doc.get("kind")
    if kind == "model":
        with fresh_context(config_args) as ctx:
            read_model_document(doc, source)
            return trainer_config_of(ctx)
    if kind == "trainer_config":
        return from_document(doc, source)  # type: ignore[return-value]
    raise ConfigError(f"kind {kind!r} cannot be parsed: expected 'model' (a model-zoo "
                      "network) or 'trainer_config' (a resolved dump)", where=source)


def _from_python_file(path: Path, config_args: Any) -> TrainerConfig:
    try:
        code = compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as err:
        raise ConfigError(syntax_error_message(err), where=f"{path}:{err.lineno}") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file: {err.strerror}", where=str(path)) from None
    namespace = config_namespace(str(path))
    with fresh_context(config_args) as ctx, paddle_helpers_alias(), _on_path(path.parent):
        _run_config(code, namespace, path)
        return trainer_config_of(ctx)


def _run_config(code: types.CodeType, namespace: dict, path: Path) -> None:
    """Execute a Python config. Whatever it raises becomes one ConfigError naming the user's
    file and line (the innermost frame of the user's own code) and the exception; the original
    stays chained as ``__cause__`` (``minipaddle --debug`` shows its traceback). A
    NotImplementedError stays one, with that location as its ``where``."""
    try:
        exec(code, namespace)  # noqa: S102 - a config file is Python by definition
    except ConfigError as err:
        raise err.located(_user_line(err.__traceback__) or str(path))
    except NotImplementedError as err:
        # our refusal of a Paddle name we lack keeps its type and message; the location
        # travels beside it (the command line prints it in front)
        err.where = _user_line(err.__traceback__) or str(path)  # type: ignore[attr-defined]
        raise
    except Exception as err:  # noqa: BLE001 - the user's code may raise anything
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        raise ConfigError(text, where=_user_line(err.__traceback__) or str(path)) from err


def _user_line(tb: types.TracebackType | None) -> str | None:
    """``file:line`` of the innermost traceback frame in the user's code (not minipaddle's,
    the standard library's or an installed package's)."""
    where = None
    while tb is not None:
        if not library_file(tb.tb_frame.f_code.co_filename):
            where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


@contextlib.contextmanager
def _on_path(folder: Path) -> Iterator[None]:
    entry = str(folder.resolve())
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def _helpers_module() -> types.ModuleType:
    from .. import dsl  # noqa: PLC0415  (a cycle: the dsl package imports this module)

    module = types.ModuleType(PADDLE_HELPERS, "minipaddle's DSL standing in for "
                              "paddle.trainer_config_helpers while a config is parsed")
    for name in dsl.__all__:
        setattr(module, name, getattr(dsl, name))
    module.__all__ = list(dsl.__all__)  # type: ignore[attr-defined]
    return module


@contextlib.contextmanager
def paddle_helpers_alias() -> Iterator[None]:
    """Make ``paddle.trainer_config_helpers`` (and its submodules) resolve to minipaddle's
    DSL for the duration of a parse, then restore ``sys.modules`` exactly: no global
    ``paddle`` package is left behind to shadow a real PaddlePaddle."""
    helpers = _helpers_module()
    names = [PADDLE_HELPERS] + [f"{PADDLE_HELPERS}.{s}" for s in PADDLE_SUBMODULES]
    saved = {name: sys.modules.get(name) for name in ["paddle", *names]}
    paddle = sys.modules.get("paddle")
    created = paddle is None
    if created:
        paddle = types.ModuleType("paddle", "placeholder package while a Paddle v1 config "
                                  "is parsed by minipaddle")
        paddle.__path__ = []  # type: ignore[attr-defined]
        sys.modules["paddle"] = paddle
    had_attr = hasattr(paddle, "trainer_config_helpers")
    old_attr = getattr(paddle, "trainer_config_helpers", None)
    for name in names:
        sys.modules[name] = helpers
    setattr(paddle, "trainer_config_helpers", helpers)
    for sub in PADDLE_SUBMODULES:     # a helper of that name (layer_math) stays itself
        setattr(helpers, sub, getattr(helpers, sub, helpers))
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        if not created:
            if had_attr:
                setattr(paddle, "trainer_config_helpers", old_attr)
            else:
                with contextlib.suppress(AttributeError):
                    delattr(paddle, "trainer_config_helpers")
