"""Pooling types, under Paddle v1's class names (``poolings.py``)."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, ValidationError

from ..config import ConfigError
from ..config.serialize import describe_validation_error
from .calls import checked_init, user_location


class BasePoolingType(BaseModel):
    """A pooling type; ``name`` is Paddle's pooling name (before the ``-projection`` suffix)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        checked_init(cls)     # a wrong keyword is a ConfigError with file:line, as in layers

    def __init__(self, name: str, **fields: Any):
        try:
            super().__init__(name=name, **fields)
        except ValidationError as err:
            raise ConfigError(f"{type(self).__name__}: {describe_validation_error(err)}",
                              where=user_location()) from None


checked_init(BasePoolingType)


class MaxPooling(BasePoolingType):
    output_max_index: Optional[bool] = None

    def __init__(self, output_max_index: Optional[bool] = None):
        super().__init__(name="max", output_max_index=output_max_index)


class AvgPooling(BasePoolingType):
    strategy: str = "average"

    def __init__(self, strategy: str = "average"):
        super().__init__(name="avg", strategy=strategy)


class MaxWithMaskPooling(BasePoolingType):
    def __init__(self) -> None:
        super().__init__(name="max-pool-with-mask")


class CudnnMaxPooling(BasePoolingType):
    def __init__(self) -> None:
        super().__init__(name="cudnn-max-pool")


class CudnnAvgPooling(BasePoolingType):
    def __init__(self) -> None:
        super().__init__(name="cudnn-avg-pool")


class CudnnAvgInclPadPooling(BasePoolingType):
    def __init__(self) -> None:
        super().__init__(name="cudnn-avg-incl-pad-pool")


class SumPooling(BasePoolingType):
    """A sequence pooling; image pooling layers reject it."""

    def __init__(self) -> None:
        super().__init__(name="sum")


class SquareRootNPooling(BasePoolingType):
    """A sequence pooling; image pooling layers reject it."""

    def __init__(self) -> None:
        super().__init__(name="squarerootn")


#: short or serialized name -> class, for YAML files and string arguments.
POOLINGS: dict[str, type[BasePoolingType]] = {
    "max": MaxPooling, "max-projection": MaxPooling, "avg": AvgPooling, "average": AvgPooling,
    "avg-projection": AvgPooling, "max-pool-with-mask": MaxWithMaskPooling,
    "cudnn-max-pool": CudnnMaxPooling, "cudnn-avg-pool": CudnnAvgPooling,
    "cudnn-avg-incl-pad-pool": CudnnAvgInclPadPooling, "sum": SumPooling,
    "squarerootn": SquareRootNPooling,
}


def pooling_by_name(name: str) -> BasePoolingType:
    try:
        return POOLINGS[name.strip().lower()]()
    except KeyError:
        raise ValueError(f"unknown pool type {name!r}; known: "
                         f"{', '.join(sorted(POOLINGS))}") from None


__all__ = ["AvgPooling", "BasePoolingType", "CudnnAvgInclPadPooling", "CudnnAvgPooling",
           "CudnnMaxPooling", "MaxPooling", "MaxWithMaskPooling", "SquareRootNPooling",
           "SumPooling"]
