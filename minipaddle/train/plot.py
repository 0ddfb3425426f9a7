"""Training curves (``minipaddle train --plot FILE.png``); needs the ``plot`` extra."""

from __future__ import annotations

import os
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


def check_plot_path(path: str) -> None:
    """Everything ``plot_history(..., path)`` needs, checked before a run trains: matplotlib,
    an image format it writes, and a directory the file can be created in."""
    plt = require_matplotlib()
    target = Path(path)
    formats = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    suffix = target.suffix[1:].lower()
    if suffix not in formats:
        raise ConfigError(f"--plot {path}: cannot write a {target.suffix or 'suffix-less'} "
                          f"file; expected one of {', '.join('.' + f for f in sorted(formats))}")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if target.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        what = "is a directory" if target.is_dir() else f"cannot be written in {folder}"
        raise ConfigError(f"--plot {path}: {what}")


def plot_history(passes: Sequence[EndPass], path: str) -> None:
    """Cost and error per pass, train and test, side by side, into a PNG."""
    plt = require_matplotlib()
    from matplotlib.ticker import MaxNLocator

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
        # whole passes only, even for a single pass (the default asks for two integers in view)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_ylabel(f"{metric} (%)" if scale != 1.0 else metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
