"""``paddle.dataset.flowers``: Oxford 102 Flowers, (3*224*224 float32, label 0..101) samples:
the short side resized to 256, a 224 crop (random and randomly flipped for train, centred
otherwise), CHW BGR minus the mean [103.94, 116.78, 123.68].  As Paddle, ``train`` reads the
split the files call ``tstid`` and ``test`` the one they call ``trnid``.

Needs Paddle's three files in ``DATA_HOME/flowers``, scipy (for the .mat files) and Pillow.
"""

from __future__ import annotations

import tarfile
from typing import Any, Callable, Iterator

import numpy as np

from ...config import ConfigError
from .. import image
from . import common

DATA_URL = "http://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz"
LABEL_URL = "http://www.robots.ox.ac.uk/~vgg/data/flowers/102/imagelabels.mat"
SETID_URL = "http://www.robots.ox.ac.uk/~vgg/data/flowers/102/setid.mat"
DATA_MD5 = "52808999861908f626f3c1f4e79d11fa"
LABEL_MD5 = "e0620be6f572b9609742df49c70aed4d"
SETID_MD5 = "a5357ecc9cb78c4bef273ce3793fc85c"
MEAN = [103.94, 116.78, 123.68]
TRAIN_FLAG, TEST_FLAG, VALID_FLAG = "tstid", "trnid", "valid"


def _loadmat(path: str) -> dict:
    try:
        from scipy.io import loadmat
    except ImportError:
        raise ConfigError("paddle.dataset.flowers needs scipy to read its .mat files: "
                          "pip install scipy") from None
    return loadmat(path)


def reader_creator(data_file: str, label_file: str, setid_file: str, flag: str,
                   is_train: bool) -> Callable[[], Iterator]:
    def reader() -> Iterator:
        labels = _loadmat(label_file)["labels"][0]
        wanted = {f"jpg/image_{int(i):05d}.jpg": int(labels[int(i) - 1]) - 1
                  for i in _loadmat(setid_file)[flag][0]}
        with tarfile.open(data_file) as archive:
            for member in archive:
                if member.name in wanted:
                    im = image.load_image_bytes(archive.extractfile(member).read())
                    im = image.simple_transform(im, 256, 224, is_train, mean=MEAN)
                    yield im.flatten().astype(np.float32), wanted[member.name]
    return reader


def _creator(flag: str, is_train: bool) -> Callable[[], Iterator]:
    try:
        files = [common.download(url, "flowers", md5) for url, md5 in (
            (DATA_URL, DATA_MD5), (LABEL_URL, LABEL_MD5), (SETID_URL, SETID_MD5))]
    except common.DatasetMissing as err:
        raise ConfigError(f"paddle.dataset.flowers: {err.reason}") from None
    return reader_creator(*files, flag, is_train)


def train(**kwargs: Any) -> Callable[[], Iterator]:
    return _creator(TRAIN_FLAG, True)


def test(**kwargs: Any) -> Callable[[], Iterator]:
    return _creator(TEST_FLAG, False)


def valid(**kwargs: Any) -> Callable[[], Iterator]:
    return _creator(VALID_FLAG, False)


test.__test__ = False  # not a pytest test

__all__ = ["train", "test", "valid"]
