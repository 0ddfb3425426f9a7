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


#: values of a dropout mask drawn per call of the bit generator (a 512 KB block of raw draws
#: compared while it is in cache)
MASK_BLOCK = 1 << 16
#: masks of at least this many values are drawn on the backend's worker threads, each from
#: its own copy of the generator advanced to its share of the stream
PARALLEL_MASK_VALUES = 1 << 18


def _keep_threshold(rate: float) -> np.uint64:
    """The raw 64-bit draws ``r`` that NumPy's ``uniform()`` turns into a value above ``rate``:
    it returns ``(r >> 11) * 2**-53`` (one draw per value), which exceeds ``rate`` exactly when
    ``r >> 11 > floor(rate * 2**53)`` (``rate * 2**53`` is exact in float64), i.e. when ``r``
    exceeds the returned threshold."""
    t = int(np.floor(float(rate) * 2.0 ** 53))
    return np.uint64(min(((t + 1) << 11) - 1, 2 ** 64 - 1))


def dropout_mask(rng: np.random.Generator, shape: tuple, rate: float,
                 backend: Any = None) -> np.ndarray:
    """The boolean keep-mask ``rng.uniform(size=shape) > rate``: the same values, and ``rng``
    left in the same state, as that expression (the seed contract: a seed gives the same
    masks as it always did). Drawn without the float64 uniforms: the generator's raw 64-bit
    draws compared with :func:`_keep_threshold`, in cache-sized blocks; for a PCG64 generator
    (``default_rng``'s) with a large mask, split over ``backend``'s worker threads, each part
    drawn from a copy of the generator advanced (``PCG64.advance``) to its first value
    (random_raw releases the GIL). Any other generator draws the uniforms as before."""
    n = int(np.prod(shape))
    bits = rng.bit_generator
    if not isinstance(bits, np.random.PCG64) or not n:
        return rng.uniform(size=shape) > rate
    threshold = _keep_threshold(rate)
    mask = np.empty(n, dtype=np.bool_)

    def fill(item):
        gen, lo, hi = item
        for a in range(lo, hi, MASK_BLOCK):
            b = min(hi, a + MASK_BLOCK)
            np.greater(gen.random_raw(b - a), threshold, out=mask[a:b])

    workers = getattr(backend, "workers", 1) if n >= PARALLEL_MASK_VALUES else 1
    if workers <= 1:
        fill((bits, 0, n))
        return mask.reshape(shape)
    state = bits.state
    bounds = [n * i // workers for i in range(workers + 1)]
    gens = []
    for lo in bounds[:-1]:
        gen = np.random.PCG64()
        gen.state = state
        if lo:
            gen.advance(lo)
        gens.append(gen)
    backend.parallel(fill, list(zip(gens, bounds[:-1], bounds[1:])))
    # the last part's generator ends where ``uniform(size=n)`` would have left ``rng``; advance()
    # drops a buffered 32-bit half, which uniform() would have kept
    end = gens[-1].state
    end["has_uint32"], end["uinteger"] = state["has_uint32"], state["uinteger"]
    bits.state = end
    return mask.reshape(shape)


def dropout(net: Any, runtime: RuntimeLayer, y: Any, p: Pass) -> tuple[Any, Any]:
    """(output, mask or None) of the layer's dropout, Paddle's rule: training zeroes values
    with probability ``drop_rate`` (a mask drawn from ``net.rng``, or in a gradient-check
    pass one fixed mask per layer), testing scales by ``1 - drop_rate``. The mask is
    ``uniform(size) > drop_rate`` (:func:`dropout_mask`): boolean on the CPU, where the
    multiplications cast it on the fly, of ``y``'s dtype on other backends."""
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
            mask = _on_backend(net, dropout_mask(rng, y.shape, rate, net.backend), y.dtype)
            masks[runtime.name] = mask
    else:
        mask = _on_backend(net, dropout_mask(net.rng, y.shape, rate, net.backend), y.dtype)
    return y * mask, mask


def _on_backend(net: Any, mask: np.ndarray, dtype: Any) -> Any:
    """A host boolean mask as the backend multiplies by it: as it is on NumPy, else copied
    to the backend in ``dtype``."""
    if net.backend.xp is np:
        return mask
    return net.backend.asarray(mask, dtype)
