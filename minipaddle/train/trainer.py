"""The training loop: Paddle v1's ``paddle_trainer --job=train|test`` as a library.

    trainer = Trainer(parse_config("model_zoo/lenet.yaml"), data="mnist5k", seed=1,
                      save_dir="output")
    result = trainer.train(num_passes=10)

A data set feeds the network by slot: its images go to the one dense data layer and its labels
to the label slot.  Any other source of batches drives the same loop as a *reader*: a callable
returning an iterable of feed dicts (data layer name -> array, one dict per batch), as
``minipaddle.v2``'s ``trainer.SGD`` does with ``Trainer(config, None)`` and
``train(num_passes, reader=...)``.  Gradients are sums over the batch (Paddle's convention);
the updater applies the config's learning method, schedule, regularization, clipping and model
averaging.

Data parallel: with ``comm=`` a communicator of several ranks (``comm.default_comm()`` under
``mpiexec``), every rank runs this loop on its contiguous shard of each global batch, the
gradients are summed over the ranks before the update (:mod:`.parallel`), metrics are summed
too, and rank 0 alone logs and writes checkpoints (``docs/distributed.md``).
"""

from __future__ import annotations

import contextlib
import json
import platform
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Union

import numpy as np

from ..config import ConfigError, TrainerConfig, to_yaml
from ..runtime import Network, compile
from ..runtime.backend import to_host
from . import checkpoint as ckpt
from . import killpoints
from .comm import Communicator, LocalComm
from .datasets import Dataset, batches, load_dataset
from .divergence import DivergenceGuard, quiet_floating_point
from .evaluators import (Evaluator, add_counts, add_records, build_evaluators, count_size,
                         counts_of, has_records, records_of)
from .events import BeginIteration, BeginPass, EndForwardBackward, EndIteration, EndPass
from .optimizers import ParameterUpdater
from .parallel import DataParallel, agreement_items, rank_device
from .progress import Progress

EventHandler = Callable[[Any], None]
#: one batch: data layer name -> array (N, ...) of N samples
Feed = dict[str, Any]
#: a reader of batches: each call starts a pass and returns that pass's feeds
FeedReader = Callable[[], Iterable[Feed]]
DEFAULT_BATCH_SIZE = 64


def _meta_error(path: Path, key: str, value: Any, expected: str) -> ConfigError:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return ConfigError(f"checkpoint meta {path / ckpt.META_FILE}: key {key!r} is {shown}, "
                       f"expected {expected}")


def _warn_about_settings(opt: Any) -> None:
    """Settings a run takes but the user may not expect: none at all, or async_sgd."""
    if opt.batch_size is None:
        warnings.warn("the config never calls settings(): training with Paddle's defaults "
                      "(momentum SGD, learning rate 1.0 on summed gradients)",
                      UserWarning, stacklevel=3)
    if opt.get("algorithm") == "async_sgd":
        warnings.warn("algorithm async_sgd runs as synchronous SGD in one process",
                      UserWarning, stacklevel=3)


def _datasets(config: TrainerConfig, data: Union[str, tuple[Dataset, Optional[Dataset]], None]
              ) -> tuple[Optional[Dataset], Optional[Dataset]]:
    """The (train, test) data sets ``data`` names or is; (None, None) when a reader feeds."""
    if data is None and config.data_config is not None:
        raise ConfigError("this config reads its data through a PyDataProvider2 module "
                          f"({config.data_config.load_data_module!r}); minipaddle cannot "
                          "run Python data providers: choose a data set (--data "
                          "mnist5k, digits or idx:DIR)")
    train: Optional[Dataset] = None
    test: Optional[Dataset] = None
    if isinstance(data, str):
        train, test = load_dataset(data)
    elif data is not None:
        train, test = data
    _refuse_empty(train, test)
    return train, test


def _dataset_slots(net: Network, dataset: Dataset) -> tuple[str, str]:
    """(image, label): the one dense data layer a data set's images feed and the one label
    data layer its labels feed, checked against the images' size and the classes."""
    if dataset.dense_labels:
        return _dense_label_slots(net, dataset)
    labels = [n for n in net.data_layers if n in net.label_slots]
    dense = [n for n in net.data_layers if n not in net.label_slots]
    if len(dense) != 1 or len(labels) != 1:
        raise ConfigError(
            f"a data set feeds one image data layer and one label data layer; this network "
            f"has dense data layers {dense} and label data layers {labels}")
    image, label = dense[0], labels[0]
    size = net.configs[image].size
    c, h, w = dataset.image_shape
    if size != c * h * w:
        raise ConfigError(f"data layer {image!r} has size {size}, but the "
                          f"{dataset.name} images have {c * h * w} values "
                          f"({c}x{h}x{w}): {size} vs {c * h * w}")
    classes = net.label_slots[label]
    if dataset.num_classes > classes:
        raise ConfigError(f"the {dataset.name} data set has "
                          f"{dataset.num_classes} classes but the network's output "
                          f"{classes}")
    return image, label


def _dense_label_slots(net: Network, dataset: Dataset) -> tuple[str, str]:
    """(image, label) for a data set whose labels are rows (``shapes``' ground-truth boxes):
    two dense data layers, told apart by their sizes."""
    c, h, w = dataset.image_shape
    width = dataset.labels.shape[1]
    dense = [n for n in net.data_layers if n not in net.label_slots]
    images = [n for n in dense if net.configs[n].size == c * h * w]
    labels = [n for n in dense if net.configs[n].size == width and n not in images]
    if len(dense) != 2 or len(images) != 1 or len(labels) != 1:
        raise ConfigError(
            f"the {dataset.name} data set feeds two dense data layers, its images "
            f"({c}x{h}x{w} = {c * h * w} values) and its label rows ({width} values); this "
            f"network has data layers "
            f"{', '.join(f'{n} (size {net.configs[n].size})' for n in net.data_layers)}")
    return images[0], labels[0]


def _cost_layers(net: Network, outputs: list[str]) -> list[str]:
    """The network's output layers that are costs; a ConfigError when there is none."""
    costs = [name for name in outputs
             if net.layers.get(name) is not None and net.layers[name].is_cost]
    if not costs:
        raise ConfigError("the network's outputs include no cost layer to train: add "
                          "classification_cost (or another cost) to outputs()")
    return costs


def _refuse_empty(train: Optional[Dataset], test: Optional[Dataset]) -> None:
    """An empty data set would train or test nothing and report made-up figures."""
    for part, dataset in (("training", train), ("test", test)):
        if dataset is not None and len(dataset) == 0:
            raise ConfigError(f"the {part} set {dataset.name} is empty: there is nothing "
                              f"to {'train on' if part == 'training' else 'test on'}")


def _latest_to_resume(save_dir: Path) -> Path:
    """The latest complete checkpoint in ``save_dir``, warning about each newer pass
    directory passed over (it will be trained and saved again)."""
    skipped: list = []
    path = ckpt.latest_checkpoint(save_dir, skipped)
    for where, why in skipped:
        warnings.warn(f"--resume skips {where}, which is not a complete checkpoint ({why}); "
                      "that pass will be trained and saved again", UserWarning, stacklevel=3)
    if path is None:
        raise ConfigError(f"no complete checkpoint in {save_dir}")
    return path


def _restore_rng(path: Path, meta: dict, key: str, rng: np.random.Generator) -> None:
    try:
        rng.bit_generator.state = meta[key]
    except (TypeError, ValueError, KeyError):
        raise _meta_error(path, key, meta[key], "the random-generator state minipaddle saved "
                          f"({type(rng.bit_generator).__name__})") from None


def _resume_counters(path: Path, meta: dict) -> dict[str, int]:
    """The counters a resume needs from a checkpoint's meta, checked: a hand-edited or foreign
    meta is an error naming the file, the key and what was expected."""
    missing = [k for k in ("pass_id", "batch_count", "shuffle_rng", "network_rng")
               if k not in meta]
    if missing:
        raise ConfigError(f"checkpoint meta {path / ckpt.META_FILE}: missing "
                          f"{', '.join(repr(k) for k in missing)}; only a checkpoint minipaddle "
                          "wrote can be resumed (--init-model-path loads parameters alone)")
    counters = {}
    for key in ("pass_id", "batch_count"):
        value = meta[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _meta_error(path, key, value, "a non-negative integer")
        counters[key] = value
    saved = path.name[len("pass-"):]
    if path.name.startswith("pass-") and saved.isdigit() \
            and counters["pass_id"] != int(saved) + 1:
        raise _meta_error(path, "pass_id", counters["pass_id"],
                          f"{int(saved) + 1} (the pass after {path.name})")
    return counters


def _checkpoint_meta(trainer: "Trainer") -> dict:
    """The counters, settings and random states a checkpoint's meta holds (JSON values)."""
    meta = {"pass_id": trainer.pass_id, "batch_count": trainer.batch_count,
            "seed": trainer.seed, "batch_size": trainer.batch_size,
            "shuffle_rng": trainer.shuffle_rng.bit_generator.state,
            "network_rng": trainer.net.rng.bit_generator.state,
            "numpy": np.__version__, "python": platform.python_version()}
    return json.loads(json.dumps(meta))


def _restore(trainer: "Trainer", path: Path) -> None:
    """Parameters, optimizer state, counters and random states from a checkpoint."""
    state, meta, _ = ckpt.load_checkpoint_extras(path)
    counters = _resume_counters(path, meta)
    for name, value in _raw_parameters(path, state, trainer.net).items():
        trainer.net.parameters[name] = value
    trainer.updater.load_state_dict({k[len("optimizer/"):]: v for k, v in state.items()
                                     if k.startswith("optimizer/")})
    trainer.pass_id, trainer.batch_count = counters["pass_id"], counters["batch_count"]
    _restore_rng(path, meta, "shuffle_rng", trainer.shuffle_rng)
    _restore_rng(path, meta, "network_rng", trainer.net.rng)


def _raw_parameters(path: Path, state: dict, net: Network) -> dict[str, np.ndarray]:
    """A checkpoint's parameters as trained (not averaged): the raw copies its state holds,
    or its saved parameters when the state lacks some."""
    shapes = {k: tuple(v.shape) for k, v in net.parameters.items()}
    raw = {k[len("raw/"):]: v for k, v in state.items() if k.startswith("raw/")}
    if set(raw) != set(shapes):
        return ckpt.load_parameters(path, shapes)
    return {k: v.reshape(shapes[k]) for k, v in raw.items()}


def _non_finite_cost(net: Network, feed: Feed, pass_id: int, batch: int) -> FloatingPointError:
    """The error a non-finite cost stops training with, naming the first non-finite layer."""
    found = net.first_non_finite(feed)
    where = (f"first non-finite layer: {found[0]!r} ({found[1]})" if found
             else "no layer output is non-finite when re-run")
    return FloatingPointError(
        f"the cost became non-finite at pass {pass_id}, batch {batch} ({where}); training "
        "stopped, the last complete checkpoint is kept: lower the learning rate or check the "
        "data")


def _values(evaluators: list[Evaluator]) -> dict[str, float]:
    """Metric name -> value."""
    return {name: value for ev in evaluators for name, value in ev.values().items()}


def _forward_all(net: Network, feeds: Iterable[Feed], evaluators: list[Evaluator],
                 fetch: list[str]) -> None:
    """Test-mode forward passes over ``feeds`` (empty shards skipped), counted by
    ``evaluators``."""
    for feed in feeds:
        if feed and not len(next(iter(feed.values()))):
            continue                          # an empty shard
        out = net.forward(feed, training=False, fetch=fetch)
        for ev in evaluators:
            ev.add(out, feed)


def _evaluators_of(trainer: Any) -> list[Evaluator]:
    """The evaluators of the trainer's model: printers print through its log."""
    model = trainer.config.model_config
    return build_evaluators(model.evaluators, trainer.costs,
                            log=getattr(trainer.log, "note", None), model=model)


def _wire_evaluators(trainer: Any) -> None:
    """The trainer's evaluators (``evaluators``: the pass's; ``batch_evaluators``: the same
    metrics over the last batch only, EndIteration.batch_metrics: these see the batches,
    printers print from them, the pass's add up their counts), the layers its forward
    fetches, and the layers whose output gradients the network keeps for gradient
    printers."""
    trainer.evaluators = _evaluators_of(trainer)
    trainer.batch_evaluators = _evaluators_of(trainer)
    trainer.fetch = sorted({name for ev in trainer.evaluators for name in ev.inputs}
                           | set(trainer.costs))
    trainer.net.keep_gradients = frozenset(
        name for ev in trainer.batch_evaluators if ev.reads_gradients for name in ev.inputs)
    whole = [ev.name for ev in trainer.evaluators if not ev.additive]
    if whole and trainer.comm.distributed:
        raise ConfigError(f"evaluator(s) {', '.join(whole)} need every detection of a "
                          "pass in one process and cannot run data parallel (as in "
                          "Paddle); remove them or train in one process")


def _gathered_records(comm: Communicator, evaluators: list[Evaluator]) -> list:
    """Every rank's evaluator records (one list per rank)."""
    mine = records_of(evaluators)
    return comm.allgather(mine) if comm.distributed else [mine]


@contextlib.contextmanager
def _averaged_weights(net: Network, updater: ParameterUpdater, averaged: bool
                      ) -> Iterator[None]:
    """Run the block with ModelAverage's weights in the network (when ``averaged`` and
    ModelAverage is on), the trained ones put back after it."""
    trainable = {k: v for k, v in net.parameters.items() if k not in net.parameters.static}
    average = updater.averaged_values(trainable) if averaged else None
    backup = {k: trainable[k].copy() for k in average} if average else {}
    try:
        for name, value in (average or {}).items():
            net.parameters[name] = value
        yield
    finally:
        for name, value in backup.items():
            net.parameters[name] = value


@dataclass
class TrainResult:
    """What a training run ends with."""

    passes: list[EndPass] = field(default_factory=list)
    test_metrics: Optional[dict[str, float]] = None
    images_per_second: float = 0.0
    wall_seconds: float = 0.0

    @classmethod
    def of(cls, passes: list[EndPass], wall_seconds: float) -> "TrainResult":
        """The result of these passes: images per second of training time, the last pass's
        test metrics."""
        train_seconds = sum(event.seconds for event in passes)
        images = sum(event.samples for event in passes)
        return cls(passes, passes[-1].test_metrics if passes else None,
                   images / train_seconds if train_seconds else 0.0, wall_seconds)

    @property
    def test_accuracy(self) -> Optional[float]:
        if not self.test_metrics or "classification_error" not in self.test_metrics:
            return None
        return 1.0 - self.test_metrics["classification_error"]


class Trainer:
    """Train and test one network on one data set.

    ``data`` is a data-set name (``mnist5k``, ``digits``, ``idx:DIR``), a (train, test) pair
    of :class:`Dataset`, or None when the caller feeds every pass through a reader
    (``train(num_passes, reader)``, ``evaluate(feeds)``).  ``device`` is ``compile``'s: on
    the GPU the parameters, gradients and optimizer state stay on the device, and checkpoints
    are written from host copies.
    ``event_handler`` receives BeginPass/EndPass/BeginIteration/EndForwardBackward/
    EndIteration events.  ``comm``: a communicator (one process when None); on several ranks
    the loop is data parallel, and ``sync_batch_norm`` takes batch norm's statistics over the
    whole global batch instead of each rank's shard.  ``dtype``: the network's float type.
    """

    def __init__(self, config: TrainerConfig,
                 data: Union[str, tuple[Dataset, Optional[Dataset]], None],
                 *, batch_size: Optional[int] = None, seed: int = 0, device: str = "cpu",
                 save_dir: Optional[Union[str, Path]] = None,
                 event_handler: Optional[EventHandler] = None, log: Optional[Progress] = None,
                 comm: Optional[Communicator] = None, sync_batch_norm: bool = False,
                 dtype: str = "float32"):
        self.config = config
        self.comm = comm or LocalComm()
        opt = config.opt_config
        _warn_about_settings(opt)
        self.batch_size = (batch_size if batch_size is not None
                           else opt.batch_size or DEFAULT_BATCH_SIZE)
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be positive, got {self.batch_size}")
        self.seed = seed
        self.save_dir = Path(save_dir) if save_dir is not None else None
        # held until close() (or the process ends) by the rank that writes: a second run on the
        # directory fails at once
        self._lock = (ckpt.SaveDirLock(self.save_dir)
                      if self.save_dir is not None and self.comm.rank == 0 else None)
        self.handler = event_handler or (lambda event: None)
        # rank 0 alone reports
        self.log = log if log is not None and self.comm.rank == 0 else Progress(enabled=False)
        self.train_data, self.test_data = _datasets(config, data)
        device = rank_device(self.comm, device)
        self.net: Network = compile(config.model_config, device=device, dtype=dtype, seed=seed)
        self.image_slot, self.label_slot = (_dataset_slots(self.net, self.train_data)
                                            if self.train_data is not None else (None, None))
        self.updater = self.new_updater()
        self.costs = _cost_layers(self.net, config.model_config.output_layer_names)
        _wire_evaluators(self)
        self.parallel = DataParallel(self.comm, self.net,
                                     1 + count_size(self.evaluators),
                                     sync_batch_norm)
        self.guard = DivergenceGuard()
        self.shuffle_rng = np.random.default_rng([seed, 1])
        self.pass_id = 0
        self.batch_count = 0
        self.batch_in_pass = 0

    # -- wiring --------------------------------------------------------------------------------
    def _feed(self, images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        # in the shape the data layer declares: a flat one (Paddle's demos have no
        # height/width) gets flat rows, which the first image layer reads as an image
        shape = self.net.output_shape(self.image_slot)
        return {self.image_slot: images.reshape((len(images),) + shape),
                self.label_slot: labels}

    def _dataset_feeds(self, data: Optional[Dataset], shuffle: bool) -> Iterable[Feed]:
        if data is None:
            raise ConfigError("no data: choose a data set (mnist5k, digits or idx:DIR) or "
                              "pass a reader of feeds")
        for images, labels in batches(data, self.batch_size, shuffle=shuffle,
                                      rng=self.shuffle_rng if shuffle else None,
                                      shard=self.parallel.bounds):
            yield self._feed(images, labels)

    def new_updater(self) -> ParameterUpdater:
        """A fresh optimizer (no moments, sample counter 0, no ModelAverage sums)."""
        return ParameterUpdater(
            self.config.opt_config, list(self.config.model_config.parameters),
            {k: tuple(v.shape) for k, v in self.net.parameters.items()}, dtype=self.net.dtype,
            xp=self.net.xp)

    def parameter_values(self, averaged: bool = True) -> dict[str, np.ndarray]:
        """Host copies of every parameter; with ``averaged``, the ModelAverage weights of the
        trainable ones when model averaging is on (what Paddle saved)."""
        live = self.net.parameters
        values = {k: np.array(to_host(v)) for k, v in live.items()}
        if averaged:
            average = self.updater.averaged_values(
                {k: v for k, v in live.items() if k not in live.static})
            values.update({k: np.array(to_host(v)) for k, v in (average or {}).items()})
        return values

    def close(self) -> None:
        """Release the save directory's lock (a finished run; also done when the process
        ends)."""
        if self._lock is not None:
            self._lock.release()

    # -- checkpoints ---------------------------------------------------------------------------
    def load_model(self, path: Union[str, Path], missing: str = "fail") -> None:
        """Parameters from a model directory (ours or Paddle v1's)."""
        shapes = {k: tuple(v.shape) for k, v in self.net.parameters.items()}
        for name, value in ckpt.load_parameters(path, shapes, missing=missing).items():
            self.net.parameters[name] = value

    def save(self) -> Optional[Path]:
        """The checkpoint of the pass just finished (rank 0 alone writes it)."""
        if self.save_dir is None or self.comm.rank != 0:
            return None
        # Paddle saved the averaged weights; the raw ones travel with the optimizer state
        state = {f"optimizer/{k}": v for k, v in self.updater.state_dict().items()}
        state.update({f"raw/{k}": v for k, v in self.parameter_values(averaged=False).items()})
        return ckpt.save_checkpoint(self.save_dir, self.pass_id - 1,
                                    self.parameter_values(averaged=True), state=state,
                                    meta=_checkpoint_meta(self),
                                    config_yaml=to_yaml(self.config))

    def resume(self, path: Optional[Union[str, Path]] = None) -> int:
        """Continue from a checkpoint (the latest in save_dir by default); returns the next
        pass.  Parameters, optimizer state, counters and random states are restored, so the
        run continues bit for bit as if it had never stopped."""
        if path is None:
            if self.save_dir is None:
                raise ConfigError("resume needs a save directory")
            path = _latest_to_resume(self.save_dir)
        _restore(self, Path(path))
        return self.pass_id

    # -- passes --------------------------------------------------------------------------------
    def _run_batch(self, feed: Feed, training: bool) -> dict[str, np.ndarray]:
        out = self.net.forward(feed, training=training, fetch=self.fetch)
        if not all(np.all(np.isfinite(out[c])) for c in self.costs):
            raise _non_finite_cost(self.net, feed, self.pass_id, self.batch_in_pass)
        return out

    def train_batch(self, pass_id: int, batch_id: int, feed: Feed) -> int:
        """One step on one batch (this rank's shard of it when data parallel): forward,
        backward, gradients summed over the ranks, update, metrics, events.  Returns the
        number of samples of the (global) batch."""
        self.batch_in_pass = batch_id
        killpoints.reached("batch")
        self.handler(BeginIteration(pass_id, batch_id))
        size = len(next(iter(feed.values()))) if feed else 0
        grads: dict[str, Any] = {}
        for batch_ev in self.batch_evaluators:
            batch_ev.reset()
        if size or not self.comm.distributed:       # a rank's shard may be empty
            out = self._run_batch(feed, training=True)
            grads = self.net.backward(input_grads=False).parameters
            for batch_ev in self.batch_evaluators:
                batch_ev.add(out, feed)
                batch_ev.add_gradients(self.net.kept_gradients)
            for ev in self.evaluators:          # no counts to carry: the pass's adds itself
                if not ev.additive:
                    ev.add(out, feed)
        grads, totals = self.parallel.reduce(grads, [size] + counts_of(self.batch_evaluators))
        size = int(totals[0])
        gathered = (_gathered_records(self.comm, self.batch_evaluators)
                    if has_records(self.batch_evaluators) else None)
        for evaluators in (self.batch_evaluators, self.evaluators):
            add_counts(evaluators, totals[1:], reset=evaluators is self.batch_evaluators)
            if gathered is not None:
                add_records(evaluators, gathered, reset=evaluators is self.batch_evaluators)
        self.handler(EndForwardBackward(pass_id, batch_id, grads))
        self.updater.step(size, self.net.parameters, grads)
        self.batch_count += 1
        cost = self.batch_evaluators[0].value()      # the summed cost per sample
        self.guard.check(self.net, cost, pass_id, batch_id)   # the same on every rank
        self.handler(EndIteration(pass_id, batch_id, cost, _values(self.evaluators),
                                  _values(self.batch_evaluators)))
        return size

    def train_one_pass(self, feeds: Optional[Iterable[Feed]] = None) -> EndPass:
        """One pass over the training set, or over ``feeds`` (one feed dict per batch)."""
        pass_id = self.pass_id
        self.handler(BeginPass(pass_id))
        for ev in self.evaluators:
            ev.reset()
        self.updater.start_pass()
        start = time.perf_counter()
        total = None
        if feeds is None:
            feeds = self._dataset_feeds(self.train_data, shuffle=True)
            total = len(self.train_data)
        else:
            feeds = self.parallel.shard_feeds(feeds)
        if self.comm.distributed:
            # each rank its own dropout masks, derived from the pass (a resumed run redraws them)
            self.net.rng = np.random.default_rng([self.seed, 2, pass_id, self.comm.rank])
        seen = 0
        self.log.start_pass(pass_id, total)
        for batch_id, feed in enumerate(feeds):
            seen += self.train_batch(pass_id, batch_id, feed)
            self.log.batch(seen, _values(self.evaluators))
        self.parallel.end_of_pass()
        self.updater.finish_pass()
        self.parallel.average_moving_statistics()
        self.parallel.check_consistency()
        seconds = time.perf_counter() - start
        metrics = _values(self.evaluators)
        test_metrics = self.test() if self.test_data is not None else None
        self.pass_id += 1
        event = EndPass(pass_id, metrics, test_metrics, seconds, seen)
        self.save()
        self.log.end_pass(event)
        self.handler(event)
        return event

    def train(self, num_passes: int, reader: Optional[FeedReader] = None) -> TrainResult:
        """Train until ``num_passes`` passes are done in all (a resumed run continues); each
        pass reads the training set, or ``reader()`` when a reader is given."""
        self.check_agreement(data=reader is None)
        wall = time.perf_counter()
        passes = []
        while self.pass_id < num_passes:
            with quiet_floating_point():        # what NumPy warns of, the checks report
                passes.append(self.train_one_pass(reader() if reader is not None else None))
        return TrainResult.of(passes, time.perf_counter() - wall)

    def test(self, data: Optional[Dataset] = None) -> dict[str, float]:
        """Metrics on the test set (model-averaged weights when ModelAverage is on, as
        Paddle's Tester did)."""
        data = data or self.test_data
        if data is None:
            raise ConfigError("no test data")
        return self._evaluate_shards(self._dataset_feeds(data, shuffle=False), averaged=True)

    def evaluate(self, feeds: Iterable[Feed], averaged: bool = True) -> dict[str, float]:
        """Metrics of a test-mode pass over ``feeds``, with fresh evaluators (a pass in
        progress keeps its own); ``averaged``: with the ModelAverage weights, if any.  Data
        parallel, each rank evaluates its shard of every batch and the counts are summed."""
        return self._evaluate_shards(self.parallel.shard_feeds(feeds), averaged)

    def _evaluate_shards(self, feeds: Iterable[Feed], averaged: bool) -> dict[str, float]:
        evaluators = _evaluators_of(self)
        with _averaged_weights(self.net, self.updater, averaged):
            _forward_all(self.net, feeds, evaluators, self.fetch)
        gathered = _gathered_records(self.comm, evaluators) if has_records(evaluators) else None
        add_counts(evaluators, self.parallel.sum_counts(counts_of(evaluators)), reset=True)
        if gathered is not None:        # (the reset above emptied the records)
            add_records(evaluators, gathered, reset=True)
        return _values(evaluators)

    def check_agreement(self, data: bool = True) -> None:
        """Data parallel: refuse to start unless every rank has the same config, data set
        (``data``), batch size, seed and starting point (parameters, optimizer state,
        counters)."""
        if self.comm.distributed:
            self.parallel.check_agreement(agreement_items(self, data))
