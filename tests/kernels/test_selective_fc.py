"""The selective fc kernel: a per-element loop reference, finite-difference gradients of
every input and weight, the unmasked case equal to an fc, float32 kept."""

import numpy as np
import pytest

from minipaddle.kernels import elementwise as E
from numgrad import numeric_grad


def reference(xs, ws, b, mask):
    n, size = xs[0].shape[0], ws[0].shape[0]
    z = np.zeros((n, size))
    for s in range(n):
        for j in range(size):
            total = b[j] if b is not None else 0.0
            for x, w in zip(xs, ws):
                total += sum(x[s, i] * w[j, i] for i in range(x.shape[1]))
            z[s, j] = total * (mask[s, j] if mask is not None else 1.0)
    return z


@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("with_bias", [True, False])
def test_selective_fc_forward_and_gradients(masked, with_bias):
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((3, 4)), rng.standard_normal((3, 2))]
    ws = [rng.standard_normal((5, 4)), rng.standard_normal((5, 2))]
    b = rng.standard_normal(5) if with_bias else None
    mask = (rng.uniform(size=(3, 5)) < 0.5).astype(float) if masked else None
    z = E.selective_fc_forward(xs, ws, b, mask)
    np.testing.assert_allclose(z, reference(xs, ws, b, mask), rtol=1e-12)
    r = rng.standard_normal(z.shape)
    dxs, dws, db = E.selective_fc_backward(xs, ws, r, mask, bias=with_bias)

    def loss():
        return float(np.sum(E.selective_fc_forward(xs, ws, b, mask) * r))
    for a, g in zip(xs + ws + ([b] if with_bias else []), dxs + dws + ([db] if with_bias
                                                                      else [])):
        np.testing.assert_allclose(g, numeric_grad(loss, a), rtol=1e-6, atol=1e-7)
    assert (db is None) == (not with_bias)


def test_unmasked_selective_fc_is_an_fc_with_transposed_weights_and_keeps_float32():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    z = E.selective_fc_forward([x], [w])
    assert z.dtype == np.float32
    np.testing.assert_allclose(z, x @ w.T, rtol=1e-6)
    mask = np.array([[1, 0, 0, 1], [0, 1, 1, 0]], dtype=np.float32)
    assert np.all(E.selective_fc_forward([x], [w], None, mask)[mask == 0] == 0)
