"""The network's graph and its feeds: per-sample shapes, layer order, the layers a fetch
needs, which data layers are integer label slots, and the checks a feed passes before a
forward pass runs."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..config import ConfigError, LayerConfig, ModelConfig
from ..config.evaluators import evaluator_facts
from ..config.layers import facts_of, output_shape


def natural_shape(layer: LayerConfig) -> tuple[int, ...]:
    """Per-sample shape: (C, H, W) for image layers, (size,) otherwise, by the rule the
    layer type declares (``config.layers``)."""
    return output_shape(layer)


def check_layer_order(order: list[str], configs: dict[str, LayerConfig]) -> None:
    """Every layer reads only layers defined before it."""
    seen: set[str] = set()
    for name in order:
        for inp in configs[name].inputs:
            if inp.input_layer_name not in seen:
                raise ConfigError(f"layer {name!r} reads {inp.input_layer_name!r}, which "
                                  "is not defined before it", layer=name)
        seen.add(name)


def readers(model: ModelConfig) -> dict[str, list[str]]:
    """Layer name -> the layers reading it (in model order)."""
    users: dict[str, list[str]] = {}
    for layer in model.layers:
        for inp in layer.inputs:
            users.setdefault(inp.input_layer_name, []).append(layer.name)
    return users


def needed_layers(fetch: list[str], configs: dict[str, LayerConfig],
                  order: list[str]) -> list[str]:
    """The layers computing ``fetch`` needs, in model order."""
    needed: set[str] = set()
    stack = list(fetch)
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        stack.extend(inp.input_layer_name for inp in configs[name].inputs)
    return [name for name in order if name in needed]


# -- label slots ----------------------------------------------------------------------------------
def label_slots(model: ModelConfig, configs: dict[str, LayerConfig],
                data: set[str]) -> dict[str, int]:
    """data layer -> number of classes, for the ``data`` layers used only as integer labels:
    read at an input a layer or evaluator type declares a label input (its facts'
    ``labels`` / ``label_inputs``: the number of classes is the size of the first input, or
    what the layer type says)."""
    label_uses: dict[str, list[tuple[str, int]]] = {}
    dense_uses: dict[str, list[str]] = {}
    for layer in model.layers:
        labels = facts_of(layer.type).labels(layer, model)
        for i, inp in enumerate(layer.inputs):
            src = inp.input_layer_name
            if i in labels and src not in data:
                raise ConfigError(f"layer {layer.name!r}: its label {src!r} is a "
                                  f"{configs[src].type!r} layer; a {layer.type!r} layer "
                                  "takes integer labels from a data layer", layer=layer.name)
            if src not in data:
                continue
            if i in labels:
                label_uses.setdefault(src, []).append((layer.name, labels[i]))
            else:
                dense_uses.setdefault(src, []).append(layer.name)
    for ev in model.evaluators:
        for i in evaluator_facts(ev.type).label_inputs:
            if i < len(ev.input_layers) and ev.input_layers[i] in data:
                classes = configs[ev.input_layers[0]].size or 0
                label_uses.setdefault(ev.input_layers[i], []).append((ev.name, classes))
    return _slots(label_uses, dense_uses)


def _slots(label_uses: dict[str, list[tuple[str, int]]],
           dense_uses: dict[str, list[str]]) -> dict[str, int]:
    slots = {}
    for name, uses in label_uses.items():
        if name in dense_uses:
            raise ConfigError(
                f"data layer {name!r} is used both as an integer label (by "
                f"{', '.join(u for u, _ in uses)}) and as a dense input (by "
                f"{', '.join(dense_uses[name])}); feed labels through their own data layer",
                layer=name)
        classes = {c for _, c in uses}
        if len(classes) > 1:
            raise ConfigError(f"data layer {name!r} labels inputs of different sizes "
                              f"{sorted(classes)}", layer=name)
        slots[name] = classes.pop()
    return slots


# -- feeds ------------------------------------------------------------------------------------------
def check_request(feed: Any, fetch: list[str], configs: dict[str, LayerConfig],
                  order: list[str], data: list[str]) -> None:
    """``fetch`` names layers and ``feed`` maps ``data`` layers (errors list the known ones)."""
    for name in fetch:
        if name not in configs:
            raise KeyError(f"cannot fetch {name!r}: no such layer; layers: "
                           f"{', '.join(order)}")
    if not isinstance(feed, dict):
        raise TypeError(f"feed must map data layer names to arrays, got "
                        f"{type(feed).__name__}")
    for name in feed:
        if name not in data:
            raise KeyError(f"feed names {name!r}, which is not a data layer; data layers: "
                           f"{', '.join(data)}")


def feed_values(net: Any, feed: dict[str, Any], needed: list[str]) -> tuple[dict, Optional[int]]:
    """The checked arrays of the data layers ``needed`` reads, and the batch size."""
    values: dict[str, Any] = {}
    batch: Optional[int] = None
    for name in needed:
        if name not in net.data_layers:
            continue
        if name not in feed:
            users = [n for n in needed if any(i.input_layer_name == name
                                              for i in net.configs[n].inputs)]
            raise ValueError(f"missing feed for data layer {name!r} (needed by "
                             f"{', '.join(users) or 'the fetched outputs'})")
        if name in net.label_slots:
            values[name] = feed_labels(name, feed[name], net.label_slots[name], net.backend)
        else:
            values[name] = feed_dense(name, feed[name], net.shapes[name], net.backend,
                                      net.dtype)
        n = values[name].shape[0]
        if batch is not None and n != batch:
            raise ValueError(f"data layer {name!r} has {n} samples but another feed has "
                             f"{batch}; every feed must have the same batch size")
        if n == 0:
            raise ValueError(f"data layer {name!r}: the batch is empty")
        batch = n
    return values, batch


def feed_labels(name: str, value: Any, classes: int, backend: Any) -> Any:
    """A label slot's feed as int64 labels of shape (N,), each in [0, classes)."""
    arr = backend.asarray_like(value)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(arr.shape[0])
    if arr.ndim != 1:
        raise ValueError(f"label data layer {name!r}: expected integer labels of shape "
                         f"(N,) or (N, 1), got shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"label data layer {name!r}: expected integer labels, got "
                         f"dtype {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= classes):
        bad = arr[(arr < 0) | (arr >= classes)][0]
        raise ValueError(f"label data layer {name!r}: label {int(bad)} is outside "
                         f"[0, {classes})")
    return arr.astype(np.int64, copy=False)


def feed_dense(name: str, value: Any, shape: tuple[int, ...], backend: Any,
               dtype: np.dtype) -> Any:
    """A dense data layer's feed, (N, size) or (N, *shape), as finite ``dtype`` values in
    the layer's natural shape."""
    xp = backend.xp
    arr = backend.asarray_like(value)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"data layer {name!r}: expected a numeric array, got dtype "
                         f"{arr.dtype}")
    size = int(np.prod(shape))
    if arr.ndim == 2 and arr.shape[1] == size:
        pass
    elif arr.ndim == 1 + len(shape) and tuple(arr.shape[1:]) == shape:
        pass
    else:
        forms = f"(N, {size})" + (f" or (N, {', '.join(map(str, shape))})"
                                   if len(shape) > 1 else "")
        raise ValueError(f"data layer {name!r}: expected an array of shape {forms}, got "
                         f"shape {tuple(arr.shape)}")
    out = xp.ascontiguousarray(arr.reshape((arr.shape[0],) + shape), dtype=dtype)
    finite = xp.isfinite(out)
    if not finite.all():
        sample = int(xp.argwhere(~finite)[0][0])
        bad = out[~finite].ravel()[0]
        raise ValueError(f"data layer {name!r}: the feed contains {bad} (sample {sample}); "
                         "expected finite values")
    return out
