"""Helpers of the v2 tests: the fixture data folder and running programs through
``minipaddle run``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


def run_program(tmp_path: Path, source: str, *args: str, name: str = "program.py",
                env: dict | None = None, timeout: int = 300,
                options: tuple | list = ()) -> subprocess.CompletedProcess:
    """Write ``source`` to ``tmp_path/name`` and run ``minipaddle [options] run`` on it from
    tmp_path."""
    program = tmp_path / name
    program.write_text(textwrap.dedent(source))
    inherited = {k: v for k, v in os.environ.items()
                 if k not in ("MINIPADDLE_DOWNLOAD", "MINIPADDLE_DEBUG")}
    full_env = {**inherited, "PYTHONPATH": str(ROOT),
                "MINIPADDLE_DATA_HOME": str(tmp_path / "paddle_dataset"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "minipaddle", *options, "run", name, *args],
                          cwd=tmp_path, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
