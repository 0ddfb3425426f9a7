"""``paddle.reader.creator``: readers from a numpy array or a text file."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from .._names import not_implemented


def np_array(x: Any) -> Callable[[], Iterator]:
    """Yields the elements of ``x`` along its first axis."""
    def reader() -> Iterator:
        array = np.asarray(x)
        if array.ndim < 1:
            yield array
            return
        yield from array
    return reader


def text_file(path: str) -> Callable[[], Iterator[str]]:
    """Yields the file's lines without their line break."""
    def reader() -> Iterator[str]:
        with open(path) as f:
            for line in f:
                yield line.rstrip("\n")
    return reader


def recordio(paths: Any, buf_size: int = 100) -> Any:
    raise NotImplementedError(not_implemented("paddle.reader.creator.recordio (RecordIO files)"))


def cloud_reader(paths: Any, etcd_endpoints: Any, timeout_sec: int = 5,
                 buf_size: int = 64) -> Any:
    raise NotImplementedError(not_implemented("paddle.reader.creator.cloud_reader (the Go "
                                              "master / etcd cluster reader)"))


__all__ = ["np_array", "text_file", "cloud_reader"]
