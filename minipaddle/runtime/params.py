"""A network's parameters (a mapping of live arrays), their initial values, and the
gradients backward returns."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Iterator

import numpy as np

from ..config import ConfigError, ModelConfig
from .layers.base import RuntimeLayer


class Parameters(MutableMapping):
    """Parameter name -> live array.  ``net.parameters[name] -= step`` updates in place;
    assignment copies into the existing buffer (dtype kept, shared parameters stay one
    buffer); a wrong shape is an error naming the parameter and both shapes.  ``convert``
    brings an assigned value to the arrays' module (a host array onto the device)."""

    def __init__(self, arrays: dict[str, Any], static: set[str],
                 convert: Any = np.asarray):
        self._arrays = arrays
        self.static = frozenset(static)
        self._convert = convert

    def __getitem__(self, name: str) -> Any:
        try:
            return self._arrays[name]
        except KeyError:
            raise KeyError(f"no parameter named {name!r}; parameters: "
                           f"{', '.join(self._arrays)}") from None

    def __setitem__(self, name: str, value: Any) -> None:
        target = self[name]
        value = self._convert(value)
        if tuple(value.shape) != tuple(target.shape):
            raise ValueError(f"parameter {name!r} has shape {tuple(target.shape)}, cannot "
                             f"assign an array of shape {tuple(value.shape)}")
        target[...] = value

    def __delitem__(self, name: str) -> None:
        raise TypeError("parameters cannot be deleted from a compiled network")

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self._arrays.items())
        return f"Parameters({shapes})"


class InputGradients(dict):
    """The fed data layers' gradients; asking for one that backward was not asked to compute
    says how to ask for it (instead of a bare KeyError)."""

    def __init__(self, values: dict[str, Any], computed: bool):
        super().__init__(values)
        self.computed = computed

    def __missing__(self, name: str) -> Any:
        if not self.computed:
            raise KeyError(f"no gradient of data layer {name!r}: backward() skips the data "
                           "layers' gradients unless called with input_grads=True")
        raise KeyError(f"no gradient of data layer {name!r}: it is not a dense data layer "
                       "this pass fed and read (label slots take none)")


class Gradients:
    """What backward returns: parameter gradients (same shapes as the parameters; static
    parameters have none) and data-layer gradients (in the shape that was fed), these only
    when backward was called with ``input_grads=True``."""

    def __init__(self, parameters: dict[str, Any], inputs: dict[str, Any],
                 input_grads: bool = True):
        self.parameters = parameters
        self.inputs = InputGradients(inputs, input_grads)

    def __repr__(self) -> str:
        return (f"Gradients(parameters={sorted(self.parameters)}, "
                f"inputs={sorted(self.inputs)})")


def parameter_shapes(layers: dict[str, RuntimeLayer]) -> tuple[dict[str, tuple[int, ...]],
                                                                 set[str]]:
    """Parameter name -> the shape its layers need (one shape for a shared parameter), and
    the parameters the layers update themselves."""
    shapes: dict[str, tuple[int, ...]] = {}
    static: set[str] = set()
    for runtime in layers.values():
        for pname, shape in runtime.param_shapes.items():
            if pname in shapes and shapes[pname] != shape:
                raise ConfigError(f"parameter {pname!r} is shared by layers that need "
                                  f"shapes {shapes[pname]} and {shape}", layer=runtime.name)
            shapes[pname] = shape
        static |= runtime.static_params
    return shapes, static


def init_parameters(model: ModelConfig, layers: dict[str, RuntimeLayer], backend: Any,
                    dtype: np.dtype, rng: np.random.Generator) -> Parameters:
    """The model's parameters drawn as their configs say (uniform, normal or constant), on
    the backend, checked against the shapes the layers need."""
    shapes, static = parameter_shapes(layers)
    arrays: dict[str, Any] = {}
    for param in model.parameters:
        if param.name not in shapes:
            raise ConfigError(f"parameter {param.name!r} is not used by any layer")
        shape = shapes[param.name]
        if int(np.prod(shape)) != param.size:
            raise ConfigError(f"parameter {param.name!r}: config size {param.size} does "
                              f"not match the layer's shape {shape}")
        if param.is_static:
            static.add(param.name)
        mean, std = param.get("initial_mean"), param.get("initial_std")
        if param.get("initial_strategy") == 1:
            values = rng.uniform(mean - std, mean + std, size=shape)
        elif std == 0:
            values = np.full(shape, mean, dtype=np.float64)
        else:
            values = rng.normal(mean, std, size=shape)
        arrays[param.name] = backend.asarray(values, dtype)
    return Parameters(arrays, static, convert=backend.asarray_like)
