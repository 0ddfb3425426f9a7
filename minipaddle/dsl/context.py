"""The parse context: everything one ``parse_config`` call accumulates.

Paddle v1 built the model as a side effect of each DSL call into a global ``g_config``.  We keep
that programming model (a config file is a script of DSL calls) but put the state in a
:class:`ParseContext` that :func:`fresh_context` swaps in for each parse, so nothing leaks from
one ``parse_config`` call into the next (name counters, settings, global parameter defaults).
DSL calls made outside ``parse_config`` go to a default context.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Iterator, Optional

from ..config import (
    ConfigError, DataConfig, EvaluatorConfig, LayerConfig, OptimizationConfig, ParameterConfig,
)

if TYPE_CHECKING:
    from .base import LayerOutput


def parse_config_args(config_args: Any) -> dict[str, str]:
    """``"use_gpu=1,is_predict=0"`` (or a mapping) to a dict of strings, as Paddle's parser."""
    if config_args is None or config_args == "":
        return {}
    if isinstance(config_args, dict):
        return {str(k): str(v) for k, v in config_args.items()}
    if not isinstance(config_args, str):
        raise ConfigError(f"config_args must be a 'key=value,key=value' string or a mapping, "
                          f"got {type(config_args).__name__}")
    result = {}
    for item in config_args.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"config_args item {item!r} is not of the form key=value")
        result[key.strip()] = value.strip()
    return result


#: config_parser's init_config_environment: the global defaults a parse starts with.
PARAMETER_DEFAULTS: dict[str, Any] = {
    "momentum": None, "decay_rate": None, "gradient_clipping_threshold": None,
    "initial_mean": 0.0, "initial_std": 0.01, "initial_strategy": 0, "initial_smart": False,
    "num_batches_regularization": None, "device": None,
}


class ParseContext:
    """Layers, parameters, settings and names of one config being built."""

    def __init__(self, config_args: Any = None):
        self.config_args = parse_config_args(config_args)
        self.counters: defaultdict[str, int] = defaultdict(int)
        self.layers: dict[str, LayerConfig] = {}
        self.layer_outputs: dict[str, "LayerOutput"] = {}
        self.parameters: dict[str, ParameterConfig] = {}
        self.evaluators: list[EvaluatorConfig] = []
        self.input_layer_names: list[str] = []
        self.output_layer_names: list[str] = []
        self.opt_values: dict[str, Any] = {}
        self.settings_called = False
        # Paddle's global defaults (config_parser's g_default_*), set by settings() and the
        # default_* functions; they reach the layers and parameters created after them.
        self.param_defaults: dict[str, Any] = dict(PARAMETER_DEFAULTS)
        #: parameters made for the layer being built (make_output gives them its device)
        self.fresh_parameters: list[ParameterConfig] = []
        #: TrainerConfig fields set by Settings(save_dir=..., init_model_path=..., start_pass=...)
        self.trainer_settings: dict[str, Any] = {}
        #: DataConfig.usage_ratio (Settings(usage_ratio=...), deprecated in Paddle)
        self.usage_ratio: float = 1.0
        #: (kind, layer name, file:line) of every Inputs()/Outputs() name, checked at the end
        self.declared_names: list[tuple[str, str, Optional[str]]] = []
        self.data_config: Optional[DataConfig] = None
        self.test_data_config: Optional[DataConfig] = None
        #: modules named by PyData sources so far (config_parser's g_py_module_name_list)
        self.py_module_names: list[str] = []
        self.next_seq = 0

    # -- config args -------------------------------------------------------------------------
    @property
    def use_gpu(self) -> bool:
        value = self.config_args.get("use_gpu", "0").strip().lower()
        return value not in ("", "0", "false", "no", "off")

    # -- names ---------------------------------------------------------------------------------
    def auto_name(self, prefix: str) -> str:
        k = self.counters[prefix]
        self.counters[prefix] += 1
        return f"__{prefix}_{k}__"

    # -- registration --------------------------------------------------------------------------
    def add_layer(self, config: LayerConfig, output: "LayerOutput") -> None:
        if config.name in self.layers:
            raise ConfigError(f"duplicate layer name {config.name!r}: a layer of type "
                              f"{self.layers[config.name].type!r} already has it; give each "
                              "layer a unique name", layer=config.name, argument="name")
        self.layers[config.name] = config
        self.layer_outputs[config.name] = output

    def seq(self) -> int:
        self.next_seq += 1
        return self.next_seq


#: The context DSL calls go to: a fresh one inside each parse_config (per thread and per
#: task, as a ContextVar), else the default context of DSL calls made outside parse_config.
_DEFAULT = [ParseContext()]
_CURRENT: ContextVar[Optional[ParseContext]] = ContextVar("minipaddle_parse_context",
                                                          default=None)


def current() -> ParseContext:
    ctx = _CURRENT.get()
    return ctx if ctx is not None else _DEFAULT[0]


@contextlib.contextmanager
def fresh_context(config_args: Any = None) -> Iterator[ParseContext]:
    """Run the body with a new, empty context (name counters reset, no settings).  Contexts
    are per thread: parse_config calls in several threads never share state."""
    ctx = ParseContext(config_args)
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)


def reset_default_context(config_args: Any = None) -> None:
    """Forget every layer defined outside parse_config (as a new Python session would)."""
    _DEFAULT[0] = ParseContext(config_args)


def get_config_arg(name: str, type: Any, default: Any = None) -> Any:  # noqa: A002 - Paddle's name
    """Read ``config_args`` as Paddle's ``get_config_arg(name, type, default)``."""
    raw = current().config_args.get(name)
    if raw is None:
        return default
    if type is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"config arg {name}={raw!r} is not a boolean (expected 0/1 or "
                          "true/false)", argument=name)
    try:
        return type(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"config arg {name}={raw!r} cannot be read as "
                          f"{getattr(type, '__name__', type)}", argument=name) from None
