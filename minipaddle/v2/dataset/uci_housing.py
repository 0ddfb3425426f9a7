"""``paddle.dataset.uci_housing``: Boston housing, (13 float64 features, (1,) float64 price
in $1000s) samples.

Reads ``DATA_HOME/uci_housing/housing.data``, or the identical copy embedded in minipaddle
(data/NOTICE: its provenance).  Each feature is centred on its mean and divided by its range,
over all 506 rows; the first 404 rows are the training set, the other 102 the test set.
(Paddle also drew a bar chart into ./image/ranges.png; minipaddle does not.)
"""

from __future__ import annotations

import gzip
from importlib import resources
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ...config import ConfigError
from ..parameters import Parameters
from . import common

URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/housing/housing.data"
MD5 = "d4accdce7a25600298819f8e28e8d593"
MODEL_URL = "https://github.com/PaddlePaddle/book/raw/develop/01.fit_a_line/fit_a_line.tar"
MODEL_MD5 = "52fc3da8ef3937822fcdd87ee05c0c9b"

feature_names = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                 "PTRATIO", "B", "LSTAT"]

UCI_TRAIN_DATA: Optional[np.ndarray] = None
UCI_TEST_DATA: Optional[np.ndarray] = None


def embedded_text() -> bytes:
    """The embedded copy of UCI's housing.data."""
    source = resources.files(__package__).joinpath("data", "housing.data.gz")
    with source.open("rb") as raw:
        return gzip.decompress(raw.read())


def load_data(filename: Optional[str] = None, feature_num: int = 14,
              ratio: float = 0.8) -> None:
    """Parse, normalise and split (once per process, as Paddle)."""
    global UCI_TRAIN_DATA, UCI_TEST_DATA
    if UCI_TRAIN_DATA is not None:
        return
    text = embedded_text() if filename is None else open(filename, "rb").read()
    try:
        data = np.array(text.split(), dtype=np.float64).reshape(-1, feature_num)
    except ValueError as err:
        raise ConfigError(f"{filename}: not UCI's housing.data ({err})") from None
    features = data[:, :feature_num - 1]
    data[:, :feature_num - 1] = (features - features.mean(axis=0)) / (
        features.max(axis=0) - features.min(axis=0))
    offset = int(data.shape[0] * ratio)
    UCI_TRAIN_DATA, UCI_TEST_DATA = data[:offset], data[offset:]


def _ensure_loaded() -> None:
    try:
        load_data(common.download(URL, "uci_housing", MD5))
    except common.DatasetMissing:
        load_data(None)        # the embedded copy: the same bytes


def _rows(rows: Callable[[], np.ndarray]) -> Callable[[], Iterator]:
    def reader() -> Iterator:
        for d in rows():
            yield d[:-1], d[-1:]
    return reader


def train() -> Callable[[], Iterator]:
    _ensure_loaded()
    return _rows(lambda: UCI_TRAIN_DATA)


def test() -> Callable[[], Iterator]:
    _ensure_loaded()
    return _rows(lambda: UCI_TEST_DATA)


test.__test__ = False  # not a pytest test


def model() -> Any:
    """The book's trained fit_a_line model (Parameters), from Paddle's cache."""
    try:
        path = common.download(MODEL_URL, "fit_a_line.tar", MODEL_MD5)
    except common.DatasetMissing as err:
        raise ConfigError(f"paddle.dataset.uci_housing.model(): {err.reason}") from None
    with open(path, "rb") as f:
        return Parameters.from_tar(f)


__all__ = ["train", "test", "model", "feature_names"]
