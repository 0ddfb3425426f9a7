"""Activations, under Paddle v1's class names (spec section 5).

Each class knows its serialized ``active_type`` string (``name``).  The YAML reader and the
DSL also accept short names (``relu``, ``linear``/``identity``, ``exp``/``exponential``, ...),
looked up in :data:`ACTIVATIONS`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..config import ConfigError
from ..config.serialize import describe_validation_error
from .calls import checked_init, user_location


class BaseActivation(BaseModel):
    """An activation: ``name`` is the LayerConfig ``active_type`` it serializes to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    support_hppl: bool = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        checked_init(cls)     # a wrong keyword is a ConfigError with file:line, as in layers

    def __init__(self, name: str, support_hppl: bool = False):
        try:
            super().__init__(name=name, support_hppl=support_hppl)
        except ValidationError as err:
            raise ConfigError(f"{type(self).__name__}: {describe_validation_error(err)}",
                              where=user_location()) from None


checked_init(BaseActivation)


def _activation(class_name: str, active_type: str, hppl: bool = False) -> type[BaseActivation]:
    def __init__(self: BaseActivation) -> None:
        BaseActivation.__init__(self, name=active_type, support_hppl=hppl)

    return type(class_name, (BaseActivation,), {"__init__": __init__, "__module__": __name__,
                                                 "__doc__": f"``active_type: {active_type!r}``"})


TanhActivation = _activation("TanhActivation", "tanh", True)
SigmoidActivation = _activation("SigmoidActivation", "sigmoid", True)
SoftmaxActivation = _activation("SoftmaxActivation", "softmax")
SequenceSoftmaxActivation = _activation("SequenceSoftmaxActivation", "sequence_softmax")
IdentityActivation = _activation("IdentityActivation", "")
LinearActivation = IdentityActivation
ExpActivation = _activation("ExpActivation", "exponential")
ReluActivation = _activation("ReluActivation", "relu", True)
BReluActivation = _activation("BReluActivation", "brelu")
SoftReluActivation = _activation("SoftReluActivation", "softrelu")
STanhActivation = _activation("STanhActivation", "stanh")
AbsActivation = _activation("AbsActivation", "abs")
SquareActivation = _activation("SquareActivation", "square")
LogActivation = _activation("LogActivation", "log")
SqrtActivation = _activation("SqrtActivation", "sqrt")
ReciprocalActivation = _activation("ReciprocalActivation", "reciprocal")
SoftSignActivation = _activation("SoftSignActivation", "softsign")

#: short name -> class, for YAML files and string arguments.
ACTIVATIONS: dict[str, type[BaseActivation]] = {
    "tanh": TanhActivation, "sigmoid": SigmoidActivation, "softmax": SoftmaxActivation,
    "sequence_softmax": SequenceSoftmaxActivation, "identity": IdentityActivation,
    "linear": IdentityActivation, "": IdentityActivation, "exp": ExpActivation,
    "exponential": ExpActivation, "relu": ReluActivation, "brelu": BReluActivation,
    "softrelu": SoftReluActivation, "stanh": STanhActivation, "abs": AbsActivation,
    "square": SquareActivation, "log": LogActivation, "sqrt": SqrtActivation,
    "reciprocal": ReciprocalActivation, "softsign": SoftSignActivation,
}


def activation_by_name(name: str) -> BaseActivation:
    try:
        return ACTIVATIONS[name.strip().lower()]()
    except KeyError:
        known = ", ".join(sorted(k for k in ACTIVATIONS if k))
        raise ValueError(f"unknown activation {name!r}; known: {known}") from None


def is_linear(act: BaseActivation | None) -> bool:
    return act is not None and act.name == ""


__all__ = [
    "AbsActivation", "BReluActivation", "BaseActivation", "ExpActivation",
    "IdentityActivation", "LinearActivation", "LogActivation", "ReciprocalActivation",
    "ReluActivation", "STanhActivation", "SequenceSoftmaxActivation", "SigmoidActivation",
    "SoftReluActivation", "SoftSignActivation", "SoftmaxActivation", "SqrtActivation",
    "SquareActivation", "TanhActivation",
]
