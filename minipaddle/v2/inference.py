"""``paddle.infer`` and ``paddle.inference.Inference``: a test-mode forward of a list of
samples, as one batch, with the values a Parameters object holds."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from ..config import ConfigError
from ..runtime import compile
from ._flags import Flags
from .data_feeder import DataFeeder
from .parameters import Parameters
from .topology import Topology, load_inference

FIELDS = ("value", "id", "prob")


class Inference:
    """The network of ``output_layer`` (one or a list), or the one a
    ``serialize_for_inference`` file holds (``fileobj``), with ``parameters``' values."""

    def __init__(self, parameters: Parameters, output_layer: Any = None, fileobj: Any = None):
        if not isinstance(parameters, Parameters):
            raise TypeError(f"Inference: parameters must be a paddle Parameters object, got "
                            f"{type(parameters).__name__}")
        if output_layer is not None:
            topology = Topology(output_layer)
            model, self.data_types = topology.proto(), topology.data_type()
        elif fileobj is not None:
            model, self.data_types = load_inference(fileobj)
        else:
            raise ValueError("Inference needs output_layer or fileobj")
        self.outputs = list(model.output_layer_names)
        self.net = compile(model, device=Flags.device(), seed=Flags.seed)
        for name, live in self.net.parameters.items():
            if name not in parameters:
                raise ConfigError(f"Inference: the network needs parameter {name!r}, which the "
                                  f"parameters do not have (they have "
                                  f"{', '.join(parameters.keys()) or 'none'})")
            values = parameters.get(name)
            if values.size != int(np.prod(live.shape)):
                raise ConfigError(f"Inference: parameter {name!r} holds {values.size} values, "
                                  f"the network needs {int(np.prod(live.shape))}")
            self.net.parameters[name] = values.reshape(live.shape)

    def iter_infer(self, input: Sequence[Any], feeding: Any = None) -> Any:
        """Yields, for the one batch, a list of {field: array} per output layer."""
        if not isinstance(input, (list, tuple)):
            raise TypeError(f"infer: input must be a list of samples (e.g. [(image,), ...]), "
                            f"got {type(input).__name__}")
        if not input:
            return
        feed = DataFeeder(self.data_types, feeding)(list(input))
        out = self.net.forward(feed, training=False, fetch=self.outputs)
        yield [{"value": np.asarray(out[name], dtype=np.float32).reshape(len(input), -1),
                "id": None, "prob": None} for name in self.outputs]

    def iter_infer_field(self, field: Union[str, list[str]], **kwargs: Any) -> Any:
        fields = [field] if isinstance(field, str) else list(field)
        for unknown in (f for f in fields if f not in FIELDS):
            raise ValueError(f"infer: field {unknown!r} is not one of {', '.join(FIELDS)}")
        for results in self.iter_infer(**kwargs):
            yield [[_field(item, f, name) for f in fields]
                   for item, name in zip(results, self.outputs)]

    def infer(self, input: Sequence[Any], field: Union[str, list[str]] = "value",
              flatten_result: bool = True, feeding: Any = None) -> Any:
        """One array per field: (N, size) for one output layer; several output layers are
        stacked row-wise, as Paddle did (so they must have one width)."""
        fields = [field] if isinstance(field, str) else list(field)
        per_field: list[list[np.ndarray]] = [[] for _ in fields]
        for results in self.iter_infer_field(field=fields, input=input, feeding=feeding):
            for layer_result in results:
                for i, value in enumerate(layer_result):
                    per_field[i].append(value)
        if not per_field[0]:
            return []
        if flatten_result:
            widths = {arr.shape[1] for arr in per_field[0]}
            if len(widths) > 1:
                raise ValueError(f"infer: the output layers {self.outputs} have different "
                                 f"widths {sorted(widths)}; Paddle stacks them row-wise, so "
                                 "infer them one at a time")
            per_field = [np.concatenate(arrays, axis=0) for arrays in per_field]
        return per_field[0] if len(fields) == 1 else per_field


def _field(item: dict[str, Optional[np.ndarray]], field: str, layer: str) -> np.ndarray:
    value = item[field]
    if value is None:
        raise ValueError(f"infer: field {field!r} needs an id-producing layer; layer "
                         f"{layer!r} gives 'value' (minipaddle's max_id and sampling_id give "
                         "their ids as values too: ask for field='value')")
    return value


def infer(output_layer: Any, parameters: Parameters, input: Sequence[Any],
          feeding: Any = None, field: Union[str, list[str]] = "value") -> Any:
    """``Inference(parameters, output_layer).infer(input, field, feeding=feeding)``."""
    return Inference(parameters=parameters, output_layer=output_layer).infer(
        input=input, feeding=feeding, field=field)


__all__ = ["Inference", "infer"]
