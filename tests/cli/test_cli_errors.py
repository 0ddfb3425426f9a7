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


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m minipaddle ARGS`` with ``env`` added to a copy of the environment (less
    any MINIPADDLE_DEBUG of the caller's)."""
    base = {k: v for k, v in os.environ.items() if k != "MINIPADDLE_DEBUG"}
    env = {**base, "PYTHONPATH": str(ROOT), **(env or {})}
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
    (["train", "model_zoo/digits.yaml", "--num-passes", "many"],
     "argument --num-passes: expected a positive integer, got 'many'"),
    (["train", "model_zoo/digits.yaml", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "model_zoo/digits.yaml", "--resume", "--start-pass", "2"], "not allowed"),
    (["test", "model_zoo/digits.yaml"], "--model"),
    (["dump", "model_zoo/digits.yaml", "--format", "xml"], "invalid choice"),
    (["train", "model_zoo/digits.yaml", "--dtype", "float16"],
     "argument --dtype: invalid choice: 'float16'"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
    (["train", "model_zoo/digits.yaml", "--batch-size", "0", "--num-passes", "1"],
     "argument --batch-size: expected a positive integer, got 0"),
    (["test", "model_zoo/digits.yaml", "--model", "model_zoo"], "model_zoo"),
    (["time", "model_zoo/digits.yaml", "--iterations", "0"],
     "argument --iterations: expected a positive integer, got 0"),
    (["time", "model_zoo/digits.yaml", "--iterations", "-3"],
     "argument --iterations: expected a positive integer, got -3"),
    (["time", "model_zoo/digits.yaml", "--batch-size", "0"],
     "argument --batch-size: expected a positive integer, got 0"),
    (["checkgrad", "model_zoo/digits.yaml", "--batch-size", "0"],
     "argument --batch-size: expected a positive integer, got 0"),
    (["checkgrad", "model_zoo/digits.yaml", "--tolerance", "0"],
     "argument --tolerance: expected a positive number, got 0"),
    (["checkgrad", "model_zoo/digits.yaml", "--tolerance", "nan"],
     "argument --tolerance: expected a positive number, got nan"),
    (["train", "model_zoo/digits.yaml", "--num-passes", "0"],
     "argument --num-passes: expected a positive integer, got 0"),
    (["train", "model_zoo/digits.yaml", "--num-passes", "-1"],
     "argument --num-passes: expected a positive integer, got -1"),
    (["train", "model_zoo/digits.yaml", "--seed", "-1"],
     "argument --seed: expected a non-negative integer, got -1"),
    (["train", "model_zoo/digits.yaml", "--start-pass", "-2"],
     "argument --start-pass: expected a non-negative integer, got -2"),
    (["train", "model_zoo/digits.yaml", "--start-pass", "2"], "--start-pass needs --save-dir"),
])
def test_bad_options(argv, fragment):
    assert_one_line_error(run(*argv), fragment)


RAISING_CONFIGS = {
    "NameError": ("y = undefined_name", "NameError: name 'undefined_name' is not defined"),
    "ModuleNotFoundError": ("import paddle.v2 as paddle",
                            "ModuleNotFoundError: No module named 'paddle.v2'"),
    "raise": ("raise RuntimeError('no data here')", "RuntimeError: no data here"),
    "outputs()": ("outputs()", "TypeError: outputs() missing 1 required positional argument"),
    "ReluActivation(1)": ("a = ReluActivation(1)", "ReluActivation: takes no arguments, got 1"),
    "class typo": ("o = MomentumOptimizer(momentun=0.9)",
                   "MomentumOptimizer: unknown argument 'momentun' (did you mean 'momentum'?)"),
    "unsupported name": ("m = lstmemory()", "lstmemory is a PaddlePaddle v1 function that "
                                            "minipaddle does not implement"),
}


@pytest.mark.parametrize("case", sorted(RAISING_CONFIGS))
def test_a_config_that_raises_prints_one_line_with_the_users_file_and_line(tmp_path, case):
    line, expected = RAISING_CONFIGS[case]
    path = tmp_path / "conf.py"
    path.write_text("from paddle.trainer_config_helpers import *\n"
                    "settings(batch_size=8)\n"
                    f"{line}\n")
    assert_one_line_error(run("dump", str(path)), f"minipaddle: error: {path}:3: {expected}")


def test_debug_and_its_environment_variable_show_the_traceback(tmp_path):
    path = tmp_path / "conf.py"
    path.write_text("from paddle.trainer_config_helpers import *\nraise KeyError('lost')\n")
    for proc in (run("dump", str(path), "--debug"), run("--debug", "dump", str(path)),
                 run("dump", str(path), env={"MINIPADDLE_DEBUG": "1"})):
        assert proc.returncode != 0
        assert "Traceback (most recent call last)" in proc.stderr
        assert f'File "{path}", line 2' in proc.stderr and "KeyError: 'lost'" in proc.stderr
