"""``paddle.dataset.cifar``: (3072 float32 values in [0, 1], int label) samples, each image
as CIFAR stores it: CHW, channels R, G, B.

Reads ``DATA_HOME/cifar/cifar-10-python.tar.gz`` (or the CIFAR-100 file); there is no embedded
fallback: without the file the creator fails with one line saying where to put it.
"""

from __future__ import annotations

import pickle
import tarfile
from typing import Any, Callable, Iterator

import numpy as np

from ...config import ConfigError
from .._pickle import RestrictedUnpickler
from . import common

URL_PREFIX = "https://www.cs.toronto.edu/~kriz/"
CIFAR10_URL = URL_PREFIX + "cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR100_URL = URL_PREFIX + "cifar-100-python.tar.gz"
CIFAR100_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"


def _numpy_array(module: str, name: str) -> bool:
    """What a pickled numpy array refers to."""
    return module.split(".")[0] == "numpy" and name in ("_reconstruct", "ndarray", "dtype",
                                                        "scalar")


def _key(batch: dict, name: str) -> Any:
    for key in (name, name.encode()):
        if key in batch:
            return batch[key]
    return None


def reader_creator(filename: str, sub_name: str) -> Callable[[], Iterator]:
    """The samples of every member of the tar ``filename`` whose name contains ``sub_name``,
    in archive order."""
    def reader() -> Iterator:
        try:
            with tarfile.open(filename, mode="r") as archive:
                for member in archive:
                    if sub_name not in member.name or not member.isfile():
                        continue
                    batch = RestrictedUnpickler(archive.extractfile(member), "a CIFAR batch",
                                                accept=_numpy_array, encoding="bytes").load()
                    yield from _batch_samples(filename, member.name, batch)
        except (tarfile.TarError, pickle.UnpicklingError, EOFError) as err:
            raise ConfigError(f"{filename}: not a CIFAR python archive ({err})") from None
    return reader


def _batch_samples(filename: str, member: str, batch: Any) -> Iterator:
    data = _key(batch, "data") if isinstance(batch, dict) else None
    labels = _key(batch, "labels")
    labels = labels if labels is not None else _key(batch, "fine_labels")
    if data is None or labels is None:
        raise ConfigError(f"{filename}: member {member} is not a CIFAR batch (a dict with "
                          "'data' and 'labels' or 'fine_labels')")
    for sample, label in zip(np.asarray(data), labels):
        yield (sample / 255.0).astype(np.float32), int(label)


def _creator(url: str, md5: str, sub_name: str) -> Callable[[], Iterator]:
    try:
        return reader_creator(common.download(url, "cifar", md5), sub_name)
    except common.DatasetMissing as err:
        raise ConfigError(f"paddle.dataset.cifar: {err.reason}") from None


def train10() -> Callable[[], Iterator]:
    return _creator(CIFAR10_URL, CIFAR10_MD5, "data_batch")


def test10() -> Callable[[], Iterator]:
    return _creator(CIFAR10_URL, CIFAR10_MD5, "test_batch")


def train100() -> Callable[[], Iterator]:
    return _creator(CIFAR100_URL, CIFAR100_MD5, "train")


def test100() -> Callable[[], Iterator]:
    return _creator(CIFAR100_URL, CIFAR100_MD5, "test")


__all__ = ["train10", "test10", "train100", "test100"]
