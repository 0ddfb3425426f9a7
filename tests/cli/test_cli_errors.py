"""Every command, given a missing file, a directory, an unreadable file or bad options, exits
non-zero with one line on stderr and no traceback (through a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "train": ["--num-passes", "1", "--quiet"], "test": ["--model", "nowhere"],
    "infer": ["--model", "nowhere", "--input", "nowhere.npy"], "checkgrad": [],
    "time": ["--iterations", "1"], "dump": [], "summary": [], "graph": [],
}


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "minipaddle", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("minipaddle: error: ") and "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def bad_paths(tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp / "plain.txt").write_text("hello")
    (tmp / "file").write_text("")
    return {"missing": str(tmp / "missing.yaml"), "directory": str(tmp),
            "unreadable": str(tmp / "binary.yaml"), "not a config": str(tmp / "plain.txt"),
            "under a file": str(tmp / "file" / "x.yaml")}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("kind", ["missing", "directory", "unreadable", "not a config",
                                  "under a file"])
def test_bad_config_paths(command, kind, bad_paths):
    proc = run(command, bad_paths[kind], *COMMANDS[command])
    assert_one_line_error(proc, bad_paths[kind])


@pytest.mark.parametrize("argv,fragment", [
    (["train", "model_zoo/digits.yaml", "--num-passes", "many"], "invalid int value"),
    (["train", "model_zoo/digits.yaml", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "model_zoo/digits.yaml", "--resume", "--start-pass", "2"], "not allowed"),
    (["test", "model_zoo/digits.yaml"], "--model"),
    (["dump", "model_zoo/digits.yaml", "--format", "xml"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
    (["train", "model_zoo/digits.yaml", "--batch-size", "0", "--num-passes", "1"],
     "batch size must be positive"),
    (["test", "model_zoo/digits.yaml", "--model", "model_zoo"], "model_zoo"),
])
def test_bad_options(argv, fragment):
    assert_one_line_error(run(*argv), fragment)
