"""Divergence detection: a run whose cost or parameters blow up stops, naming the parameter (or
layer), the pass and the batch, before a checkpoint of the diverged state is written.

A non-finite cost is caught where the batch's forward ends (``Trainer._run_batch``, which names
the first non-finite layer); what is caught here is the rest: a cost that is still finite but
has grown by orders of magnitude over the run's first one, and parameters (moving statistics
included) that are not finite or have left any sane range while the cost still looks fine, as a
batch-normalized network does when its weights head for 1e15.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Iterator, Optional

import numpy as np

#: a batch cost this many times the run's first one is divergence (four orders of magnitude)
COST_GROWTH = 1e4
#: a parameter value beyond this magnitude is divergence: no trained weight or moving statistic
#: comes near it (a batch-norm variance of 1e10 means activations of 1e5)
PARAMETER_BOUND = 1e10


@contextlib.contextmanager
def quiet_floating_point() -> Iterator[None]:
    """NumPy's overflow, invalid-value and divide-by-zero warnings stay out of the user's way
    while training: what they announce is caught and reported by the checks."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
            warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning,
                                message="(overflow|invalid value|divide by zero) encountered")
        yield


class DivergenceGuard:
    """Checks every training batch's cost and the parameters after its update."""

    def __init__(self, growth: float = COST_GROWTH, bound: float = PARAMETER_BOUND):
        self.growth = growth
        self.bound = bound
        self.first_cost: Optional[float] = None

    def check(self, net: Any, cost: float, pass_id: int, batch_id: int) -> None:
        """Raise FloatingPointError when the run has diverged at this batch."""
        where = f"at pass {pass_id}, batch {batch_id}"
        name, largest = self._largest_parameter(net)
        if not largest <= self.bound:          # also true for NaN
            shown = "not finite" if not np.isfinite(largest) else f"|value| up to {largest:.3g}"
            self._stop(f"parameter {name!r} of layer {self._owner(net, name)!r} is {shown} "
                       f"{where} (the bound is {self.bound:.0e})")
        if self.first_cost is None:
            self.first_cost = cost
        elif abs(cost) > self.growth * abs(self.first_cost) and self.first_cost != 0:
            self._stop(f"the cost grew from {self.first_cost:.4g} (the run's first batch) to "
                       f"{cost:.4g} {where}, {self.growth:.0e} times or more (largest parameter: "
                       f"{name!r} of layer {self._owner(net, name)!r}, |value| up to "
                       f"{largest:.3g})")

    @staticmethod
    def _largest_parameter(net: Any) -> tuple[str, float]:
        """(name, largest magnitude) over every parameter, NaN when one holds a NaN."""
        xp = net.xp
        worst_name, worst = "", 0.0
        for name, value in net.parameters.items():
            if value.size == 0:
                continue
            magnitude = max(float(xp.max(value)), -float(xp.min(value)))
            if np.isnan(magnitude):
                return name, float("nan")
            if magnitude > worst:
                worst_name, worst = name, magnitude
        return worst_name, worst

    @staticmethod
    def _owner(net: Any, parameter: str) -> str:
        return next((n for n in net.order if n in net.layers
                     and parameter in net.layers[n].param_shapes), "?")

    @staticmethod
    def _stop(reason: str) -> None:
        raise FloatingPointError(f"training diverged: {reason}; training stopped before this "
                                 "state was saved, the last complete checkpoint is kept: lower "
                                 "the learning rate")
