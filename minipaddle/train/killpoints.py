"""Crash-test hook of the training loop: die at a chosen point, on a machine of any speed.

With ``MINIPADDLE_TEST_KILL_AT=batch:K`` in the environment the process SIGKILLs itself the
K-th time (counted from 1 within the process) a training step starts; the data-parallel tests
give it to one rank only (``mpiexec -n 1 ... : -n 1 -env MINIPADDLE_TEST_KILL_AT batch:K ...``).
Other phases of the same variable belong to other hooks and are ignored here.
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "MINIPADDLE_TEST_KILL_AT"
LOOP_PHASES = ("batch",)
_counts: dict[str, int] = {}


def reached(phase: str) -> None:
    """SIGKILL this process when ``MINIPADDLE_TEST_KILL_AT`` is ``PHASE:K`` and this is the
    K-th time ``phase`` is reached."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    want, _, count = spec.partition(":")
    if want != phase:
        return
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"{KILL_ENV}={spec!r}: expected {phase}:K with K a positive integer")
    _counts[phase] = _counts.get(phase, 0) + 1
    if _counts[phase] == int(count):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
