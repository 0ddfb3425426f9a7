"""Reader decorators, as Paddle's ``paddle.v2.reader.decorator``."""

from __future__ import annotations

import itertools
import queue
import random
import subprocess
import threading
import zlib
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterator

Reader = Callable[[], Any]


def map_readers(func: Callable[..., Any], *readers: Reader) -> Reader:
    """Yields ``func(*items)`` over the readers zipped (stops at the shortest)."""
    def reader() -> Iterator:
        for items in zip(*(r() for r in readers)):
            yield func(*items)
    return reader


def shuffle(reader: Reader, buf_size: int) -> Reader:
    """Paddle's chunked shuffle: fill a buffer of ``buf_size`` samples, shuffle it with
    Python's ``random``, yield it all, start again; the last partial buffer too."""
    if isinstance(buf_size, bool) or not isinstance(buf_size, int) or buf_size <= 0:
        raise ValueError(f"shuffle: buf_size must be a positive integer, got {buf_size!r}")

    def data_reader() -> Iterator:
        buf: list = []
        for sample in reader():
            buf.append(sample)
            if len(buf) >= buf_size:
                random.shuffle(buf)
                yield from buf
                buf = []
        if buf:
            random.shuffle(buf)
            yield from buf
    return data_reader


def chain(*readers: Reader) -> Reader:
    """The readers one after another."""
    def reader() -> Iterator:
        for r in readers:
            yield from r()
    return reader


class ComposeNotAligned(ValueError):
    pass


def compose(*readers: Reader, check_alignment: bool = True) -> Reader:
    """Zips the readers into flat tuples (a tuple item is spliced in, anything else is one
    field); with ``check_alignment``, readers of different lengths raise ComposeNotAligned."""
    def flatten(item: Any) -> tuple:
        return item if isinstance(item, tuple) else (item,)

    def reader() -> Iterator:
        iterators = [r() for r in readers]
        if not check_alignment:
            for items in zip(*iterators):
                yield sum((flatten(i) for i in items), ())
            return
        missing = object()
        for items in itertools.zip_longest(*iterators, fillvalue=missing):
            if any(i is missing for i in items):
                raise ComposeNotAligned("compose: the readers yield different numbers of "
                                        "samples")
            yield sum((flatten(i) for i in items), ())
    return reader


def buffered(reader: Reader, size: int) -> Reader:
    """Reads ahead up to ``size`` samples in a background thread; the order is kept."""
    end = object()

    def data_reader() -> Iterator:
        q: queue.Queue = queue.Queue(maxsize=size)
        failure: list = []

        def fill() -> None:
            try:
                for sample in reader():
                    q.put(sample)
            except BaseException as err:  # handed to the consumer, re-raised there
                failure.append(err)
            q.put(end)

        threading.Thread(target=fill, daemon=True).start()
        while (sample := q.get()) is not end:
            yield sample
        if failure:
            raise failure[0]
    return data_reader


def firstn(reader: Reader, n: int) -> Reader:
    """At most the first ``n`` samples."""
    def data_reader() -> Iterator:
        yield from itertools.islice(reader(), n)
    return data_reader


def xmap_readers(mapper: Callable[[Any], Any], reader: Reader, process_num: int,
                 buffer_size: int, order: bool = False) -> Reader:
    """``mapper`` over the samples on ``process_num`` threads; ``order`` keeps the order.
    (Only mapped values are yielded; like Paddle, an unordered run may interleave.)"""
    def data_reader() -> Iterator:
        with ThreadPoolExecutor(max(1, process_num)) as pool:
            pending: list = []
            for sample in reader():
                pending.append(pool.submit(mapper, sample))
                if len(pending) >= max(1, buffer_size):
                    yield from _drain(pending, order, keep=len(pending) // 2)
            yield from _drain(pending, order, keep=0)
    return data_reader


def _drain(pending: list, order: bool, keep: int) -> Iterator:
    while len(pending) > keep:
        if order:
            yield pending.pop(0).result()
            continue
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in list(done):
            pending.remove(future)
            yield future.result()


def pipe_reader(left_cmd: str, parser: Callable[[str], Any], bufsize: int = 8192,
                file_type: str = "plain", cut_lines: bool = True,
                line_break: str = "\n") -> Reader:
    """Runs the shell command ``left_cmd`` and yields ``parser(line)`` for each line of its
    output (``file_type="gzip"``: the output is gzip data)."""
    if file_type not in ("plain", "gzip"):
        raise TypeError(f"pipe_reader: file_type must be 'plain' or 'gzip', got {file_type!r}")

    def reader() -> Iterator:
        process = subprocess.Popen(left_cmd, shell=True, bufsize=bufsize,  # noqa: S602
                                   stdout=subprocess.PIPE)
        decompress = zlib.decompressobj(32 + zlib.MAX_WBITS) if file_type == "gzip" else None
        remained = ""
        try:
            while chunk := process.stdout.read(bufsize):
                data = decompress.decompress(chunk) if decompress else chunk
                text = remained + data.decode("utf-8")
                if not cut_lines:
                    yield parser(text)
                    remained = ""
                    continue
                *lines, remained = text.split(line_break)
                for line in lines:
                    yield parser(line)
            if remained:
                yield parser(remained)
        finally:
            process.stdout.close()
            process.wait()
    return reader


__all__ = ["map_readers", "buffered", "compose", "chain", "shuffle", "ComposeNotAligned",
           "firstn", "xmap_readers", "pipe_reader"]
