"""Readers, paddle.batch and the data feeder."""

from __future__ import annotations

import random

import numpy as np
import pytest

import minipaddle.v2 as paddle
from minipaddle.v2.data_feeder import DataFeeder
from minipaddle.v2.data_type import dense_vector, integer_value, sparse_binary_vector, \
    sparse_float_vector


def numbers(n):
    return lambda: iter(range(n))


def test_batch_keeps_the_last_partial_batch():
    assert list(paddle.batch(numbers(7), 3)()) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(paddle.batch(numbers(0), 3)()) == []
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        paddle.batch(numbers(3), 0)


def test_shuffle_is_chunked():
    random.seed(3)
    out = list(paddle.reader.shuffle(numbers(25), buf_size=10)())
    chunks = [out[:10], out[10:20], out[20:]]
    assert [sorted(c) for c in chunks] == [list(range(10)), list(range(10, 20)),
                                           list(range(20, 25))]
    assert out != list(range(25))
    assert list(paddle.reader.shuffle(numbers(25), buf_size=10)()) != out   # reshuffles


def test_decorators():
    r = paddle.reader
    assert list(r.firstn(numbers(10), 3)()) == [0, 1, 2]
    assert list(r.chain(numbers(2), numbers(3))()) == [0, 1, 0, 1, 2]
    assert list(r.map_readers(lambda a, b: a * b, numbers(4), numbers(3))()) == [0, 1, 4]
    pairs = lambda: iter([(1, 2), (3, 4)])  # noqa: E731
    assert list(r.compose(pairs, lambda: iter([[9], [8]]))()) == [(1, 2, [9]), (3, 4, [8])]
    with pytest.raises(r.ComposeNotAligned):
        list(r.compose(numbers(2), numbers(3))())
    assert list(r.compose(numbers(2), numbers(3), check_alignment=False)()) == [(0, 0), (1, 1)]
    assert list(r.buffered(numbers(50), 4)()) == list(range(50))
    assert list(r.xmap_readers(lambda x: x * x, numbers(20), 3, 4, order=True)()) == [
        x * x for x in range(20)]
    assert sorted(r.xmap_readers(lambda x: -x, numbers(20), 3, 4)()) == sorted(
        -x for x in range(20))
    assert [a.tolist() for a in r.creator.np_array(np.arange(6).reshape(3, 2))()] == [
        [0, 1], [2, 3], [4, 5]]


def test_text_file_and_pipe_reader(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("a\nbb\nccc\n")
    assert list(paddle.reader.creator.text_file(str(path))()) == ["a", "bb", "ccc"]
    assert list(paddle.reader.pipe_reader(f"cat {path}", len)()) == [1, 2, 3]


def test_feeder_orders_and_converts_slots():
    types = [("pixel", dense_vector(4)), ("label", integer_value(3)),
             ("bag", sparse_binary_vector(5)), ("weights", sparse_float_vector(5))]
    batch = [(np.arange(4), 2, [0, 4], [(1, 0.5)]),
             (np.ones(4), 0, [], [(3, 2.0), (4, -1.0)])]
    feed = DataFeeder(types)(batch)
    assert feed["pixel"].dtype == np.float32 and feed["pixel"].tolist() == [
        [0, 1, 2, 3], [1, 1, 1, 1]]
    assert feed["label"].tolist() == [2, 0] and feed["label"].dtype == np.int64
    assert feed["bag"].tolist() == [[1, 0, 0, 0, 1], [0] * 5]
    assert feed["weights"].tolist() == [[0, 0.5, 0, 0, 0], [0, 0, 0, 2, -1]]
    swapped = DataFeeder(types[:2], feeding={"pixel": 1, "label": 0})([(1, [0, 0, 0, 1])])
    assert swapped["label"].tolist() == [1] and swapped["pixel"].tolist() == [[0, 0, 0, 1]]
    by_list = DataFeeder(types[:2], feeding=["label", "pixel"])([(1, [0, 0, 0, 1])])
    assert by_list["pixel"].tolist() == swapped["pixel"].tolist()


@pytest.mark.parametrize("batch,feeding,error,message", [
    ([(np.zeros(5), 1)], None, ValueError,
     r"data layer 'pixel' \(dense_vector\(4\), sample 0 of the batch\): expected 4 values.*"
     r"got shape \(5,\)"),
    ([(np.zeros(4), 3)], None, ValueError, r"'label' \(integer_value\(3\), sample 0.*3 is "
                                           r"outside \[0, 3\)"),
    ([(np.zeros(4), 1.5)], None, ValueError, r"expected an integer in \[0, 3\), got 1.5"),
    ([np.zeros(4)], None, TypeError, "sample 0 of the batch is a ndarray; each sample must be "
                                     "a tuple or list"),
    ([(np.zeros(4),)], None, ValueError, "'label' reads field 1 of each sample, but sample 0 "
                                         r"has 1 field\(s\)"),
    ([(np.zeros(4), 1)], {"pixel": 0}, KeyError, "no field for data layer 'label'"),
    ([(["a"] * 4, 1)], None, ValueError, "expected 4 numbers, got list"),
    ([], None, ValueError, "empty batch"),
])
def test_feeder_errors_name_the_slot(batch, feeding, error, message):
    types = [("pixel", dense_vector(4)), ("label", integer_value(3))]
    with pytest.raises(error, match=message):
        DataFeeder(types, feeding)(batch)
