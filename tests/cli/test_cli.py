"""The `minipaddle` command: dump and summary."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import minipaddle as mp
from minipaddle.cli import main

ROOT = Path(__file__).resolve().parents[2]
LENET = str(ROOT / "model_zoo" / "lenet.yaml")


def test_dump_yaml_round_trips(capsys, tmp_path):
    assert main(["dump", LENET]) == 0
    text = capsys.readouterr().out
    assert text.startswith("schema_version: 1\nkind: trainer_config\n")
    assert mp.from_yaml(text) == mp.parse_config(LENET)
    dump = tmp_path / "lenet_dump.yaml"
    dump.write_text(text)
    assert mp.parse_config(str(dump)) == mp.parse_config(LENET)


def test_dump_json_and_protostr(capsys):
    assert main(["dump", LENET, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "trainer_config"
    assert main(["dump", LENET, "--format", "protostr"]) == 0
    text = capsys.readouterr().out
    assert text.startswith('type: "nn"\nlayers {\n  name: "pixel"\n  type: "data"\n')
    assert 'input_parameter_name: "_conv1_conv.w0"' in text
    assert main(["dump", LENET, "--format", "protostr", "--whole"]) == 0
    whole = capsys.readouterr().out
    assert whole.startswith("model_config {\n") and "opt_config {\n" in whole


def test_summary_table(capsys):
    assert main(["summary", LENET]) == 0
    out = capsys.readouterr().out
    assert "mult-adds" in out
    row = next(line for line in out.splitlines() if line.startswith("conv1_conv "))
    assert row.split() == ["conv1_conv", "exconv", "20x24x24", "520", "288,000"]
    assert "trainable parameters: 431,080" in out
    assert "static parameters: 0" in out


def test_errors_go_to_stderr_with_status_2(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nkind: model\nlayers:\n  - fc_layr: {}\noutputs: []\n")
    assert main(["summary", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: layers[0] (fc_layr): unknown layer function 'fc_layr'" in err
    assert "did you mean 'fc_layer'" in err


def test_console_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "minipaddle", "summary", LENET],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "total parameters: 431,080" in proc.stdout
