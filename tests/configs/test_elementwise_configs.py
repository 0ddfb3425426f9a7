"""Hand-derived config fields of tests/configs/elementwise.py (the element-wise and vector
layers of issue 16), from Paddle's trainer_config_helpers and config_parser rules: types,
sizes, input order, automatic names, parameter names, sizes and dims.  The golden itself is
compared by test_goldens.py."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import minipaddle

CONFIG = Path(__file__).resolve().parent / "elementwise.py"


@functools.lru_cache(maxsize=None)
def model() -> minipaddle.ModelConfig:
    return minipaddle.parse_config(str(CONFIG)).model_config


def layer(name: str):
    return model().layer(name)


def check(obj: Any, **expected: Any) -> None:
    wrong = {k: (getattr(obj, k), v) for k, v in expected.items() if getattr(obj, k) != v}
    assert not wrong, f"{getattr(obj, 'name', obj)}: " + "; ".join(
        f"{k} is {got!r}, expected {want!r}" for k, (got, want) in wrong.items())


def input_names(name: str) -> list[str]:
    return [inp.input_layer_name for inp in layer(name).inputs]


def test_slope_intercept() -> None:
    # defaults 1.0 / 0.0 written out; an int intercept stays an int (Paddle's protostr "1")
    check(layer("__slope_intercept_layer_0__"), type="slope_intercept", size=6, slope=1.0,
          intercept=0.0, active_type="")
    flipped = layer("flipped")
    check(flipped, size=24, slope=-2.0, intercept=1, device=-1)
    assert isinstance(flipped.intercept, int)
    assert input_names("flipped") == ["picture"]


def test_scaling() -> None:
    check(layer("__scaling_layer_0__"), type="scaling", size=6, active_type="")
    assert input_names("__scaling_layer_0__") == ["gate", "vec"]       # [weight, input]
    check(layer("scaled_picture"), size=24)
    assert input_names("scaled_picture") == ["gate", "flipped"]
