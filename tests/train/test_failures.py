"""Training failures: a diverging run stops naming the first non-finite layer and keeps the
last good checkpoint; SIGKILL at random moments never loses a resumable run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.train import checkpoint
from minipaddle.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "model_zoo" / "digits.yaml"


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_non_finite_cost_names_the_first_bad_layer_and_keeps_checkpoints(tmp_path):
    """The run is meant to diverge: NumPy's overflow warnings are expected."""
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
    assert "the cost became non-finite at pass" in message and "batch" in message
    assert "first non-finite layer: 'hidden'" in message or "parameter" in message
    latest = checkpoint.latest_checkpoint(tmp_path)
    if latest is not None:      # every checkpoint left behind is complete and finite
        shapes = {k: v.shape for k, v in trainer.net.parameters.items()}
        for value in checkpoint.load_parameters(latest, shapes).values():
            assert np.isfinite(value).all()


WRITER = """
import sys
from minipaddle.cli import main
sys.exit(main(["train", {config!r}, "--data", "digits", "--num-passes", "{passes}", "--quiet",
               "--seed", "3", "--save-dir", {save!r}] + ({resume} and ["--resume"] or [])))
"""


def run_training(save: Path, passes: int, resume: bool) -> subprocess.Popen:
    code = WRITER.format(config=str(DIGITS), passes=passes, save=str(save), resume=resume)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkill_at_random_moments_then_resume_matches_an_uninterrupted_run(tmp_path):
    passes = 40
    straight = tmp_path / "straight"
    assert run_training(straight, passes, resume=False).wait(timeout=120) == 0

    killed = tmp_path / "killed"
    rng = random.Random(7)
    rounds = kills = 0
    while True:
        rounds += 1
        has_checkpoint = checkpoint.latest_checkpoint(killed) is not None if killed.exists() \
            else False
        proc = run_training(killed, passes, resume=has_checkpoint)
        if rounds <= 12:
            time.sleep(rng.uniform(0.8, 1.8))        # import takes ~0.7 s; a pass ~0.1 s
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                latest = checkpoint.latest_checkpoint(killed) if killed.exists() else None
                if latest is not None:                # always complete: loads in full
                    state, meta, config_yaml = checkpoint.load_checkpoint_extras(latest)
                    assert meta["pass_id"] == int(latest.name[-5:]) + 1 and config_yaml
                continue
        assert proc.wait(timeout=120) == 0
        if checkpoint.latest_checkpoint(killed).name == f"pass-{passes - 1:05d}":
            break
    assert kills >= 8, f"only {kills} of {rounds} rounds were killed mid-run"
    final = f"pass-{passes - 1:05d}"
    files = sorted(p.name for p in (straight / final).iterdir() if not p.name.startswith("_minipaddle_"))
    assert files
    for name in files:
        assert (straight / final / name).read_bytes() == (killed / final / name).read_bytes(), name
    print(f"\nkill-and-resume: {rounds} rounds, {kills} SIGKILLs, final parameters identical")
