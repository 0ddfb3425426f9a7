"""The memory guard: a network (at compile time) or a batch (at feed time) that needs more
than the memory budget is refused, naming the layer, before anything is allocated."""

from __future__ import annotations

import os
from typing import Any, Optional

from ..config import ConfigError


def memory_budget(device_bytes: Optional[int] = None) -> int:
    """Bytes one array may need: ``MINIPADDLE_MAX_BYTES`` if set, else the device's memory
    (``device_bytes``, a backend's), else physical memory."""
    env = os.environ.get("MINIPADDLE_MAX_BYTES")
    if env:
        return int(env)
    if device_bytes:
        return int(device_bytes)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 40


def layer_bytes(net: Any, name: str, batch: int, item: int) -> tuple[int, str]:
    """Bytes a layer needs for ``batch`` samples (its output and its working memory),
    and what they are."""
    output = batch * int(net.configs[name].size or 0) * item
    runtime = net.layers.get(name)
    work = runtime.working_bytes(batch, item, net.backend) if runtime else 0
    if not work:
        return output, "its output"
    return (output + work, f"{output:,} for its output and {work:,} for its "
            f"{runtime.working_memory}")


def check_network_memory(net: Any) -> None:
    """Refuse, before allocating, a network whose parameters (or any layer's output for
    one sample) need more than the memory budget."""
    limit = memory_budget(net.backend.memory_bytes())
    item = net.dtype.itemsize
    total = sum(int(p.size) for p in net.model.parameters) * item
    if total > limit:
        largest = max(net.model.parameters, key=lambda p: p.size)
        raise ConfigError(f"the parameters need {total:,} bytes, more than the {limit:,} "
                          f"bytes available (largest: {largest.name!r} with "
                          f"{int(largest.size) * item:,} bytes)")
    for layer in net.model.layers:
        need, what = layer_bytes(net, layer.name, 1, item)
        if need > limit:
            raise ConfigError(f"layer {layer.name!r}: one sample needs {need:,} bytes "
                              f"({what}), more than the {limit:,} bytes available",
                              layer=layer.name)


def check_batch_memory(net: Any, needed: list[str], batch: int) -> None:
    """Refuse a batch for which one of the ``needed`` layers needs more than the budget."""
    limit = memory_budget(net.backend.memory_bytes())
    item = net.dtype.itemsize
    for name in needed:
        need, what = layer_bytes(net, name, batch, item)
        if need > limit:
            raise ValueError(f"layer {name!r}: a batch of {batch} needs {need:,} bytes "
                             f"({what}), more than the {limit:,} bytes available; use a "
                             "smaller batch")
