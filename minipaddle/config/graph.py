"""Graphviz DOT text of a network, from its ModelConfig alone (``minipaddle graph``)."""

from __future__ import annotations

from .models import ModelConfig
from .summary import output_shape


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(model: ModelConfig, name: str = "network") -> str:
    """A DOT digraph: one box per layer (name, type, activation, output shape), data layers as
    ellipses, outputs in bold, one edge per distinct input."""
    lines = [f'digraph "{_escape(name)}" {{', "  rankdir=TB;",
             '  node [shape=box, fontname="Helvetica", fontsize=10];']
    outputs = set(model.output_layer_names)
    for layer in model.layers:
        kind = layer.type + (f" ({layer.active_type})" if layer.active_type else "")
        label = "\\n".join(_escape(part) for part in (layer.name, kind, output_shape(layer)))
        style = ", shape=ellipse" if layer.type == "data" else (
            ", style=bold" if layer.name in outputs else "")
        lines.append(f'  "{_escape(layer.name)}" [label="{label}"{style}];')
    for layer in model.layers:
        for source in dict.fromkeys(inp.input_layer_name for inp in layer.inputs):
            lines.append(f'  "{_escape(source)}" -> "{_escape(layer.name)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"
