"""The ``minipaddle`` command (floor 5).

    minipaddle dump CONFIG [--format yaml|json|protostr] [--config-args ARGS] [--whole]
    minipaddle summary CONFIG [--config-args ARGS]
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .config import ConfigError, to_json, to_protostr, to_yaml
from .config.summary import format_summary
from .dsl import parse_config


def _dump(args: argparse.Namespace) -> str:
    config = parse_config(args.config, args.config_args)
    if args.format == "protostr":
        # Like paddle.utils.dump_config: the model config, or everything with --whole.
        return to_protostr(config if args.whole else config.model_config)
    if args.format == "json":
        return to_json(config) + "\n"
    return to_yaml(config)


def _summary(args: argparse.Namespace) -> str:
    config = parse_config(args.config, args.config_args)
    return format_summary(config.model_config) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minipaddle",
        description="PaddlePaddle v1 layer configs: dump and summarise networks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, fn) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("config", metavar="CONFIG",
                       help="a Python config (.py), a model-zoo file (.yaml) or a dump")
        p.add_argument("--config-args", default="", metavar="ARGS",
                       help="comma-separated key=value pairs, e.g. use_gpu=1")
        p.set_defaults(run=fn)
        return p

    dump = add("dump", "print the resolved config (like Paddle's dump_config)", _dump)
    dump.add_argument("--format", choices=("yaml", "json", "protostr"), default="yaml")
    dump.add_argument("--whole", action="store_true",
                      help="protostr: print the whole TrainerConfig, not just model_config")
    add("summary", "print per-layer shapes, parameters and multiply-adds", _summary)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        text = args.run(args)
    except ConfigError as err:
        print(f"minipaddle: error: {err}", file=sys.stderr)
        return 2
    except NotImplementedError as err:
        print(f"minipaddle: error: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
