"""Where a network went wrong: the first layer whose parameters or output are not finite."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


def first_non_finite(net: Any, feed: dict[str, Any]) -> Optional[tuple[str, str]]:
    """Re-run ``feed`` in gradient-check mode and return (layer, what) for the first layer
    whose output (or whose parameters) are not finite, or None.  Only called after a
    failure, so the normal step pays nothing for it."""
    xp = net.xp
    for name, value in net.parameters.items():
        if not bool(xp.isfinite(value).all()):
            user = next((n for n in net.order if n in net.layers
                         and name in net.layers[n].param_shapes), name)
            return user, f"parameter {name!r} is not finite"
    out = net.forward(feed, training="check", fetch=list(net.order), as_numpy=True)
    for name in net.order:
        if name in net.layers and not np.all(np.isfinite(out[name])):
            return name, "its output is not finite"
    return None
