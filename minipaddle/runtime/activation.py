"""What the network applies around every layer, the same way for all (as Paddle's ``Layer``
base class did): the activation, its gradient, and dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.activations import ROW_WISE

from .layers.base import Pass, RuntimeLayer


def activate(backend: Any, active_type: str, z: Any) -> Any:
    """The activation ``active_type`` of ``z`` (a row-wise one over each sample's values)."""
    act = backend.activation(active_type, "")
    if act is None:
        return z
    forward, _ = act
    if active_type in ROW_WISE:
        return forward(z.reshape(z.shape[0], -1), xp=backend.xp).reshape(z.shape)
    return forward(z, xp=backend.xp)


def activate_backward(backend: Any, active_type: str, z: Any, y: Any, dy: Any) -> Any:
    """The gradient of ``z`` given the gradient ``dy`` of ``y = activate(z)``."""
    act = backend.activation(active_type, "")
    if act is None:
        return dy
    _, backward = act
    if active_type in ROW_WISE:
        n = z.shape[0]
        return backward(z.reshape(n, -1), y.reshape(n, -1), dy.reshape(n, -1),
                        xp=backend.xp).reshape(z.shape)
    return backward(z, y, dy, xp=backend.xp)


def dropout(net: Any, runtime: RuntimeLayer, y: Any, p: Pass) -> tuple[Any, Any]:
    """(output, mask or None) of the layer's dropout, Paddle's rule: training zeroes values
    with probability ``drop_rate`` (a mask drawn from ``net.rng``, or in a gradient-check
    pass one fixed mask per layer), testing scales by ``1 - drop_rate``."""
    rate = runtime.config.drop_rate or 0.0
    if not rate:
        return y, None
    if p.mode == Pass.TEST:
        return y * y.dtype.type(1.0 - rate), None
    if p.mode == Pass.CHECK:
        masks = net._check_masks
        mask = masks.get(runtime.name)
        if mask is None or mask.shape != y.shape:
            rng = np.random.default_rng(None if net.seed is None else [net.seed, len(masks)])
            mask = net.backend.asarray(rng.uniform(size=y.shape) > rate, y.dtype)
            masks[runtime.name] = mask
    else:
        mask = net.backend.asarray(net.rng.uniform(size=y.shape) > rate, y.dtype)
    return y * mask, mask
