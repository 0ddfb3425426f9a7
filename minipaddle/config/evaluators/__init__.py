"""What each evaluator type *is*, stated once by the type: its facts on the config floor.

An ``EvaluatorConfig.type`` declares here (one module per family, found by discovery:
nothing lists them)

* ``label_inputs``: which of its inputs are integer label slots (a data layer read there
  takes class indices, as many classes as the size of the evaluator's first input).

A new evaluator type calls :func:`declare_evaluator` once (in its family's module here, or
anywhere for a type defined outside the package); an undeclared type has the defaults: no
integer inputs.  The train floor's ``minipaddle.train.evaluators`` holds what computes it.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class EvaluatorFacts:
    """The facts of one ``EvaluatorConfig.type`` (module docstring)."""

    type: str
    label_inputs: tuple[int, ...] = ()


_FACTS: dict[str, EvaluatorFacts] = {}


def declare_evaluator(evaluator_type: str, **facts) -> EvaluatorFacts:
    """Declare the facts of ``evaluator_type`` (keywords: the fields of
    :class:`EvaluatorFacts`); declaring a type twice with different facts is an error."""
    entry = EvaluatorFacts(type=evaluator_type, **facts)
    old = _FACTS.get(evaluator_type)
    if old is not None and old != entry:
        raise RuntimeError(f"evaluator type {evaluator_type!r}: its facts are declared twice")
    _FACTS[evaluator_type] = entry
    return entry


def withdraw_evaluator(evaluator_type: str) -> None:
    """Undo :func:`declare_evaluator` (a type defined for a while only, as in a test)."""
    _FACTS.pop(evaluator_type, None)


def evaluator_facts(evaluator_type: str) -> EvaluatorFacts:
    """The declared facts of a type, or the defaults for an undeclared one."""
    found = _FACTS.get(evaluator_type)
    return found if found is not None else EvaluatorFacts(type=evaluator_type)


def declared_evaluators() -> dict[str, EvaluatorFacts]:
    """type -> facts, for every declared type."""
    return dict(_FACTS)


# every module of this package declares the facts of one family of types
for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
