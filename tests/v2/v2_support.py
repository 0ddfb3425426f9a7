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
                env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Write ``source`` to ``tmp_path/name`` and run ``minipaddle run`` on it from tmp_path."""
    program = tmp_path / name
    program.write_text(textwrap.dedent(source))
    full_env = {**os.environ, "PYTHONPATH": str(ROOT),
                "MINIPADDLE_DATA_HOME": str(tmp_path / "paddle_dataset"), **(env or {})}
    full_env.pop("MINIPADDLE_DOWNLOAD", None)
    return subprocess.run([sys.executable, "-m", "minipaddle", "run", name, *args],
                          cwd=tmp_path, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
