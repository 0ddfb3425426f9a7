"""concat_layer, addto_layer, dropout_layer (spec section 3)."""

from __future__ import annotations

from typing import Annotated, Optional, Union

from pydantic import Field

from ...config.models import Double as Number
from ...config import LayerInputConfig
from ..activations import IdentityActivation
from ..attrs import BiasAttrArg, ExtraLayerAttribute, LayerAttrArg
from ..base import Activation, Layers, LayerOutput, as_list, dsl_function, fail, make_output
from .common import shape_fields
from .mixed import Projection, concat_projections
from ..params import (
    DROPOUT, ERROR_CLIPPING, apply_layer_attr, bias_attr_of, bias_name, create_parameter,
    new_layer_config,
)


@dsl_function(prefix="concat")
def concat_layer(input: Union[Layers, Projection, list[Projection]],
                 act: Optional[Activation] = None, name: Optional[str] = None,
                 layer_attr: LayerAttrArg = None, bias_attr: BiasAttrArg = None) -> LayerOutput:
    """Concatenate the inputs' values (channel-wise for images of equal height and width).
    Like Paddle, the output carries no channel count.  Given projections, the concatenation
    of their outputs (a ``concat2`` layer, dsl/layers/mixed.py)."""
    inputs = as_list(input)
    act = act or IdentityActivation()
    if any(isinstance(term, Projection) for term in inputs):
        return concat_projections(inputs, act, name, layer_attr, bias_attr)
    if not inputs:
        raise fail("input", input, "expected at least one layer")
    if bias_attr:
        raise fail("bias_attr", bias_attr, "concat_layer has no bias")
    shape = shape_fields(inputs[0])
    for other in inputs[1:]:
        if shape_fields(other) != shape:
            mine = shape_fields(other)
            raise fail("input", other,
                       f"height/width/depth {mine['height']}x{mine['width']}x{mine['depth']} "
                       f"differ from the first input {inputs[0].name!r}'s "
                       f"{shape['height']}x{shape['width']}x{shape['depth']}")
    values = {"name": name, "type": "concat", "size": sum(p.size or 0 for p in inputs),
              "active_type": act.name,
              "inputs": [LayerInputConfig(input_layer_name=p.name) for p in inputs], **shape}
    apply_layer_attr(values, layer_attr, DROPOUT + ERROR_CLIPPING)
    return make_output(new_layer_config(**values), inputs, "concat", activation=act)


def _addto(inputs: list[LayerOutput], act: Activation, name: str, bias_attr,
           layer_attr: Optional[ExtraLayerAttribute]) -> LayerOutput:
    if not inputs:
        raise fail("input", inputs, "expected at least one layer")
    size = inputs[0].size
    for other in inputs[1:]:
        if other.size != size:
            raise fail("input", other,
                       f"size {other.size} differs from the first input "
                       f"{inputs[0].name!r}'s size {size}; addto adds equal-sized inputs")
    source = next((p for p in inputs if p.height), inputs[0])
    values = {"name": name, "type": "addto", "size": size, "active_type": act.name,
              "inputs": [LayerInputConfig(input_layer_name=p.name) for p in inputs],
              **shape_fields(source)}
    params = []
    battr = bias_attr_of(bias_attr, has_bias=False)
    if battr is not None:
        bias = create_parameter(battr, bias_name(name), size, [1, size], argument="bias_attr")
        params.append(bias)
        values["bias_parameter_name"] = bias.name
    apply_layer_attr(values, layer_attr, DROPOUT + ERROR_CLIPPING)
    num_filters = None
    for p in inputs:
        if p.num_filters is not None:
            num_filters = p.num_filters
    return make_output(new_layer_config(**values), inputs, "addto", activation=act,
                       num_filters=num_filters, parameters=params)


@dsl_function(prefix="addto")
def addto_layer(input: Layers, act: Optional[Activation] = None, name: Optional[str] = None,
                bias_attr: BiasAttrArg = False, layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Element-wise sum of equal-sized inputs (residual joins); no bias unless asked."""
    return _addto(as_list(input), act or IdentityActivation(), name, bias_attr, layer_attr)


@dsl_function(prefix="dropout")
def dropout_layer(input: LayerOutput,
                  dropout_rate: Annotated[Number, Field(ge=0, lt=1)],
                  name: Optional[str] = None) -> LayerOutput:
    """Dropout as Paddle wrote it: an ``addto`` layer with ``drop_rate``."""
    return _addto([input], IdentityActivation(), name, False,
                  ExtraLayerAttribute(drop_rate=dropout_rate))
