"""settings() and the learning methods, regularization and model averaging of Paddle v1's
``optimizers.py`` (spec section 8)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..config.models import Double as Number
from ..config import ConfigError, OptimizationConfig
from ..config.serialize import describe_validation_error
from .base import build_from_mapping, dsl_function, fail
from .calls import checked_init, user_location
from .context import ParseContext, current

NonNeg = Annotated[Number, Field(ge=0, allow_inf_nan=False)]
Rate01 = Annotated[Number, Field(ge=0, le=1)]
Finite = Annotated[Number, Field(allow_inf_nan=False)]

#: config_parser's DEFAULT_SETTING: what opt_config holds when settings() is never called.
DEFAULT_SETTINGS: dict[str, Any] = {
    "algorithm": "async_sgd", "learning_method": "momentum", "learning_rate": 1.0,
    "learning_rate_decay_a": 0.0, "learning_rate_decay_b": 0.0,
    "learning_rate_schedule": "poly", "learning_rate_args": "", "batch_size": None,
    "average_window": 0, "max_average_window": None, "do_average_in_cpu": False,
    "ada_epsilon": 1e-6, "ada_rou": 0.95, "adam_beta1": 0.9, "adam_beta2": 0.999,
    "adam_epsilon": 1e-8, "gradient_clipping_threshold": None,
    "async_lagged_grad_discard_ratio": 1.5, "delta_add_rate": 1.0,
    "shrink_parameter_value": 0, "l1weight": 0.1, "l2weight": 0.0, "l2weight_zero_iter": 0,
    "c1": 0.0001, "backoff": 0.5, "owlqn_steps": 10, "max_backoff": 5,
}

SCHEDULES = ("constant", "poly", "caffe_poly", "exp", "discexp", "linear", "manual",
             "pass_manual")


class _Setting(BaseModel):
    """Base of optimizer-side objects: strict fields, errors in our words."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        checked_init(cls)     # a wrong keyword is a ConfigError with file:line, as in layers

    def __init__(self, **kwargs: Any):
        try:
            super().__init__(**kwargs)
        except ValidationError as err:
            raise ConfigError(f"{type(self).__name__}: {describe_validation_error(err)}",
                              where=user_location()) from None

    def to_setting_kwargs(self) -> dict[str, Any]:
        return {}

    def extra_settings(self, ctx: ParseContext) -> None:
        """Global parameter defaults this object sets (reach parameters created later)."""


class BaseSGDOptimizer(_Setting):
    """A learning method of the SGD family (algorithm sgd / async_sgd)."""


class MomentumOptimizer(BaseSGDOptimizer):
    momentum: Optional[NonNeg] = None
    sparse: bool = False

    def __init__(self, momentum: Optional[Number] = None, sparse: bool = False):
        super().__init__(momentum=momentum, sparse=sparse)

    def to_setting_kwargs(self) -> dict[str, Any]:
        return {"learning_method": "sparse_momentum" if self.sparse else "momentum"}

    def extra_settings(self, ctx: ParseContext) -> None:
        ctx.param_defaults["momentum"] = self.momentum


class AdamOptimizer(BaseSGDOptimizer):
    beta1: Rate01 = 0.9
    beta2: Rate01 = 0.999
    epsilon: NonNeg = 1e-8

    def __init__(self, beta1: Number = 0.9, beta2: Number = 0.999, epsilon: Number = 1e-8):
        super().__init__(beta1=beta1, beta2=beta2, epsilon=epsilon)

    def to_setting_kwargs(self) -> dict[str, Any]:
        return {"learning_method": "adam", "adam_beta1": self.beta1,
                "adam_beta2": self.beta2, "adam_epsilon": self.epsilon}


class AdamaxOptimizer(BaseSGDOptimizer):
    beta1: Rate01
    beta2: Rate01

    def __init__(self, beta1: Number, beta2: Number):
        super().__init__(beta1=beta1, beta2=beta2)

    def to_setting_kwargs(self) -> dict[str, Any]:
        return {"learning_method": "adamax", "adam_beta1": self.beta1,
                "adam_beta2": self.beta2}


class AdaGradOptimizer(BaseSGDOptimizer):
    """AdaGrad.  ``momentum`` is the older (2016) signature's: like MomentumOptimizer's, it
    becomes the momentum of parameters created later, which Paddle's AdaGrad applies as its
    heavy-ball term."""

    momentum: Optional[NonNeg] = None

    def __init__(self, momentum: Optional[Number] = None) -> None:
        super().__init__(momentum=momentum)

    def to_setting_kwargs(self) -> dict[str, Any]:
        return {"learning_method": "adagrad"}

    def extra_settings(self, ctx: ParseContext) -> None:
        if self.momentum is not None:
            ctx.param_defaults["momentum"] = self.momentum


class _RhoEpsilon(BaseSGDOptimizer):
    rho: Rate01 = 0.95
    epsilon: NonNeg = 1e-6
    method: ClassVar[str] = ""

    def __init__(self, rho: Number = 0.95, epsilon: Number = 1e-6):
        super().__init__(rho=rho, epsilon=epsilon)

    def to_setting_kwargs(self) -> dict[str, Any]:
        return {"learning_method": self.method, "ada_rou": self.rho,
                "ada_epsilon": self.epsilon}


class DecayedAdaGradOptimizer(_RhoEpsilon):
    method: ClassVar[str] = "decayed_adagrad"


class AdaDeltaOptimizer(_RhoEpsilon):
    method: ClassVar[str] = "adadelta"


class RMSPropOptimizer(_RhoEpsilon):
    method: ClassVar[str] = "rmsprop"


class BaseRegularization(_Setting):
    """No regularization."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)


class L2Regularization(BaseRegularization):
    """L2 weight decay: sets the default ``decay_rate`` of parameters created later."""

    rate: NonNeg

    def __init__(self, rate: Number):
        super().__init__(rate=rate)

    def extra_settings(self, ctx: ParseContext) -> None:
        ctx.param_defaults["decay_rate"] = self.rate


class ModelAverage(_Setting):
    average_window: NonNeg
    max_average_window: Optional[Annotated[int, Field(gt=0)]] = None
    do_average_in_cpu: bool = False

    def __init__(self, average_window: Number, max_average_window: Optional[int] = None,
                 do_average_in_cpu: bool = False):
        super().__init__(average_window=average_window, max_average_window=max_average_window,
                         do_average_in_cpu=do_average_in_cpu)

    def to_setting_kwargs(self) -> dict[str, Any]:
        return {"average_window": self.average_window,
                "max_average_window": self.max_average_window,
                "do_average_in_cpu": self.do_average_in_cpu}


#: YAML names of learning methods and regularizations.
LEARNING_METHODS: dict[str, type[BaseSGDOptimizer]] = {
    "momentum": MomentumOptimizer, "adam": AdamOptimizer, "adamax": AdamaxOptimizer,
    "adagrad": AdaGradOptimizer, "decayed_adagrad": DecayedAdaGradOptimizer,
    "adadelta": AdaDeltaOptimizer, "rmsprop": RMSPropOptimizer,
}
REGULARIZATIONS: dict[str, type[BaseRegularization]] = {"l2": L2Regularization}


def _from_mapping(table: dict[str, type], what: str, scalar_arg: Optional[str] = None):
    """YAML form -> object: ``adam`` / ``{adam: {beta1: 0.8}}`` / ``{l2: 0.0005}``, or a list
    of such forms."""

    def one(value: Any) -> Any:
        if isinstance(value, str):
            value = {value: {}}
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            raise ValueError(f"a {what} mapping has exactly one key, one of "
                             f"{', '.join(table)}; got {sorted(map(str, value))}")
        (key, args), = value.items()
        cls = table.get(key)
        if cls is None:
            raise ValueError(f"unknown {what} {key!r}; known: {', '.join(table)}")
        if scalar_arg is not None and not isinstance(args, (dict, type(None))):
            args = {scalar_arg: args}
        return build_from_mapping(cls, args, f"{what} {key!r}")

    def convert(value: Any) -> Any:
        return [one(v) for v in value] if isinstance(value, list) else one(value)

    return BeforeValidator(convert)


LearningMethodArg = Annotated[Optional[BaseSGDOptimizer],
                              _from_mapping(LEARNING_METHODS, "learning method")]
RegularizationArg = Annotated[
    Union[BaseRegularization, list[BaseRegularization], None],
    _from_mapping(REGULARIZATIONS, "regularization", scalar_arg="rate")]
ModelAverageArg = Annotated[
    Optional[ModelAverage],
    BeforeValidator(lambda v: build_from_mapping(ModelAverage, v) if isinstance(v, dict)
                    else v)]


@dsl_function(named=False, layer=False)
def settings(batch_size: Annotated[int, Field(gt=0, le=2 ** 31 - 1)],
             learning_rate: NonNeg = 1e-3, learning_rate_decay_a: Finite = 0.0,
             learning_rate_decay_b: Finite = 0.0, learning_rate_schedule: str = "poly",
             learning_rate_args: str = "", async_lagged_grad_discard_ratio: Finite = 1.5,
             learning_method: LearningMethodArg = None,
             regularization: RegularizationArg = None, is_async: bool = False,
             model_average: ModelAverageArg = None,
             gradient_clipping_threshold: Optional[NonNeg] = None) -> None:
    """Optimization settings, written into the TrainerConfig's ``opt_config``.

    As in Paddle, the learning method's momentum, L2 rate and clipping threshold become the
    defaults of parameters created *after* this call (call it first).
    """
    if learning_rate_schedule not in SCHEDULES:
        raise fail("learning_rate_schedule", learning_rate_schedule,
                   f"expected one of {', '.join(SCHEDULES)}")
    ctx = current()
    learning_method = learning_method or MomentumOptimizer()
    regs = regularization if isinstance(regularization, list) else (
        [regularization] if regularization is not None else [])
    # Paddle updated one settings dict: what an earlier Settings()/settings() set stays
    values = dict(ctx.opt_values) if ctx.settings_called else dict(DEFAULT_SETTINGS)
    values.update(
        algorithm="async_sgd" if is_async else "sgd", batch_size=batch_size,
        learning_rate=learning_rate, learning_rate_decay_a=learning_rate_decay_a,
        learning_rate_decay_b=learning_rate_decay_b,
        learning_rate_schedule=learning_rate_schedule, learning_rate_args=learning_rate_args,
        gradient_clipping_threshold=gradient_clipping_threshold,
        async_lagged_grad_discard_ratio=async_lagged_grad_discard_ratio)
    for obj in [learning_method, *regs] + ([model_average] if model_average else []):
        values.update(obj.to_setting_kwargs())
        obj.extra_settings(ctx)
    if gradient_clipping_threshold:
        ctx.param_defaults["gradient_clipping_threshold"] = gradient_clipping_threshold
    ctx.opt_values = values
    ctx.settings_called = True


def opt_config_of(ctx: ParseContext) -> OptimizationConfig:
    """The OptimizationConfig a context ends with (DEFAULT_SETTING when settings() never ran);
    values that are None are not written, and numbers keep their Python type, as in Paddle."""
    values = ctx.opt_values if ctx.settings_called else dict(DEFAULT_SETTINGS)
    return OptimizationConfig(**{k: v for k, v in values.items() if v is not None})


__all__ = [
    "AdaDeltaOptimizer", "AdaGradOptimizer", "AdamOptimizer", "AdamaxOptimizer",
    "BaseRegularization", "BaseSGDOptimizer", "DecayedAdaGradOptimizer", "L2Regularization",
    "ModelAverage", "MomentumOptimizer", "RMSPropOptimizer", "settings",
]
