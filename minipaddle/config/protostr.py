"""Paddle v1's protobuf text format (what ``paddle.utils.dump_config`` printed), spec section 9.

Fields print in proto field-number order (the models declare them in that order), unset fields
are skipped, repeated fields print once per element, doubles print as Python 2's ``str(float)``
(12 significant digits, always with a decimal point or an exponent).
"""

from __future__ import annotations

import math
from typing import Any

from .models import ProtoModel


def format_double(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = "%.12g" % value
    if "." not in text and "e" not in text and "n" not in text:
        text += ".0"
    return text


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _emit(message: ProtoModel, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    for name, info in type(message).model_fields.items():
        value = getattr(message, name)
        if value is None:
            continue
        key = info.alias or name
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ProtoModel):
                out.append(f"{pad}{key} {{")
                _emit(item, indent + 1, out)
                out.append(f"{pad}}}")
            else:
                out.append(f"{pad}{key}: {_scalar(item)}")


def to_protostr(message: ProtoModel) -> str:
    """The message in protobuf text format, ending with a blank line as dump_config printed."""
    out: list[str] = []
    _emit(message, 0, out)
    return "\n".join(out) + "\n\n"
