"""``paddle.optimizer``: v2's optimizers, which are v1 ``settings()`` with v2's rules.

* the learning rate defaults to 1e-3 and is used as given against the *summed* batch gradient
  (v2 forces ``batch_size=1``: no scaling by the batch size);
* ``Momentum(momentum=m)``, ``L2Regularization(rate=r)`` and ``gradient_clipping_threshold`` set
  the global parameter defaults, as v1's ``settings()``: layers built afterwards get them at
  once, and ``trainer.SGD`` copies them into every parameter whose value is still 0 (an
  explicit ``momentum=0`` / ``l2_rate=0`` included, as Paddle did);
* the update is Paddle's SgdThreadUpdater (clipping and L1 work), minipaddle's one updater.

Other keyword arguments are ``settings()``'s: ``learning_rate_decay_a/b``,
``learning_rate_schedule``, ``learning_rate_args``, ``regularization``, ``model_average``,
``gradient_clipping_threshold``, ``is_async``.
"""

from __future__ import annotations

from typing import Any, Optional

from ..config import ConfigError, OptimizationConfig
from ..dsl import optimizers as v1
from ..dsl.context import current, fresh_context
from ..dsl.optimizers import L2Regularization, ModelAverage, opt_config_of, settings
from ._names import missing_attribute

_UNSET = object()


class Optimizer:
    """Base of the v2 optimizers: ``opt_config`` is the OptimizationConfig they stand for."""

    def __init__(self, _method: Optional[v1.BaseSGDOptimizer] = None, **kwargs: Any):
        if "learning_method" in kwargs:
            raise TypeError(f"{type(self).__name__}: learning_method is given by the class; "
                            "choose another optimizer class instead")
        kwargs.pop("batch_size", None)              # ignored, as Paddle's v2 did
        with fresh_context() as ctx:
            ctx.param_defaults = {key: _UNSET for key in ctx.param_defaults}
            try:
                settings(batch_size=1, learning_method=_method, **kwargs)
            except ConfigError as err:
                raise ConfigError(str(err).replace("settings:", f"{type(self).__name__}:", 1)
                                  ) from None
            self.opt_config: OptimizationConfig = opt_config_of(ctx)
            chosen = {k: v for k, v in ctx.param_defaults.items() if v is not _UNSET}
        # like Paddle's settings(): these become the global defaults of parameters
        current().param_defaults.update(chosen)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.opt_config.get('learning_method')}, " \
               f"learning_rate={self.opt_config.learning_rate})"


class Momentum(Optimizer):
    def __init__(self, momentum: Optional[float] = None, sparse: bool = False, **kwargs: Any):
        super().__init__(_method=v1.MomentumOptimizer(momentum, sparse), **kwargs)


class Adam(Optimizer):
    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                 **kwargs: Any):
        super().__init__(_method=v1.AdamOptimizer(beta1, beta2, epsilon), **kwargs)


class Adamax(Optimizer):
    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, **kwargs: Any):
        super().__init__(_method=v1.AdamaxOptimizer(beta1, beta2), **kwargs)


class AdaGrad(Optimizer):
    def __init__(self, **kwargs: Any):
        super().__init__(_method=v1.AdaGradOptimizer(), **kwargs)


class DecayedAdaGrad(Optimizer):
    def __init__(self, rho: float = 0.95, epsilon: float = 1e-6, **kwargs: Any):
        super().__init__(_method=v1.DecayedAdaGradOptimizer(rho, epsilon), **kwargs)


class AdaDelta(Optimizer):
    def __init__(self, rho: float = 0.95, epsilon: float = 1e-6, **kwargs: Any):
        super().__init__(_method=v1.AdaDeltaOptimizer(rho, epsilon), **kwargs)


class RMSProp(Optimizer):
    def __init__(self, rho: float = 0.95, epsilon: float = 1e-6, **kwargs: Any):
        super().__init__(_method=v1.RMSPropOptimizer(rho, epsilon), **kwargs)


__all__ = ["AdaDelta", "AdaGrad", "Adam", "Adamax", "DecayedAdaGrad", "L2Regularization",
           "ModelAverage", "Momentum", "Optimizer", "RMSProp"]

__getattr__ = missing_attribute(__name__, __all__)
