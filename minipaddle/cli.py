"""The ``minipaddle`` command (floor 5).

    minipaddle train CONFIG [--data mnist5k|digits|shapes|idx:DIR] [--num-passes N] [--batch-size B]
                            [--seed S] [--save-dir DIR] [--init-model-path DIR]
                            [--start-pass N | --resume] [--plot FILE.png] [--use-gpu]
    minipaddle test CONFIG --model DIR [--data ...]
    minipaddle infer CONFIG --model DIR --input FILE.npy [--output FILE.npy]
    minipaddle checkgrad CONFIG [--batch-size B] [--tolerance T] [--directions K]
    minipaddle time CONFIG [--batch-size B] [--iterations K] [--use-gpu]
    minipaddle dump CONFIG [--format yaml|json|protostr] [--whole]
    minipaddle summary CONFIG
    minipaddle graph CONFIG
    minipaddle run PROGRAM.py [ARGS...]

Every command but ``run`` takes ``--config-args key=value,...``.  Every command takes
``--debug``.  Errors print one line and exit 2; ``--debug`` (or ``MINIPADDLE_DEBUG=1``) shows
the full traceback instead.  Under ``mpiexec -n N``, ``train`` and ``test`` run data parallel on
N ranks (docs/distributed.md); rank 0 alone prints.  ``run`` runs a Paddle v2 program
(``import paddle.v2 as paddle``) on minipaddle and exits with the program's status (docs/v2.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn, Optional, Sequence

import numpy as np

from .config import ConfigError, to_json, to_protostr, to_yaml
from .config.graph import to_dot
from .config.layers import facts_of
from .config.summary import format_summary
from .dsl import parse_config
from .runtime import compile as compile_network
from .train import checkpoint
from .train.comm import default_comm
from .train.datasets import read_input_array
from .train.diagnostics import ERROR_FLOOR, check_gradients, time_layers
from .train.plot import check_plot_path, plot_history
from .train.progress import Progress, format_metrics
from .train.trainer import Trainer
from .v2.runner import run_program

DEFAULT_DATA = "mnist5k"
#: set to 1 for full tracebacks (like --debug)
DEBUG_ENV = "MINIPADDLE_DEBUG"
#: data-layer size -> the embedded data set that fits it, when --data is not given
EMBEDDED_BY_SIZE = {784: "mnist5k", 64: "digits", 48 * 48: "shapes"}


def _embedded_data_for(config) -> str:
    sizes = [layer.size for layer in config.model_config.layers if layer.type == "data"]
    return next((EMBEDDED_BY_SIZE[s] for s in sizes if s in EMBEDDED_BY_SIZE), DEFAULT_DATA)


def _config(args: argparse.Namespace):
    config_args = args.config_args
    if getattr(args, "use_gpu", False):
        config_args = ",".join(a for a in (config_args, "use_gpu=1") if a)
    return parse_config(args.config, config_args)


def _device(args: argparse.Namespace) -> str:
    return "gpu" if getattr(args, "use_gpu", False) else "cpu"


# -- declarative commands ---------------------------------------------------------------------
def _dump(args: argparse.Namespace) -> None:
    config = _config(args)
    if args.format == "protostr":
        # Like paddle.utils.dump_config: the model config, or everything with --whole.
        print(to_protostr(config if args.whole else config.model_config), end="")
    elif args.format == "json":
        print(to_json(config))
    else:
        print(to_yaml(config), end="")


def _summary(args: argparse.Namespace) -> None:
    print(format_summary(_config(args).model_config))


def _graph(args: argparse.Namespace) -> None:
    print(to_dot(_config(args).model_config, Path(args.config).stem), end="")


# -- training commands ------------------------------------------------------------------------
def _trainer(args: argparse.Namespace, config, save_dir=None, log=None):
    data = args.data
    if data is None and config.data_config is None:
        data = _embedded_data_for(config)
    return Trainer(config, data, batch_size=args.batch_size, seed=args.seed,
                   device=_device(args), save_dir=save_dir, log=log, comm=args.comm,
                   sync_batch_norm=getattr(args, "sync_batch_norm", False),
                   dtype=getattr(args, "dtype", "float32"))


def _say(args: argparse.Namespace, *line: str) -> None:
    """Print on rank 0 only (every line when not data parallel)."""
    if args.comm is None or args.comm.rank == 0:
        print(*line)


def _train(args: argparse.Namespace) -> None:
    if args.start_pass and args.save_dir is None:
        raise ConfigError("--start-pass needs --save-dir (it loads pass-N-1 from there)")
    if args.plot:
        check_plot_path(args.plot)          # fail before training, not after
    config = _config(args)
    log = Progress(stream=sys.stderr, enabled=not args.quiet)
    trainer = _trainer(args, config, save_dir=args.save_dir, log=log)
    try:
        _run_training(args, trainer)
    finally:
        trainer.close()


def _run_training(args: argparse.Namespace, trainer) -> None:
    if args.comm.distributed and args.comm.rank == 0 and not args.quiet:
        # which process is which rank: mpiexec's own messages name processes by pid
        print(f"data parallel on {args.comm.size} ranks: " + ", ".join(
            f"rank {r} = pid {pid} on {host}" for r, (host, pid) in enumerate(args.comm.places)),
            file=sys.stderr)
    if args.init_model_path:
        trainer.load_model(args.init_model_path)
    if args.resume:
        resumed = trainer.resume()
        if args.comm.rank == 0:
            print(f"resuming at pass {resumed}", file=sys.stderr)
    elif args.start_pass:
        trainer.resume(Path(args.save_dir) / f"pass-{args.start_pass - 1:05d}")
    if trainer.pass_id >= args.num_passes:
        if args.comm.rank == 0:
            print(f"minipaddle: nothing left to run: passes 0-{trainer.pass_id - 1} are done "
                  f"and --num-passes {args.num_passes} counts all passes, resumed ones included "
                  f"(ask for more, e.g. --num-passes {trainer.pass_id + 1})", file=sys.stderr)
        return
    result = trainer.train(args.num_passes)
    if args.plot and args.comm.rank == 0:       # one writer
        plot_history(result.passes, args.plot)
    accuracy = result.test_accuracy
    shown = f"accuracy {100 * accuracy:.2f}%" if accuracy is not None else "accuracy n/a"
    if accuracy is None and "detection_map" in (result.test_metrics or {}):
        shown = f"detection mAP {result.test_metrics['detection_map']:.2f}%"
    ranks = f" on {args.comm.size} ranks" if args.comm.distributed else ""
    _say(args, f"test {shown} | {result.images_per_second:.0f} images/s{ranks} | "
         f"wall {result.wall_seconds:.1f} s")


def _test(args: argparse.Namespace) -> None:
    config = _config(args)
    trainer = _trainer(args, config)
    trainer.load_model(args.model)
    trainer.check_agreement()
    metrics = trainer.test()
    _say(args, f"test {format_metrics(metrics)}")
    if "classification_error" in metrics:
        _say(args, f"test accuracy {100 * (1 - metrics['classification_error']):.2f}%")


def _infer(args: argparse.Namespace) -> None:
    config = _config(args)
    model = config.model_config
    net = compile_network(model, device=_device(args), seed=args.seed)
    shapes = {k: tuple(v.shape) for k, v in net.parameters.items()}
    for name, value in checkpoint.load_parameters(args.model, shapes).items():
        net.parameters[name] = value
    inputs = read_input_array(args.input)
    if inputs.size and (float(inputs.min()) < 0 or float(inputs.max()) > 1):
        warnings.warn(f"{args.input}: values span [{float(inputs.min()):g}, "
                      f"{float(inputs.max()):g}], but the data sets feed images in [0, 1] "
                      "(uint8 pixels are divided by 255): the predictions may saturate",
                      UserWarning, stacklevel=1)
    dense = [n for n in model.input_layer_names if n not in net.label_slots]
    if len(dense) != 1:
        raise ConfigError(f"infer feeds one dense data layer; this network has {dense}")
    # As Paddle's prediction configs did: for a cost output, report the cost's input.
    fetch = []
    for name in model.output_layer_names:
        layer = net.layers.get(name)
        fetch.append(layer.input_names[0] if layer is not None and layer.is_cost else name)
    out = net.forward({dense[0]: inputs}, fetch=fetch)
    result = out[fetch[0]]
    if args.output:
        np.save(args.output, result)
        print(f"wrote {args.output}: {fetch[0]} {result.shape}")
    else:
        for row in result.reshape(len(result), -1):
            print(f"{int(row.argmax())}\t" + " ".join(f"{v:.4f}" for v in row))


def _checkgrad(args: argparse.Namespace) -> int:
    results = check_gradients(_config(args).model_config, batch_size=args.batch_size or 2,
                              seed=args.seed, directions=args.directions,
                              tolerance=args.tolerance)
    width = max(len(r.parameter) for r in results)
    print(f"{'parameter':{width}s}  {'analytic':>14s}  {'numeric':>14s}  {'error':>9s}")
    for r in results:
        if not r.checked:
            print(f"{r.parameter:{width}s}  {'-':>14s}  {'-':>14s}  {'-':>9s}  {r.note}")
            continue
        flag = "  FAILED" + (f": {r.note}" if r.note else "") if r.error > args.tolerance \
            else ""
        print(f"{r.parameter:{width}s}  {r.analytic:14.6e}  {r.numeric:14.6e}  "
              f"{r.error:9.2e}{flag}")
    worst = max(results, key=lambda r: r.error)
    failed = sum(r.error > args.tolerance for r in results)
    print(f"worst error {worst.error:.2e} ({worst.parameter}); error = |analytic - numeric| / "
          f"max(|analytic|, |numeric|, {ERROR_FLOOR:g} x the largest gradient); "
          + (f"{failed} of {len(results)} above --tolerance {args.tolerance:g}" if failed
             else f"all within --tolerance {args.tolerance:g}"))
    return 1 if failed else 0


def _time(args: argparse.Namespace) -> None:
    config = _config(args)
    batch = args.batch_size or config.opt_config.batch_size or 64
    step = time_layers(config.model_config, batch_size=batch, iterations=args.iterations,
                       seed=args.seed, opt_config=config.opt_config, device=_device(args))
    rows = step.layers
    width = max([len(r.layer) for r in rows] + [len("optimizer update")])
    algo = max([len(r.algorithm) for r in rows] + [len("algorithm")])
    print(f"{_device(args)}, batch {batch}, mean of {args.iterations} training steps "
          "(milliseconds; activation = activation and dropout, forward + backward)")
    print(f"{'layer':{width}s}  {'type':26s} {'algorithm':{algo}s} {'forward':>9s} "
          f"{'backward':>9s} {'activation':>10s}")
    for r in rows:
        print(f"{r.layer:{width}s}  {r.type:26s} {r.algorithm:{algo}s} {r.forward_ms:9.3f} "
              f"{r.backward_ms:9.3f} {r.activation_ms:10.3f}")
    fwd = sum(r.forward_ms for r in rows)
    bwd = sum(r.backward_ms for r in rows)
    act = sum(r.activation_ms for r in rows)
    print(f"{'layers':{width}s}  {'':26s} {'':{algo}s} {fwd:9.3f} {bwd:9.3f} {act:10.3f}")
    print(f"{'optimizer update':{width}s}  {config.opt_config.get('learning_method'):26s} "
          f"{'':{algo}s} {step.optimizer_ms:9.3f}")
    total = step.total_ms
    shares = _time_shares(rows, step.optimizer_ms)
    print(f"training step: {total:.3f} ms per batch ({1e3 * batch / total:.0f} images/s); "
          + ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in shares.items()))


def _time_shares(rows, optimizer_ms: float) -> dict[str, float]:
    """Milliseconds by kind: convolutions, fc, pooling, batch norm, activations, optimizer."""
    shares: dict[str, float] = {}
    for r in rows:
        kind = facts_of(r.type).family     # "convolution", "pooling", "batch norm", ...
        shares[kind] = shares.get(kind, 0.0) + r.forward_ms + r.backward_ms
        shares["activations"] = shares.get("activations", 0.0) + r.activation_ms
    shares["optimizer"] = optimizer_ms
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def _run(args: argparse.Namespace) -> None:
    debug = getattr(args, "debug", False) or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    status = run_program(args.program, args.args, debug=debug)
    if status:
        raise SystemExit(status)


# -- wiring -----------------------------------------------------------------------------------
def _integer(text: str, least: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1 (argparse names the option in the error)."""
    return _integer(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """argparse ``type=``: an integer >= 0."""
    return _integer(text, 0, "a non-negative integer")


def positive_float(text: str) -> float:
    """argparse ``type=``: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``minipaddle: error: ...``), exit status 2."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"minipaddle: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="minipaddle",
        description="PaddlePaddle v1 layer configs on NumPy: train, test, check, time and "
                    "describe networks.")
    parser.add_argument("--debug", action="store_true",
                        help=f"show the full traceback of an error (also {DEBUG_ENV}=1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    for add_commands in (_add_train, _add_test, _add_infer, _add_checkgrad, _add_time,
                         _add_describe, _add_run):
        add_commands(sub)
    return parser


def _add_command(sub: Any, name: str, help_text: str,
                 fn: Callable[[argparse.Namespace], Optional[int]], seed: bool = False,
                 batch: bool = False) -> argparse.ArgumentParser:
    """A command that reads a CONFIG (with --config-args and --debug), running ``fn``."""
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("config", metavar="CONFIG",
                   help="a Python config (.py), a model-zoo file (.yaml) or a dump")
    p.add_argument("--config-args", default="", metavar="ARGS",
                   help="comma-separated key=value pairs, e.g. use_gpu=1")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help=f"show the full traceback of an error (also {DEBUG_ENV}=1)")
    if seed:
        p.add_argument("--seed", type=non_negative_int, default=1,
                       help="random seed (default 1)")
    if batch:
        p.add_argument("--batch-size", type=positive_int, default=None, metavar="B")
    p.set_defaults(run=fn)
    return p


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, metavar="DATA",
                   help="mnist5k, digits, shapes or idx:DIR (default: the data set whose "
                        "images fit the network: mnist5k for 28x28, digits for 8x8, the "
                        "generated detection set shapes for 48x48)")
    p.add_argument("--use-gpu", action="store_true", help="run on the GPU backend")


def _add_train(sub: Any) -> None:
    train = _add_command(sub, "train", "train a network and test it after every pass", _train,
                         seed=True, batch=True)
    _add_data_args(train)
    train.add_argument("--num-passes", type=positive_int, default=10, metavar="N",
                       help="train until N passes are done in all: with --resume or "
                            "--start-pass the passes already done count (default 10)")
    train.add_argument("--save-dir", default=None, metavar="DIR",
                       help="write pass-NNNNN/ checkpoints here")
    train.add_argument("--init-model-path", default=None, metavar="DIR",
                       help="start from these parameters (ours or Paddle v1's)")
    start = train.add_mutually_exclusive_group()
    start.add_argument("--start-pass", type=non_negative_int, default=0, metavar="N",
                       help="continue from SAVE_DIR/pass-(N-1)")
    start.add_argument("--resume", action="store_true",
                       help="continue from the latest checkpoint in --save-dir")
    train.add_argument("--plot", default=None, metavar="FILE.png",
                       help="write training curves (needs the 'plot' extra: matplotlib); the "
                            "path and the extra are checked before training starts")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument("--sync-batch-norm", action="store_true",
                       help="data parallel: batch norm statistics over the whole global batch "
                            "(default: over each rank's shard, as Paddle's multi-trainer did)")
    train.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                       help="the network's float type (default float32; float64 makes runs "
                            "that add in another order agree to rounding, checkpoints are "
                            "float32 either way)")


def _add_test(sub: Any) -> None:
    test = _add_command(sub, "test", "test a trained model", _test, seed=True, batch=True)
    _add_data_args(test)
    test.add_argument("--model", required=True, metavar="DIR", help="a pass-NNNNN directory")


def _add_infer(sub: Any) -> None:
    infer = _add_command(sub, "infer", "predict with a trained model", _infer, seed=True)
    infer.add_argument("--model", required=True, metavar="DIR")
    infer.add_argument("--input", required=True, metavar="FILE.npy")
    infer.add_argument("--output", default=None, metavar="FILE.npy")
    infer.add_argument("--use-gpu", action="store_true")


def _add_checkgrad(sub: Any) -> None:
    checkgrad = _add_command(sub, "checkgrad", "numerically check every parameter's gradient",
                             _checkgrad, seed=True, batch=True)
    checkgrad.add_argument("--tolerance", type=positive_float, default=1e-3,
                           help="fail (exit 1) when a parameter's error is above this "
                                "(default 1e-3)")
    checkgrad.add_argument("--directions", type=positive_int, default=3, metavar="K",
                           help="random directions per parameter; the worst counts (default 3)")


def _add_time(sub: Any) -> None:
    timing = _add_command(sub, "time", "forward and backward milliseconds per layer", _time,
                          seed=True, batch=True)
    timing.add_argument("--iterations", type=positive_int, default=10, metavar="K")
    timing.add_argument("--use-gpu", action="store_true",
                        help="time on the GPU backend (with the GPU layer types)")


def _add_describe(sub: Any) -> None:
    """dump, summary and graph: a config described, nothing run."""
    dump = _add_command(sub, "dump", "print the resolved config (like Paddle's dump_config)",
                        _dump)
    dump.add_argument("--format", choices=("yaml", "json", "protostr"), default="yaml")
    dump.add_argument("--whole", action="store_true",
                      help="protostr: print the whole TrainerConfig, not just model_config")
    _add_command(sub, "summary", "print per-layer shapes, parameters and multiply-adds",
                 _summary)
    _add_command(sub, "graph", "print the network as Graphviz DOT", _graph)


def _add_run(sub: Any) -> None:
    run = sub.add_parser("run", help="run a Paddle v2 program (import paddle.v2 as paddle) "
                         "on minipaddle", description="Run PROGRAM.py as python would, with "
                         "paddle, paddle.v2 and paddle.trainer_config_helpers resolved to "
                         "minipaddle; exits with the program's status.")
    run.add_argument("program", metavar="PROGRAM.py")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="passed to the program as sys.argv[1:]")
    run.set_defaults(run=_run)


#: errors that are the user's (a config, a file, an option, the data): one line, exit 2
USER_ERRORS = (ConfigError, NotImplementedError, OSError, ValueError, KeyError,
               FloatingPointError, MemoryError)


def _one_line(err: BaseException) -> str:
    message = err.args[0] if isinstance(err, KeyError) and err.args else err
    if isinstance(err, ConfigError):
        return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())
    where = getattr(err, "where", None)             # a config's NotImplementedError
    return (f"{where}: " if where else "") + " ".join(str(message).split("\n"))


@contextlib.contextmanager
def _warnings_as_lines(debug: bool) -> Iterator[None]:
    """Warnings print as ``minipaddle: warning: ...`` (no source line of ours), except with
    --debug."""
    with warnings.catch_warnings():
        if not debug:
            def show(message, category, filename, lineno, file=None, line=None):
                print(f"minipaddle: warning: {message}", file=file or sys.stderr)
            warnings.showwarning = show
        yield


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    args.comm = None
    try:
        if args.command in ("train", "test"):
            args.comm = default_comm()     # MPI under mpiexec, else one process
        with _warnings_as_lines(debug):
            status = args.run(args)          # a command may return its exit status
    except USER_ERRORS as err:
        if debug:
            raise
        text = _one_line(err)
        if args.comm is not None and args.comm.distributed:
            args.comm.fail(text, 2)          # tells the other ranks; one line in all
        print(f"minipaddle: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.comm is None or args.comm.rank == 0:
            print("minipaddle: interrupted", file=sys.stderr)
        return 130
    return status or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
