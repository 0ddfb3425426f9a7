"""``DataFeeder``: a batch of v2 samples -> the feed dict the network takes.

A sample is a tuple or list of fields; ``feeding`` says which field feeds which data layer
(default: the data layers in creation order).  Per input type: ``dense_vector(d)`` takes
anything numpy reads as d numbers (a 1-D array of d, or 2-D / 3-D of d values in all);
``integer_value(n)`` an int in [0, n); ``sparse_binary_vector(d)`` a list of indices;
``sparse_float_vector(d)`` a list of (index, value) pairs (both fed as dense rows).  A sample
that does not fit gets an error naming the data layer, the sample and what was expected.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .data_type import DataType, InputType, SequenceType


def feeding_map(names: list[str], feeding: Any) -> dict[str, int]:
    """Data layer name -> field index, from ``feeding`` (None, a list of names or a dict)."""
    if feeding is None:
        return {name: i for i, name in enumerate(names)}
    if isinstance(feeding, (list, tuple)):
        mapping = {name: i for i, name in enumerate(feeding)}
    elif isinstance(feeding, dict):
        mapping = dict(feeding)
    else:
        raise TypeError(f"feeding must be None, a list of data layer names or a dict "
                        f"{{name: field index}}, got {type(feeding).__name__}")
    missing = [name for name in names if name not in mapping]
    if missing:
        raise KeyError(f"feeding {feeding!r} has no field for data layer "
                       f"{', '.join(repr(m) for m in missing)}; the network's data layers: "
                       f"{', '.join(names)}")
    return {name: mapping[name] for name in names}


class DataFeeder:
    """Converts batches for the data layers ``data_types`` ([(name, InputType)])."""

    def __init__(self, data_types: list[tuple[str, InputType]], feeding: Any = None):
        self.data_types = list(data_types)
        for name, input_type in self.data_types:
            if input_type.seq_type != SequenceType.NO_SEQUENCE:
                raise NotImplementedError(f"data layer {name!r}: sequence input types "
                                          f"({input_type!r}) are not implemented in minipaddle")
        self.feeding = feeding_map([name for name, _ in self.data_types], feeding)

    def __call__(self, batch: Sequence[Any]) -> dict[str, np.ndarray]:
        if not isinstance(batch, (list, tuple)):
            raise TypeError(f"a batch must be a list of samples (paddle.batch makes them), got "
                            f"{type(batch).__name__}")
        if not batch:
            raise ValueError("the reader yielded an empty batch")
        for i, sample in enumerate(batch):
            if not isinstance(sample, (list, tuple)):
                raise TypeError(f"sample {i} of the batch is a {type(sample).__name__}; each "
                                "sample must be a tuple or list of fields, one per data layer "
                                "(e.g. (image,) or (image, label))")
        return {name: self._convert(name, input_type, batch)
                for name, input_type in self.data_types}

    def _fields(self, name: str, batch: Sequence[Any]) -> list[Any]:
        index = self.feeding[name]
        try:
            return [sample[index] for sample in batch]
        except (IndexError, KeyError, TypeError):
            short = next(i for i, s in enumerate(batch) if not _has(s, index))
            raise ValueError(f"data layer {name!r} reads field {index!r} of each sample, but "
                             f"sample {short} has {len(batch[short])} field(s)") from None

    def _convert(self, name: str, input_type: InputType, batch: Sequence[Any]) -> np.ndarray:
        items = self._fields(name, batch)
        kind = input_type.type
        if kind == DataType.Dense:
            return _dense(name, input_type, items)
        if kind == DataType.Index:
            return _index(name, input_type, items)
        return _sparse(name, input_type, items, with_values=kind == DataType.SparseValue)


def _has(sample: Any, index: Any) -> bool:
    try:
        sample[index]
    except (IndexError, KeyError, TypeError):
        return False
    return True


def _where(name: str, input_type: InputType, i: Optional[int]) -> str:
    sample = f", sample {i} of the batch" if i is not None else ""
    return f"data layer {name!r} ({input_type!r}{sample})"


def _dense(name: str, input_type: InputType, items: list[Any]) -> np.ndarray:
    dim = input_type.dim
    arrays = []
    for i, item in enumerate(items):
        try:
            arr = np.asarray(item, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(f"{_where(name, input_type, i)}: expected {dim} numbers, got "
                             f"{type(item).__name__}") from None
        if arr.ndim == 0 or arr.ndim > 3 or arr.size != dim:
            raise ValueError(f"{_where(name, input_type, i)}: expected {dim} values (a vector, "
                             f"or a 2-D / 3-D array of {dim} values), got shape {arr.shape}")
        if arrays and arr.shape != arrays[0].shape:
            raise ValueError(f"{_where(name, input_type, i)}: shape {arr.shape} differs from "
                             f"the batch's first sample, {arrays[0].shape}")
        arrays.append(arr)
    return np.stack(arrays).reshape(len(arrays), dim)


def _index(name: str, input_type: InputType, items: list[Any]) -> np.ndarray:
    values = np.asarray(items)
    if values.ndim != 1 or not (values.size == 0 or np.issubdtype(values.dtype, np.integer)):
        bad = next((i for i, v in enumerate(items)
                    if not isinstance(v, (int, np.integer)) or isinstance(v, bool)), 0)
        raise ValueError(f"{_where(name, input_type, bad)}: expected an integer in "
                         f"[0, {input_type.dim}), got {items[bad]!r}")
    outside = np.flatnonzero((values < 0) | (values >= input_type.dim))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"{_where(name, input_type, i)}: {int(values[i])} is outside "
                         f"[0, {input_type.dim})")
    return values.astype(np.int64)


def _sparse(name: str, input_type: InputType, items: list[Any],
            with_values: bool) -> np.ndarray:
    rows = np.zeros((len(items), input_type.dim), dtype=np.float32)
    for i, item in enumerate(items):
        try:
            pairs = [(int(k), float(v)) for k, v in item] if with_values else \
                [(int(k), 1.0) for k in item]
        except (TypeError, ValueError):
            what = "(index, value) pairs" if with_values else "indices"
            raise ValueError(f"{_where(name, input_type, i)}: expected a list of {what}, got "
                             f"{item!r}") from None
        for k, v in pairs:
            if not 0 <= k < input_type.dim:
                raise ValueError(f"{_where(name, input_type, i)}: index {k} is outside "
                                 f"[0, {input_type.dim})")
            rows[i, k] = v
    return rows
