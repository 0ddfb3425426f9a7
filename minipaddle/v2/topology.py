"""``paddle.topology.Topology``: the network a cost (or output) layer needs, its inputs and
their input types, and the inference file ``serialize_for_inference`` writes."""

from __future__ import annotations

import io
import pickle
from typing import Any, Optional

from ..config import ConfigError, ModelConfig
from ..config.protobin import from_protobin, to_protobin
from ..dsl import LayerOutput
from . import config_base
from .data_type import InputType
from ._pickle import RestrictedUnpickler
from .layer import _as_layers, parse_network

#: InputType under its names in files written by minipaddle and by Paddle
INPUT_TYPES = {("minipaddle.v2.data_type", "InputType"): InputType,
               ("paddle.trainer.PyDataProvider2", "InputType"): InputType}


class Topology:
    """``layers`` (one or a list) are the outputs; ``extra_layers`` are computed as well."""

    def __init__(self, layers: Any, extra_layers: Any = None):
        self.outputs = _as_layers("Topology layers", layers)
        self.extras = _as_layers("Topology extra_layers", extra_layers)
        self.layers = self.outputs + self.extras
        self.__model__ = parse_network(self.outputs, self.extras)

    def proto(self) -> ModelConfig:
        """The network as minipaddle's ModelConfig (the object ``minipaddle dump`` prints)."""
        return self.__model__

    def _used(self) -> dict[str, LayerOutput]:
        seen: dict[str, LayerOutput] = {}
        stack = list(self.layers)
        while stack:
            node = stack.pop()
            if node.name not in seen:
                seen[node.name] = node
                stack.extend(node.parents)
        return seen

    def data_layers(self) -> dict[str, LayerOutput]:
        """Data layers the network uses, by name."""
        return {n: layer for n, layer in self._used().items() if layer.layer_type == "data"}

    def data_type(self) -> list[tuple[str, InputType]]:
        """``[(name, input type)]`` of the inputs, in creation order."""
        layers = self.data_layers()
        types = []
        for name in self.__model__.input_layer_names:
            input_type = config_base.data_type_of(layers[name])
            if input_type is None:
                raise ConfigError(f"data layer {name!r} has no input type: it was made by v1's "
                                  "data_layer; a v2 network makes its data layers with "
                                  "paddle.layer.data(name=..., type=paddle.data_type....)",
                                  layer=name)
            types.append((name, input_type))
        return types

    def get_layer(self, name: str) -> Optional[LayerOutput]:
        return config_base.__layer_map__.get(name)

    def get_layer_proto(self, name: str) -> Any:
        return next((layer for layer in self.__model__.layers if layer.name == name), None)

    def use_sparse_updater(self) -> bool:
        return any(p.get("sparse_update") or p.get("sparse_remote_update")
                   for p in self.__model__.parameters)

    def serialize_for_inference(self, stream: Any) -> None:
        """Pickle ``{'protobin': ModelConfig bytes, 'data_type': [(name, InputType)]}`` into
        ``stream`` (protocol 2, as Paddle); ``Inference(fileobj=...)`` reads it."""
        blob = {"protobin": to_protobin(self.proto()), "data_type": self.data_type()}
        pickle.dump(blob, binary_stream(stream, "serialize_for_inference"), protocol=2)


def binary_stream(stream: Any, what: str) -> Any:
    """The binary file under a text-mode file object (``open(path, 'w')``, as Paddle's
    programs pass), or the stream itself."""
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            raise TypeError(f"{what}: {type(stream).__name__} is a text stream without a binary "
                            "buffer; open the file in binary mode ('wb' / 'rb')")
        stream.flush()
        return buffer
    return stream


def load_inference(stream: Any) -> tuple[ModelConfig, list[tuple[str, InputType]]]:
    """(ModelConfig, data types) of a file ``serialize_for_inference`` wrote."""
    try:
        blob = RestrictedUnpickler(binary_stream(stream, "Inference(fileobj)"),
                                   "an inference file", INPUT_TYPES, encoding="latin1").load()
        protobin = blob["protobin"]
        if isinstance(protobin, str):          # written by Python 2: a byte string
            protobin = protobin.encode("latin1")
        model = from_protobin(ModelConfig, protobin, "inference file")
        data_types = [(str(name), t) for name, t in blob["data_type"]]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"not an inference topology file ({err})") from None
    return model, data_types


__all__ = ["Topology"]
