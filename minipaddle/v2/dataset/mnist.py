"""``paddle.dataset.mnist``: (784 float32 pixels in [-1, 1], int label) samples.

Reads Paddle's four IDX files from ``DATA_HOME/mnist``; without them (and without the download
opt-in) it falls back to the 4,000 / 1,000 MNIST digits embedded in minipaddle, with one warning.
"""

from __future__ import annotations

import warnings
from typing import Callable, Iterator

import numpy as np

from ...train.datasets import load_dataset, read_idx
from . import common

URL_PREFIX = "http://yann.lecun.com/exdb/mnist/"
TEST_IMAGE_URL = URL_PREFIX + "t10k-images-idx3-ubyte.gz"
TEST_IMAGE_MD5 = "9fb629c4189551a2d022fa330f9573f3"
TEST_LABEL_URL = URL_PREFIX + "t10k-labels-idx1-ubyte.gz"
TEST_LABEL_MD5 = "ec29112dd5afa0611ce80d1b7f02629c"
TRAIN_IMAGE_URL = URL_PREFIX + "train-images-idx3-ubyte.gz"
TRAIN_IMAGE_MD5 = "f68b3c2dcbeaaa9fbdd348bbdeb94873"
TRAIN_LABEL_URL = URL_PREFIX + "train-labels-idx1-ubyte.gz"
TRAIN_LABEL_MD5 = "d53e105ee54ea40749a09fcbcd1e9432"

_warned: set = set()


def _samples(images: np.ndarray, labels: np.ndarray) -> Callable[[], Iterator]:
    def reader() -> Iterator:
        for image, label in zip(images, labels):
            yield image, int(label)
    return reader


def reader_creator(image_filename: str, label_filename: str,
                   buffer_size: int = 100) -> Callable[[], Iterator]:
    """Samples of two IDX files (gzipped or not), scaled as Paddle: x / 255 * 2 - 1."""
    def reader() -> Iterator:
        images = read_idx(image_filename)
        labels = read_idx(label_filename)
        pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0 * 2.0 - 1.0
        yield from _samples(pixels, labels)()
    return reader


def _embedded(part: str, reason: str) -> Callable[[], Iterator]:
    if part not in _warned:
        _warned.add(part)
        warnings.warn(f"paddle.dataset.mnist.{part}(): {reason}; using the MNIST subset "
                      "embedded in minipaddle (4,000 train / 1,000 test digits) instead",
                      UserWarning, stacklevel=4)
    data = load_dataset("mnist5k")[0 if part == "train" else 1]
    pixels = data.images.reshape(len(data), -1) * 2.0 - 1.0
    return _samples(pixels.astype(np.float32), data.labels)


def _creator(part: str, image: tuple[str, str], label: tuple[str, str]) -> Callable:
    try:
        return reader_creator(common.download(image[0], "mnist", image[1]),
                              common.download(label[0], "mnist", label[1]))
    except common.DatasetMissing as err:
        return _embedded(part, err.reason)


def train() -> Callable[[], Iterator]:
    """60,000 training digits (or the embedded 4,000)."""
    return _creator("train", (TRAIN_IMAGE_URL, TRAIN_IMAGE_MD5),
                    (TRAIN_LABEL_URL, TRAIN_LABEL_MD5))


def test() -> Callable[[], Iterator]:
    """10,000 test digits (or the embedded 1,000)."""
    return _creator("test", (TEST_IMAGE_URL, TEST_IMAGE_MD5), (TEST_LABEL_URL, TEST_LABEL_MD5))


test.__test__ = False  # not a pytest test

__all__ = ["train", "test"]
