"""Rewrites of a pass that change where work happens, not what it computes: a relu whose
only reader is a max pool runs after the pooling; a layer that can apply its own activation
inside its kernels (batch norm's and addto's relu) does."""

from __future__ import annotations

from typing import Any

from ..config import LayerConfig, ModelConfig
from .activation import activate, activate_backward
from .backend import IDENTITY
from .graph import readers
from .layers.base import RuntimeLayer


def relu_max_pool_pairs(model: ModelConfig, configs: dict[str, LayerConfig],
                        layers: dict[str, RuntimeLayer]) -> dict[str, str]:
    """Layers whose relu can run after the max pooling that is their only reader:
    ``maxpool(relu(z)) == relu(maxpool(z))`` (max and relu are both monotone), and the
    gradients agree too: a window whose maximum is positive routes its gradient to the
    same cells either way, and one whose maximum is not passes none either way (relu's
    derivative is 0 there). The relu then touches a quarter of the values (2x2 windows)
    forward and backward. Only for a relu layer without dropout or error clipping whose
    single reader is a max pool (a layer whose ``commutes_with_relu`` holds) with no
    activation, dropout or clipping of its own; a
    forward that fetches the layer itself applies its relu in place (layer -> pool)."""
    pairs = {}
    for name, users in readers(model).items():
        config, runtime = configs[name], layers.get(name)
        if (runtime is None or len(users) != 1 or config.active_type != "relu"
                or config.drop_rate or config.error_clipping_threshold
                or name in model.output_layer_names):
            continue
        pool, pool_config = layers.get(users[0]), configs[users[0]]
        if (pool is not None and pool.commutes_with_relu and len(pool.input_names) == 1
                and (pool_config.active_type or "") in IDENTITY
                and not pool_config.drop_rate
                and not pool_config.error_clipping_threshold):
            pairs[name] = users[0]
    return pairs


def fuse_activations(configs: dict[str, LayerConfig], layers: dict[str, RuntimeLayer],
                     relu_to_pool: dict[str, str]) -> None:
    """Hand each layer whose kernels can apply its activation themselves (its class's
    ``fusable_activations``: batch norm's and addto's relu) that activation as its
    ``fused_activation``: the layer applies it while it writes its output and takes its
    gradient inside its backward (from its output, as the activation's own backward does),
    instead of the network's separate passes over the output; the network then applies none
    (``Network.activations``). A relu that moves after its max pool (``relu_to_pool``) stays
    the network's: there it touches a quarter of the values."""
    for name, runtime in layers.items():
        act = configs[name].active_type or ""
        if (act and act in getattr(runtime, "fusable_activations", ())
                and name not in relu_to_pool):
            runtime.fused_activation = act


def pass_activations(activations: dict[str, str], relu_to_pool: dict[str, str],
                     needed: list[str], fetch: list[str]) -> dict[str, str]:
    """The activation each computed layer applies in this pass: its own (``activations``,
    the network's), except that a relu that can run after its max pool (and is not
    fetched) moves there."""
    acts = {name: activations[name] for name in needed}
    for name, pool in relu_to_pool.items():
        if name in acts and pool in acts and name not in fetch:
            acts[name], acts[pool] = "", acts[name]
    return acts


def unmove_seed(backend: Any, own: str, moved: str, z: Any, dy: Any) -> Any:
    """A gradient seeded at a layer whose relu moved after its pool is the gradient of
    relu(z), while the layer's backward takes the gradient of z: apply relu's gradient."""
    if moved == own:
        return dy
    return activate_backward(backend, own, z, activate(backend, own, z), dy)
