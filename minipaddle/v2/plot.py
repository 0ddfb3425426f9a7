"""``paddle.plot.Ploter``: curves of named series, e.g. train and test cost per step.

``plot()`` shows the figure in IPython (Jupyter); elsewhere, with no display, it writes a PNG
(``plot(path)``'s path, else ``ploter.png``, named once on stderr).  Without matplotlib (the
``plot`` extra) the first ``plot()`` says so in one warning line and plotting is skipped;
``DISABLE_PLOT=True`` turns plotting off, as in Paddle.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Optional

DEFAULT_FILE = "ploter.png"


class _Series:
    def __init__(self) -> None:
        self.steps: list = []
        self.values: list = []

    def append(self, step: Any, value: Any) -> None:
        self.steps.append(step)
        self.values.append(value)

    def reset(self) -> None:
        self.steps, self.values = [], []


def _pyplot() -> Optional[Any]:
    try:
        import matplotlib

        if "IPython" not in sys.modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _ipython_display() -> Optional[Any]:
    ipython = sys.modules.get("IPython")
    if ipython is None or getattr(ipython, "get_ipython", lambda: None)() is None:
        return None
    from IPython import display

    return display


class Ploter:
    """``Ploter('train cost', 'test cost')``; ``append(title, step, value)``; ``plot()``."""

    def __init__(self, *titles: str):
        self.titles = list(titles)
        self.data = {title: _Series() for title in titles}
        self.disabled = os.environ.get("DISABLE_PLOT") == "True"
        self._plt: Any = None
        self._told = False

    def append(self, title: str, step: Any, value: Any) -> None:
        if title not in self.data:
            raise ValueError(f"Ploter.append: unknown title {title!r}; the Ploter was made with "
                             f"{', '.join(repr(t) for t in self.titles) or 'no titles'}")
        self.data[title].append(step, value)

    def _pyplot(self) -> Optional[Any]:
        if self._plt is None:
            self._plt = _pyplot() or False
            if not self._plt:
                warnings.warn("paddle.plot: matplotlib is not installed (pip install "
                              "'minipaddle[plot]'); plots are skipped", UserWarning, stacklevel=3)
        return self._plt or None

    def plot(self, path: Optional[str] = None) -> None:
        if self.disabled:
            return
        plt = self._pyplot()
        if plt is None:
            return
        for title in self.titles:
            series = self.data[title]
            if series.steps:
                plt.plot(series.steps, series.values, label=title)
        plt.legend(loc="upper left")
        display = _ipython_display() if path is None else None
        if display is not None:
            display.clear_output(wait=True)
            display.display(plt.gcf())
        else:
            target = path or DEFAULT_FILE
            if path is None and not self._told:
                print(f"paddle.plot: no display; writing {os.path.abspath(target)}",
                      file=sys.stderr)
                self._told = True
            plt.savefig(target)
        plt.gcf().clear()

    def reset(self) -> None:
        for series in self.data.values():
            series.reset()


__all__ = ["Ploter"]
