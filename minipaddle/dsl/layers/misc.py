"""The remaining vector layers of Paddle v1 (issue 16): conv_shift_layer, sampling_id_layer
and print_layer (printer_layer).  Signatures, defaults, automatic names and config fields
are Paddle's (``trainer_config_helpers/layers.py`` and ``config_parser.py``)."""

from __future__ import annotations

from typing import Optional

from ..attrs import LayerAttrArg
from ..base import Layers, LayerOutput, as_list, dsl_function, fail
from .elementwise import emit, inputs_of


@dsl_function()
def conv_shift_layer(a: LayerOutput, b: LayerOutput, name: Optional[str] = None,
                     layer_attr: LayerAttrArg = None) -> LayerOutput:
    """Circular convolution of each row of ``a`` (M values) with the row of ``b`` (K values,
    K odd): ``c[i] = sum_j a[(i + j - (K - 1) / 2) mod M] * b[j]`` (Paddle's
    ``circularConv``); the output has ``a``'s size.  Used by Neural Turing Machines to
    shift an attention vector by a learned kernel."""
    if (b.size or 0) % 2 != 1:
        raise fail("b", b, f"layer {b.name!r} has size {b.size}; the shift kernel b must "
                   "have an odd size (Paddle: 'size of b must be odd')")
    values = {"name": name, "type": "conv_shift", "size": a.size, "inputs": inputs_of(a, b)}
    return emit(values, [a, b], "conv_shift", layer_attr)


@dsl_function()
def sampling_id_layer(input: LayerOutput, name: Optional[str] = None,
                      layer_attr: LayerAttrArg = None) -> LayerOutput:
    """One id per sample drawn from the input row read as a probability distribution
    (Paddle's ``output.ids``).  The config's size is the input's, as Paddle wrote it; the
    runtime output is the id as a number ``(N, 1)``, as maxid_layer's, drawn from the
    network's random generator (the compile ``seed`` makes runs reproducible); no gradient
    flows back."""
    values = {"name": name, "type": "sampling_id", "size": input.size,
              "inputs": inputs_of(input)}
    return emit(values, [input], "sampling_id", layer_attr)


def _print(input: Layers, format: Optional[str], name: str) -> None:
    layers = as_list(input)
    if not layers:
        raise fail("input", input, "expected a layer or a list of layers to print")
    if format is None:     # config_parser's PrintLayer default: one line per input
        format = "\n".join(f"layer={layer.name} %s" for layer in layers)
    elif format.count("%s") != len(layers):
        raise fail("format", format, f"has {format.count('%s')} '%s' placeholder(s) for "
                   f"{len(layers)} input layer(s); give one '%s' per input, in order")
    # Paddle's printer_layer returned nothing: no later layer can read a print layer
    emit({"name": name, "type": "print", "inputs": inputs_of(*layers), "user_arg": format},
         layers, "print", None)


@dsl_function(prefix="print")
def printer_layer(input: Layers, format: Optional[str] = None,
                  name: Optional[str] = None) -> None:
    """Print the values of ``input`` (a layer or a list) at every forward pass that computes
    them, one block per pass on standard error (where Paddle's LOG(INFO) went).  ``format``
    holds one ``%s`` per input, replaced by its values in order; by default one line
    ``layer=<name> %s`` per input.  Returns None: nothing may read a print layer."""
    _print(input, format, name)


@dsl_function(prefix="print")
def print_layer(input: Layers, format: Optional[str] = None,
                name: Optional[str] = None) -> None:
    """Paddle v1's name of :func:`printer_layer` (the same layer)."""
    _print(input, format, name)
