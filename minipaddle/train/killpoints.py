"""Crash-test hook of the training loop: die at a chosen point, on a machine of any speed.

With ``MINIPADDLE_TEST_KILL_AT=batch:K`` in the environment the process SIGKILLs itself the
K-th time (counted from 1 within the process) a training step starts; the data-parallel tests
give it to one rank only (``mpiexec -n 1 ... : -n 1 -env MINIPADDLE_TEST_KILL_AT batch:K ...``).
Other phases of the same variable belong to other hooks and are ignored here.
``MINIPADDLE_TEST_FAIL_AT=batch:K`` raises an OSError there instead: an error of one rank, as a
full disk or an unreadable file would raise.
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "MINIPADDLE_TEST_KILL_AT"
FAIL_ENV = "MINIPADDLE_TEST_FAIL_AT"
LOOP_PHASES = ("batch",)
_counts: dict[str, int] = {}


def reached(phase: str) -> None:
    """SIGKILL this process when ``MINIPADDLE_TEST_KILL_AT`` is ``PHASE:K`` (raise an OSError
    when ``MINIPADDLE_TEST_FAIL_AT`` is) and this is the K-th time ``phase`` is reached."""
    for env in (KILL_ENV, FAIL_ENV):
        spec = os.environ.get(env)
        if not spec or spec.partition(":")[0] != phase:
            continue
        count = spec.partition(":")[2]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{env}={spec!r}: expected {phase}:K with K a positive integer")
        _counts[env] = _counts.get(env, 0) + 1
        if _counts[env] != int(count):
            continue
        if env == FAIL_ENV:
            raise OSError(f"a test fault at training step {count} ({env}={spec})")
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
