"""``paddle.trainer.SGD``: v2's trainer, driving minipaddle's one training loop.

``SGD`` builds the network of the cost layer(s), copies the optimizer's global defaults into
the parameter configs (Paddle's ``update_from_default``), compiles the network (random
initialisation, then the values the Parameters object already holds) and hands every batch of
``train``'s reader to :class:`minipaddle.train.trainer.Trainer`, the loop ``minipaddle train``
runs.  Its events come back as ``paddle.event`` objects with v2's names and values.
Under ``mpiexec`` the loop is data parallel as ``minipaddle train``'s is: each rank reads every
batch of the reader and trains on its shard (docs/distributed.md).
"""

from __future__ import annotations

import collections.abc
from typing import Any, Callable, Iterable, Iterator, Optional

from ..config import ModelConfig, TrainerConfig
from ..dsl.context import current
from ..train import events as loop_events
from ..train.comm import default_comm
from ..train.progress import Progress
from ..train.trainer import Trainer
from . import event as v2_event
from ._flags import Flags
from ._names import missing_attribute
from .data_feeder import DataFeeder
from .optimizer import Optimizer
from .parameters import Parameters
from .topology import Topology

#: parameter fields Paddle's update_from_default fills from the global defaults when 0
_DEFAULTED = ("momentum", "decay_rate", "gradient_clipping_threshold")


def update_from_default(model: ModelConfig, defaults: dict[str, Any]) -> ModelConfig:
    """The model with each parameter's momentum / decay_rate / clipping threshold set to the
    global default where it is still 0 (explicit zeros included) and the default is not."""
    params = []
    for conf in model.parameters:
        changes = {key: defaults[key] for key in _DEFAULTED
                   if defaults.get(key) and conf.get(key) == 0 and not conf.is_static}
        params.append(conf.model_copy(update=changes) if changes else conf)
    return model.model_copy(update={"parameters": params})


class SGD:
    """Train ``cost`` (a cost layer or a list) with ``update_equation`` (an Optimizer)."""

    def __init__(self, cost: Any, parameters: Parameters, update_equation: Optimizer,
                 extra_layers: Any = None, is_local: bool = True, pserver_spec: Any = None,
                 use_etcd: bool = True):
        if not isinstance(parameters, Parameters):
            raise TypeError(f"SGD: parameters must be paddle.parameters.create(...)'s result, "
                            f"got {type(parameters).__name__}")
        if not isinstance(update_equation, Optimizer):
            raise TypeError(f"SGD: update_equation must be a paddle.optimizer optimizer, got "
                            f"{type(update_equation).__name__}")
        if not is_local:
            raise NotImplementedError("SGD(is_local=False): cluster training (parameter "
                                      "servers) is not implemented in minipaddle")
        self.__topology__ = Topology(cost, extra_layers)
        model = update_from_default(self.__topology__.proto(), current().param_defaults)
        parameters.update_param_conf(model)
        self.__parameters__ = parameters
        config = TrainerConfig(model_config=model, opt_config=update_equation.opt_config)
        self._loop = Trainer(config, None, seed=Flags.seed, device=Flags.device(),
                             comm=default_comm(), sync_batch_norm=Flags.sync_batch_norm)
        self._gradients: dict = {}
        parameters.attach(self._loop.net, lambda: self._gradients)
        self._names = {ev.name: ev.config.name for ev in self._loop.evaluators
                       if ev.config is not None}

    def get_topology_proto(self) -> ModelConfig:
        """The trained network's ModelConfig (parameter defaults applied)."""
        return self._loop.config.model_config

    def _metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Metrics under the evaluators' config names; an evaluator reporting several
        numbers (``NAME.macro-average-precision``, ...) keeps its suffixes."""
        out = {}
        for key, value in metrics.items():
            base, dot, suffix = key.partition(".")
            if key in self._names:
                out[self._names[key]] = value
            elif dot and base in self._names:
                out[f"{self._names[base]}.{suffix}"] = value
        return out

    def _translate(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        net = self._loop.net

        def on_event(e: Any) -> None:
            if isinstance(e, loop_events.EndForwardBackward):
                self._gradients = e.gradients
                handler(v2_event.EndForwardBackward(e.pass_id, e.batch_id, net))
            elif isinstance(e, loop_events.EndIteration):
                handler(v2_event.EndIteration(e.pass_id, e.batch_id, e.cost,
                                              self._metrics(e.batch_metrics), net))
            elif isinstance(e, loop_events.EndPass):
                handler(v2_event.EndPass(e.pass_id, self._metrics(e.metrics), net))
            elif isinstance(e, loop_events.BeginIteration):
                handler(v2_event.BeginIteration(e.pass_id, e.batch_id))
            elif isinstance(e, loop_events.BeginPass):
                handler(v2_event.BeginPass(e.pass_id))

        return on_event

    def _feeds(self, reader: Callable[[], Iterable], feeding: Any) -> Callable[[], Iterator]:
        feeder = DataFeeder(self.__topology__.data_type(), feeding)
        return lambda: (feeder(batch) for batch in reader())

    def train(self, reader: Callable[[], Iterable], num_passes: int = 1,
              event_handler: Optional[Callable[[Any], None]] = None, feeding: Any = None) -> None:
        """``num_passes`` passes over ``reader()`` (a batch reader, e.g. paddle.batch(...)),
        with a fresh optimizer state; without ``event_handler``, the usual progress lines."""
        if not callable(reader):
            raise TypeError(f"train: reader must be a callable returning batches (e.g. "
                            f"paddle.batch(...)), got {type(reader).__name__}")
        if not isinstance(reader(), collections.abc.Iterator):
            raise TypeError("train: reader() must return an iterator (a generator, as "
                            "paddle.batch's readers do), not a list")
        if event_handler is not None and not callable(event_handler):
            raise TypeError(f"train: event_handler must be callable, got "
                            f"{type(event_handler).__name__}")
        feeds = self._feeds(reader, feeding)
        loop = self._loop
        loop.updater = loop.new_updater()
        loop.pass_id = 0
        loop.handler = self._translate(event_handler or (lambda e: None))
        loop.log = Progress(enabled=event_handler is None and loop.comm.rank == 0)
        loop.train(num_passes, reader=feeds)

    def test(self, reader: Callable[[], Iterable], feeding: Any = None) -> v2_event.TestResult:
        """Cost (mean per sample) and metrics over every batch of ``reader()``, with the
        current (not model-averaged) weights."""
        feeds = self._feeds(reader, feeding)
        counted = [0]

        def counting() -> Iterator:
            for feed in feeds():
                counted[0] += len(next(iter(feed.values())))
                yield feed

        metrics = self._loop.evaluate(counting(), averaged=False)
        if not counted[0]:
            raise ValueError("test: the reader yielded no samples")
        return v2_event.TestResult(self._metrics(metrics), metrics.get("cost", 0.0))

    def save_parameter_to_tar(self, f: Any) -> None:
        """The parameters as Paddle's tar, with the ModelAverage weights when averaging is on."""
        values = {k: v.reshape(-1) for k, v in self._loop.parameter_values(averaged=True).items()}
        self.__parameters__.to_tar(f, values)


__all__ = ["SGD"]

__getattr__ = missing_attribute(__name__, __all__)
