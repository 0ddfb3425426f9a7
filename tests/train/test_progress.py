"""The progress bar fits the terminal: a line wider than it would wrap into a stack of lines."""

from __future__ import annotations

import io

import pytest

from minipaddle.train.progress import Progress

METRICS = {"cost": 1.23456, "classification_error": 0.4321}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drawn_lines(columns: int, monkeypatch) -> list[str]:
    monkeypatch.setenv("COLUMNS", str(columns))
    term = Terminal()
    progress = Progress(stream=term)
    progress.start_pass(3, 4000)
    progress.batch(4000, METRICS)        # the last batch is always drawn
    return [part.replace("\033[K", "") for part in term.getvalue().split("\r") if part]


@pytest.mark.parametrize("columns", [20, 40, 60, 80, 200])
def test_the_bar_line_never_reaches_the_last_column(monkeypatch, columns):
    lines = drawn_lines(columns, monkeypatch)
    assert lines and all(len(line) <= columns - 1 for line in lines), lines


def test_the_bar_shrinks_before_the_numbers_go(monkeypatch):
    wide, = drawn_lines(200, monkeypatch)
    assert wide == "pass 3 [" + "#" * 30 + "] 4000/4000 cost 1.2346, error 43.21%"
    narrow, = drawn_lines(60, monkeypatch)
    assert narrow.startswith("pass 3 [#") and narrow.endswith("] 4000/4000 cost 1.2346, "
                                                              "error 43.21%")
    tiny, = drawn_lines(20, monkeypatch)
    assert tiny == "pass 3 4000/4000 co"
