"""Checkpoints: Paddle v1 parameter files, atomic pass directories, mismatch reports, and a
SIGKILL-at-random-moments test that no crash ever leaves a checkpoint that loads wrong."""

from __future__ import annotations

import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minipaddle.config import ConfigError
from minipaddle.train import checkpoint as ck
from minipaddle.train.checkpoint import (
    latest_checkpoint, load_checkpoint_extras, load_parameters, read_paddle_parameter,
    save_checkpoint, write_paddle_parameter,
)

REPO = Path(ck.__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# Paddle v1 parameter files

def test_header_and_values_are_paddles_bytes(tmp_path):
    p = tmp_path / "___fc_0__.w0"
    write_paddle_parameter(p, np.array([[1.0, -2.5], [0.5, 3.0], [0.0, 1e-3]], dtype=np.float32))
    expected = (struct.pack("<i", 0) + struct.pack("<I", 4) + struct.pack("<Q", 6)
                + struct.pack("<6f", 1.0, -2.5, 0.5, 3.0, 0.0, 1e-3))
    assert p.read_bytes() == expected
    assert p.read_bytes()[:16] == bytes([0, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4), (8, 3, 5, 5), (2, 3, 4, 5, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_round_trip_shapes_and_dtypes(tmp_path, shape, dtype):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(shape) * 100).astype(dtype)
    p = tmp_path / "w"
    write_paddle_parameter(p, a)
    assert p.stat().st_size == 16 + 4 * a.size
    got = read_paddle_parameter(p, expected_count=a.size)
    assert got.dtype == np.float32 and got.ndim == 1 and got.flags.writeable
    np.testing.assert_array_equal(got, a.astype(np.float32).reshape(-1))


def test_non_contiguous_input_is_saved_in_c_order(tmp_path):
    a = np.arange(12, dtype=np.float64).reshape(3, 4).T  # Fortran-ordered view
    write_paddle_parameter(tmp_path / "w", a)
    np.testing.assert_array_equal(read_paddle_parameter(tmp_path / "w"),
                                  np.ascontiguousarray(a).reshape(-1).astype(np.float32))


def test_reads_float64_files(tmp_path):
    values = [1.0, -0.25, 1e10, 3.141592653589793]
    p = tmp_path / "w64"
    p.write_bytes(struct.pack("<iIQ", 0, 8, 4) + struct.pack("<4d", *values))
    got = read_paddle_parameter(p, expected_count=4)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array(values, dtype=np.float32))


def test_empty_parameter(tmp_path):
    write_paddle_parameter(tmp_path / "e", np.zeros((0,)))
    assert (tmp_path / "e").read_bytes() == struct.pack("<iIQ", 0, 4, 0)
    assert read_paddle_parameter(tmp_path / "e").shape == (0,)


@pytest.mark.parametrize("content, words", [
    (b"", ["0 bytes", "16-byte"]),
    (struct.pack("<iI", 0, 4), ["8 bytes", "16-byte"]),
    (struct.pack("<iIQ", 1, 4, 2) + b"\0" * 8, ["format is 1"]),
    (struct.pack("<iIQ", 0, 2, 4) + b"\0" * 8, ["value_size is 2"]),
    (struct.pack("<iIQ", 0, 4, 3) + b"\0" * 8, ["3 values", "holds 8 bytes"]),
    (struct.pack("<iIQ", 0, 4, 2) + b"\0" * 9, ["2 values", "holds 9 bytes"]),
    (struct.pack("<iIQ", 0, 8, 2) + b"\0" * 8, ["2 values of 8 bytes"]),
])
def test_corrupt_files_name_the_file_and_the_problem(tmp_path, content, words):
    p = tmp_path / "___conv_0__.w0"
    p.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_paddle_parameter(p)
    msg = str(info.value)
    assert str(p) in msg
    for w in words:
        assert w in msg


def test_expected_count_mismatch_and_missing_file(tmp_path):
    p = tmp_path / "b"
    write_paddle_parameter(p, np.ones(5))
    with pytest.raises(ConfigError, match=r"holds 5 values, expected 6") as info:
        read_paddle_parameter(p, expected_count=6)
    assert str(p) in str(info.value)
    with pytest.raises(ConfigError, match="cannot read") as info:
        read_paddle_parameter(tmp_path / "nope")
    assert "nope" in str(info.value)


def test_refuses_non_real_arrays(tmp_path):
    with pytest.raises(ValueError, match="complex"):
        write_paddle_parameter(tmp_path / "c", np.ones(3, dtype=complex))


# ---------------------------------------------------------------------------------------------
# save / load

SHAPES = {
    "___conv_0__.w0": (4, 1, 3, 3),
    "___conv_0__.wbias": (4,),
    "___fc_1__.w0": (36, 10),
    "___fc_1__.wbias": (10,),
}


def make_params(seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes.items()}


def test_save_load_round_trip(tmp_path):
    params = make_params()
    params["___fc_1__.w0"] = params["___fc_1__.w0"].astype(np.float64)  # saved as float32
    state = {"momentum.___fc_1__.w0": np.full((36, 10), 0.5), "rng": np.arange(5, dtype=np.uint64),
             "t": np.array(17), "file": np.array([1.5])}  # 'file' would clash with np.savez
    meta = {"pass_id": 2, "batch_id": 0, "seed": 7, "versions": {"minipaddle": "0.1"}}
    out = save_checkpoint(tmp_path / "save", 2, params, state=state, meta=meta,
                          config_yaml="layers: []\nname: é\n")
    assert out == tmp_path / "save" / "pass-00002" and out.is_dir()
    assert sorted(os.listdir(tmp_path / "save")) == ["pass-00002"]
    assert sorted(os.listdir(out)) == sorted(
        [*SHAPES, "_minipaddle_state.npz", "_minipaddle_meta.json", "_minipaddle_config.yaml"])
    # the parameter files are plain Paddle files
    np.testing.assert_array_equal(read_paddle_parameter(out / "___conv_0__.w0"),
                                  params["___conv_0__.w0"].reshape(-1))

    loaded = load_parameters(out, SHAPES)
    assert list(loaded) == list(SHAPES)
    for n, s in SHAPES.items():
        assert loaded[n].shape == s and loaded[n].dtype == np.float32
        np.testing.assert_array_equal(loaded[n], params[n].astype(np.float32))

    st, m, cfg = load_checkpoint_extras(out)
    assert sorted(st) == sorted(state)
    for k, v in state.items():
        np.testing.assert_array_equal(st[k], v)
        assert st[k].dtype == np.asarray(v).dtype
    assert {k: m[k] for k in meta} == meta
    assert m["parameters"] == list(SHAPES)
    assert m["files"]["___fc_1__.w0"] == 16 + 4 * 360
    assert cfg == "layers: []\nname: é\n"
    assert latest_checkpoint(tmp_path / "save") == out


def test_without_optional_parts(tmp_path):
    out = save_checkpoint(tmp_path, 0, make_params())
    st, m, cfg = load_checkpoint_extras(out)
    assert st == {} and cfg is None and m["parameters"] == list(SHAPES)
    assert not (out / "_minipaddle_config.yaml").exists()


def test_save_refuses_bad_input_before_touching_the_disk(tmp_path):
    d = tmp_path / "s"
    with pytest.raises(ConfigError, match="path separator"):
        save_checkpoint(d, 0, {"a/b": np.ones(2)})
    with pytest.raises(ConfigError, match="reserve"):
        save_checkpoint(d, 0, {"_minipaddle_x": np.ones(2)})
    with pytest.raises(ValueError, match="Python objects"):
        save_checkpoint(d, 0, make_params(), state={"x": np.array([object()])})
    with pytest.raises(TypeError):
        save_checkpoint(d, 0, make_params(), meta={"x": object()})
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(d, 0, make_params(), meta={"files": []})
    with pytest.raises(ValueError, match="pass_id"):
        save_checkpoint(d, -1, make_params())
    assert not d.exists()


def test_resave_same_pass_replaces_it(tmp_path):
    first = save_checkpoint(tmp_path, 3, make_params(1), meta={"v": 1})
    inode = first.stat().st_ino
    second = save_checkpoint(tmp_path, 3, {"only": np.full(3, 2.0)}, meta={"v": 2})
    assert second == first and second.stat().st_ino != inode
    assert sorted(os.listdir(tmp_path)) == ["pass-00003"]  # no .tmp, no .old-* left
    assert sorted(os.listdir(second)) == ["_minipaddle_meta.json", "_minipaddle_state.npz", "only"]
    assert load_checkpoint_extras(second)[1]["v"] == 2
    np.testing.assert_array_equal(load_parameters(second, {"only": (3,)})["only"], [2, 2, 2])


def test_resave_moves_the_old_one_aside_before_renaming(tmp_path, monkeypatch):
    """The final name is never a half-written directory: at the moment the new one takes the
    final name, the old one is already out of the way and complete under .old-*."""
    save_checkpoint(tmp_path, 1, make_params(1), meta={"v": 1})
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((Path(src).name, Path(dst).name, sorted(os.listdir(tmp_path))))
        return real_replace(src, dst)

    monkeypatch.setattr(ck.os, "replace", spy)
    save_checkpoint(tmp_path, 1, make_params(2), meta={"v": 2})
    (a_src, a_dst, _), (b_src, b_dst, listing) = seen
    assert a_src == "pass-00001" and a_dst.startswith("pass-00001.old-")
    assert (b_src, b_dst) == ("pass-00001.tmp", "pass-00001")
    assert "pass-00001" not in listing and a_dst in listing
    assert sorted(os.listdir(tmp_path)) == ["pass-00001"]


def test_stale_tmp_is_ignored_then_removed(tmp_path):
    save_checkpoint(tmp_path, 2, make_params(2), meta={"v": 2})
    stale = tmp_path / "pass-00003.tmp"
    stale.mkdir()
    write_paddle_parameter(stale / "___conv_0__.w0", np.ones(36))
    (stale / "_minipaddle_meta.json").write_text('{"parameters": [')  # torn
    (stale / "junk").write_bytes(b"x")
    old = tmp_path / "pass-00003.old-deadbeef"  # left by a crash between the two renames
    old.mkdir()
    assert latest_checkpoint(tmp_path) == tmp_path / "pass-00002"
    out = save_checkpoint(tmp_path, 3, make_params(3), meta={"v": 3})
    assert sorted(os.listdir(tmp_path)) == ["pass-00002", "pass-00003"]
    assert "junk" not in os.listdir(out)
    assert latest_checkpoint(tmp_path) == out


def test_latest_checkpoint_skips_incomplete_and_foreign_dirs(tmp_path):
    assert latest_checkpoint(tmp_path / "absent") is None
    assert latest_checkpoint(tmp_path) is None
    good = save_checkpoint(tmp_path, 4, make_params(), meta={"v": 4})
    # higher passes that are broken in various ways
    for pid, damage in [(5, "drop-param"), (6, "truncate"), (7, "no-meta"), (8, "torn-meta"),
                        (9, "drop-state"), (10, "bad-header")]:
        d = save_checkpoint(tmp_path, pid, make_params(), meta={"v": pid})
        if damage == "drop-param":
            (d / "___fc_1__.wbias").unlink()
        elif damage == "truncate":
            with open(d / "___fc_1__.w0", "r+b") as f:
                f.truncate(100)
        elif damage == "no-meta":
            (d / "_minipaddle_meta.json").unlink()
        elif damage == "torn-meta":
            (d / "_minipaddle_meta.json").write_text('{"parameters": ["a"')
        elif damage == "drop-state":
            (d / "_minipaddle_state.npz").unlink()
        elif damage == "bad-header":
            with open(d / "___conv_0__.w0", "r+b") as f:
                f.write(struct.pack("<i", 1))
    (tmp_path / "pass-00011.tmp").mkdir()
    (tmp_path / "pass-00012.old-abc").mkdir()
    (tmp_path / "pass-13").mkdir()          # not pass-%05d
    (tmp_path / "pass-000014").mkdir()      # not pass-%05d either
    (tmp_path / "pass-00015").write_text("a file")
    assert latest_checkpoint(tmp_path) == good
    # pass numbers beyond five digits sort numerically
    big = save_checkpoint(tmp_path, 100000, make_params())
    assert big.name == "pass-100000" and latest_checkpoint(tmp_path) == big


def test_load_parameters_fail_lists_every_mismatch(tmp_path):
    params = make_params()
    d = save_checkpoint(tmp_path, 0, params)
    (d / "___conv_0__.wbias").unlink()
    write_paddle_parameter(d / "___fc_9__.w0", np.ones(4))    # a parameter the net lacks
    (d / "___conv_0__.w0").write_bytes(b"\0\0")               # corrupt
    expected = dict(SHAPES)
    expected["___fc_1__.w0"] = (40, 10)                       # network changed shape
    expected["___fc_2__.w0"] = (10, 2)                        # network grew a layer
    with pytest.raises(ConfigError) as info:
        load_parameters(d, expected)
    msg = str(info.value)
    assert str(d) in msg and "4 problems" in msg
    assert "missing parameter files: ___conv_0__.wbias, ___fc_2__.w0" in msg
    assert "___fc_1__.w0: file has 360 values, the network needs shape (40, 10) = 400 values" in msg
    assert "___conv_0__.w0:" in msg and "16-byte" in msg
    assert "parameter files the network does not have: ___fc_9__.w0" in msg
    assert "_minipaddle_" not in msg.split("\n", 1)[1]  # our own files are not 'extra'


def test_load_parameters_single_size_mismatch(tmp_path):
    d = save_checkpoint(tmp_path, 0, make_params())
    with pytest.raises(ConfigError, match=r"1 problem;.*\n  ___conv_0__.wbias: file has 4 values, "
                                          r"the network needs shape \(5,\) = 5 values"):
        load_parameters(d, dict(SHAPES, **{"___conv_0__.wbias": (5,)}))


def test_load_parameters_rand_and_zero(tmp_path):
    params = make_params()
    d = save_checkpoint(tmp_path, 0, {k: v for k, v in params.items() if k != "___fc_1__.w0"})
    write_paddle_parameter(d / "extra", np.ones(2))  # ignored by rand/zero, as in Paddle
    with pytest.raises(ConfigError, match="missing parameter files: ___fc_1__.w0"):
        load_parameters(d, SHAPES)

    got = load_parameters(d, SHAPES, missing="rand")
    assert sorted(got) == sorted(set(SHAPES) - {"___fc_1__.w0"})  # caller keeps its init
    np.testing.assert_array_equal(got["___conv_0__.w0"], params["___conv_0__.w0"])

    a = load_parameters(d, SHAPES, missing="rand", rng=np.random.default_rng(5))
    b = load_parameters(d, SHAPES, missing="rand", rng=np.random.default_rng(5))
    w = a["___fc_1__.w0"]
    assert w.shape == (36, 10) and w.dtype == np.float32 and 0.005 < w.std() < 0.02
    np.testing.assert_array_equal(w, b["___fc_1__.w0"])

    z = load_parameters(d, SHAPES, missing="zero")
    assert sorted(z) == sorted(SHAPES)
    assert z["___fc_1__.w0"].shape == (36, 10) and not z["___fc_1__.w0"].any()

    # size mismatches fail whatever the strategy
    for strategy in ("rand", "zero"):
        with pytest.raises(ConfigError, match="file has 4 values"):
            load_parameters(d, dict(SHAPES, **{"___conv_0__.wbias": (3,)}), missing=strategy)
    with pytest.raises(ValueError, match="fail, rand, zero"):
        load_parameters(d, SHAPES, missing="ignore")


def test_load_parameters_on_a_paddle_written_dir(tmp_path):
    """Paddle's pass directories hold the parameter files only, some written as float64."""
    d = tmp_path / "pass-00009"
    d.mkdir()
    w = np.arange(36, dtype=np.float64).reshape(4, 1, 3, 3) / 7
    (d / "___conv_0__.w0").write_bytes(struct.pack("<iIQ", 0, 8, 36) + w.astype("<f8").tobytes())
    write_paddle_parameter(d / "___conv_0__.wbias", np.arange(4))
    got = load_parameters(d, {"___conv_0__.w0": (4, 1, 3, 3), "___conv_0__.wbias": (4,)})
    np.testing.assert_array_equal(got["___conv_0__.w0"], w.astype(np.float32))
    assert load_checkpoint_extras(d) == ({}, {}, None)
    assert latest_checkpoint(tmp_path) is None  # not resumable: no state, no meta
    with pytest.raises(ConfigError, match="does not exist"):
        load_parameters(tmp_path / "nope", {})


def test_extras_errors_name_the_file(tmp_path):
    d = save_checkpoint(tmp_path, 0, make_params(), state={"a": np.ones(2)})
    (d / "_minipaddle_state.npz").write_bytes(b"PK\3\4garbage")
    with pytest.raises(ConfigError, match="_minipaddle_state.npz"):
        load_checkpoint_extras(d)
    (d / "_minipaddle_state.npz").unlink()
    with pytest.raises(ConfigError, match="listed in _minipaddle_meta.json but missing"):
        load_checkpoint_extras(d)
    (d / "_minipaddle_meta.json").write_text("{not json")
    with pytest.raises(ConfigError, match="_minipaddle_meta.json: not valid JSON"):
        load_checkpoint_extras(d)


def test_state_is_never_unpickled(tmp_path):
    d = save_checkpoint(tmp_path, 0, make_params(), state={"a": np.ones(2)})
    # replace the state with an object array (a pickle inside the npz)
    np.savez(d / "_minipaddle_state.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ConfigError, match="cannot read"):
        load_checkpoint_extras(d)


# ---------------------------------------------------------------------------------------------
# SIGKILL at random moments

KILL_SHAPES = {  # about 2 MB per checkpoint, so a kill usually lands inside a save
    "___conv_0__.w0": (64, 32, 5, 5),
    "___fc_1__.w0": (800, 500),
    "___fc_1__.wbias": (500,),
    "___conv_0__.wbias": (64,),
}
NUM_PASS_IDS = 3  # the writer cycles through passes 0..2, so it both adds and re-saves passes

# The writer saves forever: checkpoint number k goes to pass k % 3 and has every parameter and
# the state filled with k, and meta {"k": k}.  Starting Python and importing minipaddle takes
# most of a second, so the writer runs as a fork server: it imports once, then for each "go K"
# line forks a child that saves from k = K onwards, prints the child's pid (the test SIGKILLs
# it) and reaps it.  With "direct K" it saves in its own process instead (killed directly).
WRITER = r"""
import os, sys
import numpy as np
from minipaddle.train.checkpoint import save_checkpoint
save_dir, shapes, npass = sys.argv[1], eval(sys.argv[2]), int(sys.argv[3])

def save_forever(k):
    while True:
        params = {n: np.full(s, k, np.float32) for n, s in shapes.items()}
        save_checkpoint(save_dir, k % npass, params,
                        state={"k": np.array(k), "adam_m": np.full(1000, k, np.float64)},
                        meta={"k": k}, config_yaml="k: %d\n" % k)
        k += 1

for line in sys.stdin:
    cmd, k = line.split()
    if cmd == "direct":
        print(os.getpid(), flush=True)
        save_forever(int(k))
    pid = os.fork()
    if pid == 0:
        try:
            save_forever(int(k))
        finally:
            os._exit(3)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print("killed" if os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9 else "status %d" % status,
          flush=True)
"""


def check_save_dir(save_dir: Path, written_ks: list[int]) -> int | None:
    """Every directory under a final pass name is complete and holds one checkpoint the writer
    wrote; return the k of latest_checkpoint's choice (None when none exists yet)."""
    finals = sorted(p for p in save_dir.iterdir()
                    if p.name.startswith("pass-") and "." not in p.name)
    ks = {}
    for d in finals:
        params = load_parameters(d, KILL_SHAPES)  # fail strategy: all there, right sizes
        state, meta, cfg = load_checkpoint_extras(d)
        k = meta["k"]
        assert any(lo <= k < hi for lo, hi in zip(written_ks, written_ks[1:] + [10**9])), k
        assert int(d.name[5:]) == k % NUM_PASS_IDS
        for name, arr in params.items():
            assert arr.shape == KILL_SHAPES[name]
            assert (arr == k).all(), (d, name)
        assert int(state["k"]) == k and (state["adam_m"] == k).all()
        assert cfg == "k: %d\n" % k
        ks[d] = k
    latest = latest_checkpoint(save_dir)
    if not finals:
        assert latest is None
        return None
    assert latest == max(finals, key=lambda p: int(p.name[5:]))
    return ks[latest]


@pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(signal, "SIGKILL"),
                    reason="needs fork and SIGKILL (POSIX)")
def test_sigkill_at_random_moments_never_leaves_a_bad_checkpoint(tmp_path):
    save_dir = tmp_path / "save"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    err = open(tmp_path / "writer.err", "w+")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(save_dir), repr(KILL_SHAPES),
                             str(NUM_PASS_IDS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=err, text=True, env=env)
    rnd = random.Random(20240519)
    written_ks: list[int] = []
    mid_save = 0
    rounds = 20
    try:
        for r in range(rounds):
            k0 = 100_000 * (r + 1)
            written_ks.append(k0)
            proc.stdin.write(f"go {k0}\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            assert line.strip().isdigit(), (line, err.seek(0) or err.read())
            time.sleep(rnd.uniform(0.0, 0.12))
            os.kill(int(line), signal.SIGKILL)
            assert proc.stdout.readline().strip() == "killed", err.seek(0) or err.read()
            mid_save += any(p.name.endswith(".tmp") or ".old-" in p.name
                            for p in save_dir.iterdir()) if save_dir.exists() else 0
            check_save_dir(save_dir, written_ks)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # where the kills landed depends on the machine's speed: reported, not asserted (every
    # phase of a save is killed on purpose in tests/train/test_failures.py)
    print(f"\n{mid_save} of {rounds} random kills landed inside a save")

    # two more rounds that SIGKILL the freshly started interpreter itself
    for r in range(2):
        k0 = 100_000 * (rounds + r + 1)
        written_ks.append(k0)
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(save_dir), repr(KILL_SHAPES),
                                 str(NUM_PASS_IDS)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        try:
            proc.stdin.write(f"direct {k0}\n")
            proc.stdin.flush()
            assert int(proc.stdout.readline()) == proc.pid, err.seek(0) or err.read()
            time.sleep(0.05 + rnd.uniform(0.0, 0.1))
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdin.close()
            proc.stdout.close()
        check_save_dir(save_dir, written_ks)
    err.close()

    # after the last kill, the next save of each pass cleans up whatever the kills left behind
    final_k = 300_000 * (rounds + 3)  # a multiple of 3: k = final_k + i goes to pass i
    for pid in range(NUM_PASS_IDS):
        k = final_k + pid
        save_checkpoint(save_dir, pid, {n: np.full(s, k, np.float32)
                                        for n, s in KILL_SHAPES.items()},
                        state={"k": np.array(k), "adam_m": np.full(1000, k, np.float64)},
                        meta={"k": k}, config_yaml="k: %d\n" % k)
    written_ks.append(final_k)
    assert sorted(os.listdir(save_dir)) == ["pass-%05d" % i for i in range(NUM_PASS_IDS)]
    assert check_save_dir(save_dir, written_ks) == final_k + NUM_PASS_IDS - 1
    meta = json.loads((save_dir / "pass-00002" / "_minipaddle_meta.json").read_text())
    assert meta["k"] == final_k + 2
