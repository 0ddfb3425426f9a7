"""``paddle.event``: what a v2 ``event_handler`` receives.

``metrics`` maps evaluator names to values: ``{'classification_error_evaluator': 0.07}`` with
``classification_cost`` (an error fraction), ``{}`` with ``square_error_cost`` alone.  On
EndIteration they are the batch's, on EndPass the whole pass's, on TestResult the test set's.
``gm`` is the compiled :class:`minipaddle.runtime.Network` (Paddle's gradient machine).
"""

from __future__ import annotations

from typing import Any, Optional

from ._names import missing_attribute


class WithMetric:
    def __init__(self, metrics: Optional[dict[str, float]] = None):
        self.metrics = dict(metrics or {})


class BeginPass:
    def __init__(self, pass_id: int):
        self.pass_id = pass_id


class EndPass(WithMetric):
    def __init__(self, pass_id: int, metrics: Optional[dict[str, float]] = None,
                 gm: Any = None):
        super().__init__(metrics)
        self.pass_id = pass_id
        self.gm = gm


class BeginIteration:
    def __init__(self, pass_id: int, batch_id: int):
        self.pass_id = pass_id
        self.batch_id = batch_id


class EndForwardBackward:
    def __init__(self, pass_id: int, batch_id: int, gm: Any = None):
        self.pass_id = pass_id
        self.batch_id = batch_id
        self.gm = gm


class EndIteration(WithMetric):
    """``cost``: the batch's mean cost per sample (before the update, without ``coeff``)."""

    def __init__(self, pass_id: int, batch_id: int, cost: float,
                 metrics: Optional[dict[str, float]] = None, gm: Any = None):
        super().__init__(metrics)
        self.pass_id = pass_id
        self.batch_id = batch_id
        self.cost = cost
        self.gm = gm


class TestResult(WithMetric):
    """``cost``: the mean cost per sample over the whole test reader."""

    __test__ = False  # not a pytest test class

    def __init__(self, metrics: Optional[dict[str, float]] = None, cost: float = 0.0):
        super().__init__(metrics)
        self.cost = cost


__all__ = ["BeginIteration", "BeginPass", "EndForwardBackward", "EndIteration", "EndPass",
           "TestResult", "WithMetric"]

__getattr__ = missing_attribute(__name__, __all__)
