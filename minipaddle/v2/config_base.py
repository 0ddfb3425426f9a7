"""``paddle.v2.config_base``: a v2 layer *is* a v1 ``LayerOutput`` (Paddle 0.11's design).

``__layer_map__`` records, by name, every layer a ``paddle.layer`` call returned (what
``get_layer`` finds); :func:`data_type_of` tells the input type ``paddle.layer.data`` attached to
a data layer.  ``paddle.init`` starts both afresh with a new network definition.
"""

from __future__ import annotations

from typing import Any, Optional

from ..dsl import LayerOutput
from .data_type import InputType

Layer = LayerOutput

__layer_map__: dict[str, LayerOutput] = {}
#: id(data layer) -> (the layer, its input type); keyed by identity, as the layer itself
_data_types: dict[int, tuple[LayerOutput, InputType]] = {}


def register(result: Any) -> Any:
    """Record every LayerOutput in a layer function's result; return the result."""
    items = result if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if isinstance(item, LayerOutput):
            __layer_map__[item.name] = item
    return result


def set_data_type(layer: LayerOutput, input_type: InputType) -> None:
    _data_types[id(layer)] = (layer, input_type)


def data_type_of(layer: LayerOutput) -> Optional[InputType]:
    entry = _data_types.get(id(layer))
    return entry[1] if entry is not None and entry[0] is layer else None


def reset() -> None:
    """Forget the recorded layers (a new network definition)."""
    __layer_map__.clear()
    _data_types.clear()


__all__ = ["Layer"]
