"""Evaluators: the average cost per sample, and one class per ``EvaluatorConfig.type``.

An evaluator type is implemented by a subclass of :class:`Evaluator` registered with
``@register_evaluator("type")`` in a family module of this package (found by discovery:
nothing lists them); its facts (which inputs are integer labels) are declared on the config
floor (``minipaddle.config.evaluators``).

Counts: an evaluator's state over a pass is a fixed-length vector of sums (``fields``, each a
number or an array of fixed shape), so that the counts of several batches, or of several
ranks' shards of one batch, add up; ``counts_of`` / ``add_counts`` move them as one flat
list, ``count_size`` says its length.  An evaluator whose metric is not a function of sums
(AUC over Paddle's 2^24 bins, pnpair's pairs within a query) keeps per-sample ``records``
(rows of a 2-D float array) instead: ``records_of`` / ``add_records`` move them, gathered
from every rank.

A class is built as ``cls(config)``, plus ``model=`` (the ModelConfig, for input sizes) and
``log=`` (a callable taking one line: the trainer's log, which printers print through) when
its constructor takes them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any, Callable, Optional

import numpy as np

from ...config import ConfigError, EvaluatorConfig


class Evaluator:
    """Accumulates a metric over the batches of a pass."""

    name: str
    #: layers whose outputs the evaluator reads
    inputs: list[str]
    #: the EvaluatorConfig it computes (None for the cost average, which Paddle had none of)
    config: Optional[EvaluatorConfig] = None

    #: True for an evaluator that reads its inputs' output gradients after each training
    #: batch's backward (the gradient printer): the trainer has the network keep them
    #: (``Network.keep_gradients``) and hands them to :meth:`add_gradients`
    reads_gradients: bool = False

    def add_gradients(self, gradients: dict[str, Any]) -> None:
        """The output gradients of ``inputs`` after a training batch's backward."""

    def reset(self) -> None:
        raise NotImplementedError

    def add(self, outputs: dict[str, Any], labels: dict[str, Any]) -> None:
        raise NotImplementedError

    def value(self) -> float:
        raise NotImplementedError

    def values(self) -> dict[str, float]:
        """Metric name -> value: ``{name: value()}``, or several for an evaluator that
        reports more than one number."""
        return {self.name: self.value()}

    #: the accumulators behind value(): sums over samples, so that the counts of several
    #: batches (or of several ranks' shards of one batch) add up; each attribute is a number
    #: or a float array of a shape fixed at construction
    fields: tuple[str, ...] = ()
    #: False for an evaluator whose state is no fixed vector of sums (detection_map keeps
    #: every detection's score): it has no counts, the trainer adds each training batch to
    #: the pass's evaluator itself, ``add_counts`` never resets it, and data parallel
    #: training refuses it
    additive: bool = True

    #: per-sample records (a 2-D float array of ``record_width`` columns), for a metric that
    #: is not a function of sums; None for an evaluator without records
    records: Optional[np.ndarray] = None

    def add_records(self, rows: Any) -> None:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.size:
            self.records = rows if self.records is None or not len(self.records) else \
                np.concatenate([self.records, rows])

    def count_size(self) -> int:
        """The length of :meth:`counts`."""
        return sum(int(np.size(getattr(self, f))) for f in self.fields)

    def counts(self) -> list[float]:
        out: list[float] = []
        for f in self.fields:
            value = getattr(self, f)
            if isinstance(value, np.ndarray):
                out.extend(value.ravel().tolist())
            else:
                out.append(float(value))
        return out

    def add_counts(self, counts: list[float]) -> None:
        counts = list(counts)
        if len(counts) != self.count_size():
            raise ValueError(f"evaluator {self.name!r}: {len(counts)} counts, expected "
                             f"{self.count_size()}")
        for f in self.fields:
            value = getattr(self, f)
            if isinstance(value, np.ndarray):
                n = value.size
                value += np.asarray(counts[:n], dtype=value.dtype).reshape(value.shape)
                counts = counts[n:]
            else:
                setattr(self, f, value + float(counts[0]))
                counts = counts[1:]


class CostAverage(Evaluator):
    """Average per-sample cost over the pass (Paddle's AvgCost), summed over cost layers."""

    def __init__(self, cost_layers: list[str]):
        self.name = "cost"
        self.fields = ("total", "count")
        self.inputs = list(cost_layers)
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, outputs, labels) -> None:
        batch = sum(float(np.sum(outputs[c])) for c in self.inputs)
        self.total += batch
        self.count += int(np.shape(outputs[self.inputs[0]])[0])

    def value(self) -> float:
        return self.total / max(1, self.count)


#: EvaluatorConfig.type -> evaluator class (filled by ``register_evaluator``)
EVALUATORS: dict[str, type] = {}


def register_evaluator(evaluator_type: str) -> Callable[[type], type]:
    """Class decorator: the class computes evaluators of ``evaluator_type``; it is built as
    ``cls(config)`` (plus ``log=`` when its constructor takes one: the trainer's log, which
    printer evaluators print through)."""
    def decorate(cls: type) -> type:
        old = EVALUATORS.get(evaluator_type)
        if old is not None and old is not cls:
            raise RuntimeError(f"evaluator type {evaluator_type!r} is registered twice "
                               f"({old.__name__} and {cls.__name__})")
        EVALUATORS[evaluator_type] = cls
        return cls
    return decorate


def unregister_evaluator(evaluator_type: str) -> None:
    """Undo :func:`register_evaluator` (a type defined for a while only, as in a test)."""
    EVALUATORS.pop(evaluator_type, None)


def counts_of(evaluators: list[Evaluator]) -> list[float]:
    """Every evaluator's counts, one flat list (what data parallelism sums over the ranks)."""
    return [c for ev in evaluators for c in ev.counts()]


def count_size(evaluators: list[Evaluator]) -> int:
    """The length of ``counts_of(evaluators)``."""
    return sum(ev.count_size() for ev in evaluators)


def add_counts(evaluators: list[Evaluator], counts: Any, reset: bool = False) -> None:
    """Add a flat list of counts (``counts_of``'s layout) to the evaluators; with ``reset``,
    the evaluators hold exactly those counts (a non-additive one keeps what it holds)."""
    counts = list(counts)
    for ev in evaluators:
        if reset and ev.additive:
            ev.reset()
        n = ev.count_size()
        ev.add_counts(counts[:n])
        counts = counts[n:]


def records_of(evaluators: list[Evaluator]) -> list[Optional[np.ndarray]]:
    """Every evaluator's records (None for one without), in order."""
    return [ev.records if ev.records is not None else None for ev in evaluators]


def has_records(evaluators: list[Evaluator]) -> bool:
    return any(ev.records is not None for ev in evaluators)


def add_records(evaluators: list[Evaluator], gathered: list[list[Optional[np.ndarray]]],
                reset: bool = False) -> None:
    """Add the records of every rank (``records_of``'s layout, one list per rank) to the
    evaluators that keep records; with ``reset``, they hold exactly those records."""
    for i, ev in enumerate(evaluators):
        if ev.records is None:
            continue
        if reset:
            ev.records = np.zeros((0, ev.records.shape[1]))
        for per_rank in gathered:
            if per_rank[i] is not None:
                ev.add_records(per_rank[i])


def _no_log(line: str) -> None:
    pass


def build_evaluators(configs: list[EvaluatorConfig], cost_layers: list[str],
                     log: Any = None, model: Any = None) -> list[Evaluator]:
    """The cost average (when there are cost layers) and one evaluator per config; ``log``
    (a callable taking a line) is handed to the evaluators that print, ``model`` (the
    ModelConfig) to those that need input sizes."""
    evaluators: list[Evaluator] = [CostAverage(cost_layers)] if cost_layers else []
    for config in configs:
        cls = EVALUATORS.get(config.type)
        if cls is None:
            raise ConfigError(f"evaluator {config.name!r}: type {config.type!r} is not "
                              f"supported; known: {', '.join(sorted(EVALUATORS))}")
        wanted = inspect.signature(cls).parameters
        extra = {k: v for k, v in (("log", log or _no_log), ("model", model)) if k in wanted}
        evaluator = cls(config, **extra)
        if any(e.name == evaluator.name for e in evaluators):
            # several evaluators of one type: name each metric after the layer it scores
            evaluator.name = f"{evaluator.name}({evaluator.inputs[0]})"
        evaluators.append(evaluator)
    return evaluators


# every module of this package implements one family of evaluator types
for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
