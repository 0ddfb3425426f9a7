"""mixed_layer, its projections and operators, embedding_layer, repeat_layer and
gated_unit_layer (spec section 3, 'mixed_layer essentials').

A projection (``full_matrix_projection`` ...) or operator (``dotmul_operator``,
``conv_operator``) is not a layer: it describes one term of a mixed layer, which sums its
terms, adds its bias and applies its activation.  The mixed layer is written when its terms
are known: at once with ``mixed_layer(input=[...])``, or when the ``with mixed_layer() as m:``
block closes (``m += projection`` inside it).  The rules are Paddle's config parser's
(MixedLayer): an operator's first operand takes the operator's place among the inputs and its
other operands are appended after the projections; the size is the one given, else the first
term's that states one (a full-matrix, table or offset identity projection takes the layer's);
each projection's ``proj_conf.name`` is ``_<layer>.w<i>`` and its weight, if any, is that
parameter unless ``param_attr`` names another; a mixed layer whose first input is a
conv_projection has one bias per filter (``shared_biases``).
"""

from __future__ import annotations

from math import prod
from numbers import Real
from types import SimpleNamespace
from typing import Annotated, Any, Optional, Union

from pydantic import BeforeValidator, Field, PrivateAttr

from ...config import LayerInputConfig
from ...config.models import OperatorConfig, ProjectionConfig, SliceConfig
from ...config.layers.conv import CONV_TYPES
from ...config.layers.mixed import projection_weight
from ...config.models import Double as Number
from ..activations import (
    AbsActivation, ExpActivation, IdentityActivation, LogActivation, ReciprocalActivation,
    ReluActivation, SigmoidActivation, SqrtActivation, SquareActivation, TanhActivation,
)
from ..attrs import BiasAttrArg, LayerAttrArg, ParamAttrArg, ParameterAttribute
from ..base import (
    REGISTRY, Activation, LayerOutput, NonNegInt, NonNegIntOrPair, PosInt, PosIntOrPair,
    dsl_call, dsl_function, fail, make_output, split_pair,
)
from ..context import current
from ..params import (
    DROPOUT, ERROR_CLIPPING, apply_layer_attr, bias_attr_of, bias_name, create_parameter,
    new_layer_config, weight_name,
)
from .common import infer_channels
from .conv import conv_geometry, smart_conv_attr
from .elementwise import scaling_layer, slope_intercept_layer


class Projection:
    """One term of a mixed layer reading one layer (``origin``): its ``proj_conf`` type and
    fields, the size it states (0: the mixed layer's) and its weight's attribute (None: no
    weight)."""

    def __init__(self, function: str, proj_type: str, origin: LayerOutput, size: int = 0,
                 attr: Optional[ParameterAttribute] = None, smart: Optional[bool] = None,
                 **fields: Any):
        self.function, self.type, self.origin = function, proj_type, origin
        self.size, self.attr, self.smart, self.fields = size, attr, smart, fields

    def __repr__(self) -> str:
        return f"{self.function}(input={self.origin.name!r})"


class Operator:
    """One term of a mixed layer computed from several layers (``origin``), without weights."""

    def __init__(self, function: str, op_type: str, origin: list[LayerOutput],
                 size: int = 0, **fields: Any):
        self.function, self.type, self.origin = function, op_type, origin
        self.size, self.fields = size, fields

    def output_size(self, input_sizes: list[int]) -> int:
        """Paddle's calc_output_size: a dot product is as wide as its first operand."""
        return input_sizes[0] if self.type == "dot_mul" else self.size

    def __repr__(self) -> str:
        return f"{self.function}({', '.join(repr(o.name) for o in self.origin)})"


Term = Union[Projection, Operator]
#: a (start, end) pair (a YAML list of two)
Range = Union[tuple[NonNegInt, NonNegInt],
              Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]]


# -- projections and operators ----------------------------------------------------------------
def _weighted(function: str, proj_type: str, input: LayerOutput, size: int,
              param_attr: Optional[ParameterAttribute]) -> Projection:
    return Projection(function, proj_type, input, size, param_attr or ParameterAttribute())


@dsl_function(layer=False)
def full_matrix_projection(input: LayerOutput, size: NonNegInt = 0,
                           param_attr: ParamAttrArg = None) -> Projection:
    """out += in W, W of shape (input size, size); size 0: the mixed layer's."""
    return _weighted("full_matrix_projection", "fc", input, size, param_attr)


@dsl_function(layer=False)
def trans_full_matrix_projection(input: LayerOutput, size: NonNegInt = 0,
                                 param_attr: ParamAttrArg = None) -> Projection:
    """out += in W^T, W of shape (size, input size)."""
    return _weighted("trans_full_matrix_projection", "trans_fc", input, size, param_attr)


@dsl_function(layer=False)
def table_projection(input: LayerOutput, size: NonNegInt = 0,
                     param_attr: ParamAttrArg = None) -> Projection:
    """out += W[id]: the input is integer ids (a data layer fed ids in [0, its size)), W has
    one row of ``size`` values per id."""
    return _weighted("table_projection", "table", input, size, param_attr)


@dsl_function(layer=False)
def identity_projection(input: LayerOutput, offset: Optional[NonNegInt] = None,
                        size: Optional[NonNegInt] = None) -> Projection:
    """out += in; with ``offset``: out += in[offset:offset + layer size]."""
    if offset is None:
        return Projection("identity_projection", "identity", input, input.size or 0)
    # Paddle ignored ``size`` here (the layer's size counts); minipaddle lets an explicit size
    # state the layer's (docs/paddle_compat.md)
    return Projection("identity_projection", "identity_offset", input, size or 0,
                      offset=offset)


@dsl_function(layer=False)
def slice_projection(input: LayerOutput, slices: list[Range]) -> Projection:
    """out = the input's channel ranges [start, end) of each slice, concatenated; the input
    is a convolution layer."""
    if not slices:
        raise fail("slices", slices, "expected at least one (start, end) channel range")
    config = input.config
    if config is None or config.type not in CONV_TYPES or not config.num_filters:
        raise fail("input", input, "slice_projection slices the channels of a convolution "
                   f"layer ({', '.join(CONV_TYPES)}); this one is "
                   f"{config.type if config else input.layer_type!r}")
    channels = config.num_filters
    start = 0
    for i, (first, end) in enumerate(slices):
        if first < start or end < first:
            raise fail(f"slices[{i}]", (first, end), f"each slice needs {start} <= start <= end "
                       "(slices in increasing order, not overlapping)")
        start = end
    if start > channels:
        raise fail("slices", slices, f"the last slice ends at channel {start}, past the "
                   f"{channels} channels of layer {input.name!r}")
    pixels = (input.size or 0) // channels
    confs = [SliceConfig(start=a * pixels, end=b * pixels) for a, b in slices]
    return Projection("slice_projection", "slice", input,
                      sum(c.end - c.start for c in confs), slices=confs)


@dsl_function(layer=False)
def scaling_projection(input: LayerOutput, param_attr: ParamAttrArg = None) -> Projection:
    """out += w * in, w one learned scalar."""
    return _weighted("scaling_projection", "scaling", input, input.size or 0, param_attr)


@dsl_function(layer=False)
def dotmul_projection(input: LayerOutput, param_attr: ParamAttrArg = None) -> Projection:
    """out += in .* w, w one learned value per element."""
    return _weighted("dotmul_projection", "dot_mul", input, input.size or 0, param_attr)


@dsl_function(layer=False, old_names={"x": "a", "y": "b"})
def dotmul_operator(a: LayerOutput, b: LayerOutput, scale: Number = 1) -> Operator:
    """out += scale * (a .* b)."""
    if a.size is not None and b.size is not None and a.size != b.size:
        raise fail("b", b, f"size {b.size} differs from a's ({a.name!r}) size {a.size}; "
                   "dotmul_operator multiplies equal-sized layers element by element")
    return Operator("dotmul_operator", "dot_mul", [a, b], dotmul_scale=scale)


def _conv_parts(input: LayerOutput, channels: int, num_filters: int, groups: int,
                filter_size, stride, padding, trans: bool):
    """(conv_conf, output size, weight size) of a convolution inside a mixed layer (Paddle's
    parse_conv; no dilation)."""
    geo = conv_geometry(input, channels, num_filters, groups, filter_size, stride, padding,
                        (None, None), trans)
    return geo.conf, geo.size, geo.weight_size


@dsl_function(layer=False)
def conv_projection(input: LayerOutput, filter_size: PosIntOrPair, num_filters: PosInt,
                    num_channels: Optional[PosInt] = None, stride: PosIntOrPair = 1,
                    padding: NonNegIntOrPair = 0, filter_size_y: Optional[PosInt] = None,
                    stride_y: Optional[PosInt] = None, padding_y: Optional[NonNegInt] = None,
                    groups: PosInt = 1, param_attr: ParamAttrArg = None,
                    trans: bool = False) -> Projection:
    """A (transposed) convolution of ``input`` with a learned weight, without bias (the mixed
    layer's bias is one per filter when a conv projection comes first)."""
    channels = infer_channels(input, num_channels)
    fx, fy = split_pair(filter_size, filter_size_y)
    conf, size, _ = _conv_parts(input, channels, num_filters, groups, (fx, fy),
                                split_pair(stride, stride_y), split_pair(padding, padding_y),
                                trans)
    attr = param_attr or ParameterAttribute()
    return Projection("conv_projection", "convt" if trans else "conv", input, size,
                      smart_conv_attr(attr, fx, channels), False if attr.is_smart else None,
                      conv_conf=conf, num_filters=num_filters)


@dsl_function(layer=False)
def conv_operator(img: LayerOutput, filter: LayerOutput, filter_size: PosInt,  # noqa: A002
                  num_filters: PosInt, num_channels: Optional[PosInt] = None,
                  stride: PosInt = 1, padding: NonNegInt = 0,
                  filter_size_y: Optional[PosInt] = None, stride_y: Optional[PosInt] = None,
                  padding_y: Optional[NonNegInt] = None, trans: bool = False) -> Operator:
    """A (transposed) convolution of each sample of ``img`` by that sample's own filters,
    the values of ``filter`` (num_filters x channels x filter_size_y x filter_size for a
    convolution, channels x num_filters x ... for a transposed one)."""
    channels = infer_channels(img, num_channels)
    conf, size, wsize = _conv_parts(img, channels, num_filters, 1,
                                    split_pair(filter_size, filter_size_y),
                                    split_pair(stride, stride_y),
                                    split_pair(padding, padding_y), trans)
    if filter.size != wsize:
        raise fail("filter", filter, f"size {filter.size} is not the {wsize} values of "
                   f"{num_filters} filters of {channels} channels of "
                   f"{conf.filter_size_y}x{conf.filter_size}")
    return Operator("conv_operator", "convt" if trans else "conv", [img, filter], size,
                    conv_conf=conf, num_filters=num_filters)


# -- the mixed layer ----------------------------------------------------------------------------
def _term_from_mapping(value: Any) -> Any:
    """A YAML term ``{full_matrix_projection: {input: x}}`` -> the projection (layer
    arguments given by name)."""
    if not (isinstance(value, dict) and len(value) == 1):
        return value
    (function, kwargs), = value.items()
    fn = REGISTRY.get(function) if isinstance(function, str) else None
    if fn is None or not isinstance(kwargs, dict):
        return value
    known = current().layer_outputs
    resolved = {}
    for key, arg in kwargs.items():
        if key in ("input", "a", "b", "img", "filter") and isinstance(arg, str):
            if arg not in known:
                raise ValueError(f"{function}: no layer named {arg!r}")
            arg = known[arg]
        resolved[key] = arg
    return fn(**resolved)


def _terms(value: Any) -> Any:
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if isinstance(item, LayerOutput):
            raise ValueError(f"layer {item.name!r} is not a projection or operator; a mixed "
                             "layer sums projections of layers: wrap it, e.g. "
                             f"identity_projection(input={item.name}) or "
                             f"full_matrix_projection(input={item.name})")
    if isinstance(value, (list, tuple)):
        return [_term_from_mapping(v) for v in value]
    return _term_from_mapping(value)


Terms = Annotated[Union[Projection, Operator, list[Union[Projection, Operator]], None],
                  BeforeValidator(_terms)]


class MixedLayerType(LayerOutput):
    """What ``mixed_layer()`` returns: a layer to which ``+=`` adds projections and operators
    until its ``with`` block closes (or at once, given ``input``); then it is a LayerOutput
    like any other."""

    _terms: list = PrivateAttr(default_factory=list)
    _finalized: bool = PrivateAttr(default=False)
    _settings: dict = PrivateAttr(default_factory=dict)

    def __iadd__(self, other: Any) -> "MixedLayerType":
        with dsl_call("mixed_layer", self.name):
            if self._finalized:
                raise fail(None, None, f"cannot add {other!r}: the mixed layer was written "
                           "when its with-block closed; add every projection inside the block")
            if not isinstance(other, (Projection, Operator)):
                raise fail(None, None, f"+= takes a projection or an operator (e.g. "
                           f"full_matrix_projection(input=...)), got {_brief(other)}")
            self._terms.append(other)
            self.parents.extend(other.origin if isinstance(other, Operator)
                                else [other.origin])
        return self

    def __enter__(self) -> "MixedLayerType":
        if self._terms or self._finalized:
            with dsl_call("mixed_layer", self.name):
                raise fail("input", self._terms, "a mixed layer given input= is complete; "
                           "use either input=[...] or the with-block")
        return self

    def __exit__(self, kind: Any, err: Any, tb: Any) -> bool:
        if err is not None:
            return False
        with dsl_call("mixed_layer", self.name):
            _write_mixed(self)
        return False

    __hash__ = LayerOutput.__hash__


def _brief(value: Any) -> str:
    if isinstance(value, LayerOutput):
        return f"layer {value.name!r} (wrap it: identity_projection(input=...))"
    return type(value).__name__


@dsl_function(prefix="mixed")
def mixed_layer(size: NonNegInt = 0, input: Terms = None, name: Optional[str] = None,
                act: Optional[Activation] = None, bias_attr: BiasAttrArg = False,
                layer_attr: LayerAttrArg = None) -> LayerOutput:
    """The sum of projections and operators, plus a bias, through ``act`` (Linear)."""
    apply_layer_attr({}, layer_attr, DROPOUT + ERROR_CLIPPING)   # refuse what it cannot take
    out = MixedLayerType(name=name, layer_type="mixed", size=size or None,
                         activation=act or IdentityActivation())
    out._settings = {"size": size, "bias_attr": bias_attr, "layer_attr": layer_attr}
    if input is None:
        return out
    for term in input if isinstance(input, list) else [input]:
        out += term
    _write_mixed(out)
    return out


def _write_mixed(out: MixedLayerType) -> None:
    """Paddle's MixedLayer: the LayerConfig of a mixed layer from its terms."""
    terms, name = out._terms, out.name
    if not terms:
        raise fail("input", None, "no projection or operator was added; give input=[...] or "
                   "add them with m += ... inside the with-block")
    inputs, ops = [], []
    for i, term in enumerate(terms):
        first = term.origin[0] if isinstance(term, Operator) else term.origin
        inputs.append(LayerInputConfig(input_layer_name=first.name))
        if isinstance(term, Operator):
            ops.append((term, [i]))
    sizes = [t.origin[0].size if isinstance(t, Operator) else t.origin.size for t in terms]
    size = out._settings["size"]
    for term, indices in ops:
        for operand in term.origin[1:]:
            indices.append(len(inputs))
            inputs.append(LayerInputConfig(input_layer_name=operand.name))
            sizes.append(operand.size)
        size = _agree(size, term.output_size([sizes[j] or 0 for j in indices]), term)
    for term in terms:
        if isinstance(term, Projection):
            size = _agree(size, term.size, term)
    if not size:
        raise fail("size", 0, "cannot infer the layer's size: no term states one (a full "
                   "matrix, table or offset identity projection takes the layer's); pass size=")
    params = []
    for i, term in enumerate(terms):
        if isinstance(term, Projection):
            params.extend(_write_projection(name, i, term, inputs[i], size))
    op_confs = [_operator_conf(term, indices, sizes, size) for term, indices in ops]
    values = {"name": name, "type": "mixed", "size": size,
              "active_type": out.activation.name, "inputs": inputs,
              "operator_confs": op_confs or None}
    params.extend(_mixed_bias(values, terms, size, out._settings["bias_attr"]))
    apply_layer_attr(values, out._settings["layer_attr"], DROPOUT + ERROR_CLIPPING)
    out._finalized = True
    make_output(new_layer_config(**values), list(out.parents), "mixed",
                activation=out.activation, parameters=params, output=out)


def _agree(size: int, stated: int, term: Term) -> int:
    if not stated:
        return size
    if size and stated != size:
        raise fail("input", term, f"{term!r} gives size {stated}, but the layer's size is "
                   f"{size}; every projection and operator must give the same size")
    return size or stated


def _write_projection(layer: str, index: int, term: Projection, inp: LayerInputConfig,
                      size: int) -> list:
    in_size = term.origin.size or 0
    if term.type == "identity_offset" and term.fields["offset"] + size > in_size:
        raise fail("input", term, f"offset {term.fields['offset']} + the layer's size {size} "
                   f"is past the {in_size} values of layer {term.origin.name!r}")
    conf = ProjectionConfig(type=term.type, name=weight_name(layer, index), input_size=in_size,
                            output_size=size, **term.fields)
    inp.proj_conf = conf
    weight = projection_weight(conf)
    if weight is None:
        return []
    shape, dims = weight
    param = create_parameter(term.attr, weight_name(layer, index), prod(shape), dims,
                             smart=term.smart, size_argument=None)
    inp.input_parameter_name = param.name
    return [param]


def _operator_conf(term: Operator, indices: list[int], sizes: list, size: int) -> OperatorConfig:
    input_sizes = [sizes[j] or 0 for j in indices]
    if term.type == "dot_mul" and any(s != size for s in input_sizes):
        raise fail("input", term, f"{term!r} multiplies sizes {input_sizes}, which must both "
                   f"be the layer's size {size}")
    return OperatorConfig(type=term.type, input_indices=indices, input_sizes=input_sizes,
                          output_size=size, **term.fields)


def _mixed_bias(values: dict, terms: list, size: int, bias_attr: Any) -> list:
    """Paddle: a conv_projection first makes the bias one per filter of every (conv)
    projection (``shared_biases``); else one per output value."""
    bias_size = size
    first = terms[0]
    if isinstance(first, Projection) and first.type == "conv":
        values["shared_biases"] = True
        others = [t for t in terms if not (isinstance(t, Projection)
                                           and t.type in ("conv", "convt"))]
        if others:
            raise fail("input", others[0], "a mixed layer whose first input is a "
                       "conv_projection takes a bias per filter of each input, so every input "
                       "must be a conv_projection (Paddle's rule)")
        bias_size = sum(t.fields["num_filters"] for t in terms)
        if size % bias_size:
            raise fail("input", first, f"the layer's size {size} is not a multiple of its "
                       f"{bias_size} shared biases")
    battr = bias_attr_of(bias_attr, has_bias=False)
    if battr is None:
        return []
    values["bias_size"] = bias_size
    bias = create_parameter(battr, bias_name(values["name"]), bias_size, [1, bias_size],
                            argument="bias_attr", size_argument=None)
    values["bias_parameter_name"] = bias.name
    return [bias]


def concat_projections(terms: list, act: Any, name: str, layer_attr: Any,
                       bias_attr: Any) -> LayerOutput:
    """concat_layer given projections (Paddle's ConcatenateLayer2, type ``concat2``): each
    projection's output, of its own size, side by side; a bias only given a ParamAttr."""
    layers = [t for t in terms if not isinstance(t, Projection)]
    if layers:
        raise fail("input", layers[0], "concat_layer takes either layers or projections, not "
                   "both")
    inputs, params, size = [], [], 0
    for i, term in enumerate(terms):
        if not term.size:
            raise fail("input", term, f"{term!r} states no output size (give size=; an "
                       "identity projection with an offset cannot be concatenated)")
        inputs.append(LayerInputConfig(input_layer_name=term.origin.name))
        params.extend(_write_projection(name, i, term, inputs[i], term.size))
        size += term.size
    values = {"name": name, "type": "concat2", "size": size, "active_type": act.name,
              "inputs": inputs}
    if isinstance(terms[0], Projection) and terms[0].type == "conv" and any(
            t.type != "conv" for t in terms):
        raise fail("input", terms, "the first input is a conv_projection, so every input "
                   "must be one (Paddle's rule)")
    params.extend(_mixed_bias(values, terms, size, bias_attr
                              if isinstance(bias_attr, ParameterAttribute) else False))
    apply_layer_attr(values, layer_attr, DROPOUT + ERROR_CLIPPING)
    return make_output(new_layer_config(**values), [t.origin for t in terms], "concat2",
                       activation=act, parameters=params)


# -- layers built of mixed layers -----------------------------------------------------------------
@dsl_function(prefix="embedding")
def embedding_layer(input: LayerOutput, size: PosInt, name: Optional[str] = None,
                    param_attr: ParamAttrArg = None,
                    layer_attr: LayerAttrArg = None) -> LayerOutput:
    """A row of a learned table per integer id: a mixed layer with a table_projection."""
    apply_layer_attr({}, layer_attr, DROPOUT + ERROR_CLIPPING)
    return mixed_layer(name=name, size=size, act=IdentityActivation(), bias_attr=False,
                       layer_attr=layer_attr,
                       input=[table_projection(input=input, size=size, param_attr=param_attr)])


@dsl_function(prefix="repeat_layer")
def repeat_layer(input: LayerOutput, num_repeats: PosInt, as_row_vector: bool = True,
                 act: Optional[Activation] = None, name: Optional[str] = None,
                 layer_attr: LayerAttrArg = None) -> LayerOutput:
    """The input repeated ``num_repeats`` times: [x, x, ...] (as_row_vector) or each value
    repeated in place [x1, x1, ..., x2, x2, ...] (Paddle's featmap_expand)."""
    act = act or IdentityActivation()
    values = {"name": name, "type": "featmap_expand", "size": (input.size or 0) * num_repeats,
              "active_type": act.name,
              "inputs": [LayerInputConfig(input_layer_name=input.name)],
              "num_filters": num_repeats,
              "user_arg": None if as_row_vector else "as_col_vec"}
    apply_layer_attr(values, layer_attr, ())
    return make_output(new_layer_config(**values), [input], "featmap_expand", activation=act)


@dsl_function(prefix="gated_unit_layer")
def gated_unit_layer(input: LayerOutput, size: PosInt, act: Optional[Activation] = None,
                     name: Optional[str] = None, gate_attr: LayerAttrArg = None,
                     gate_param_attr: ParamAttrArg = None, gate_bias_attr: BiasAttrArg = True,
                     inproj_attr: LayerAttrArg = None, inproj_param_attr: ParamAttrArg = None,
                     inproj_bias_attr: BiasAttrArg = True,
                     layer_attr: LayerAttrArg = None) -> LayerOutput:
    """act(x W + b) .* sigmoid(x V + c): two fc layers ``<name>_input_proj`` and
    ``<name>_gate`` and their product, the mixed layer ``<name>_gated_act``."""
    from .fc import fc_layer
    proj = fc_layer(input=input, name=f"{name}_input_proj", size=size,
                    act=act or IdentityActivation(), layer_attr=inproj_attr,
                    param_attr=inproj_param_attr, bias_attr=inproj_bias_attr)
    gate = fc_layer(input=input, name=f"{name}_gate", size=size, act=SigmoidActivation(),
                    layer_attr=gate_attr, param_attr=gate_param_attr, bias_attr=gate_bias_attr)
    return mixed_layer(name=f"{name}_gated_act", input=dotmul_operator(proj, gate),
                       layer_attr=layer_attr)



# -- layer_math: arithmetic on layers, as Paddle wrote it -----------------------------------------
def _unary(op_name: str, act: type) -> Any:
    def op(input: LayerOutput, name: Optional[str] = None) -> LayerOutput:
        if name is None:
            name = current().auto_name(op_name)
        return mixed_layer(input=[identity_projection(input=input)], name=name, act=act())

    op.__name__ = op.__qualname__ = op_name
    op.__doc__ = f"``{act.__name__}`` of the input: a mixed layer with an identity projection."
    return op


def _math_operand(layer: LayerOutput, other: Any, verb: str) -> bool:
    """True for a number; None for a layer; an error for anything else."""
    if isinstance(other, Real):
        return True
    if not isinstance(other, LayerOutput):
        with dsl_call("layer_math", layer.name):
            raise fail(None, None, f"a layer can be {verb} a layer or a number, got "
                       f"{type(other).__name__} {other!r:.40}")
    return False


def _add(layer: LayerOutput, other: Any) -> LayerOutput:
    """``layer + other``: a number is an intercept; equal sizes are summed by a mixed layer;
    a size-1 layer is first repeated to the other's size (repeat_layer)."""
    if _math_operand(layer, other, "added to"):
        return slope_intercept_layer(input=layer, intercept=other)
    if layer.size != other.size:
        if layer.size != 1 and other.size != 1:
            with dsl_call("layer_math", layer.name):
                raise fail(None, None, f"cannot add layers of sizes {layer.size} and "
                           f"{other.size} ({other.name!r}): the sizes must be equal or one "
                           "of them 1")
        if layer.size == 1:
            layer, other = other, layer
        other = repeat_layer(input=other, num_repeats=layer.size)
    return mixed_layer(input=[identity_projection(input=layer),
                              identity_projection(input=other)])


def _neg(layer: LayerOutput) -> LayerOutput:
    return slope_intercept_layer(input=layer, slope=-1.0)


def _sub(layer: LayerOutput, other: Any) -> LayerOutput:
    if _math_operand(layer, other, "subtracted from"):
        return slope_intercept_layer(input=layer, intercept=-other)
    return _add(layer, _neg(other))


def _rsub(layer: LayerOutput, other: Any) -> LayerOutput:
    _math_operand(layer, other, "subtracted from")
    return _add(_neg(layer), other)


def _mul(layer: LayerOutput, other: Any) -> LayerOutput:
    """``layer * other``: a number is a slope; a size-1 layer scales the other per sample
    (scaling_layer)."""
    if _math_operand(layer, other, "multiplied by"):
        return slope_intercept_layer(input=layer, slope=other)
    if layer.size == 1:
        return scaling_layer(input=other, weight=layer)
    if other.size == 1:
        return scaling_layer(input=layer, weight=other)
    with dsl_call("layer_math", layer.name):
        raise fail(None, None, f"cannot multiply layers of sizes {layer.size} and "
                   f"{other.size} ({other.name!r}): one of them must be a number or a layer "
                   "of size 1 (for an element-wise product use "
                   "mixed_layer(input=dotmul_operator(a, b)))")


#: Paddle's ``layer_math`` module: exp, log, abs, sigmoid, tanh, square, relu, sqrt and
#: reciprocal of a layer (auto names ``__exp_0__`` ...)
layer_math = SimpleNamespace(**{op: _unary(op, act) for op, act in (
    ("exp", ExpActivation), ("log", LogActivation), ("abs", AbsActivation),
    ("sigmoid", SigmoidActivation), ("tanh", TanhActivation), ("square", SquareActivation),
    ("relu", ReluActivation), ("sqrt", SqrtActivation),
    ("reciprocal", ReciprocalActivation))})

LayerOutput.__add__ = LayerOutput.__radd__ = _add
LayerOutput.__sub__, LayerOutput.__rsub__ = _sub, _rsub
LayerOutput.__mul__ = LayerOutput.__rmul__ = _mul
LayerOutput.__neg__ = _neg
