"""``mpiexec -n 2`` on this machine: the data-parallel run against one process, checkpoints
both ways, synchronised batch norm, a killed rank, a failing rank, disagreeing ranks, v2.

Every reference is a one-process run of the same global batch and seed.  Speed never enters:
a rank dies at a chosen training step (``MINIPADDLE_TEST_KILL_AT``), not after a delay, and the
only timeout is a hang guard.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minipaddle.train import checkpoint as ckpt

from mpi_support import (MINIPADDLE, ROOT, mpiexec, mpmd, needs_mpi, parameters,
                          relative_differences, run)

pytestmark = needs_mpi

LENET = str(ROOT / "model_zoo" / "lenet.yaml")
DIGITS = str(ROOT / "model_zoo" / "digits.yaml")
CONFIGS = Path(__file__).resolve().parent / "configs"
#: the issue's bar: float32 reduction order, after 2 and after 3 passes
TOLERANCE = 1e-3
#: float64 runs compared through their float32 checkpoints: at most an ulp of float32 apart
FLOAT32_ULP = 2.0 ** -23


def train(save_dir: Path, *extra: str, ranks: int = 1, config: str = LENET, passes: int = 3):
    line = [MINIPADDLE, "train", config, "--num-passes", str(passes), "--seed", "1",
            "--save-dir", str(save_dir), "--quiet", *extra]
    proc = mpiexec(ranks, *line) if ranks > 1 else run(line)
    assert proc.returncode == 0, proc.stderr
    return proc


def assert_close(a: Path, b: Path, tolerance: float = TOLERANCE) -> dict[str, float]:
    diffs = relative_differences(parameters(a), parameters(b))
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= tolerance, (worst, diffs)
    return diffs


@pytest.fixture(scope="module")
def lenet_runs(tmp_path_factory):
    """LeNet, 2 passes of mnist5k, batch 64, seed 1, in float64 (``--dtype float64``): one
    process and two ranks.  In float32 the two runs are not comparable to rounding: float32
    LeNet amplifies any change in the order of additions, by how much depends on the CPU's
    BLAS kernels (one pass: 5e-7 relative on an AVX-512 machine, 14% on an AVX2 one, where
    two one-process runs with 1 and 2 backend threads differ as much: docs/distributed.md)."""
    root = tmp_path_factory.mktemp("lenet")
    one = train(root / "one", "--dtype", "float64", passes=2)
    two = train(root / "two", "--dtype", "float64", ranks=2, passes=2)
    return root, one, two


def test_two_ranks_equal_one_process(lenet_runs):
    """The command line, float64 training: after each pass the two runs' parameters agree to
    rounding (the checkpoints hold float32 values: within an ulp of float32)."""
    root, one, two = lenet_runs
    for name in ("pass-00000", "pass-00001"):
        assert_close(root / "one" / name, root / "two" / name, FLOAT32_ULP)
    # rank 0 alone prints: one summary line, which says it ran on 2 ranks
    assert two.stdout.count("test accuracy") == 1 and "on 2 ranks" in two.stdout
    accuracy = [float(re.search(r"accuracy (\S+)%", p.stdout).group(1)) for p in (one, two)]
    assert abs(accuracy[0] - accuracy[1]) <= 1.0, accuracy


def test_checkpoints_load_both_ways(lenet_runs, tmp_path):
    root, _, _ = lenet_runs

    def test_line(model: Path, ranks: int) -> str:
        line = [MINIPADDLE, "test", LENET, "--model", str(model)]
        proc = mpiexec(ranks, *line) if ranks > 1 else run(line)
        assert proc.returncode == 0, proc.stderr
        return re.search(r"test accuracy (\S+)", proc.stdout).group(1)

    # the same model gives the same accuracy on 1 process and sharded over 2 ranks
    for run_dir in ("one", "two"):
        model = root / run_dir / "pass-00001"
        assert test_line(model, 1) == test_line(model, 2)
    # a run started on 2 ranks resumes on 1 (in float64 it continues to float64 rounding:
    # test_float64_lenet_three_passes)
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copytree(root / "two" / "pass-00000", resumed / "pass-00000")
    proc = train(resumed, "--resume", passes=2)
    assert "resuming at pass 1" in proc.stderr
    assert float(re.search(r"accuracy (\S+)%", proc.stdout).group(1)) >= 90


LIBRARY = """
    import sys
    import numpy as np
    import minipaddle as mp
    from minipaddle.train.comm import default_comm
    from minipaddle.train.trainer import Trainer

    out, save_dir, resume = sys.argv[1], sys.argv[2], sys.argv[3:] == ["resume"]
    comm = default_comm()
    trainer = Trainer(mp.parse_config({lenet!r}), "mnist5k", seed=1, comm=comm, dtype="float64",
                      save_dir=save_dir)
    if resume:
        trainer.resume()
    for passes in range(trainer.pass_id + 1, 4):
        trainer.train(passes)
        if comm.rank == 0:
            np.savez(f"{{out}}-{{passes}}.npz", **trainer.parameter_values(averaged=False))
"""


def test_float64_lenet_three_passes(tmp_path):
    """Trainer(..., comm=default_comm()) in a user's script: LeNet, 3 passes of mnist5k,
    float64, one process against 2 ranks.  The shards' partial sums are added in another order
    than one process's BLAS calls, so equality holds to float64 rounding (not bit for bit),
    far inside the issue's 1e-3 after 2 and after 3 passes.  The 2-rank checkpoint of pass 2
    resumes on 1 process and continues as the 2 ranks did."""
    script = tmp_path / "lenet64.py"
    script.write_text(textwrap.dedent(LIBRARY.format(lenet=LENET)))

    def lenet64(ranks, name, *extra):
        line = [sys.executable, str(script), str(tmp_path / name), str(tmp_path / f"{name}-ck"),
                *extra]
        proc = mpiexec(ranks, *line) if ranks > 1 else run(line)
        assert proc.returncode == 0, proc.stderr

    lenet64(1, "one")
    lenet64(2, "two")
    shutil.copytree(tmp_path / "two-ck" / "pass-00001", tmp_path / "resumed-ck" / "pass-00001")
    lenet64(1, "resumed", "resume")
    for a, b, passes in (("one", "two", 2), ("one", "two", 3), ("resumed", "two", 3)):
        diffs = relative_differences(dict(np.load(tmp_path / f"{a}-{passes}.npz")),
                                     dict(np.load(tmp_path / f"{b}-{passes}.npz")))
        assert max(diffs.values()) <= TOLERANCE, diffs
        assert max(diffs.values()) <= 1e-9, (a, b, passes, diffs)
        print(f"float64 LeNet, {a} vs {b} after {passes} passes: max relative difference "
              f"{max(diffs.values()):.2e}")


def test_synchronised_batch_norm_equals_one_process(tmp_path):
    config = str(CONFIGS / "digits_bn.py")
    # float64: see lenet_runs (in float32 this 2-pass comparison failed on an AVX2 machine)
    train(tmp_path / "one", "--dtype", "float64", config=config)
    train(tmp_path / "two", "--sync-batch-norm", "--dtype", "float64", ranks=2, config=config)
    diffs = assert_close(tmp_path / "one" / "pass-00002", tmp_path / "two" / "pass-00002",
                         FLOAT32_ULP)
    assert any(name.endswith(".w1") for name in diffs)        # moving means compared too
    # per-shard statistics (the default) train as well, the ranks kept consistent
    train(tmp_path / "shard", ranks=2, config=config)
    assert ckpt.latest_checkpoint(tmp_path / "shard").name == "pass-00002"


# -- faults ---------------------------------------------------------------------------------
def digits_line(save_dir: Path, *extra: str, passes: int = 3) -> list[str]:
    return [MINIPADDLE, "train", DIGITS, "--num-passes", str(passes), "--seed", "1",
            "--save-dir", str(save_dir), "--quiet", *extra]


#: digits: 1,438 training samples in batches of 32 = 45 steps a pass; step 60 is in pass 1
KILL = {"MINIPADDLE_TEST_KILL_AT": "batch:60"}


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("minipaddle: error")]


@pytest.mark.parametrize("cleanup", ["default", "disable"])
def test_a_killed_rank_stops_the_run(tmp_path, cleanup):
    """Rank 1 dies (SIGKILL) at its 60th step, in pass 1.  mpiexec ends rank 0 at once (no
    hang), names the dead process by pid, and rank 0's first line says which rank that pid is.
    Under mpiexec -disable-auto-cleanup rank 0 is told (SIGUSR1) and prints one line naming the
    rank, unless mpiexec ends it first (MPICH's does in some runs: docs/distributed.md).  Either
    way: a non-zero status, pass 0's checkpoint complete, and --resume continues exactly as an
    uninterrupted run."""
    launcher = ("-disable-auto-cleanup",) if cleanup == "disable" else ()
    killed = tmp_path / "killed"
    verbose = [a for a in digits_line(killed) if a != "--quiet"]
    proc = mpmd(({}, verbose), (KILL, digits_line(killed)), launcher=launcher)
    assert proc.returncode != 0
    pids = dict(re.findall(r"rank (\d) = pid (\d+) on", proc.stderr))
    assert set(pids) == {"0", "1"}, proc.stderr
    assert re.search(rf"PID {pids['1']} RUNNING AT|Killed \(signal 9\)",
                     proc.stdout + proc.stderr)
    if cleanup == "default":
        assert f"PID {pids['1']} RUNNING AT" in proc.stdout + proc.stderr
    lines = error_lines(proc)
    assert len(lines) <= (1 if cleanup == "disable" else 0), proc.stderr
    for line in lines:
        assert re.fullmatch(rf"minipaddle: error: rank 1 \(pid {pids['1']} on \S+\) died "
                            r"without a word \(killed or crashed; .*\); rank 0 stopped", line)
    assert ckpt.latest_checkpoint(killed).name == "pass-00000"
    assert not (killed / "pass-00001").exists()
    # the last complete checkpoint loads, and resuming on 2 ranks continues exactly
    resumed = mpiexec(2, *digits_line(killed, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.count("resuming at pass 1") == 1
    straight = tmp_path / "straight"
    assert mpiexec(2, *digits_line(straight)).returncode == 0
    a, b = parameters(killed / "pass-00002"), parameters(straight / "pass-00002")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_failing_rank_is_named_once(tmp_path):
    """Rank 1 alone cannot start (its --init-model-path does not exist): rank 0 stops too,
    and the run ends with one line naming rank 1 and its error."""
    proc = mpmd(({}, digits_line(tmp_path / "a", passes=1)),
                ({}, digits_line(tmp_path / "b", "--init-model-path", str(tmp_path / "none"),
                                 passes=1)))
    assert proc.returncode != 0
    assert error_lines(proc) == [f"minipaddle: error: rank 1 failed: model directory "
                                 f"{tmp_path / 'none'} does not exist"], proc.stderr


def test_a_rank_failing_mid_pass_stops_every_rank(tmp_path):
    """Rank 1 raises at its 60th step (pass 1): rank 0, waiting in that step's reduction,
    stops with one line naming rank 1 and its error; pass 0's checkpoint stays complete."""
    proc = mpmd(({}, digits_line(tmp_path)),
                ({"MINIPADDLE_TEST_FAIL_AT": "batch:60"}, digits_line(tmp_path)))
    assert proc.returncode != 0
    assert error_lines(proc) == ["minipaddle: error: rank 1 failed: a test fault at training "
                                 "step 60 (MINIPADDLE_TEST_FAIL_AT=batch:60)"], proc.stderr
    assert ckpt.latest_checkpoint(tmp_path).name == "pass-00000"


def test_disagreeing_ranks_refuse_to_start(tmp_path):
    other = tmp_path / "digits_fast.yaml"
    other.write_text(Path(DIGITS).read_text().replace("learning_rate: 0.0015625",
                                                      "learning_rate: 0.003"))
    line = digits_line(tmp_path / "x", passes=1)
    proc = mpmd(({}, line), ({}, [*line[:2], str(other), *line[3:]]))
    assert proc.returncode != 0
    lines = error_lines(proc)
    assert len(lines) == 1 and "the ranks disagree on the config: rank 1 has" in lines[0], lines

    # checkpoints: rank 1 resumes from an older pass than rank 0
    for d, passes in (("new", 2), ("old", 1)):
        assert run(digits_line(tmp_path / d, passes=passes)).returncode == 0
    proc = mpmd(({}, digits_line(tmp_path / "new", "--resume")),
                ({}, digits_line(tmp_path / "old", "--resume")))
    lines = error_lines(proc)
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr
    assert "disagree on the starting point (checkpoint or initial parameters): rank 1 has " \
           "pass 1," in lines[0] and "rank 0 has pass 2," in lines[0]


V2_PROGRAM = """
    import os
    import sys
    import paddle.v2 as paddle

    paddle.init(trainer_count=1, seed=1)
    pixel = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    hidden = paddle.layer.fc(input=pixel, size=64, act=paddle.activation.Relu())
    predict = paddle.layer.fc(input=hidden, size=10, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=predict, label=label)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Momentum(
                                     momentum=0.9, learning_rate=0.1 / 64))
    reader = paddle.batch(paddle.reader.firstn(paddle.dataset.mnist.train(), 1000), 64)
    errors = []

    def handler(event):
        if isinstance(event, paddle.event.EndPass):
            result = trainer.test(reader=paddle.batch(paddle.dataset.mnist.test(), 100))
            errors.append(result.metrics["classification_error_evaluator"])

    trainer.train(reader=reader, num_passes=2, event_handler=handler)
    if os.environ.get("PMI_RANK", "0") == "0":       # one writer
        with open(sys.argv[1], "wb") as f:
            trainer.save_parameter_to_tar(f)
        print("errors", errors)
"""


def test_v2_sgd_runs_data_parallel(tmp_path):
    program = tmp_path / "program.py"
    program.write_text(textwrap.dedent(V2_PROGRAM))
    env = {"MINIPADDLE_DATA_HOME": str(tmp_path / "data")}
    one = run([MINIPADDLE, "run", str(program), str(tmp_path / "one.tar")], env=env)
    assert one.returncode == 0, one.stderr
    two = mpiexec(2, MINIPADDLE, "run", str(program), str(tmp_path / "two.tar"), env=env)
    assert two.returncode == 0, two.stderr
    import minipaddle.v2 as paddle

    values = []
    for name in ("one.tar", "two.tar"):
        with open(tmp_path / name, "rb") as f:
            params = paddle.parameters.Parameters.from_tar(f)
        values.append({k: params.get(k) for k in params.names()})
    diffs = relative_differences(*values)
    assert max(diffs.values()) <= TOLERANCE, diffs
    assert two.stdout.count("errors") == 1
    errors = [eval(p.stdout.split("errors", 1)[1]) for p in (one, two)]  # noqa: S307
    assert np.allclose(errors[0], errors[1], atol=0.01), errors
