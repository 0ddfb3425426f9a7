"""Paddle's binary protobuf format for the config messages (``SerializeToString`` bytes).

The message types are built at run time from the pydantic models of :mod:`.models`: every
field that carries a Paddle field number (``num(n)`` / ``opt(default, n=n)``) becomes a proto2
field of that number, so a field is declared once, in the model, and no ``protoc`` step exists.
A field left unset in the model (``None``) is absent on the wire and a field set to its default
value is present, so "set to the default" and "never set" survive a round trip, as in Paddle.

Types: ``str`` is ``string``, ``bool`` is ``bool``, a Double is ``double``, a nested model is a
message, a ``list`` is a repeated field (proto2: scalars not packed, as Paddle's ``dims``), and
``int`` is ``int64``: Paddle's fields are uint32, uint64 or int32, whose varint bytes equal
int64's for every value a config holds (below 2**63; negative only in int32 fields).
"""

from __future__ import annotations

import functools
import typing
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from .errors import ConfigError
from .models import PROTO_FLOAT32, PROTO_NUMBER, ProtoModel

PACKAGE = "paddle"


def _number(info: Any) -> Any:
    extra = info.json_schema_extra
    return extra.get(PROTO_NUMBER) if isinstance(extra, dict) else None


def _base(annotation: Any) -> tuple[Any, bool]:
    """(element type, repeated) of a field annotation, Optional[...] unwrapped."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is list:
        return _base(args[0])[0], True
    if origin is typing.Union and len(args) == 1:
        return _base(args[0])
    if origin is typing.Union and set(args) == {int, float}:
        return float, False
    return annotation, False


def _numbered_fields(model: type[ProtoModel]) -> list[tuple[str, int, Any, bool]]:
    fields = []
    for name, info in model.model_fields.items():
        number = _number(info)
        if number is not None:
            element, repeated = _base(info.annotation)
            extra = info.json_schema_extra
            if element is float and isinstance(extra, dict) and extra.get(PROTO_FLOAT32):
                element = _Float32
            fields.append((info.alias or name, number, element, repeated))
    return fields


class _Float32(float):
    """Marks a Paddle ``float`` field (32 bits on the wire) among the numbered fields."""


def _add_message(file_proto: Any, model: type[ProtoModel], seen: set) -> None:
    if model.__name__ in seen:
        return
    seen.add(model.__name__)
    T = descriptor_pb2.FieldDescriptorProto
    scalars = {str: T.TYPE_STRING, bool: T.TYPE_BOOL, float: T.TYPE_DOUBLE, int: T.TYPE_INT64,
               _Float32: T.TYPE_FLOAT}
    message = file_proto.message_type.add(name=model.__name__)
    for name, number, element, repeated in _numbered_fields(model):
        field = message.field.add(name=name, number=number,
                                  label=T.LABEL_REPEATED if repeated else T.LABEL_OPTIONAL)
        if isinstance(element, type) and issubclass(element, ProtoModel):
            field.type = T.TYPE_MESSAGE
            field.type_name = f".{PACKAGE}.{element.__name__}"
            _add_message(file_proto, element, seen)
        else:
            field.type = scalars[element]


@functools.lru_cache(maxsize=None)
def message_class(model: type[ProtoModel]) -> Any:
    """The protobuf message class of a config model (and of the models it nests)."""
    file_proto = descriptor_pb2.FileDescriptorProto(
        name=f"minipaddle/{model.__name__}.proto", package=PACKAGE, syntax="proto2")
    _add_message(file_proto, model, set())
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"{PACKAGE}.{model.__name__}"))


def _fill(message: Any, model: ProtoModel) -> None:
    for name, _, element, repeated in _numbered_fields(type(model)):
        value = getattr(model, name)
        if value is None:
            continue
        nested = isinstance(element, type) and issubclass(element, ProtoModel)
        if repeated and nested:
            for item in value:
                _fill(getattr(message, name).add(), item)
        elif repeated:
            getattr(message, name).extend(value)
        elif nested:
            _fill(getattr(message, name), value)
            getattr(message, name).SetInParent()
        else:
            setattr(message, name, value)


def _values(message: Any, model: type[ProtoModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, _, element, repeated in _numbered_fields(model):
        nested = isinstance(element, type) and issubclass(element, ProtoModel)
        if repeated:
            items = list(getattr(message, name))
            if items or model.model_fields[name].default is not None:
                values[name] = [_values(i, element) for i in items] if nested else items
        elif message.HasField(name):
            value = getattr(message, name)
            values[name] = _values(value, element) if nested else value
    return values


def to_protobin(model: ProtoModel) -> bytes:
    """``model`` as the bytes Paddle's ``SerializeToString()`` writes."""
    message = message_class(type(model))()
    _fill(message, model)
    return message.SerializeToString()


def from_protobin(model: type[ProtoModel], data: bytes, where: str = "message") -> Any:
    """A config model from Paddle's binary bytes; a ConfigError naming ``where`` when the
    bytes are not such a message."""
    message = message_class(model)()
    try:
        message.ParseFromString(bytes(data))
    except DecodeError as err:
        raise ConfigError(f"{where}: not a binary {model.__name__} ({err})") from None
    try:
        return model.model_validate(_values(message, model))
    except ValueError as err:
        raise ConfigError(f"{where}: invalid {model.__name__}: {err}") from None
