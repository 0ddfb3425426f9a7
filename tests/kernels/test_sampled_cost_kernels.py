"""The class codes of the hierarchical sigmoid, by hand for 5 classes (codes 5..9), and the
NCE noise term of the uniform and a given distribution."""

from __future__ import annotations

import numpy as np

from minipaddle.kernels import sampled_cost as K


def test_code_length_is_the_longest_path():
    assert [K.code_length(c) for c in (3, 4, 5, 8, 9)] == [2, 2, 3, 3, 4]


def test_bit_codes_of_five_classes():
    node, bit, on = K.bit_codes(np.arange(5), 5)
    # code 5 = 0b101: nodes (5>>1)-1 = 1, (5>>2)-1 = 0; bits 1, 0; the third column unused
    # code 8 = 0b1000: nodes 3, 1, 0; bits 0, 0, 0; code 9 = 0b1001: bits 1, 0, 0
    np.testing.assert_array_equal(on, [[1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(node * on, [[1, 0, 0], [2, 0, 0], [2, 0, 0], [3, 1, 0],
                                              [3, 1, 0]])
    np.testing.assert_array_equal(bit, [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0],
                                        [1, 0, 0]])


def test_nce_cost_of_one_sample_by_hand():
    x, w, b = [np.array([[1.0]])], [np.array([[0.0], [2.0]])], np.zeros(2)
    classes = np.array([[0, 1]])
    cost, o = K.nce_forward(x, w, b, classes, 2, 1)
    # o = sigmoid(0) = 1/2 for class 0, sigmoid(2) for class 1; b = 1 * 1/2
    s = 1 / (1 + np.exp(-2.0))
    want = -np.log(0.5 / (0.5 + 0.5)) - np.log(0.5 / (s + 0.5))
    np.testing.assert_allclose(cost, [[want]], rtol=1e-12)
    cost_q, _ = K.nce_forward(x, w, b, classes, 2, 1, dist=[0.25, 0.75])
    want_q = -np.log(0.5 / (0.5 + 0.25)) - np.log(0.75 / (s + 0.75))
    np.testing.assert_allclose(cost_q, [[want_q]], rtol=1e-12)
