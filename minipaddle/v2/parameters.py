"""``paddle.parameters``: the parameters of a v2 network, and Paddle's model tar format.

Before a trainer exists, a Parameters object holds configs and whatever values were set or
loaded; ``trainer.SGD`` initialises the network at random and then overwrites it with those
values.  From then on ``get`` reads the network (a flat 1-D float32 copy, as Paddle's) and
``set`` writes into it.  ``to_tar`` writes Paddle's bytes exactly: per parameter a member
``NAME`` (16-byte header + float32 values) and ``NAME.protobuf`` (the binary ParameterConfig),
GNU tar headers of mode 0644 and mtime 0, and no end-of-archive blocks.
"""

from __future__ import annotations

import io
import tarfile
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..config import ConfigError, ModelConfig, ParameterConfig
from ..config.protobin import from_protobin, to_protobin
from ..runtime import Network
from ..runtime.backend import to_host
from ..train.checkpoint import decode_paddle_parameter, encode_paddle_parameter
from .topology import Topology, binary_stream

BLOCK = 512
PROTOBUF_SUFFIX = ".protobuf"


def create(layers: Any) -> "Parameters":
    """The parameters the network of ``layers`` (a cost layer or a list) uses, in creation
    order, without values: random initialisation happens when the trainer is built."""
    parameters = Parameters()
    for conf in Topology(layers).proto().parameters:
        parameters.append_config(conf)
    return parameters


class Parameters:
    """Parameter name -> value, with each parameter's ParameterConfig."""

    def __init__(self) -> None:
        self.__param_conf__: dict[str, ParameterConfig] = {}
        self.__values__: dict[str, np.ndarray] = {}
        #: attached networks, and how to read each one's latest gradients
        self.__machines__: list[tuple[Network, Callable[[], dict]]] = []

    # -- names and configs ---------------------------------------------------------------
    def append_config(self, conf: ParameterConfig) -> None:
        if conf.name in self.__param_conf__:
            raise ValueError(f"duplicate parameter {conf.name!r}")
        self.__param_conf__[conf.name] = conf

    def update_param_conf(self, model: ModelConfig) -> None:
        for conf in model.parameters:
            self.__param_conf__[conf.name] = conf

    def keys(self) -> list[str]:
        return list(self.__param_conf__)

    names = keys

    def has_key(self, key: str) -> bool:
        return key in self.__param_conf__

    def __contains__(self, key: object) -> bool:
        return key in self.__param_conf__

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.__param_conf__)

    def config(self, key: str) -> ParameterConfig:
        if not isinstance(key, str):
            raise ValueError(f"parameter names are strings, got {type(key).__name__} {key!r}")
        try:
            return self.__param_conf__[key]
        except KeyError:
            raise ValueError(f"no parameter named {key!r}; parameters: "
                             f"{', '.join(self.__param_conf__) or 'none'}") from None

    def get_shape(self, key: str) -> tuple[int, ...]:
        """Paddle's shape: the config's dims, or (1, size) without dims (a conv weight)."""
        conf = self.config(key)
        return tuple(conf.dims) if conf.dims else (1, conf.size)

    # -- values --------------------------------------------------------------------------
    def get(self, key: str) -> np.ndarray:
        """A copy of the value: flat 1-D float32 once a trainer holds the parameters, in
        ``get_shape`` before."""
        conf = self.config(key)
        if self.__machines__:
            net = self.__machines__[0][0]
            return np.array(to_host(net.parameters[key]), dtype=np.float32).reshape(-1)
        if key not in self.__values__:
            raise ValueError(f"parameter {key!r} has no value yet: values are drawn when "
                             "paddle.trainer.SGD is built, or come from set() or a tar "
                             f"(size {conf.size})")
        return self.__values__[key].copy()

    __getitem__ = get

    def get_grad(self, key: str) -> np.ndarray:
        """The gradient of the latest training batch, flat (zeros for static parameters)."""
        conf = self.config(key)
        if not self.__machines__:
            raise ValueError(f"parameter {key!r} has no gradient: no trainer holds it yet")
        grads = self.__machines__[0][1]() or {}
        if key not in grads:
            return np.zeros(conf.size, dtype=np.float32)
        return np.array(to_host(grads[key]), dtype=np.float32).reshape(-1)

    def set(self, key: str, value: np.ndarray) -> None:
        """Set a value of exactly ``get_shape(key)``, cast to float32."""
        shape = self.get_shape(key)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"parameter {key!r}: set() takes a numpy array, got "
                            f"{type(value).__name__}")
        if tuple(value.shape) != shape:
            raise ValueError(f"parameter {key!r}: value of shape {tuple(value.shape)}, expected "
                             f"{shape} (get_shape); after training get() returns the values "
                             "flat: reshape them first")
        value = value.astype(np.float32)
        if not self.__machines__:
            self.__values__[key] = value
        for net, _ in self.__machines__:
            net.parameters[key] = value.reshape(net.parameters[key].shape)

    __setitem__ = set

    def attach(self, net: Network, gradients: Callable[[], dict]) -> None:
        """Hand the parameters to a compiled network (what building a trainer does): values
        set or loaded so far overwrite its random initialisation."""
        for key, value in self.__values__.items():
            if key in net.parameters:
                net.parameters[key] = value.reshape(net.parameters[key].shape)
        self.__machines__.append((net, gradients))

    def values(self) -> dict[str, np.ndarray]:
        """Every parameter's current value (flat), for saving."""
        return {key: self.get(key) for key in self.keys()}

    # -- Paddle's files --------------------------------------------------------------------
    def serialize(self, name: str, f: Any) -> None:
        """Write one parameter in Paddle's format (16-byte header + float32 values)."""
        binary_stream(f, "serialize").write(encode_paddle_parameter(self.get(name)))

    def deserialize(self, name: str, f: Any) -> None:
        data = binary_stream(f, "deserialize").read()
        values = decode_paddle_parameter(data, f"parameter {name!r}", self.config(name).size)
        self.set(name, values.reshape(self.get_shape(name)))

    def to_tar(self, f: Any, values: Optional[dict[str, np.ndarray]] = None) -> None:
        """Write every parameter into ``f`` as Paddle's tar (a text-mode file is written
        through its binary buffer); ``values`` overrides the current values (trainer
        ``save_parameter_to_tar`` passes the model-averaged ones)."""
        values = values if values is not None else self.values()
        out = binary_stream(f, "to_tar")
        for name, conf in self.__param_conf__.items():
            raw = encode_paddle_parameter(values[name], f"parameter {name!r}")
            out.write(tar_member(name, raw))
            out.write(tar_member(name + PROTOBUF_SUFFIX, to_protobin(conf)))
        out.flush()

    @staticmethod
    def from_tar(f: Any) -> "Parameters":
        """Parameters (configs and values) from a tar ``to_tar`` (or Paddle) wrote."""
        members = read_tar(f)
        params = Parameters()
        for name, data in members.items():
            if name.endswith(PROTOBUF_SUFFIX):
                conf = from_protobin(ParameterConfig, data, f"tar member {name!r}")
                if conf.name in params:
                    raise ValueError(f"the tar holds parameter {conf.name!r} twice")
                params.append_config(conf)
        for name in params.keys():
            if name not in members:
                raise ConfigError(f"the tar has {name}{PROTOBUF_SUFFIX} but no member {name!r}")
            params.deserialize(name, io.BytesIO(members[name]))
        return params

    def init_from_tar(self, f: Any, exclude_params: Optional[list[str]] = None) -> None:
        """Set every parameter that is also in the tar, except ``exclude_params``."""
        loaded = Parameters.from_tar(f)
        skip = set(exclude_params or [])
        for name in loaded.keys():
            if name in self and name not in skip:
                self.set(name, loaded.get(name).reshape(self.get_shape(name)))


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _tar_header(name: bytes, size: int, kind: bytes, magic: bytes, mode: int) -> bytes:
    """One 512-byte header as Python 2.7's tarfile wrote it (uid/gid 0, mtime 0, empty
    user and group names, device numbers written as zeros)."""
    fields = [name[:100].ljust(100, b"\0"), _octal(mode, 8), _octal(0, 8), _octal(0, 8),
              _octal(size, 12), _octal(0, 12), b" " * 8, kind, b"\0" * 100, magic,
              b"\0" * 32, b"\0" * 32, _octal(0, 8), _octal(0, 8), b"\0" * 155]
    block = b"".join(fields).ljust(BLOCK, b"\0")
    checksum = b"%06o\0" % sum(block)
    return block[:148] + checksum + block[155:]


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def tar_member(name: str, data: bytes) -> bytes:
    """A regular-file member (mode 0644) in GNU format, with a ``././@LongLink`` member first
    for names over 100 bytes, as Python 2's ``TarFile`` wrote them."""
    encoded = name.encode("utf-8")
    prefix = b""
    if len(encoded) > 100:
        long_name = encoded + b"\0"
        prefix = (_tar_header(b"././@LongLink", len(long_name), b"L", b"ustar  \0", 0)
                  + _padded(long_name))
    return prefix + _tar_header(encoded, len(data), b"0", b"ustar  \0", 0o644) + _padded(data)


def read_tar(f: Any) -> dict[str, bytes]:
    """Member name -> bytes of a tar (no end-of-archive blocks needed), in archive order."""
    stream = binary_stream(f, "from_tar")
    try:
        with tarfile.open(fileobj=stream, mode="r:*") as archive:
            return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}
    except tarfile.TarError as err:
        raise ConfigError(f"not a parameter tar ({err})") from None


__all__ = ["Parameters", "create"]
