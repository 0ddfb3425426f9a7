"""Per-layer output shapes, parameter counts and multiply-adds, computed from a ModelConfig
alone (``minipaddle summary``)."""

from __future__ import annotations

from dataclasses import dataclass

from .layers import facts_of
from .layers import output_shape as layer_output_shape
from .models import LayerConfig, ModelConfig


@dataclass
class LayerSummary:
    name: str
    type: str
    shape: str
    trainable: int
    static: int
    mult_adds: int


def output_shape(layer: LayerConfig) -> str:
    """The per-sample shape by the type's rule, ``CxHxW`` for an image layer."""
    return "x".join(map(str, layer_output_shape(layer)))


def summarize(model: ModelConfig) -> list[LayerSummary]:
    params = {p.name: p for p in model.parameters}
    counted: set[str] = set()
    rows = []
    for layer in model.layers:
        names = [inp.input_parameter_name for inp in layer.inputs if inp.input_parameter_name]
        if layer.bias_parameter_name:
            names.append(layer.bias_parameter_name)
        trainable = static = 0
        for name in names:
            if name in counted or name not in params:
                continue
            counted.add(name)
            p = params[name]
            if p.is_static:
                static += p.size
            else:
                trainable += p.size
        macs_fn = facts_of(layer.type).mult_adds
        rows.append(LayerSummary(layer.name, layer.type, output_shape(layer), trainable, static,
                                 macs_fn(layer, model) if macs_fn else 0))
    return rows


def parameter_totals(model: ModelConfig) -> tuple[int, int]:
    """(trainable, static) parameter counts; a shared parameter counts once."""
    trainable = sum(p.size for p in model.parameters if not p.is_static)
    static = sum(p.size for p in model.parameters if p.is_static)
    return trainable, static


def format_summary(model: ModelConfig) -> str:
    rows = summarize(model)
    head = ("layer", "type", "output (CxHxW)", "params", "mult-adds")
    table = [head] + [(r.name, r.type, r.shape, f"{r.trainable + r.static:,}",
                       f"{r.mult_adds:,}") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = []
    for k, row in enumerate(table):
        cells = [row[i].ljust(widths[i]) if i < 3 else row[i].rjust(widths[i])
                 for i in range(len(head))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    trainable, static = parameter_totals(model)
    macs = sum(r.mult_adds for r in rows)
    lines.append("")
    lines.append(f"layers: {len(rows)}")
    lines.append(f"trainable parameters: {trainable:,}")
    lines.append(f"static parameters: {static:,}")
    lines.append(f"total parameters: {trainable + static:,}")
    lines.append(f"multiply-adds per sample: {macs:,}")
    return "\n".join(lines)
