"""The model-zoo YAML reader: a ``kind: model`` file is the DSL in data form.

Each entry of ``layers`` is one DSL function name mapped to its keyword arguments; layers are
referred to by name (a network helper's entry name refers to the LayerOutput it returned);
activations and pool types by short name; ``param_attr``/``bias_attr``/``layer_attr`` and
``settings.learning_method`` as mappings.  Entries go through the same DSL functions as Python
configs, so validation is identical; errors also name the file, the entry and the key.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from typing import Any, Callable, Optional

from ..config import ConfigError
from .base import DATA_SOURCE, REGISTRY, LayerOutput
from .context import current
from .graph import inputs as declare_inputs
from .graph import outputs as declare_outputs

SCHEMA_VERSION = 1
TOP_KEYS = ("schema_version", "kind", "name", "description", "settings", "layers", "inputs",
            "outputs")
NOT_LAYER_ENTRIES = ("settings",)


def _layer_arguments(fn: Callable[..., Any]) -> set[str]:
    """Arguments of a DSL function that take layers (their YAML values are layer names)."""
    cached = getattr(fn, "__minipaddle_layer_args__", None)
    if cached is None:
        hints = typing.get_type_hints(fn.__wrapped__)
        cached = {k for k, v in hints.items() if k != "return" and "LayerOutput" in repr(v)}
        fn.__minipaddle_layer_args__ = cached  # type: ignore[attr-defined]
    return cached


class _Reader:
    def __init__(self, doc: Any, source: str):
        self.doc = doc
        self.source = source
        self.names: dict[str, LayerOutput] = {}
        self.entry_of: dict[str, int] = {}
        self.defined_later: dict[str, int] = {}

    def error(self, where: str, message: str) -> ConfigError:
        return ConfigError(message, where=f"{self.source}: {where}")

    # -- top level ---------------------------------------------------------------------------
    def read(self) -> None:
        doc = self.doc
        if not isinstance(doc, dict):
            raise ConfigError(f"a model file is a mapping with keys {', '.join(TOP_KEYS)}; "
                              f"got {type(doc).__name__}", where=self.source)
        unknown = [k for k in doc if k not in TOP_KEYS]
        if unknown:
            raise self.error(f"key {unknown[0]!r}", f"unknown top-level key {unknown[0]!r}"
                             f"{_suggest(str(unknown[0]), TOP_KEYS)}; allowed: "
                             f"{', '.join(TOP_KEYS)}")
        if doc.get("kind") != "model":
            raise self.error("key 'kind'", f"kind is {doc.get('kind')!r}; a model-zoo file "
                             "says 'kind: model'")
        version = doc.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:
            raise self.error("key 'schema_version'",
                             f"schema_version {version!r} is not supported; "
                             f"expected {SCHEMA_VERSION}")
        for key in ("name", "description"):
            if key in doc and not isinstance(doc[key], str):
                raise self.error(f"key {key!r}", f"{key} must be a string, got "
                                 f"{type(doc[key]).__name__}")
        settings = doc.get("settings")
        if settings is not None:
            if not isinstance(settings, dict):
                raise self.error("settings", "settings must be a mapping of settings() "
                                 "arguments")
            self.call("settings", REGISTRY["settings"], dict(settings), "settings")
        layers = doc.get("layers")
        if not isinstance(layers, list) or not layers:
            raise self.error("key 'layers'", "layers must be a non-empty list of entries "
                             "'- function_name: {arguments}'")
        self.index_names(layers)
        for i, entry in enumerate(layers):
            self.read_entry(i, entry)
        if "inputs" in doc:
            self.declare("inputs", declare_inputs, self.refs("inputs", "inputs", doc["inputs"]))
        if "outputs" not in doc:
            raise self.error("key 'outputs'", "outputs is required: the names of the "
                             "network's output (usually cost) layers")
        outputs = self.refs("outputs", "outputs", doc["outputs"])
        if not outputs:
            raise self.error("key 'outputs'", "outputs must name at least one layer")
        self.declare("outputs", declare_outputs, outputs)

    def declare(self, key: str, fn: Callable[..., Any], layers: Any) -> None:
        try:
            fn(layers)
        except ConfigError as err:
            raise ConfigError(err.reason, layer=err.layer, argument=key,
                              where=f"{self.source}: key {key!r}") from None

    def index_names(self, layers: list) -> None:
        for i, entry in enumerate(layers):
            if isinstance(entry, dict) and len(entry) == 1:
                args = next(iter(entry.values()))
                if isinstance(args, dict) and isinstance(args.get("name"), str):
                    self.defined_later.setdefault(args["name"], i)

    # -- entries -----------------------------------------------------------------------------
    def read_entry(self, i: int, entry: Any) -> None:
        where = f"layers[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise self.error(where, "each entry is a mapping of one DSL function name to its "
                             f"arguments, e.g. '- fc_layer: {{input: x, size: 10}}'; got "
                             f"{_brief(entry)}")
        (fn_name, kwargs), = entry.items()
        if not isinstance(fn_name, str):
            raise self.error(where, f"the function name must be a string, got {fn_name!r}")
        where = f"layers[{i}] ({fn_name})"
        fn = REGISTRY.get(fn_name)
        if fn is None or fn_name in NOT_LAYER_ENTRIES:
            known = sorted(k for k in REGISTRY if k not in NOT_LAYER_ENTRIES)
            raise self.error(where, f"unknown layer function {fn_name!r}"
                             f"{_suggest(fn_name, known)}")
        if kwargs is None:
            kwargs = {}
        if not isinstance(kwargs, dict):
            raise self.error(where, f"the arguments of {fn_name} must be a mapping, got "
                             f"{_brief(kwargs)}")
        for key in kwargs:
            if not isinstance(key, str):
                raise self.error(where, f"argument names must be strings, got {key!r}")
        name = kwargs.get("name")
        if isinstance(name, str):
            where = f"layers[{i}] ({fn_name} {name!r})"
            if name in self.entry_of:
                raise self.error(f"{where}, key 'name'",
                                 f"duplicate name {name!r}: layers[{self.entry_of[name]}] "
                                 "already defines it")
        kwargs = dict(kwargs)
        if "name" in kwargs and not isinstance(kwargs["name"], (str, type(None))):
            raise self.error(f"{where}, key 'name'", f"name must be a string, got "
                             f"{_brief(kwargs['name'])}")
        if "name" in kwargs and "name" not in inspect.signature(fn).parameters:
            # Helpers such as small_vgg take no name: the entry's name only labels what
            # they return, for later entries to refer to.
            del kwargs["name"]
        for key in _layer_arguments(fn) & set(kwargs):
            kwargs[key] = self.refs(f"{where}, key {key!r}", key, kwargs[key], i)
        result = self.call(where, fn, kwargs, where)
        if isinstance(result, LayerOutput):
            if isinstance(name, str):
                self.names[name] = result
                self.entry_of[name] = i
            self.names.setdefault(result.name, result)

    def call(self, where: str, fn: Callable[..., Any], kwargs: dict, label: str) -> Any:
        token = DATA_SOURCE.set(True)
        try:
            return fn(**kwargs)
        except ConfigError as err:
            key = f", key {err.argument!r}" if err.argument else ""
            raise ConfigError(err.reason, layer=err.layer, argument=err.argument,
                              where=f"{self.source}: {label}{key}") from None
        finally:
            DATA_SOURCE.reset(token)

    def refs(self, where: str, key: str, value: Any, index: Optional[int] = None) -> Any:
        """Layer names -> LayerOutputs (a name, or a list of names)."""
        if isinstance(value, list):
            return [self.ref(where, key, v, index) for v in value]
        return self.ref(where, key, value, index)

    def ref(self, where: str, key: str, value: Any, index: Optional[int]) -> Any:
        if not isinstance(value, str):
            if value is None:
                return None
            raise self.error(where, f"{key} takes layer names, got {_brief(value)}")
        found = self.names.get(value) or current().layer_outputs.get(value)
        if found is not None:
            return found
        later = self.defined_later.get(value)
        if later is not None and (index is None or later >= index):
            if index is not None and later == index:
                raise self.error(where, f"layer {value!r} refers to itself")
            raise self.error(where, f"layer {value!r} is defined later, at layers[{later}]; "
                             "a layer must be defined before it is used (no cycles)")
        raise self.error(where, f"no layer named {value!r}"
                         f"{_suggest(value, list(self.names))}")


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _brief(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 60 else text[:57] + '...'}"


def read_model_document(doc: Any, source: str = "<model>") -> None:
    """Run a ``kind: model`` document's DSL calls in the current parse context."""
    _Reader(doc, source).read()
