"""data_layer."""

from __future__ import annotations

from typing import Optional

from ...config import LayerConfig
from ..attrs import LayerAttrArg
from ..base import LayerOutput, PosInt, Size, dsl_function, fail, make_output
from ..params import apply_layer_attr


@dsl_function(named=False)
def data_layer(name: str, size: Size, depth: Optional[PosInt] = None,
               height: Optional[PosInt] = None, width: Optional[PosInt] = None,
               layer_attr: LayerAttrArg = None) -> LayerOutput:
    """An input slot of ``size`` values per sample; height and width (both) make it an image."""
    values = {"name": name, "type": "data", "size": size, "active_type": ""}
    apply_layer_attr(values, layer_attr, ())
    num_filters = None
    if (height is None) != (width is None):
        raise fail("height" if height is None else "width", None,
                   "give both height and width (or neither) for an image data layer")
    if height is not None and width is not None:
        values["height"], values["width"] = height, width
        pixels = height * width * (depth or 1)
        if size % pixels:
            raise fail("size", size, f"must be a multiple of height x width"
                       f"{' x depth' if depth else ''} = {pixels}")
        num_filters = size // pixels
    if depth is not None:
        values["depth"] = depth
    return make_output(LayerConfig(**values), [], "data", num_filters=num_filters)
