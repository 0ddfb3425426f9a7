"""``paddle.batch``: group a sample reader into batches."""

from __future__ import annotations

from typing import Any, Callable, Iterator


def batch(reader: Callable[[], Any], batch_size: int) -> Callable[[], Iterator[list]]:
    """A batch reader: lists of ``batch_size`` samples, and the last, shorter one if any."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"paddle.batch: batch_size must be a positive integer, got "
                         f"{batch_size!r}")
    if not callable(reader):
        raise TypeError(f"paddle.batch: reader must be a callable returning samples, got "
                        f"{type(reader).__name__}")

    def batch_reader() -> Iterator[list]:
        items: list = []
        for sample in reader():
            items.append(sample)
            if len(items) == batch_size:
                yield items
                items = []
        if items:
            yield items

    return batch_reader


__all__ = ["batch"]
