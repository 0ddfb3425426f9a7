"""Paddle's data-set cache and downloads.

Files live where Paddle put them, ``DATA_HOME/<module>/<file name of the URL>`` with
``DATA_HOME = ~/.cache/paddle/dataset`` (``$MINIPADDLE_DATA_HOME`` overrides it), so an old
Paddle cache works as it is.  A cached file's md5 is checked against Paddle's; a different one
gets one warning and is used as it is.  A missing file is downloaded only when the user opts in
with ``MINIPADDLE_DOWNLOAD=1``: one attempt with a 5-second connect timeout; without the opt-in
nothing touches the network, and the data set falls back (mnist, uci_housing: data embedded in
minipaddle) or fails with one line naming the file, the directory and where it comes from.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
import urllib.request
import warnings
from glob import glob
from typing import Any, Callable, Iterator, Optional

from ...config import ConfigError

DATA_HOME = os.environ.get("MINIPADDLE_DATA_HOME") or os.path.expanduser(
    "~/.cache/paddle/dataset")
DOWNLOAD_ENV = "MINIPADDLE_DOWNLOAD"
CONNECT_TIMEOUT = 5.0


class DatasetMissing(ConfigError):
    """A data file is neither cached nor downloadable now (the caller may fall back)."""


def md5file(fname: str) -> str:
    digest = hashlib.md5()
    with open(fname, "rb") as f:
        for chunk in iter(lambda: f.read(4096), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_allowed() -> bool:
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def download(url: str, module_name: str, md5sum: str, save_name: Optional[str] = None) -> str:
    """The path of ``url``'s file in the cache: checked if there, else downloaded when the
    user opted in, else :class:`DatasetMissing`."""
    folder = os.path.join(DATA_HOME, module_name)
    path = os.path.join(folder, save_name or url.split("/")[-1])
    if not os.path.exists(path):
        if not download_allowed():
            raise DatasetMissing(f"{path} not found (Paddle's file from {url}); put it in "
                                 f"{folder}, or set {DOWNLOAD_ENV}=1 to download it")
        _fetch(url, folder, path)
    got = md5file(path)
    if got != md5sum:
        warnings.warn(f"{path}: md5 {got} differs from Paddle's {md5sum}; using the file as it "
                      "is", UserWarning, stacklevel=3)
    return path


def _fetch(url: str, folder: str, path: str) -> None:
    os.makedirs(folder, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=".download-")
    try:
        with os.fdopen(handle, "wb") as out, \
                urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT) as response:  # noqa: S310
            shutil.copyfileobj(response, out)
        os.replace(partial, path)
    except (OSError, ValueError) as err:
        raise DatasetMissing(f"{path} not found and downloading {url} failed ({err})") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def split(reader: Callable[[], Any], line_count: int, suffix: str = "%05d.pickle",
          dumper: Callable[[Any, Any], None] = pickle.dump) -> None:
    """Write the reader's samples into files of ``line_count`` samples each."""
    lines, index = [], 0
    for sample in reader():
        lines.append(sample)
        if len(lines) >= line_count:
            with open(suffix % index, "wb") as f:
                dumper(lines, f)
            lines, index = [], index + 1
    if lines:
        with open(suffix % index, "wb") as f:
            dumper(lines, f)


def cluster_files_reader(files_pattern: str, trainer_count: int, trainer_id: int,
                         loader: Callable[[Any], Any] = pickle.load) -> Callable[[], Iterator]:
    """The samples of this trainer's share of the files ``split`` wrote (every
    ``trainer_count``-th file from ``trainer_id``).  ``loader`` reads one file; the default
    unpickles, so use it on your own files only."""
    def reader() -> Iterator:
        files = sorted(glob(files_pattern))
        for fn in files[trainer_id::trainer_count]:
            with open(fn, "rb") as f:
                yield from loader(f)
    return reader


__all__ = ["DATA_HOME", "download", "md5file", "split", "cluster_files_reader"]
