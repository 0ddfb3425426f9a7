"""The training-side commands: train, test, infer, time, graph, and their errors (checkgrad:
tests/train/test_checkgrad.py)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from minipaddle.cli import main
from minipaddle.train.datasets import write_idx

ZOO = Path(__file__).resolve().parents[2] / "model_zoo"
DIGITS = str(ZOO / "digits.yaml")
SUMMARY = re.compile(r"^test accuracy \d+\.\d\d% \| \d+ images/s \| wall \d+\.\d s$")


def test_train_prints_the_summary_line_last_and_saves(tmp_path, capsys):
    assert main(["train", DIGITS, "--data", "digits", "--num-passes", "2",
                 "--save-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    assert "\x1b" not in captured.out + captured.err          # not a terminal: no escapes
    assert "pass 1: train cost" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_minipaddle_lock", "pass-00000",
                                                          "pass-00001"]
    # Paddle-format parameter files, named after the parameters
    header = (tmp_path / "pass-00001" / "_conv1.w0").read_bytes()[:16]
    assert header[:8] == b"\x00\x00\x00\x00\x04\x00\x00\x00"

    assert main(["test", DIGITS, "--data", "digits", "--model",
                 str(tmp_path / "pass-00001")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"test accuracy \d+\.\d\d%", out)

    images = np.random.default_rng(0).uniform(0, 1, size=(3, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "in.npy", images)
    assert main(["infer", DIGITS, "--model", str(tmp_path / "pass-00001"),
                 "--input", str(tmp_path / "in.npy"), "--output", str(tmp_path / "p.npy")]) == 0
    probs = np.load(tmp_path / "p.npy")
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_resume_continues_from_the_latest_pass(tmp_path, capsys):
    assert main(["train", DIGITS, "--data", "digits", "--num-passes", "1", "--quiet",
                 "--save-dir", str(tmp_path)]) == 0
    assert main(["train", DIGITS, "--data", "digits", "--num-passes", "2", "--quiet",
                 "--save-dir", str(tmp_path), "--resume"]) == 0
    captured = capsys.readouterr()
    assert "resuming at pass 1" in captured.err
    assert (tmp_path / "pass-00001").is_dir()


def test_resume_with_nothing_left_to_run_says_so(tmp_path, capsys):
    assert main(["train", DIGITS, "--data", "digits", "--num-passes", "2", "--quiet",
                 "--save-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["train", DIGITS, "--data", "digits", "--num-passes", "1", "--quiet",
                 "--save-dir", str(tmp_path), "--resume"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""                                    # no run, no summary line
    assert ("nothing left to run: passes 0-1 are done and --num-passes 1 counts all passes, "
            "resumed ones included (ask for more, e.g. --num-passes 3)") in captured.err
    assert sorted(p.name for p in tmp_path.glob("pass-*")) == ["pass-00000", "pass-00001"]


def test_num_passes_help_says_resumed_passes_count(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "with --resume or --start-pass the passes already done count" in help_text


def test_warnings_are_one_line_each(tmp_path, capsys):
    path = tmp_path / "conf.py"
    path.write_text("from paddle.trainer_config_helpers import *\n"
                    "x = data_layer(name='pixel', size=64, height=8, width=8)\n"
                    "y = fc_layer(input=x, size=10, act=SoftmaxActivation())\n"
                    "outputs(classification_cost(input=y, label=data_layer(name='l', size=10)))\n")
    assert main(["train", str(path), "--data", "digits", "--num-passes", "1", "--quiet"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "minipaddle: warning: the config never calls settings(): training with Paddle's " \
           "defaults (momentum SGD, learning rate 1.0 on summed gradients)" in err
    assert not [line for line in err if "Warning" in line or "cli.py" in line], err


def test_time_reports_each_layer(capsys):
    assert main(["time", DIGITS, "--batch-size", "8", "--iterations", "2"]) == 0
    out = capsys.readouterr().out
    for layer in ("conv1", "pool1", "conv2", "hidden", "predict", "cost"):
        assert re.search(rf"^{layer} +\S+ +.*\S +\d+\.\d+ +\d+\.\d+ +\d+\.\d+$", out,
                         re.M), layer
    # which convolution kernel ran, and the optimizer's row
    assert re.search(r"^conv1 +exconv +exconv: im2col \+ GEMM, \w+ layout ", out, re.M)
    assert re.search(r"^optimizer update +momentum +\d+\.\d+$", out, re.M)
    step = re.search(r"^training step: \d+\.\d+ ms per batch \(\d+ images/s\); (.*)$", out,
                     re.M)
    assert step
    shares = dict(re.fullmatch(r"(.+) (\d+\.\d+)%", part).groups()
                  for part in step.group(1).split(", "))
    assert {"convolution", "pooling", "activations", "fc", "optimizer"} <= set(shares)
    assert sum(float(v) for v in shares.values()) <= 100.0


def test_graph_writes_dot(capsys):
    assert main(["graph", DIGITS]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "digits" {')
    assert '"conv1" -> "pool1";' in out and out.rstrip().endswith("}")


@pytest.mark.parametrize("argv,message", [
    (["train", "missing.yaml"], "no such config file"),
    (["train", DIGITS, "--data", "idx:/nonexistent"], "/nonexistent"),
    (["train", DIGITS, "--data", "cifar"], "cifar"),
    (["train", str(ZOO / "lenet.yaml"), "--data", "digits"], "784 vs 64"),
    (["train", DIGITS, "--use-gpu"], "GPU backend"),
    (["test", DIGITS, "--model", "/nonexistent/pass-00000"], "/nonexistent"),
])
def test_errors_are_one_line_without_traceback(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("minipaddle: error: ") and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_start_pass_continues_from_the_named_pass(tmp_path, capsys):
    args = ["train", DIGITS, "--num-passes", "2", "--quiet", "--save-dir", str(tmp_path)]
    assert main(args) == 0
    first = (tmp_path / "pass-00001" / "_conv1.w0").read_bytes()
    assert main(args[:3] + ["3"] + args[4:] + ["--start-pass", "2"]) == 0
    assert (tmp_path / "pass-00002").is_dir()
    assert (tmp_path / "pass-00001" / "_conv1.w0").read_bytes() == first
    assert main(["train", DIGITS, "--quiet", "--start-pass", "2"]) == 2
    assert "--start-pass needs --save-dir" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["curves.txt", "a_directory"])
def test_a_bad_plot_target_fails_before_training(tmp_path, capsys, target):
    (tmp_path / "a_directory").mkdir()
    save = tmp_path / "save"
    code = main(["train", DIGITS, "--num-passes", "1", "--quiet", "--save-dir", str(save),
                 "--plot", str(tmp_path / target)])
    assert code == 2
    err = capsys.readouterr().err
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "--plot needs matplotlib: pip install 'minipaddle[plot]'" in err
    else:
        assert f"--plot {tmp_path / target}: cannot write a" in err
    assert not save.exists()                                      # nothing was trained


def test_a_one_pass_plot_has_whole_pass_ticks(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from minipaddle.train.events import EndPass
    from minipaddle.train.plot import plot_history

    ticks = []
    original = Figure.savefig

    def savefig(fig, *args, **kwargs):
        ticks.extend(ax.get_xticks() for ax in fig.axes)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    plot_history([EndPass(0, {"cost": 1.0, "classification_error": 0.5}, None, 1.0)],
                 str(tmp_path / "one.png"))
    assert ticks and all(len(t) and all(float(v).is_integer() for v in t) for t in ticks), ticks


def test_plot_writes_a_png_or_names_the_missing_extra(tmp_path, capsys):
    png = tmp_path / "curves.png"
    code = main(["train", DIGITS, "--num-passes", "2", "--quiet", "--plot", str(png)])
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert code == 2
        assert "pip install 'minipaddle[plot]'" in capsys.readouterr().err
        return
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory) -> str:
    save = tmp_path_factory.mktemp("digits_model")
    assert main(["train", DIGITS, "--data", "digits", "--num-passes", "1", "--quiet",
                 "--save-dir", str(save)]) == 0
    return str(save / "pass-00000")


def infer(model: str, array_file: Path, out: Path) -> int:
    return main(["infer", DIGITS, "--model", model, "--input", str(array_file),
                 "--output", str(out)])


def test_infer_scales_uint8_pixels_like_the_data_sets(tmp_path, digits_model, capsys):
    pixels = np.random.default_rng(1).integers(0, 256, size=(4, 64)).astype(np.uint8)
    np.save(tmp_path / "u8.npy", pixels)
    np.save(tmp_path / "f.npy", pixels.astype(np.float32) / 255)
    assert infer(digits_model, tmp_path / "u8.npy", tmp_path / "a.npy") == 0
    assert infer(digits_model, tmp_path / "f.npy", tmp_path / "b.npy") == 0
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    assert "warning" not in capsys.readouterr().err


def test_infer_warns_when_values_leave_the_range_the_data_sets_feed(tmp_path, digits_model,
                                                                    capsys):
    np.save(tmp_path / "raw.npy", np.full((2, 64), 200.0))
    assert infer(digits_model, tmp_path / "raw.npy", tmp_path / "p.npy") == 0
    assert ("minipaddle: warning: " + str(tmp_path / "raw.npy") + ": values span [200, 200], "
            "but the data sets feed images in [0, 1]") in capsys.readouterr().err


@pytest.mark.parametrize("kind, fragment", [
    ("npz", "is an .npz archive (arrays: images); expected a NumPy .npy file"),
    ("text", "is not a .npy file (it starts with b'0.1 0.2"),
    ("strings", "holds an array of <U3 ('U' values); expected a NumPy .npy file"),
    ("objects", "holds Python objects, which loading would unpickle"),
])
def test_infer_says_what_a_wrong_input_file_is(tmp_path, digits_model, capsys, kind, fragment):
    path = tmp_path / "input"
    if kind == "npz":
        np.savez(path, images=np.zeros((2, 64)))
        path = path.with_suffix(".npz")
    elif kind == "text":
        path.write_text("0.1 0.2 0.3\n")
    elif kind == "strings":
        np.save(path, np.array(["abc", "def"]))
        path = path.with_suffix(".npy")
    else:
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        path = path.with_suffix(".npy")
    assert infer(digits_model, path, tmp_path / "p.npy") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"minipaddle: error: {path} {fragment}"), err
    assert "(N, size) or (N, C, H, W), with values in [0, 1] or uint8 pixels 0-255" in err


@pytest.mark.parametrize("empty", ["train", "t10k"])
def test_an_empty_data_set_is_an_error(tmp_path, capsys, empty):
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        n = 0 if prefix == empty else 20
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte",
                  rng.integers(0, 256, size=(n, 8, 8)).astype(np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    expected = {"train": f"the training set idx:{tmp_path}/train is empty: there is nothing "
                         "to train on",
                "t10k": f"the test set idx:{tmp_path}/test is empty: there is nothing to test "
                        "on"}[empty]
    for command in (["train", "--num-passes", "1", "--quiet"],
                    ["test", "--model", str(tmp_path)]):
        assert main([command[0], DIGITS, "--data", f"idx:{tmp_path}", *command[1:]]) == 2
        assert expected in capsys.readouterr().err
