"""Training failures: a diverging run stops naming the first non-finite layer and keeps the
last good checkpoint; SIGKILL at every phase of a checkpoint save (chosen points, the same on a
machine of any speed) and at random moments never loses a resumable run; a second run on the
same save directory fails at once.

The kill tests have ``sigkill`` in their names (``pytest tests/train/test_failures.py -k
sigkill`` runs them alone)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.cli import main
from minipaddle.train import checkpoint, killpoints
from minipaddle.train.divergence import DivergenceGuard
from minipaddle.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "model_zoo" / "digits.yaml"
POSIX_KILL = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


@pytest.mark.filterwarnings("error::RuntimeWarning")   # NumPy's overflow warnings stay inside
def test_non_finite_cost_names_the_first_bad_layer_and_keeps_checkpoints(tmp_path):
    def net():
        settings(batch_size=32, learning_rate=1e4)          # diverges within a pass or two
        x = data_layer(name="pixel", size=64, height=8, width=8)
        h = fc_layer(input=x, size=32, act=ExpActivation(), name="hidden")
        p = fc_layer(input=h, size=10, act=SoftmaxActivation(), name="predict")
        outputs(classification_cost(input=p, label=data_layer(name="label", size=10)))

    trainer = Trainer(mp.parse_config(net), "digits", seed=1, save_dir=tmp_path)
    with pytest.raises(FloatingPointError) as info:
        trainer.train(num_passes=20)
    message = str(info.value)
    assert ("the cost became non-finite at pass" in message and "batch" in message
            and "first non-finite layer: 'hidden'" in message) or \
        ("training diverged: parameter '_hidden." in message and "of layer 'hidden'" in message)
    latest = checkpoint.latest_checkpoint(tmp_path)
    if latest is not None:      # every checkpoint left behind is complete and finite
        shapes = {k: v.shape for k, v in trainer.net.parameters.items()}
        for value in checkpoint.load_parameters(latest, shapes).values():
            assert np.isfinite(value).all()


def batch_norm_net(learning_rate: float):
    """Batch norm before the softmax: the cost stays finite while the weights and the moving
    variances run off towards 1e15 and 1e30 (the case a non-finite check alone lets through)."""
    def net():
        settings(batch_size=32, learning_rate=learning_rate,
                 learning_method=MomentumOptimizer(0.9))
        pixel = data_layer(name="pixel", size=64, height=8, width=8)
        conv = img_conv_layer(input=pixel, filter_size=3, num_filters=8, padding=1,
                              act=LinearActivation(), name="conv")
        bn = batch_norm_layer(input=conv, act=ReluActivation(), name="bn")
        pool = img_pool_layer(input=bn, pool_size=2, stride=2, name="pool")
        fc = fc_layer(input=pool, size=10, act=LinearActivation(), name="fc")
        predict = batch_norm_layer(input=fc, act=SoftmaxActivation(), name="predict")
        outputs(classification_cost(input=predict, label=data_layer(name="label", size=10)))
    return mp.parse_config(net)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_divergence_with_a_finite_cost_stops_before_the_diverged_state_is_saved(tmp_path):
    good = Trainer(batch_norm_net(0.01 / 32), "digits", seed=1, save_dir=tmp_path)
    good.train(num_passes=1)
    good.close()
    saved = parameter_bytes(tmp_path / "pass-00000")
    wild = Trainer(batch_norm_net(1e6), "digits", seed=1, save_dir=tmp_path)
    assert wild.resume() == 1
    with pytest.raises(FloatingPointError) as info:
        wild.train(num_passes=3)
    message = str(info.value)
    assert re.fullmatch(r"training diverged: parameter '_(\w+)\.w\w+' of layer '\1' is \|value\| "
                        r"up to \S+ at pass 1, batch \d+ \(the bound is 1e\+10\); training "
                        r"stopped before this state was saved, the last complete checkpoint is "
                        r"kept: lower the learning rate", message), message
    assert sorted(p.name for p in tmp_path.glob("pass-*")) == ["pass-00000"]
    assert parameter_bytes(tmp_path / "pass-00000") == saved


def test_the_divergence_guard_checks_cost_growth_and_parameter_values():
    net = mp.compile(batch_norm_net(0.01), seed=0)
    guard = DivergenceGuard()
    guard.check(net, 2.3, 0, 0)
    guard.check(net, 2.3 * 9999, 0, 1)                    # under four orders of magnitude
    with pytest.raises(FloatingPointError, match=r"the cost grew from 2.3 \(the run's first "
                       r"batch\) to 2.3e\+04 at pass 0, batch 2, 1e\+04 times or more \("
                       r"largest parameter: '_\w+\.\w+' of layer '\w+'"):
        guard.check(net, 2.3 * 10001, 0, 2)
    net.parameters["_fc.wbias"][3] = np.nan
    with pytest.raises(FloatingPointError, match="parameter '_fc.wbias' of layer 'fc' is not "
                                                 "finite at pass 4, batch 7"):
        guard.check(net, 2.3, 4, 7)
    net.parameters["_fc.wbias"][3] = -2e10
    with pytest.raises(FloatingPointError, match=r"'_fc.wbias' of layer 'fc' is \|value\| up "
                                                 r"to 2e\+10 at pass 4, batch 8"):
        guard.check(net, 2.3, 4, 8)


# ---------------------------------------------------------------------------------------------
# SIGKILL at chosen points of a save (MINIPADDLE_TEST_KILL_AT, minipaddle/train/checkpoint.py)

PASSES = 2          # every kill below lands in the second (last) save: pass-00001


def train_args(save: Path, passes: int = PASSES, *extra: str) -> list[str]:
    return ["train", str(DIGITS), "--data", "digits", "--num-passes", str(passes), "--quiet",
            "--seed", "3", "--save-dir", str(save), *extra]


def run_cli(args: list[str], kill_at: str | None = None) -> subprocess.CompletedProcess:
    """``minipaddle ARGS`` in a fresh interpreter, SIGKILLed at ``kill_at`` when given."""
    env = {k: v for k, v in os.environ.items()
           if k not in (killpoints.KILL_ENV, killpoints.FAIL_ENV)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if kill_at:
        env[killpoints.KILL_ENV] = kill_at
    code = "import sys; from minipaddle.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True)


def parameter_bytes(pass_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in pass_dir.iterdir()
            if not p.name.startswith(checkpoint.RESERVED_PREFIX)}


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """An uninterrupted run: what every killed-and-resumed run must end with, byte for byte."""
    save = tmp_path_factory.mktemp("straight")
    done = run_cli(train_args(save))
    assert done.returncode == 0, done.stderr
    return save / f"pass-{PASSES - 1:05d}"


def files_per_save() -> tuple[int, int]:
    """(files written per save, files written in two steps per save): one per parameter, the
    optimizer state, the config and the meta; the parameters and the meta in two steps."""
    n = len(mp.parse_config(DIGITS).model_config.parameters)
    return n + 3, n + 1


FILES, PARTIAL = files_per_save()
#: phase -> (K, the pass whose checkpoint is the latest complete one right after the kill).
#: The second save's first file, its state file (the last before config and meta) and its meta.
KILL_POINTS = {
    "start": (2, 0),
    "tmp-created": (2, 0),
    "file-partial (a parameter file)": (PARTIAL + 1, 0),
    "file-partial (the meta)": (2 * PARTIAL, 0),
    "file-written (a parameter file)": (FILES + 1, 0),
    "file-written (the meta)": (2 * FILES, 0),
    "file-synced (the state)": (2 * FILES - 2, 0),
    "tmp-synced": (2, 0),
    "before-rename": (2, 0),
    "renamed": (2, 1),
    "parent-synced": (2, 1),
    "done": (2, 1),
}


def check_save_dir(save: Path) -> Path | None:
    """Every directory under a final pass name is a complete checkpoint that loads in full;
    return the latest."""
    skipped: list = []
    latest = checkpoint.latest_checkpoint(save, skipped)
    assert not skipped, skipped
    shapes = {p.name: (p.size,) for p in mp.parse_config(DIGITS).model_config.parameters}
    for d in save.glob("pass-*"):
        if d.name.isascii() and d.name[5:].isdigit():
            checkpoint.load_parameters(d, shapes)
            _, meta, config_yaml = checkpoint.load_checkpoint_extras(d)
            assert meta["pass_id"] == int(d.name[5:]) + 1 and config_yaml
    return latest


@POSIX_KILL
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_at_every_phase_of_a_save_then_resume_matches(tmp_path, straight, point):
    phase = point.split(" ")[0]
    k, latest_pass = KILL_POINTS[point]
    save = tmp_path / "run"
    killed = run_cli(train_args(save), kill_at=f"{phase}:{k}")
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    latest = check_save_dir(save)
    assert latest is not None and latest.name == f"pass-{latest_pass:05d}"
    half_written = sorted(p.name for p in save.iterdir() if p.name.endswith(".tmp"))
    if phase in ("tmp-created", "file-partial", "file-written", "file-synced", "tmp-synced",
                 "before-rename"):
        assert half_written == ["pass-00001.tmp"]        # the kill did land inside the save
        tmp = save / half_written[0]
        meta = tmp / checkpoint.META_FILE
        if point == "file-partial (a parameter file)":    # a header and no values
            assert [p.stat().st_size for p in tmp.iterdir()] == [checkpoint.HEADER_SIZE]
        elif point == "file-partial (the meta)":
            assert meta.read_bytes() and not meta.read_text().rstrip().endswith("}")
        elif phase in ("file-written", "file-synced"):
            assert meta.exists() == point.endswith("(the meta)")
    resumed = run_cli(train_args(save, PASSES, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    final = save / straight.name
    assert parameter_bytes(final) == parameter_bytes(straight)
    assert sorted(p.name for p in save.iterdir()) == ["_minipaddle_lock", "pass-00000",
                                                      "pass-00001"]


@POSIX_KILL
def test_sigkill_while_a_pass_is_saved_again_then_resume_matches(tmp_path, straight):
    """Re-saving an existing pass (``--start-pass``) moves the old directory aside first: a
    kill right then leaves the previous pass as the latest, and the resumed run ends as the
    straight one."""
    save = tmp_path / "run"
    assert run_cli(train_args(save)).returncode == 0
    killed = run_cli(train_args(save, PASSES, "--start-pass", "1"), kill_at="old-moved:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert check_save_dir(save).name == "pass-00000"
    assert any(".old-" in p.name for p in save.iterdir())
    resumed = run_cli(train_args(save, PASSES, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert parameter_bytes(save / straight.name) == parameter_bytes(straight)
    assert not any(".old-" in p.name or p.name.endswith(".tmp") for p in save.iterdir())


def test_an_unknown_kill_phase_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(killpoints.KILL_ENV, "renamd:1")
    with pytest.raises(ValueError, match="MINIPADDLE_TEST_KILL_AT='renamd:1'.*renamed"):
        checkpoint.save_checkpoint(tmp_path, 0, {"w": np.ones(2)})


def test_the_loop_phase_passes_through_a_save_and_a_save_phase_fails_on_request(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv(killpoints.KILL_ENV, "batch:1")        # the training loop's phase
    checkpoint.save_checkpoint(tmp_path, 0, {"w": np.ones(2)})
    monkeypatch.delenv(killpoints.KILL_ENV)
    monkeypatch.setenv(killpoints.FAIL_ENV, "renamed:1")
    with pytest.raises(OSError, match="a test fault at renamed 1"):
        checkpoint.save_checkpoint(tmp_path, 1, {"w": np.ones(2)})


# ---------------------------------------------------------------------------------------------
# SIGKILL at random moments: wherever a kill lands, the run resumes to the same end


@POSIX_KILL
def test_sigkill_at_random_moments_then_resume_matches_an_uninterrupted_run(tmp_path):
    """Random delays land anywhere (during start-up, a batch, a save) or after the run has
    finished, depending on the machine; every round is checked for what the kill left, and the
    number of kills is not asserted: the chosen-point tests above cover every phase."""
    passes = 8
    reference = tmp_path / "straight"
    assert run_cli(train_args(reference, passes)).returncode == 0
    killed = tmp_path / "killed"
    rng = random.Random(7)
    env = {k: v for k, v in os.environ.items()
           if k not in (killpoints.KILL_ENV, killpoints.FAIL_ENV)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    code = "import sys; from minipaddle.cli import main; sys.exit(main(sys.argv[1:]))"
    outcomes = []
    for _ in range(6):
        resume = killed.exists() and checkpoint.latest_checkpoint(killed) is not None
        args = train_args(killed, passes, *(["--resume"] if resume else []))
        proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        status = proc.wait()
        assert status in (0, -signal.SIGKILL), status     # finished, or killed: nothing else
        latest = check_save_dir(killed) if killed.exists() else None
        outcomes.append("finished" if status == 0 else
                        f"killed at {latest.name if latest else 'no checkpoint'}")
    if not (killed.exists() and checkpoint.latest_checkpoint(killed) is not None
            and checkpoint.latest_checkpoint(killed).name == f"pass-{passes - 1:05d}"):
        resume = killed.exists() and checkpoint.latest_checkpoint(killed) is not None
        done = run_cli(train_args(killed, passes, *(["--resume"] if resume else [])))
        assert done.returncode == 0, done.stderr
    final = f"pass-{passes - 1:05d}"
    assert parameter_bytes(killed / final) == parameter_bytes(reference / final)
    print(f"\nkill-and-resume rounds: {'; '.join(outcomes)}; final parameters identical")


# ---------------------------------------------------------------------------------------------
# One run per save directory

HOLDER = """
import sys
from minipaddle.train.checkpoint import SaveDirLock
lock = SaveDirLock(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()          # hold the lock until the test closes our stdin
"""


def test_a_second_run_on_a_locked_save_dir_fails_at_once(tmp_path, capsys):
    save = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(save)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(train_args(save)) == 2
        err = capsys.readouterr().err
        assert f"save directory {save} is in use by another run (process {holder.pid}" in err
        assert err.count("\n") == 1
        assert not list(save.glob("pass-*"))                  # nothing was trained or written
    finally:
        holder.stdin.close()
        holder.wait()
    assert main(train_args(save)) == 0                         # free again once the holder ends


@POSIX_KILL
def test_sigkill_leaves_a_stale_lock_that_the_next_run_takes_over(tmp_path):
    save = tmp_path / "run"
    killed = run_cli(train_args(save), kill_at="renamed:1")
    assert killed.returncode == -signal.SIGKILL
    lock = save / checkpoint.LOCK_FILE
    dead_pid = lock.read_text().strip()
    assert dead_pid.isdigit()                    # the killed run's pid is still in the file
    resumed = run_cli(train_args(save, PASSES, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert lock.read_text().strip() not in ("", dead_pid)
