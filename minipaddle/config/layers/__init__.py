"""What each layer type *is*, stated once by the type: its facts on the config floor.

A layer type declares here (one module per family, found by discovery: nothing lists them)

* ``output_shape(layer)``: its per-sample shape, ``(C, H, W)`` for an image layer and
  ``(size,)`` otherwise (:func:`image_shape`, the default); the summary prints it and the
  runtime's shape table is made of it;
* ``parameters(layer, model)``: the shape of each of its parameters (weights, biases), whose
  C-order flattening is Paddle's buffer layout; the DSL sizes its parameters from the same
  rule, the runtime allocates these shapes;
* ``label_inputs``: which of its inputs are integer label slots (a data layer read there
  takes class indices, as many as the size of the layer's first input); or a function
  ``(layer, model) -> {input index: number of classes}`` for a type whose label inputs
  depend on its config (a mixed layer's table projections read ids);
* ``display``: the family ``minipaddle time`` counts it in (``"convolution"``, ...);
* ``runs_as``: for a GPU algorithm, the type whose implementation runs it where its own is
  missing (on the CPU; with ``needs_cudnn``, also on a GPU without cuDNN);
* ``mult_adds(layer, model)``: multiply-adds per sample for ``minipaddle summary``.

A new layer type calls :func:`declare` once (in its family's module here, or anywhere for
a type defined outside the package); an undeclared type has the defaults: an image or flat
output, no parameters, no label inputs.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Optional, Union

from ..models import LayerConfig, ModelConfig

Shape = tuple[int, ...]


def image_shape(layer: LayerConfig) -> Shape:
    """``(C, H, W)`` when the config states height > 0 and width > 0 dividing its size,
    else ``(size,)``."""
    size = layer.size or 0
    h, w = layer.height or 0, layer.width or 0
    if h > 0 and w > 0 and size % (h * w) == 0:
        return (size // (h * w), h, w)
    return (size,)


def flat_shape(layer: LayerConfig) -> Shape:
    """``(size,)`` whatever height and width the config states (spp's image geometry
    describes its input, not its output)."""
    return (layer.size or 0,)


def no_parameters(layer: LayerConfig, model: ModelConfig) -> dict[str, Shape]:
    return {}


@dataclass(frozen=True)
class LayerFacts:
    """The facts of one ``LayerConfig.type`` (module docstring)."""

    type: str
    output_shape: Callable[[LayerConfig], Shape] = image_shape
    parameters: Callable[[LayerConfig, ModelConfig], dict[str, Shape]] = no_parameters
    label_inputs: Union[tuple[int, ...],
                        Callable[[LayerConfig, ModelConfig], dict[int, int]]] = ()
    display: str = ""
    runs_as: Optional[str] = None
    needs_cudnn: bool = False
    mult_adds: Optional[Callable[[LayerConfig, ModelConfig], int]] = None

    def labels(self, layer: LayerConfig, model: ModelConfig) -> dict[int, int]:
        """{input index: number of classes} of the layer's integer label inputs."""
        if callable(self.label_inputs):
            return self.label_inputs(layer, model)
        if not self.label_inputs:
            return {}
        classes = input_size(model, layer, 0)
        return {i: classes for i in self.label_inputs}

    @property
    def family(self) -> str:
        """The display name, the type itself when none was declared."""
        return self.display or self.type


_FACTS: dict[str, LayerFacts] = {}


def declare(layer_type: str, **facts) -> LayerFacts:
    """Declare the facts of ``layer_type`` (keywords: the fields of :class:`LayerFacts`);
    declaring a type twice with different facts is an error."""
    entry = LayerFacts(type=layer_type, **facts)
    old = _FACTS.get(layer_type)
    if old is not None and old != entry:
        raise RuntimeError(f"layer type {layer_type!r}: its facts are declared twice")
    _FACTS[layer_type] = entry
    return entry


def withdraw(layer_type: str) -> None:
    """Undo :func:`declare` (a type defined for a while only, as in a test)."""
    _FACTS.pop(layer_type, None)


def facts_of(layer_type: str) -> LayerFacts:
    """The declared facts of a type, or the defaults for an undeclared one."""
    found = _FACTS.get(layer_type)
    return found if found is not None else LayerFacts(type=layer_type)


def declared() -> dict[str, LayerFacts]:
    """type -> facts, for every declared type."""
    return dict(_FACTS)


def output_shape(layer: LayerConfig) -> Shape:
    """The per-sample shape of ``layer``, by its type's rule."""
    return facts_of(layer.type).output_shape(layer)


def parameter_shapes(layer: LayerConfig, model: ModelConfig) -> dict[str, Shape]:
    """Parameter name -> shape for ``layer``, by its type's rule."""
    return facts_of(layer.type).parameters(layer, model)


def input_size(model: ModelConfig, layer: LayerConfig, index: int) -> int:
    """The size of the layer that input ``index`` of ``layer`` reads."""
    return model.layer(layer.inputs[index].input_layer_name).size or 0


# every module of this package declares the facts of one family of types
for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
