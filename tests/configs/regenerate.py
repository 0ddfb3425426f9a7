#!/usr/bin/env python3
"""Regenerate the golden configs ``tests/configs/golden/<case>.yaml``, on purpose only.

Every config file ``tests/configs/<name>.py`` is parsed with ``minipaddle.parse_config`` and its
resolved ``TrainerConfig`` dumped with ``minipaddle.to_yaml``; a few configs are parsed again
with config args (:data:`VARIANTS`), each giving a golden ``<name>.<key>-<value>.yaml``.  This
is Paddle v1's ``generate_protostr.sh`` for minipaddle.  ``tests/configs/test_goldens.py``
compares every config with its golden and never writes one.

    python3 tests/configs/regenerate.py                # rewrite all goldens, print what changed
    python3 tests/configs/regenerate.py img_conv       # only the cases of img_conv.py
    python3 tests/configs/regenerate.py --check        # write nothing; exit 1 if any differs
    python3 tests/configs/regenerate.py --prune        # also delete goldens without a config

Before committing regenerated goldens, read the diff: a golden is the reviewed, hand-checked
output of a config, not whatever the code prints today.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GOLDEN_DIR = HERE / "golden"

if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import minipaddle  # noqa: E402

#: Python files in tests/configs that are not config files.
NOT_CONFIGS = {"regenerate.py", "conftest.py"}

#: Extra parses of a config with config args (``key=value`` pairs), beside the plain parse.
VARIANTS: dict[str, list[dict[str, str]]] = {
    "optimizers": [{"method": m} for m in ("adam", "adamax", "adagrad", "decayed_adagrad",
                                            "adadelta", "rmsprop")],
    "paddle_demo_mnist": [{"is_predict": "1"}],
}

#: At most this many diff lines are printed per changed golden.
MAX_DIFF_LINES = 400


@dataclass(frozen=True)
class Case:
    """One parse of one config file, and the golden it must equal."""

    name: str
    path: Path
    config_args: str = ""

    @property
    def golden(self) -> Path:
        return GOLDEN_DIR / f"{self.name}.yaml"


def config_files() -> list[Path]:
    """The config files in tests/configs (not tests, helpers or this script), sorted."""
    return sorted(p for p in HERE.glob("*.py")
                  if p.name not in NOT_CONFIGS and not p.name.startswith(("test_", "_")))


def cases() -> list[Case]:
    result = []
    for path in config_files():
        result.append(Case(path.stem, path))
        for args in VARIANTS.get(path.stem, []):
            suffix = ".".join(f"{k}-{v}" for k, v in args.items())
            config_args = ",".join(f"{k}={v}" for k, v in args.items())
            result.append(Case(f"{path.stem}.{suffix}", path, config_args))
    return result


def render(case: Case) -> str:
    """The golden text of a case: the YAML dump of its resolved TrainerConfig."""
    return minipaddle.to_yaml(minipaddle.parse_config(case.path, case.config_args))


def diff(old: str, new: str, name: str, limit: int = MAX_DIFF_LINES) -> str:
    lines = list(difflib.unified_diff(old.splitlines(keepends=True),
                                      new.splitlines(keepends=True),
                                      fromfile=f"golden/{name}.yaml (checked in)",
                                      tofile=f"golden/{name}.yaml (parse_config now)"))
    shown = "".join(lines[:limit])
    if len(lines) > limit:
        shown += f"... ({len(lines) - limit} more diff lines)\n"
    return shown


def stale_goldens(known: list[Case]) -> list[Path]:
    names = {c.golden.name for c in known}
    return sorted(p for p in GOLDEN_DIR.glob("*.yaml") if p.name not in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*",
                        help="config names or case names to regenerate (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a golden is missing or differs")
    parser.add_argument("--prune", action="store_true",
                        help="delete goldens that belong to no config")
    args = parser.parse_args(argv)

    all_cases = cases()
    selected = [c for c in all_cases
                if not args.names or c.name in args.names or c.path.stem in args.names]
    unknown = [n for n in args.names
               if not any(n in (c.name, c.path.stem) for c in all_cases)]
    if unknown:
        print(f"unknown config(s): {', '.join(unknown)}; known: "
              f"{', '.join(c.name for c in all_cases)}", file=sys.stderr)
        return 2

    GOLDEN_DIR.mkdir(exist_ok=True)
    changed = 0
    for case in selected:
        label = case.name + (f" (config_args {case.config_args!r})" if case.config_args else "")
        try:
            new = render(case)
        except Exception as err:  # report and go on: one broken config must not hide others
            print(f"FAILED    {label}: {type(err).__name__}: {err}")
            changed += 1
            continue
        old = case.golden.read_text(encoding="utf-8") if case.golden.exists() else None
        if old == new:
            print(f"unchanged {label}")
            continue
        changed += 1
        if old is None:
            print(f"new       {label}: {len(new.splitlines())} lines")
        else:
            print(f"CHANGED   {label}:")
            print(diff(old, new, case.name), end="")
        if not args.check:
            case.golden.write_text(new, encoding="utf-8")

    stale = stale_goldens(all_cases)
    for path in stale:
        if args.prune and not args.check:
            path.unlink()
            print(f"deleted   {path.name} (no config makes it)")
        else:
            print(f"stale     {path.name}: no config makes it (--prune deletes it)")

    verb = "differ" if args.check else "written"
    print(f"{len(selected)} case(s), {changed} {verb}, {len(stale)} stale golden(s)")
    if args.check and (changed or stale):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
