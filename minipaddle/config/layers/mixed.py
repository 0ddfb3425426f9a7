"""mixed: a sum of projections and operators (plus a bias); concat2: projections side by
side; featmap_expand.

Each projection type (``proj_conf.type``) states once, here, the shape of its weight (the
C-order flattening is Paddle's buffer layout), the ``dims`` Paddle's config parser wrote for
it (its smart initial std is ``1/sqrt(dims[0])``) and its multiply-adds; the DSL sizes the
parameter from :func:`projection_weight` and the runtime allocates the same shape.

| proj type | weight shape | Paddle dims |
|---|---|---|
| ``fc`` (full_matrix) | ``(input_size, size)`` | ``[in, out]`` |
| ``trans_fc`` | ``(size, input_size)`` | ``[out, in]`` |
| ``table`` | ``(input_size, size)``: one row per id | ``[in, out]`` |
| ``dot_mul`` | ``(size,)`` | ``[1, out]`` |
| ``scaling`` | ``(1,)`` | ``[1, 1]`` |
| ``conv`` / ``convt`` | as exconv / exconvt | none |
| ``identity``, ``identity_offset``, ``slice`` | no weight | |

The mixed layer's bias is ``(bias_size,)``: ``size`` values, or with ``shared_biases`` (a
conv projection first) one per filter of its conv projections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ..geometry import conv_axes
from ..models import LayerConfig, ModelConfig, OperatorConfig, ProjectionConfig
from . import declare
from .conv import weight_shape

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ProjectionFacts:
    """What one projection type is: its weight's shape and Paddle dims (None: no weight),
    and its multiply-adds per sample."""

    type: str
    weight: Callable[[ProjectionConfig], Optional[tuple[Shape, list[int]]]]
    mult_adds: Callable[[ProjectionConfig], int]


PROJECTIONS: dict[str, ProjectionFacts] = {}


def _projection(proj_type: str, mult_adds: Callable[[ProjectionConfig], int]):
    def register(weight):
        PROJECTIONS[proj_type] = ProjectionFacts(proj_type, weight, mult_adds)
        return weight
    return register


def _no_weight(conf: ProjectionConfig) -> None:
    return None


def _conv_weight(transposed: bool):
    def weight(conf: ProjectionConfig) -> tuple[Shape, list[int]]:
        axes = conv_axes(conf.conv_conf, transposed)
        return weight_shape(axes, conf.num_filters or 0, transposed), []
    return weight


def _conv_mult_adds(transposed: bool):
    def count(conf: ProjectionConfig) -> int:
        c = conf.conv_conf
        per_output = c.filter_channels * c.filter_size * c.filter_size_y
        pixels = c.output_x * (c.output_y or c.output_x)
        scale = c.channels if transposed else (conf.num_filters or 0)
        return scale * pixels * per_output
    return count


@_projection("fc", lambda c: c.input_size * c.output_size)
def _fc(conf):
    return (conf.input_size, conf.output_size), [conf.input_size, conf.output_size]


@_projection("trans_fc", lambda c: c.input_size * c.output_size)
def _trans_fc(conf):
    return (conf.output_size, conf.input_size), [conf.output_size, conf.input_size]


@_projection("table", lambda c: 0)
def _table(conf):
    return (conf.input_size, conf.output_size), [conf.input_size, conf.output_size]


@_projection("dot_mul", lambda c: c.output_size)
def _dot_mul(conf):
    return (conf.output_size,), [1, conf.output_size]


@_projection("scaling", lambda c: c.output_size)
def _scaling(conf):
    return (1,), [1, 1]


for _type in ("identity", "identity_offset", "slice"):
    PROJECTIONS[_type] = ProjectionFacts(_type, _no_weight, lambda c: 0)
PROJECTIONS["conv"] = ProjectionFacts("conv", _conv_weight(False), _conv_mult_adds(False))
PROJECTIONS["convt"] = ProjectionFacts("convt", _conv_weight(True), _conv_mult_adds(True))


def projection_facts(proj_type: str) -> ProjectionFacts:
    found = PROJECTIONS.get(proj_type)
    if found is None:
        raise KeyError(f"unknown projection type {proj_type!r}; known: "
                       f"{', '.join(sorted(PROJECTIONS))}")
    return found


def projection_weight(conf: ProjectionConfig) -> Optional[tuple[Shape, list[int]]]:
    """(weight shape, Paddle dims) of a projection, None when it has no weight."""
    return projection_facts(conf.type).weight(conf)


#: operator type -> multiply-adds per sample
OPERATOR_MULT_ADDS: dict[str, Callable[[OperatorConfig], int]] = {
    "dot_mul": lambda op: op.output_size,
    # per sample: a convolution by that sample's own filters
    "conv": lambda op: (op.num_filters or 0) * op.conv_conf.output_x * op.conv_conf.output_y
    * op.conv_conf.filter_channels * op.conv_conf.filter_size * op.conv_conf.filter_size_y,
    "convt": lambda op: op.conv_conf.channels * op.conv_conf.output_x * op.conv_conf.output_y
    * op.conv_conf.filter_channels * op.conv_conf.filter_size * op.conv_conf.filter_size_y,
}


def _mixed_parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    for inp in layer.inputs:
        if inp.proj_conf is not None and inp.input_parameter_name:
            shapes[inp.input_parameter_name] = projection_weight(inp.proj_conf)[0]
    if layer.bias_parameter_name:
        shapes[layer.bias_parameter_name] = (layer.bias_size or layer.size or 0,)
    return shapes


def _mixed_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    total = sum(projection_facts(inp.proj_conf.type).mult_adds(inp.proj_conf)
                for inp in layer.inputs if inp.proj_conf is not None)
    return total + sum(OPERATOR_MULT_ADDS[op.type](op) for op in layer.operator_confs or [])


def _mixed_labels(layer: LayerConfig, model: ModelConfig) -> dict[int, int]:
    """A table projection reads integer ids, one of ``input_size`` values."""
    return {i: inp.proj_conf.input_size for i, inp in enumerate(layer.inputs)
            if inp.proj_conf is not None and inp.proj_conf.type == "table"}


declare("mixed", parameters=_mixed_parameters, mult_adds=_mixed_mult_adds,
        label_inputs=_mixed_labels, display="mixed")
# concat_layer of projections: their outputs side by side (the same parameter rules)
declare("concat2", parameters=_mixed_parameters, mult_adds=_mixed_mult_adds,
        label_inputs=_mixed_labels, display="mixed")
# repeat_layer: the input row repeated num_filters times
declare("featmap_expand", display="mixed")
