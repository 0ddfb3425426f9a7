"""Training curves (``minipaddle train --plot FILE.png``); needs the ``plot`` extra."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..config import ConfigError
from .events import EndPass


def require_matplotlib():
    """pyplot on a non-interactive backend, or a clear error naming the extra to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--plot needs matplotlib: pip install 'minipaddle[plot]'") from None
    return plt


def plot_history(passes: Sequence[EndPass], path: str) -> None:
    """Cost and error per pass, train and test, side by side, into a PNG."""
    plt = require_matplotlib()
    if not passes:
        raise ConfigError("--plot: no pass was trained")
    ids = [p.pass_id for p in passes]
    metrics = [m for m in passes[0].metrics]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        scale = 100.0 if metric.startswith("classification_error") else 1.0
        ax.plot(ids, [scale * p.metrics[metric] for p in passes], "o-", label="train")
        if all(p.test_metrics for p in passes):
            ax.plot(ids, [scale * p.test_metrics[metric] for p in passes], "s-", label="test")
        ax.set_xlabel("pass")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(f"{metric} (%)" if scale != 1.0 else metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
