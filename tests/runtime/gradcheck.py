"""Numerical gradient checking through the public Network API (float64).

In the spirit of Paddle's test_LayerGrad: the checked scalar is a fixed random weighting of
the outputs, every parameter and every dense input is perturbed along one random direction,
and the central difference is compared with the analytic directional derivative.
"""

from __future__ import annotations

import numpy as np


def weighted_loss(outputs: dict, weights: dict) -> float:
    return float(sum((outputs[k] * weights[k]).sum() for k in weights))


def _direction(rng, array) -> np.ndarray:
    """A random direction as long as the array itself (so ``eps`` is a relative step: a
    large layer is not moved further than a small one)."""
    d = rng.standard_normal(array.shape)
    return d * ((float(np.linalg.norm(array)) or np.sqrt(d.size)) / float(np.linalg.norm(d)))


def check_network_gradients(net, feed: dict, *, fetch=None, eps: float = 1e-6,
                            rtol: float = 1e-4, seed: int = 0, jitter: float = 0.05,
                            frozen: tuple = ()) -> dict:
    """Assert analytic == numeric directional derivatives for every non-static parameter
    and dense input; returns {name: (analytic, numeric)} for inspection.  ``frozen`` names
    dense inputs that are indices or masks by definition (a multiplex index, a selective fc
    column mask): they take no gradient and are never perturbed."""
    rng = np.random.default_rng(seed)
    # Like Paddle's harness (random parameters), move every trainable parameter off its
    # initial value (by a fraction of its spread): zero-initialised biases would otherwise put ReLUs exactly on their kink
    # wherever dropout or a constant channel zeroes the input.
    for name, param in net.parameters.items():
        if name not in net.parameters.static:
            spread = float(param.std()) or 1.0       # relative for weights, absolute for biases
            param += rng.normal(0.0, jitter * spread, size=param.shape)
    outs = net.forward(feed, training="check", fetch=fetch)
    weights = {k: rng.standard_normal(v.shape) for k, v in outs.items()}
    grads = net.backward(weights, input_grads=True)

    def loss() -> float:
        return weighted_loss(net.forward(feed, training="check", fetch=fetch), weights)

    results = {}
    for name in net.parameters:
        if name in net.parameters.static:
            assert name not in grads.parameters, f"static parameter {name} got a gradient"
            continue
        param = net.parameters[name]
        d = _direction(rng, param)
        original = param.copy()
        param[...] = original + eps * d
        plus = loss()
        param[...] = original - eps * d
        minus = loss()
        param[...] = original
        numeric = (plus - minus) / (2 * eps)
        analytic = float((grads.parameters[name] * d).sum())
        results[name] = (analytic, numeric)
    for name, value in feed.items():
        if name not in grads.inputs or name in frozen:
            continue
        value = np.asarray(value, dtype=np.float64)
        d = _direction(rng, value)
        plus = weighted_loss(net.forward({**feed, name: value + eps * d}, training="check",
                                         fetch=fetch), weights)
        minus = weighted_loss(net.forward({**feed, name: value - eps * d}, training="check",
                                          fetch=fetch), weights)
        numeric = (plus - minus) / (2 * eps)
        analytic = float((grads.inputs[name] * d).sum())
        results[f"input:{name}"] = (analytic, numeric)
    bad = {k: v for k, v in results.items()
           if abs(v[0] - v[1]) > rtol * max(1.0, abs(v[0]), abs(v[1]))}
    assert not bad, "gradient mismatch (analytic, numeric): " + "; ".join(
        f"{k}: {a:.8g} vs {n:.8g}" for k, (a, n) in bad.items())
    assert results, "nothing was checked"
    return results
