"""Crash-test hooks: die (or fail) at a chosen point, on a machine of any speed.

With ``MINIPADDLE_TEST_KILL_AT=PHASE:K`` in the environment the process SIGKILLs itself the
K-th time (counted from 1 within the process) it reaches ``PHASE``; with
``MINIPADDLE_TEST_FAIL_AT=PHASE:K`` it raises an OSError there instead, as a full disk or an
unreadable file would. The phases:

* ``batch``: a training step starts (the data-parallel tests give it to one rank only,
  ``mpiexec -n 1 ... : -n 1 -env MINIPADDLE_TEST_KILL_AT batch:K ...``);
* the phases of a checkpoint save, in order (:data:`SAVE_PHASES`, minipaddle/train/checkpoint.py):
  ``start``, ``tmp-created``, ``file-partial`` (a parameter file holds its header but no values,
  or the meta half its bytes), ``file-written`` (a file complete, not fsynced), ``file-synced``,
  ``tmp-synced``, ``old-moved`` (re-saving a pass: its previous directory renamed aside),
  ``before-rename``, ``renamed`` (the final name, the parent not fsynced yet),
  ``parent-synced``, ``done``.

An unknown phase or a bad count is a ValueError naming the variable (a typo in a test must not
silently kill nothing).
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "MINIPADDLE_TEST_KILL_AT"
FAIL_ENV = "MINIPADDLE_TEST_FAIL_AT"
LOOP_PHASES = ("batch",)
SAVE_PHASES = ("start", "tmp-created", "file-partial", "file-written", "file-synced",
               "tmp-synced", "old-moved", "before-rename", "renamed", "parent-synced", "done")
PHASES = LOOP_PHASES + SAVE_PHASES
_counts: dict[str, int] = {}


def reached(phase: str) -> None:
    """SIGKILL this process when ``MINIPADDLE_TEST_KILL_AT`` is ``PHASE:K`` (raise an OSError
    when ``MINIPADDLE_TEST_FAIL_AT`` is) and this is the K-th time ``phase`` is reached."""
    for env in (KILL_ENV, FAIL_ENV):
        spec = os.environ.get(env)
        if not spec:
            continue
        want, _, count = spec.partition(":")
        if want not in PHASES or not count.isdigit() or int(count) < 1:
            raise ValueError(f"{env}={spec!r}: expected PHASE:K with K a positive integer and "
                             f"PHASE one of {', '.join(PHASES)}")
        if want != phase:
            continue
        _counts[env] = _counts.get(env, 0) + 1
        if _counts[env] != int(count):
            continue
        if env == FAIL_ENV:
            raise OSError(f"a test fault at {'training step' if phase == 'batch' else phase} "
                          f"{count} ({env}={spec})")
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
