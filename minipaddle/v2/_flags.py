"""``paddle.init(**flags)``: the run's flags, read from ``PADDLE_INIT_<FLAG>`` environment
variables and the keyword arguments (which win).

Honoured: ``use_gpu`` (the GPU backend and its layer types when a GPU backend is available;
otherwise one warning and the CPU), ``trainer_count`` (the CPU backend's threads, at most the
machine's cores), ``seed`` (random initialisation and dropout; 0 draws a time-based seed;
default 1, as Paddle) and ``sync_batch_norm`` (under mpiexec: batch norm statistics over the
global batch; docs/distributed.md).  Any other Paddle flag is accepted and ignored with one warning listing
them.  ``init`` also starts a new network definition (name counters and layers afresh), as
importing ``paddle.v2`` did in Paddle.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any, Union

from ..config import ConfigError
from ..dsl.context import reset_default_context
from ..runtime.backend import Backend, CPUBackend, get_backend
from . import config_base

ENV_PREFIX = "PADDLE_INIT_"
_TRUE = ("1", "true", "yes", "on")


class Flags:
    """What ``init`` decided; read by the trainer and by inference."""

    use_gpu = False
    threads = None
    seed = 1
    sync_batch_norm = False
    _backends: dict[int, Backend] = {}

    @classmethod
    def device(cls) -> Union[str, Backend]:
        if cls.use_gpu:
            return "gpu"
        if cls.threads is None:
            return "cpu"
        if cls.threads not in cls._backends:
            cls._backends[cls.threads] = CPUBackend(threads=cls.threads)
        return cls._backends[cls.threads]


def _flag_bool(name: str, value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def _flag_int(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"paddle.init: {name}={value!r}: expected an integer") from None
    if isinstance(value, bool):
        raise ConfigError(f"paddle.init: {name}={value!r}: expected an integer")
    return number


def _gpu_available() -> bool:
    try:
        get_backend("gpu")
    except ConfigError as err:
        warnings.warn(f"paddle.init(use_gpu=True): {err.reason}; running on the CPU "
                      "backend instead", RuntimeWarning, stacklevel=3)
        return False
    return True


def init(**kwargs: Any) -> None:
    """Set the run's flags (see the module's docstring) and start a new network definition."""
    flags = {key[len(ENV_PREFIX):].lower(): value for key, value in os.environ.items()
             if key.startswith(ENV_PREFIX)}
    flags.update(kwargs)
    if "parallel_nn" in flags:
        raise ConfigError("paddle.init: parallel_nn is not supported (nor was it by Paddle's "
                          "v2 API)")
    use_gpu = _flag_bool("use_gpu", flags.pop("use_gpu", False))
    count = _flag_int("trainer_count", flags.pop("trainer_count", 1))
    if count < 1:
        raise ConfigError(f"paddle.init: trainer_count={count}: expected at least 1")
    seed = _flag_int("seed", flags.pop("seed", 1))
    Flags.sync_batch_norm = _flag_bool("sync_batch_norm", flags.pop("sync_batch_norm", False))
    if flags:
        warnings.warn(f"paddle.init: flags ignored by minipaddle: {', '.join(sorted(flags))}",
                      UserWarning, stacklevel=2)
    Flags.use_gpu = use_gpu and _gpu_available()
    Flags.threads = min(count, os.cpu_count() or 1)
    Flags.seed = seed if seed != 0 else int(time.time() * 1e6) % (2 ** 31)
    reset_default_context("use_gpu=1" if Flags.use_gpu else None)
    config_base.reset()
