"""dropout_mask draws the same mask as ``rng.uniform(size) > rate`` and leaves the generator
where that expression would (the seed contract), in one block, many blocks and split over
worker threads."""

import numpy as np
import pytest

from minipaddle.runtime import activation as A
from minipaddle.runtime.backend import CPUBackend


@pytest.mark.parametrize("shape", [(1,), (7, 3), (3, 5, 1000), (2, 300001)])
@pytest.mark.parametrize("rate", [0.5, 0.3, 0.1, 1e-9, 0.999])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_same_mask_and_state_as_uniform(shape, rate, threads):
    ref, rng = np.random.default_rng(11), np.random.default_rng(11)
    for g in (ref, rng):          # a buffered 32-bit half in the state must survive
        g.integers(0, 5, size=3, dtype=np.uint32)
    expected = ref.uniform(size=shape) > rate
    mask = A.dropout_mask(rng, shape, rate, CPUBackend(threads=threads))
    assert mask.dtype == np.bool_ and mask.shape == shape
    np.testing.assert_array_equal(mask, expected)
    assert rng.bit_generator.state == ref.bit_generator.state
    np.testing.assert_array_equal(rng.uniform(size=9), ref.uniform(size=9))
    np.testing.assert_array_equal(rng.integers(0, 9, size=5, dtype=np.uint32),
                                  ref.integers(0, 9, size=5, dtype=np.uint32))


def test_small_blocks_and_threshold_edges(monkeypatch):
    monkeypatch.setattr(A, "MASK_BLOCK", 7)
    monkeypatch.setattr(A, "PARALLEL_MASK_VALUES", 10)
    ref, rng = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(A.dropout_mask(rng, (101,), 0.25, CPUBackend(threads=2)),
                                  ref.uniform(size=101) > 0.25)
    assert rng.bit_generator.state == ref.bit_generator.state
    # the threshold against the float rule, on draws at its edges
    for rate in (0.25, 0.3, 0.5, 0.7):
        t = A._keep_threshold(rate)
        for r in (int(t) - 2048, int(t) - 1, int(t), int(t) + 1, int(t) + 2048):
            assert (r > int(t)) == ((r >> 11) * 2.0 ** -53 > rate)


def test_other_generators_draw_uniforms():
    ref, rng = np.random.Generator(np.random.MT19937(4)), np.random.Generator(np.random.MT19937(4))
    np.testing.assert_array_equal(A.dropout_mask(rng, (50,), 0.4), ref.uniform(size=50) > 0.4)
