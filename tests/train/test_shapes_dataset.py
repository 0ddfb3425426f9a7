"""The generated ``shapes`` detection set: deterministic, and every label row is the exact
pixel extent of one drawn shape."""

from __future__ import annotations

import numpy as np
import pytest

from minipaddle.config import ConfigError
from minipaddle.kernels.detection import iou_matrix
from minipaddle.train.datasets import Dataset, load_dataset
from minipaddle.train.shapes import CANVAS, MAX_BOXES, shapes_dataset


def test_the_set_is_deterministic():
    a_train, a_test = shapes_dataset(30, 10)
    b_train, b_test = shapes_dataset(30, 10)
    np.testing.assert_array_equal(a_train.images, b_train.images)
    np.testing.assert_array_equal(a_test.labels, b_test.labels)
    # a larger split starts with the same images
    c_train, _ = shapes_dataset(40, 0)
    np.testing.assert_array_equal(c_train.images[:30], a_train.images)
    assert a_train.images.shape == (30, 1, CANVAS, CANVAS)
    assert a_train.images.dtype == np.float32 and a_train.labels.dtype == np.float32
    assert a_train.labels.shape == (30, MAX_BOXES * 6) and a_train.dense_labels
    assert a_train.num_classes == 4


def test_label_rows_are_the_shapes_pixel_extents():
    train, _ = shapes_dataset(60, 0)
    kinds = set()
    for image, label in zip(train.images[:, 0], train.labels):
        rows = label.reshape(MAX_BOXES, 6)
        real = rows[rows[:, 0] >= 0]
        assert 1 <= len(real) <= 3
        assert (rows[len(real):] == -1).all()                  # padding rows come last
        bright = image > 0.5
        covered = np.zeros_like(bright)
        for c, x0, y0, x1, y1, difficult in real:
            kinds.add(int(c))
            assert difficult == 0 and 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
            px = np.round(np.array([x0, y0, x1, y1]) * CANVAS).astype(int)
            inside = bright[px[1]:px[3], px[0]:px[2]]
            ys, xs = np.nonzero(inside)
            assert (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1) == (
                0, 0, px[3] - px[1], px[2] - px[0])
            side = max(px[2] - px[0], px[3] - px[1])
            assert 10 <= side <= 22
            covered[px[1]:px[3], px[0]:px[2]] = True
        assert not (bright & ~covered).any()                    # nothing drawn elsewhere
        boxes = real[:, 1:5]
        overlap = iou_matrix(boxes, boxes)
        assert (overlap[~np.eye(len(boxes), dtype=bool)] == 0).all()
    assert kinds == {1, 2, 3}


def test_load_dataset_names_it():
    train, test = load_dataset("shapes")
    assert (len(train), len(test)) == (1000, 250)
    assert train.name == "shapes/train" and test.dense_labels
    with pytest.raises(ConfigError, match="mnist5k, shapes or idx:DIR"):
        load_dataset("shape")


def test_dataset_refuses_labels_of_another_count():
    with pytest.raises(ValueError, match="3 images but labels of shape"):
        Dataset("x", np.zeros((3, 1, 2, 2), np.float32), np.zeros((2, 6), np.float32), 2)
