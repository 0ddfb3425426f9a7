"""Which implementation a layer runs, as a value: formatted only where it is shown
(``minipaddle time``, the timing tables, ``RuntimeLayer.algorithm``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Algorithm:
    """``type``: what the config asked for (a layer type, or a pool type); ``runs_as``: the
    type whose implementation runs it instead, when one was substituted; ``detail``: what
    that implementation is (e.g. "im2col + GEMM, pixel layout", "cuDNN"); ``note``: why it
    runs as it does, when that needs saying."""

    type: str
    runs_as: Optional[str] = None
    detail: str = ""
    note: str = ""

    @property
    def substitution(self) -> str:
        """``"type -> runs_as"``, or "" when nothing was substituted."""
        return f"{self.type} -> {self.runs_as}" if self.runs_as else ""

    def __str__(self) -> str:
        text = self.substitution or self.type
        if self.detail:
            text += f": {self.detail}"
        return f"{text} ({self.note})" if self.note else text
