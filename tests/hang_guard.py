"""A guard that turns a hang into a test failure, without asserting how fast anything runs."""

from __future__ import annotations

import contextlib
import signal

#: Seconds before a guarded block is declared hung: far above any machine's real time (the
#: guarded operations take milliseconds), so only a regression to exponential work trips it.
HANG_SECONDS = 120.0


class Hung(Exception):
    pass


@contextlib.contextmanager
def hang_guard(seconds: float = HANG_SECONDS):
    """Raise :class:`Hung` in the main thread after ``seconds``; a no-op where SIGALRM does
    not exist."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum, frame):
        raise Hung(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
