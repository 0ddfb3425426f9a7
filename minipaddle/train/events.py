"""Training events, as Paddle v2's event handler saw them: a handler is any callable taking one
event; it runs synchronously between batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class BeginPass:
    pass_id: int


@dataclass
class EndPass:
    pass_id: int
    #: averages over the pass: "cost" and each evaluator's value (e.g. "classification_error")
    metrics: dict[str, float] = field(default_factory=dict)
    #: the same on the test set, when there is one
    test_metrics: Optional[dict[str, float]] = None
    seconds: float = 0.0
    #: samples trained on in this pass
    samples: int = 0


@dataclass
class BeginIteration:
    pass_id: int
    batch_id: int


@dataclass
class EndForwardBackward:
    """After the batch's forward and backward, before the parameter update."""

    pass_id: int
    batch_id: int
    #: the batch's parameter gradients (sums over the batch), by parameter name
    gradients: dict = field(default_factory=dict, repr=False)


@dataclass
class EndIteration:
    pass_id: int
    batch_id: int
    #: this batch's average cost per sample
    cost: float
    #: running averages over the pass so far
    metrics: dict[str, float] = field(default_factory=dict)
    #: the same over this batch alone
    batch_metrics: dict[str, float] = field(default_factory=dict)
