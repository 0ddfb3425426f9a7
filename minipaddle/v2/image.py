"""``paddle.image``: image helpers on HWC arrays in BGR channel order (as Paddle's OpenCV
based ones), decoded and resized with Pillow (the ``image`` extra: pip install
'minipaddle[image]').

``resize_short`` keeps the aspect ratio, which Paddle's meant to do (it handed OpenCV the
new size as (height, width) where OpenCV reads (width, height), so non-square images came out
transposed in size); resizing is bicubic in both.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from typing import Any, Optional, Sequence

import numpy as np

from ..config import ConfigError


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError("paddle.image needs Pillow: pip install 'minipaddle[image]'") from None
    return Image


def _to_array(im: Any, is_color: bool) -> np.ndarray:
    array = np.asarray(im.convert("RGB" if is_color else "L"))
    return np.ascontiguousarray(array[:, :, ::-1]) if is_color else array


def load_image_bytes(bytes: bytes, is_color: bool = True) -> np.ndarray:  # noqa: A002
    """Decode an encoded image (PNG, JPEG, ...): HWC BGR uint8, or HW for grey."""
    Image = _pil()
    try:
        return _to_array(Image.open(io.BytesIO(bytes)), is_color)
    except OSError as err:
        raise ConfigError(f"cannot decode the image bytes ({err})") from None


def load_image(file: str, is_color: bool = True) -> np.ndarray:
    """Read an image file: HWC BGR uint8, or HW for grey."""
    Image = _pil()
    try:
        with Image.open(file) as im:
            return _to_array(im, is_color)
    except OSError as err:
        raise ConfigError(f"{file}: cannot read the image ({err})") from None


def resize_short(im: np.ndarray, size: int) -> np.ndarray:
    """Resize so that the shorter side is ``size`` (bicubic)."""
    Image = _pil()
    h, w = im.shape[:2]
    if h > w:
        new_w, new_h = size, int(round(size * h / w))
    else:
        new_h, new_w = size, int(round(size * w / h))
    color = im.ndim == 3
    pil = Image.fromarray(np.ascontiguousarray(im[:, :, ::-1]) if color else im)
    out = np.asarray(pil.resize((new_w, new_h), Image.BICUBIC))
    return np.ascontiguousarray(out[:, :, ::-1]) if color else out


def to_chw(im: np.ndarray, order: Sequence[int] = (2, 0, 1)) -> np.ndarray:
    if im.ndim != len(order):
        raise ValueError(f"to_chw: image of shape {im.shape} has {im.ndim} axes, order "
                         f"{tuple(order)} has {len(order)}")
    return im.transpose(order)


def center_crop(im: np.ndarray, size: int, is_color: bool = True) -> np.ndarray:
    h, w = im.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return im[top:top + size, left:left + size]


def random_crop(im: np.ndarray, size: int, is_color: bool = True) -> np.ndarray:
    h, w = im.shape[:2]
    top = np.random.randint(0, h - size + 1)
    left = np.random.randint(0, w - size + 1)
    return im[top:top + size, left:left + size]


def left_right_flip(im: np.ndarray, is_color: bool = True) -> np.ndarray:
    return im[:, ::-1]


def simple_transform(im: np.ndarray, resize_size: int, crop_size: int, is_train: bool,
                     is_color: bool = True, mean: Optional[Any] = None) -> np.ndarray:
    """Resize the short side, crop (random, and half the time flipped, when training; centre
    otherwise), CHW float32, minus ``mean`` (per channel when 1-D)."""
    im = resize_short(im, resize_size)
    if is_train:
        im = random_crop(im, crop_size, is_color)
        if np.random.randint(2) == 0:
            im = left_right_flip(im, is_color)
    else:
        im = center_crop(im, crop_size, is_color)
    if im.ndim == 3:
        im = to_chw(im)
    im = im.astype(np.float32)
    if mean is not None:
        mean = np.asarray(mean, dtype=np.float32)
        if mean.ndim == 1 and im.ndim == 3:
            mean = mean[:, None, None]
        im -= mean
    return im


def load_and_transform(filename: str, resize_size: int, crop_size: int, is_train: bool,
                       is_color: bool = True, mean: Optional[Any] = None) -> np.ndarray:
    return simple_transform(load_image(filename, is_color), resize_size, crop_size, is_train,
                            is_color, mean)


def batch_images_from_tar(data_file: str, dataset_name: str, img2label: dict,
                          num_per_batch: int = 1024) -> str:
    """Pickle the images of a tar (with their labels from ``img2label``) into batch files of
    ``num_per_batch`` beside it; returns the file listing them."""
    out_path = f"{data_file}_{dataset_name}_batch"
    os.makedirs(out_path, exist_ok=True)
    data, labels, count = [], [], 0

    def flush() -> None:
        nonlocal data, labels, count
        with open(os.path.join(out_path, f"batch_{count}"), "wb") as f:
            pickle.dump({"label": labels, "data": data}, f, protocol=2)
        data, labels, count = [], [], count + 1

    with tarfile.open(data_file) as archive:
        for member in archive:
            if member.name in img2label:
                data.append(archive.extractfile(member).read())
                labels.append(img2label[member.name])
                if len(data) == num_per_batch:
                    flush()
    if data:
        flush()
    meta = os.path.join(out_path, "batch_list")
    with open(meta, "w") as f:
        for i in range(count):
            f.write(os.path.abspath(os.path.join(out_path, f"batch_{i}")) + "\n")
    return meta
