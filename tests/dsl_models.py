"""Test helper: a ModelConfig from a DSL function whose returned layer(s) are its outputs."""

from __future__ import annotations

import minipaddle as mp


def model_of(fn):
    """Parse ``fn`` (which builds layers and returns the output one or a list of them) into a
    ModelConfig with exactly those layers as outputs."""
    holder = {}

    def net():
        holder["outs"] = fn()

    tc = mp.parse_config(net)
    outs = holder["outs"]
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return tc.model_config.model_copy(update={"output_layer_names": [o.name for o in outs]})
