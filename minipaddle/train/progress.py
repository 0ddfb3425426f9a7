"""Progress output: a one-line bar per pass on a terminal, plain log lines otherwise (like
Paddle's --log_period), and end-of-pass lines."""

from __future__ import annotations

import os
import sys
import time
from typing import Optional, TextIO

from .events import EndPass


def format_metrics(metrics: dict[str, float]) -> str:
    parts = []
    for name, value in metrics.items():
        if name.startswith("classification_error"):
            parts.append(f"{name.replace('classification_error', 'error')} {100 * value:.2f}%")
        else:
            parts.append(f"{name} {value:.4f}")
    return ", ".join(parts)


class Progress:
    """Writes training progress to ``stream``; silent when ``enabled`` is False."""

    def __init__(self, stream: Optional[TextIO] = None, enabled: bool = True,
                 log_period: int = 20, width: int = 30):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.log_period = log_period
        self.width = width
        self.total = 0
        self.batches = 0
        self.pass_id = 0
        self.started = 0.0
        self.last_draw = 0.0

    def start_pass(self, pass_id: int, total: Optional[int]) -> None:
        """``total``: samples in the pass, None when a reader does not say."""
        self.pass_id, self.total, self.batches = pass_id, total, 0
        self.started = self.last_draw = time.perf_counter()

    def batch(self, seen: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        self.batches += 1
        count = f"{seen}/{self.total}" if self.total is not None else f"{seen} samples"
        if self.tty:
            now = time.perf_counter()
            if now - self.last_draw < 0.1 and (self.total is None or seen < self.total):
                return
            self.last_draw = now
            self.stream.write(f"\r{self._bar_line(seen, count, metrics)}\033[K")
            self.stream.flush()
        elif self.batches % self.log_period == 0:
            self.stream.write(f"pass {self.pass_id}, batch {self.batches}, {count}: "
                              f"{format_metrics(metrics)}\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        """A message (a printer evaluator's), on lines of its own."""
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(text.rstrip("\n") + "\n")
        self.stream.flush()

    def _columns(self) -> int:
        """The terminal's width (``COLUMNS`` first, as the shell sets it), 80 if unknown."""
        env = os.environ.get("COLUMNS", "")
        if env.isdigit() and int(env) > 0:
            return int(env)
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 80

    def _bar_line(self, seen: int, count: str, metrics: dict[str, float]) -> str:
        """One bar line that fits the terminal: the bar (when the pass's size is known)
        shrinks first, down to 5 cells, then it is left out and the line cut; the last column
        stays free, since writing it wraps on many terminals."""
        room = self._columns() - 1
        head, tail = f"pass {self.pass_id} ", f" {count} {format_metrics(metrics)}"
        width = min(self.width, room - len(head) - len(tail) - 2)
        if self.total is not None and width >= 5:
            done = int(width * seen / max(1, self.total))
            return head + "[" + "#" * done + "-" * (width - done) + "]" + tail
        return (head.rstrip() + tail)[:room]

    def end_pass(self, event: EndPass) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\033[K")
        line = f"pass {event.pass_id}: train {format_metrics(event.metrics)}"
        if event.test_metrics is not None:
            line += f" | test {format_metrics(event.test_metrics)}"
        line += f" | {event.seconds:.1f} s"
        self.stream.write(line + "\n")
        self.stream.flush()
