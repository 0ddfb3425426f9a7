"""Central finite differences for the kernel tests (float64)."""

from __future__ import annotations

import numpy as np


def numeric_grad(f, x, h=1e-6):
    """d f() / d x for a scalar function of the array x, perturbing x in place."""
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + h
        fp = f()
        flat[i] = orig - h
        fm = f()
        flat[i] = orig
        g.reshape(-1)[i] = (fp - fm) / (2 * h)
    return g


def numerical_grad(f, x, r, eps=1e-6):
    """d/dx of sum(f(x) * r)."""
    return numeric_grad(lambda: float(np.sum(f(x) * r)), x, eps)
