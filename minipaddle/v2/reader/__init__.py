"""``paddle.reader``: reader decorators and creators.  A reader is a no-argument callable
returning an iterable of samples."""

from __future__ import annotations

from .._names import missing_attribute
from . import creator
from .decorator import (
    ComposeNotAligned, buffered, chain, compose, firstn, map_readers, pipe_reader, shuffle,
    xmap_readers,
)

__all__ = ["map_readers", "buffered", "compose", "chain", "shuffle", "ComposeNotAligned",
           "firstn", "xmap_readers", "pipe_reader", "creator"]

__getattr__ = missing_attribute(__name__, __all__)
