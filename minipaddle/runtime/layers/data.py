"""data: the layers a feed fills. Nothing is computed: the network checks a feed against the
layer (its shape, or integer labels for a label slot) and places it on the backend."""

from __future__ import annotations

from ..registry import register
from .base import RuntimeLayer


@register("data")
class DataLayer(RuntimeLayer):
    """The registry's answer for ``data``: fed, never built."""

    fed = True
