"""``shapes``: a small detection data set generated in code (the SSD model zoo's set).

Each image is one grey 48x48 channel: a dim noisy background with 1 to 3 filled shapes that do
not overlap, each a square (class 1), a disc (class 2) or an upward triangle (class 3) 10 to 22
pixels across.  Its label is the dense ground-truth form of ``multibox_loss_layer``:
``MAX_BOXES`` rows ``[label, xmin, ymin, xmax, ymax, difficult]`` (coordinates in [0, 1], the
box being the shape's pixel extent; ``difficult`` always 0), unused rows ``-1``.  Class 0 is
the background.  The set is drawn from ``numpy.random.RandomState(SHAPES_SEED)`` (NumPy's frozen
legacy generator), so it is the same everywhere: the first ``train`` images train, the next
``test`` images test.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHAPES_SEED", "MAX_BOXES", "CANVAS", "CLASSES", "shape_images", "shapes_dataset"]

#: seed of the generated set (never change it: reported mAPs refer to it)
SHAPES_SEED = 2016
#: ground-truth rows per image (the label data layer has MAX_BOXES * 6 values)
MAX_BOXES = 4
#: image side in pixels
CANVAS = 48
#: class id -> shape
CLASSES = {1: "square", 2: "disc", 3: "triangle"}
_SIZES = (10, 22)


def _mask(kind: int, side: int) -> np.ndarray:
    """The filled pixels of one shape in a ``side x side`` box."""
    y, x = np.mgrid[0:side, 0:side] + 0.5
    if kind == 1:
        return np.ones((side, side), dtype=bool)
    if kind == 2:
        r = side / 2
        return (x - r) ** 2 + (y - r) ** 2 <= r * r
    # upward triangle: apex at the top centre, base along the bottom row
    half = (y / side) * (side / 2)
    return np.abs(x - side / 2) <= half + 0.5


def shape_images(count: int, rs: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images ``(count, 1, CANVAS, CANVAS)`` float32 and their labels
    ``(count, MAX_BOXES * 6)`` float32, drawn from ``rs``."""
    images = rs.uniform(0.0, 0.25, size=(count, 1, CANVAS, CANVAS)).astype(np.float32)
    labels = np.full((count, MAX_BOXES, 6), -1.0, dtype=np.float32)
    for n in range(count):
        taken = np.zeros((CANVAS, CANVAS), dtype=bool)
        placed = 0
        for _ in range(rs.randint(1, 4)):
            kind = int(rs.randint(1, 4))
            side = int(rs.randint(_SIZES[0], _SIZES[1] + 1))
            for _attempt in range(20):
                x0, y0 = rs.randint(0, CANVAS - side + 1, size=2)
                region = taken[max(0, y0 - 1):y0 + side + 1, max(0, x0 - 1):x0 + side + 1]
                if not region.any():
                    break
            else:
                continue
            mask = _mask(kind, side)
            taken[y0:y0 + side, x0:x0 + side] = True
            patch = images[n, 0, y0:y0 + side, x0:x0 + side]
            patch[mask] = rs.uniform(0.7, 1.0)
            ys, xs = np.nonzero(mask)
            labels[n, placed] = [kind, (x0 + xs.min()) / CANVAS, (y0 + ys.min()) / CANVAS,
                                 (x0 + xs.max() + 1) / CANVAS, (y0 + ys.max() + 1) / CANVAS, 0]
            placed += 1
    return images, labels.reshape(count, -1)


def shapes_dataset(train: int = 1000, test: int = 250) -> tuple:
    """The (train, test) :class:`~minipaddle.train.datasets.Dataset` pair of the set."""
    from .datasets import Dataset
    rs = np.random.RandomState(SHAPES_SEED)
    images, labels = shape_images(train + test, rs)
    classes = len(CLASSES) + 1
    return (Dataset("shapes/train", images[:train], labels[:train], classes),
            Dataset("shapes/test", images[train:], labels[train:], classes))
