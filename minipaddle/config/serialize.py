"""Lossless YAML and JSON round trips of resolved configs, through a safe, strict YAML loader.

A dump is a mapping with ``schema_version``, ``kind`` (``trainer_config`` or ``model_config``)
and the message's fields.  YAML is read with :class:`StrictLoader`: the safe loader with the YAML
1.2 core schema's scalars (so ``yes``/``no``/``on``/``off`` stay strings, ``010`` is decimal,
``1e-3`` is a float and dates stay strings), no anchors or aliases, no tags beyond the standard
ones, and a size cap.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import ValidationError

from .errors import ConfigError
from .models import ModelConfig, ProtoModel, TrainerConfig

SCHEMA_VERSION = 1
KINDS: dict[str, type[ProtoModel]] = {"trainer_config": TrainerConfig, "model_config": ModelConfig}
MAX_YAML_BYTES = 16 * 1024 * 1024


class StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and no anchors or aliases."""

    yaml_implicit_resolvers: dict = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed in minipaddle "
                "files: write the value out", event.start_mark)
        return super().compose_node(parent, index)


def _resolver(tag: str, pattern: str, first: str) -> None:
    StrictLoader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))


_resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN\0")
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [None])
_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789")
_resolver("tag:yaml.org,2002:float",
          r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789.")


def _at_node(construct: Any) -> Any:
    """A scalar constructor whose refusal names the value's own line."""

    def wrapped(loader: StrictLoader, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, TypeError, KeyError, OverflowError) as err:
            detail = (f"{err.args[0]!r} is not a value of tag {node.tag}"
                      if isinstance(err, KeyError) else " ".join(str(err).split()))
            raise yaml.constructor.ConstructorError(None, None, detail,
                                                    node.start_mark) from None

    return wrapped


@_at_node
def _int_decimal(loader: StrictLoader, node: yaml.ScalarNode) -> int:
    return int(loader.construct_scalar(node), 10)


def _mapping_without_duplicates(loader: StrictLoader, node: yaml.MappingNode) -> dict:
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None, None, f"expected a mapping, found a {node.id}", node.start_mark)
    loader.flatten_mapping(node)
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"a key must be a plain scalar, not {type(key).__name__} {key!r}",
                key_node.start_mark) from None
        if first is not None:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"duplicate key {key!r} (first at line {first + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=True)


# Only plain data: null, bool, int, float, str, list, mapping.  Every other tag (!!binary,
# !!set, !!timestamp, !!python/..., local tags) has no constructor and is refused.
StrictLoader.yaml_constructors = {
    "tag:yaml.org,2002:null": yaml.SafeLoader.construct_yaml_null,
    "tag:yaml.org,2002:bool": _at_node(yaml.SafeLoader.construct_yaml_bool),
    "tag:yaml.org,2002:int": _int_decimal,
    "tag:yaml.org,2002:float": _at_node(yaml.SafeLoader.construct_yaml_float),
    "tag:yaml.org,2002:str": yaml.SafeLoader.construct_yaml_str,
    "tag:yaml.org,2002:seq": yaml.SafeLoader.construct_yaml_seq,
    "tag:yaml.org,2002:map": _mapping_without_duplicates,
    None: yaml.SafeLoader.construct_undefined,
}
StrictLoader.yaml_multi_constructors = {}


def load_yaml(text: Union[str, bytes], source: str = "<string>") -> Any:
    """Parse YAML text safely; any problem becomes a ConfigError naming ``source`` and line."""
    if isinstance(text, bytes):
        if len(text) > MAX_YAML_BYTES:
            raise ConfigError(f"file is {len(text)} bytes, more than the {MAX_YAML_BYTES} "
                              "allowed for a config", where=source)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(f"not UTF-8 text: byte {err.start} is {text[err.start]:#04x}",
                              where=source) from None
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"text is {len(text)} characters, more than the {MAX_YAML_BYTES} "
                          "allowed for a config", where=source)
    loader = None
    try:
        loader = StrictLoader(text)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = err.problem or str(err)
        if problem.startswith("could not determine a constructor"):
            problem = f"{problem} (only plain YAML data is accepted; tags never run code here)"
        raise ConfigError(f"invalid YAML: {problem}", where=f"{source}{line}") from None
    except yaml.reader.ReaderError as err:
        char = chr(err.character) if isinstance(err.character, int) else err.character
        raise ConfigError(f"invalid YAML: character {char!r} at position {err.position} is not "
                          "allowed (control characters cannot appear in YAML text)",
                          where=source) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"invalid YAML: {' '.join(str(err).split())}", where=source) from None
    except RecursionError:
        raise ConfigError("invalid YAML: lists or mappings nested too deeply",
                          where=source) from None
    except (ValueError, TypeError, KeyError, OverflowError) as err:
        # a constructor refusing a scalar (e.g. '!!int abc', a 5,000-digit integer)
        mark = loader.get_mark() if loader is not None else None
        line = f":{mark.line + 1}" if mark is not None else ""
        detail = (f"{err.args[0]!r} is not a value of its tag" if isinstance(err, KeyError)
                  else " ".join(str(err).split()))
        raise ConfigError(f"invalid YAML value: {detail}", where=f"{source}{line}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: Union[str, Path]) -> Any:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read config file: {err.strerror}", where=str(path)) from None
    return load_yaml(data, str(path))


# ---------------------------------------------------------------------------------------------


def kind_of(config: ProtoModel) -> str:
    for kind, cls in KINDS.items():
        if type(config) is cls:
            return kind
    raise ConfigError(f"cannot serialize a {type(config).__name__}: only "
                      f"{', '.join(c.__name__ for c in KINDS.values())} are documents")


def to_document(config: ProtoModel) -> dict:
    """The plain-data document of a resolved config: schema_version, kind, then the fields."""
    return {"schema_version": SCHEMA_VERSION, "kind": kind_of(config), **config.dump()}


def from_document(doc: Any, source: str = "<document>") -> ProtoModel:
    """Rebuild a config from :func:`to_document`'s output, checking version and kind."""
    if not isinstance(doc, dict):
        raise ConfigError(f"expected a mapping with 'kind' and 'schema_version', got "
                          f"{type(doc).__name__}", where=source)
    doc = dict(doc)
    kind = doc.pop("kind", None)
    version = doc.pop("schema_version", None)
    if kind not in KINDS:
        raise ConfigError(f"kind {kind!r} is not a resolved config; expected one of "
                          f"{sorted(KINDS)}", where=source)
    if version != SCHEMA_VERSION:
        raise ConfigError(f"schema_version {version!r} is not supported; this minipaddle "
                          f"reads schema_version {SCHEMA_VERSION}", where=source)
    try:
        return KINDS[kind].model_validate(doc)
    except ValidationError as err:
        raise ConfigError(f"invalid {kind}: {describe_validation_error(err)}",
                          where=source) from None


def describe_validation_error(err: ValidationError) -> str:
    """Pydantic's errors in our words: 'layers[3].size: expected int, got str "12"'."""
    parts = []
    for e in err.errors():
        loc = ""
        for item in e["loc"]:
            loc += f"[{item}]" if isinstance(item, int) else (f".{item}" if loc else str(item))
        value = e.get("input")
        shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        elif msg.startswith("Input should be "):
            msg = "expected " + msg[len("Input should be "):]
        parts.append(f"{loc}: {msg} (got {shown})" if loc else msg)
    return "; ".join(parts)


def to_yaml(config: ProtoModel) -> str:
    return yaml.safe_dump(to_document(config), sort_keys=False, default_flow_style=False,
                          allow_unicode=True)


def from_yaml(text: Union[str, bytes, Path], source: str | None = None) -> ProtoModel:
    """Load a dump from YAML text (or from a file when given a ``Path``)."""
    if isinstance(text, Path):
        return from_document(read_yaml_file(text), str(text))
    source = source or "<yaml>"
    return from_document(load_yaml(text, source), source)


def to_json(config: ProtoModel, indent: int | None = 2) -> str:
    return json.dumps(to_document(config), indent=indent)


def from_json(text: Union[str, bytes], source: str = "<json>") -> ProtoModel:
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"invalid JSON: {err}", where=source) from None
    return from_document(doc, source)
