"""Data sets: the embedded ``mnist5k`` and ``digits`` sets, the IDX reader, and batching.

A data set is a pair of arrays: images ``(N, C, H, W)`` float32 scaled to [0, 1] and labels
``(N,)`` int64.  :func:`load_dataset` turns a spec from the command line into a train and a test
set:

``mnist5k``
    5,000 real MNIST digits shipped with the package (``data/mnist_5k.csv.gz``, the first 500
    of each class, sorted by class), split 4,000 train / 1,000 test: 400 / 100 per class.
``digits``
    The 1,797 8x8 UCI digits shipped with the package (``data/digits.csv.gz``, counts 0..16),
    split about 80/20 per class (1,438 train / 359 test).
``shapes``
    A detection set generated in code (:mod:`.shapes`): 1,000 train and 250 test 48x48 grey
    images of squares, discs and triangles, the labels their ground-truth box rows.
``idx:DIR``
    The four standard IDX files of MNIST or Fashion-MNIST in ``DIR``
    (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``, gzipped or not).

The split of the embedded sets is fixed: for each class in turn (0, 1, ...), the row indices of
that class are permuted with one ``numpy.random.RandomState(SPLIT_SEED)`` stream, the first
``round(n_class / 5)`` of the permutation go to the test set and the rest to training; finally the
collected train indices and then the test indices are permuted with the same stream, so that an
unshuffled pass does not see one class after another.  ``RandomState`` is NumPy's frozen legacy
generator, whose streams never change between NumPy versions, so the split is the same
everywhere; it does not depend on the ``seed`` argument of :func:`load_dataset`.
See ``data/NOTICE`` for where the embedded files come from and their licences.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..config import ConfigError

__all__ = ["Dataset", "load_dataset", "read_idx", "write_idx", "batches", "stratified_split",
           "read_input_array", "SPLIT_SEED", "EMBEDDED", "IDX_FILES"]

#: seed of the fixed train/test split of the embedded data sets (never change it: reported
#: accuracies refer to this split)
SPLIT_SEED = 1998

#: embedded data sets: spec -> (file in ``data/``, (C, H, W), largest pixel value)
EMBEDDED: dict[str, tuple[str, tuple[int, int, int], int]] = {
    "mnist5k": ("mnist_5k.csv.gz", (1, 28, 28), 255),
    "digits": ("digits.csv.gz", (1, 8, 8), 16),
}

#: the four files of an ``idx:DIR`` data set, each also accepted without ``.gz``
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass
class Dataset:
    """Images ``(N, C, H, W)`` float32 in [0, 1] and their labels: class indices ``(N,)``
    int64, or rows ``(N, K)`` float32 fed to a dense data layer (:attr:`dense_labels`)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    num_classes: int

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ValueError(f"data set {self.name!r}: images must be (N, C, H, W), "
                             f"got shape {self.images.shape}")
        n = self.images.shape[0]
        if self.labels.ndim not in (1, 2) or self.labels.shape[0] != n:
            raise ValueError(f"data set {self.name!r}: {n} images but labels "
                             f"of shape {self.labels.shape}")

    @property
    def dense_labels(self) -> bool:
        """Labels are rows of numbers ``(N, K)`` (the ``shapes`` set's ground-truth boxes)
        rather than class indices ``(N,)``."""
        return self.labels.ndim == 2

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, samples={len(self)}, "
                f"image_shape={self.image_shape}, num_classes={self.num_classes})")


# --------------------------------------------------------------------------------------------
# loading


def load_dataset(spec: str, seed: int = 0) -> tuple[Dataset, Dataset]:
    """The (train, test) data sets named by ``spec``: ``mnist5k``, ``digits``, ``shapes`` or
    ``idx:DIR``.

    ``seed`` is accepted for data sets that may need randomness to build; neither the embedded
    splits nor IDX files depend on it.  Raises :class:`ConfigError` with a one-line message for
    an unknown spec, a missing file or a corrupt IDX file.
    """
    del seed  # the embedded splits are fixed on purpose; see the module docstring
    if not isinstance(spec, str):
        raise ConfigError(f"data set spec must be a string, got {type(spec).__name__}")
    if spec in EMBEDDED:
        return _load_embedded(spec)
    if spec.startswith("idx:"):
        return _load_idx_dir(spec)
    if spec == "shapes":
        from .shapes import shapes_dataset
        return shapes_dataset()
    raise ConfigError(f"unknown data set {spec!r}: expected one of "
                      f"{', '.join(sorted(EMBEDDED))}, shapes or idx:DIR")


def _load_embedded(spec: str) -> tuple[Dataset, Dataset]:
    filename, shape, peak = EMBEDDED[spec]
    table = _read_embedded_csv(filename)
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    train_idx, test_idx = _split_indices(spec)
    num_classes = int(labels.max()) + 1

    def make(part: str, idx: np.ndarray) -> Dataset:
        images = np.divide(pixels[idx], np.float32(peak), dtype=np.float32)
        return Dataset(f"{spec}/{part}", images.reshape((len(idx),) + shape), labels[idx],
                       num_classes)

    return make("train", train_idx), make("test", test_idx)


@functools.lru_cache(maxsize=None)
def _read_embedded_csv(filename: str) -> np.ndarray:
    """The parsed rows (pixels then label, uint8) of an embedded CSV file, read once."""
    source = resources.files(__package__).joinpath("data", filename)
    try:
        with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.uint8, ndmin=2)
    except FileNotFoundError as exc:
        raise ConfigError(f"embedded data file {filename} is missing from the minipaddle "
                          f"installation ({exc.filename or source})") from None
    table.flags.writeable = False
    return table


@functools.lru_cache(maxsize=None)
def _split_indices(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """The fixed stratified (train, test) row indices of an embedded data set."""
    labels = _read_embedded_csv(EMBEDDED[spec][0])[:, -1]
    train, test = stratified_split(labels, test_fraction=0.2, seed=SPLIT_SEED)
    train.flags.writeable = False
    test.flags.writeable = False
    return train, test


def stratified_split(labels: np.ndarray, *, test_fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test) with ``round(n_c * test_fraction)`` test rows per class ``c``.

    One ``RandomState(seed)`` stream permutes each class's rows in class order (the first rows
    of each permutation are the test rows), then the train and the test indices.
    """
    rs = np.random.RandomState(seed)
    train_parts, test_parts = [], []
    for c in np.unique(labels):
        rows = rs.permutation(np.flatnonzero(labels == c))
        k = int(np.floor(len(rows) * test_fraction + 0.5))
        test_parts.append(rows[:k])
        train_parts.append(rows[k:])
    train = rs.permutation(np.concatenate(train_parts)).astype(np.int64)
    test = rs.permutation(np.concatenate(test_parts)).astype(np.int64)
    return train, test


def _load_idx_dir(spec: str) -> tuple[Dataset, Dataset]:
    directory = spec[len("idx:"):]
    if not directory:
        raise ConfigError(f"data set {spec!r}: no directory after 'idx:'")
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ConfigError(f"data set {spec!r}: directory {directory} not found")

    arrays: dict[str, tuple[np.ndarray, Path]] = {}
    for key, name in IDX_FILES.items():
        candidates = [root / name, root / name[:-len(".gz")]]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise ConfigError(f"data set {spec!r}: file {candidates[0]} not found "
                              f"(nor {candidates[1].name})")
        arrays[key] = (read_idx(path), path)

    parts = []
    for part in ("train", "test"):
        images, ipath = arrays[f"{part}_images"]
        labels, lpath = arrays[f"{part}_labels"]
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ConfigError(f"{ipath}: expected unsigned-byte images of shape (N, H, W) or "
                              f"(N, C, H, W), got {images.dtype} of shape {images.shape}")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ConfigError(f"{lpath}: expected integer labels of shape (N,), got "
                              f"{labels.dtype} of shape {labels.shape}")
        if len(images) != len(labels):
            raise ConfigError(f"data set {spec!r}: {ipath.name} holds {len(images)} images but "
                              f"{lpath.name} holds {len(labels)} labels")
        if labels.size and labels.min() < 0:
            raise ConfigError(f"{lpath}: negative label {int(labels.min())}")
        if images.ndim == 3:
            images = images[:, None, :, :]
        parts.append((part, images, labels.astype(np.int64)))

    (_, train_images, _), (_, test_images, _) = parts
    if train_images.shape[1:] != test_images.shape[1:]:
        raise ConfigError(f"data set {spec!r}: train images are {train_images.shape[1:]} but "
                          f"test images are {test_images.shape[1:]}")
    num_classes = max((int(lab.max()) + 1 for _, _, lab in parts if lab.size), default=0)
    return tuple(  # type: ignore[return-value]
        Dataset(f"{spec}/{part}", np.divide(images, np.float32(255), dtype=np.float32),
                labels, num_classes)
        for part, images, labels in parts)


# --------------------------------------------------------------------------------------------
# the IDX format: magic 0x00 0x00 <dtype code> <ndim>, ndim big-endian uint32 sizes, the data
# in C order, big-endian


_IDX_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_NAMES = {0x08: "ubyte", 0x09: "byte", 0x0B: "short", 0x0C: "int", 0x0D: "float",
              0x0E: "double"}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (gzipped or plain), in native byte order.

    Raises :class:`ConfigError` naming the file for a missing file, a bad magic number, an
    unknown type code, truncated data or bytes after the data.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except EOFError:
            raise ConfigError(f"{path}: truncated gzip data") from None
        except (OSError, zlib.error) as exc:
            raise ConfigError(f"{path}: corrupt gzip data ({exc})") from None

    if len(raw) < 4:
        raise ConfigError(f"{path}: truncated header ({len(raw)} bytes), not an IDX file")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_CODES:
        raise ConfigError(f"{path}: bad magic number 0x{raw[:4].hex()} (expected 0x0000TTNN "
                          f"with type code TT in 08, 09, 0b, 0c, 0d, 0e), not an IDX file")
    code, ndim = raw[2], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ConfigError(f"{path}: truncated header: {ndim} dimensions need {header} bytes, "
                          f"the file has {len(raw)}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_CODES[code]
    expected = math.prod(dims) * dtype.itemsize
    got = len(raw) - header
    shape_text = "x".join(map(str, dims)) or "scalar"
    if got < expected:
        raise ConfigError(f"{path}: truncated data: the header announces {shape_text} "
                          f"{_IDX_NAMES[code]} ({expected} bytes) but only {got} bytes follow")
    if got > expected:
        raise ConfigError(f"{path}: {got - expected} unexpected bytes after the {shape_text} "
                          f"{_IDX_NAMES[code]} data")
    data = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends in ``.gz``.

    Supported dtypes: uint8, int8, int16, int32, float32, float64 (the IDX type codes 0x08,
    0x09, 0x0B, 0x0C, 0x0D, 0x0E); at most 255 dimensions, each below 2**32.
    """
    array = np.asarray(array)
    codes = {dt.newbyteorder("=").str: code for code, dt in _IDX_CODES.items()}
    key = array.dtype.newbyteorder("=").str
    if key not in codes:
        raise ValueError(f"write_idx: dtype {array.dtype} has no IDX type code "
                         f"(use uint8, int8, int16, int32, float32 or float64)")
    if array.ndim > 255 or any(d >= 2 ** 32 for d in array.shape):
        raise ValueError(f"write_idx: shape {array.shape} does not fit the IDX header")
    code = codes[key]
    payload = (bytes([0, 0, code, array.ndim])
               + np.asarray(array.shape, dtype=">u4").tobytes()
               + np.ascontiguousarray(array, dtype=_IDX_CODES[code]).tobytes())
    path = Path(path)
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)


# --------------------------------------------------------------------------------------------
# input arrays (minipaddle infer)

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def read_input_array(path: str | os.PathLike) -> np.ndarray:
    """The images of one ``.npy`` file, as the data sets feed them: float values in [0, 1].

    ``uint8`` images are taken as 0-255 pixels and divided by 255, as the MNIST and IDX data
    sets are; other numeric arrays are used as they are.  An ``.npz`` archive, a text file, a
    pickle or an array of strings or objects is a :class:`ConfigError` saying what the file is
    and what is expected.
    """
    path = Path(path)
    expected = ("expected a NumPy .npy file (numpy.save) holding one numeric array of images, "
                "(N, size) or (N, C, H, W), with values in [0, 1] or uint8 pixels 0-255")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(_ZIP_MAGIC):
        with np.load(path, allow_pickle=False) as archive:
            names = ", ".join(archive.files) or "none"
        raise ConfigError(f"{path} is an .npz archive (arrays: {names}); {expected}: save the "
                          "one array with numpy.save")
    if not head.startswith(_NPY_MAGIC):
        raise ConfigError(f"{path} is not a .npy file (it starts with {head!r}); {expected}")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        what = ("holds Python objects, which loading would unpickle" if "allow_pickle" in
                str(exc) else f"is not a readable .npy file ({exc})")
        raise ConfigError(f"{path} {what}; {expected}") from None
    except (OSError, EOFError) as exc:
        raise ConfigError(f"{path} is truncated or unreadable ({exc}); {expected}") from None
    if array.dtype.kind not in "biuf":
        raise ConfigError(f"{path} holds an array of {array.dtype} ({array.dtype.kind!r} "
                          f"values); {expected}")
    if array.dtype == np.uint8:
        return np.divide(array, np.float32(255), dtype=np.float32)
    return array


# --------------------------------------------------------------------------------------------
# batching


def batches(dataset: Dataset, batch_size: int, *, shuffle: bool,
            rng: np.random.Generator | None = None,
            shard: Callable[[int], tuple[int, int]] | None = None,
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One pass over ``dataset`` in batches of ``batch_size`` (the last one may be shorter).

    Yields ``(images (B, C, H, W) float32, labels (B,) int64)``.  With ``shuffle`` the order is
    one permutation drawn from ``rng`` per call (``rng`` is then required); without, the batches
    are views of the data set's arrays in their stored order.  ``shard(n)`` -> ``(lo, hi)``
    keeps samples [lo, hi) of each batch of ``n`` (a data-parallel rank's part), and only
    those are read.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise ConfigError(f"batch size must be a positive integer, got {batch_size!r}")
    n = len(dataset)
    if shuffle and rng is None:
        raise ValueError("batches(shuffle=True) needs rng, a numpy.random.Generator")
    order = rng.permutation(n) if shuffle else None
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        lo, hi = shard(stop - start) if shard is not None else (0, stop - start)
        if order is not None:
            idx = order[start + lo:start + hi]
            yield dataset.images[idx], dataset.labels[idx]
        else:
            yield dataset.images[start + lo:start + hi], dataset.labels[start + lo:start + hi]
