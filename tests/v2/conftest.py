"""Fixtures of the v2 tests: a fresh network definition per test, a private data home and
no downloads."""

from __future__ import annotations

import pytest


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    from minipaddle.v2.dataset import common

    home = tmp_path / "paddle_dataset"
    monkeypatch.setattr(common, "DATA_HOME", str(home))
    monkeypatch.delenv("MINIPADDLE_DOWNLOAD", raising=False)
    return home


@pytest.fixture
def paddle(data_home):
    """``import minipaddle.v2 as paddle`` after ``paddle.init(seed=1)``."""
    import minipaddle.v2 as paddle

    paddle.init(seed=1)
    yield paddle
    paddle.init()
