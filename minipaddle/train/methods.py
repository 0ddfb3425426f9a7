"""Paddle v1's learning methods (spec ``paddle_v1.md`` 8b.2), one class per method.

:data:`LEARNING_METHODS` maps ``opt_config.learning_method`` to its class.  A method names the
state buffers it keeps per parameter and makes the step of one parameter; the
:class:`~minipaddle.train.optimizers.ParameterUpdater` around it casts and clips the gradient
before the step and applies L1 after it.  The formulas are listed in
:mod:`minipaddle.train.optimizers`' docstring.  A new method is one class here and one entry in
the table.

Every step works in place on the parameter's preallocated arrays (``st.work``, ``st.g``,
``st.r``, ``st.mask``) through the array module ``xp`` (NumPy or CuPy), in the parameters'
dtype; the order of the operations is the rounding, so it is kept as it is.
"""

from __future__ import annotations

import math
from typing import Any

from minipaddle.config import OptimizationConfig

__all__ = ["LEARNING_METHODS", "LearningMethod"]


class LearningMethod:
    """One learning method's per-parameter step.

    ``st`` is the parameter's state (``buffers``, ``work``, ``g``, ``r``, ``mask``, ``mu``),
    ``w`` its value, ``g`` its gradient (cast and clipped; it may be ``st.g``), ``lr_eff`` the
    scheduled rate times the parameter's own, ``l2`` the L2 coefficient the method adds (0 when
    the L1 regularizer owns decay), ``step`` the 1-based index of the batch."""

    name = ""
    #: the state buffers kept per parameter (zero-initialised)
    buffers: tuple[str, ...] = ()
    #: keeps Paddle's element-wise LEARNING_RATE buffer ``st.r`` (it scales L1/L2 too)
    element_rate = False
    #: needs the boolean scratch array ``st.mask``
    needs_mask = False
    #: uses the parameter's heavy-ball momentum (a momentum != 0 is refused otherwise)
    heavy_ball = True

    def __init__(self, opt: OptimizationConfig, xp: Any):
        self.xp = xp

    def step(self, st: Any, w: Any, g: Any, lr_eff: float, l2: float, step: int) -> None:
        raise NotImplementedError

    def spill(self, st: Any) -> None:
        """Every ``ParameterUpdater.ADAGRAD_SPILL`` batches (only AdaGrad keeps anything)."""


# ---------------------------------------------------------------------------------------------
# The heavy-ball family: v = mu v - lr_eff r (g + lambda2 w); w += v


class _Momentum(LearningMethod):
    """Momentum SGD (r = 1); ``sparse_momentum`` is exactly this for dense parameters."""

    name = "momentum"
    buffers: tuple[str, ...] = ("v",)

    def __init__(self, opt: OptimizationConfig, xp: Any):
        super().__init__(opt, xp)
        self.rho = float(opt.get("ada_rou"))
        self.eps = float(opt.get("ada_epsilon"))

    def rate(self, st: Any, g: Any, lr_eff: float, step: int) -> float:
        """Fill ``st.r`` (the methods with an element-wise rate) and return the step's
        lr_eff."""
        return lr_eff

    def step(self, st: Any, w: Any, g: Any, lr_eff: float, l2: float, step: int) -> None:
        xp, work, r = self.xp, st.work, st.r
        lr_eff = self.rate(st, g, lr_eff, step)
        v = st.buffers["v"]
        if l2 != 0.0:
            xp.multiply(w, l2, out=work)
            work += g
        else:
            xp.copyto(work, g)
        if r is not None:
            work *= r
        work *= lr_eff
        v *= st.mu
        v -= work
        w += v

    def _reciprocal_sqrt(self, r: Any) -> None:
        """r = 1/sqrt(r + eps), in place."""
        xp = self.xp
        r += self.eps
        xp.sqrt(r, out=r)
        xp.divide(1.0, r, out=r)


class _SparseMomentum(_Momentum):
    name = "sparse_momentum"


class _TorchMomentum(_Momentum):
    """lr_eff (1 - mu) from the second batch on."""

    name = "torch_momentum"

    def rate(self, st: Any, g: Any, lr_eff: float, step: int) -> float:
        if step > 1:
            lr_eff *= 1.0 - st.mu
        return lr_eff


class _AdaGrad(_Momentum):
    """G += g^2; r = 1/sqrt(G_old + G + eps); G_old += G, G = 0 at every spill."""

    name = "adagrad"
    buffers = ("v", "G_old", "G")
    element_rate = True

    def rate(self, st: Any, g: Any, lr_eff: float, step: int) -> float:
        xp, work, r, bufs = self.xp, st.work, st.r, st.buffers
        G = bufs["G"]
        xp.square(g, out=work)
        G += work
        xp.add(bufs["G_old"], G, out=r)
        self._reciprocal_sqrt(r)
        return lr_eff

    def spill(self, st: Any) -> None:
        G_old, G = st.buffers["G_old"], st.buffers["G"]
        G_old += G
        G.fill(0)


class _DecayedAdaGrad(_Momentum):
    """E = rho E + (1 - rho) g^2 (first batch: E = rho E + g^2); r = 1/sqrt(E + eps)."""

    name = "decayed_adagrad"
    buffers = ("v", "E")
    element_rate = True

    def _average_square(self, st: Any, acc: Any, g: Any, step: int) -> None:
        work = st.work
        acc *= self.rho
        self.xp.square(g, out=work)
        if step > 1:
            work *= 1.0 - self.rho
        acc += work

    def rate(self, st: Any, g: Any, lr_eff: float, step: int) -> float:
        E = st.buffers["E"]
        self._average_square(st, E, g, step)
        self.xp.copyto(st.r, E)
        self._reciprocal_sqrt(st.r)
        return lr_eff


class _RMSProp(_DecayedAdaGrad):
    """Centred: M like E above; F = rho F + (1 - rho) g; r = 1/sqrt(M - F^2 + eps)."""

    name = "rmsprop"
    buffers = ("v", "M", "F")

    def rate(self, st: Any, g: Any, lr_eff: float, step: int) -> float:
        xp, work, r, rho = self.xp, st.work, st.r, self.rho
        M, F = st.buffers["M"], st.buffers["F"]
        self._average_square(st, M, g, step)
        F *= rho
        xp.multiply(g, 1.0 - rho, out=work)
        F += work
        xp.square(F, out=r)
        xp.subtract(M, r, out=r)
        self._reciprocal_sqrt(r)
        return lr_eff


class _AdaDelta(_Momentum):
    """Eg = rho Eg + (1 - rho) g^2; r = sqrt((Edx + eps)/(Eg + eps));
    Edx = rho Edx + (1 - rho) (r g)^2."""

    name = "adadelta"
    buffers = ("v", "Eg", "Edx")
    element_rate = True

    def rate(self, st: Any, g: Any, lr_eff: float, step: int) -> float:
        xp, work, r, rho, eps = self.xp, st.work, st.r, self.rho, self.eps
        Eg, Edx = st.buffers["Eg"], st.buffers["Edx"]
        Eg *= rho
        xp.square(g, out=work)
        work *= 1.0 - rho
        Eg += work
        xp.add(Edx, eps, out=r)
        xp.add(Eg, eps, out=work)
        xp.divide(r, work, out=r)
        xp.sqrt(r, out=r)
        xp.multiply(r, g, out=work)
        xp.square(work, out=work)
        work *= 1.0 - rho
        Edx *= rho
        Edx += work
        return lr_eff


# ---------------------------------------------------------------------------------------------
# Adam and Adamax: no heavy ball; coupled L2 g' = g + lambda2 w; m = b1 m + (1 - b1) g'


class _Adam(LearningMethod):
    """v = b2 v + (1 - b2) g'^2; w -= lr_eff sqrt(1 - b2^t)/(1 - b1^t) m/(sqrt(v) + eps)."""

    name = "adam"
    buffers: tuple[str, ...] = ("m", "v")
    heavy_ball = False

    def __init__(self, opt: OptimizationConfig, xp: Any):
        super().__init__(opt, xp)
        self.beta1 = float(opt.get("adam_beta1"))
        self.beta2 = float(opt.get("adam_beta2"))
        self.eps = float(opt.get("adam_epsilon"))

    def step(self, st: Any, w: Any, g: Any, lr_eff: float, l2: float, step: int) -> None:
        xp, work, gbuf = self.xp, st.work, st.g
        if l2 != 0.0:                       # coupled L2: g' = g + lambda2 w
            xp.multiply(w, l2, out=work)
            xp.add(work, g, out=gbuf)
            g = gbuf
        b1 = self.beta1
        m = st.buffers["m"]
        m *= b1
        xp.multiply(g, 1.0 - b1, out=work)
        m += work
        self.finish(st, w, g, m, lr_eff, step)

    def finish(self, st: Any, w: Any, g: Any, m: Any, lr_eff: float, step: int) -> None:
        """The second moment and the step, once the first moment ``m`` is updated."""
        xp, work, b2 = self.xp, st.work, self.beta2
        v = st.buffers["v"]
        v *= b2
        xp.square(g, out=work)
        work *= 1.0 - b2
        v += work
        alpha = lr_eff * math.sqrt(1.0 - b2 ** step) / (1.0 - self.beta1 ** step)
        xp.sqrt(v, out=work)
        work += self.eps
        xp.divide(m, work, out=work)
        work *= alpha
        w -= work


class _Adamax(_Adam):
    """u = max(b2 u, |g'|); w -= lr_eff/(1 - b1^t) m/u, a zero step where u == 0."""

    name = "adamax"
    buffers = ("m", "u")
    needs_mask = True

    def finish(self, st: Any, w: Any, g: Any, m: Any, lr_eff: float, step: int) -> None:
        xp, work, u, mask = self.xp, st.work, st.buffers["u"], st.mask
        u *= self.beta2
        xp.abs(g, out=work)
        xp.maximum(u, work, out=u)
        # m/u where u != 0, else 0 (there m is 0 too): no ``where=``, which CuPy's ufuncs
        # lack; u + (u == 0) is u exactly where it is not 0
        xp.equal(u, 0, out=mask)
        xp.add(u, mask, out=work)
        xp.divide(m, work, out=work)
        xp.logical_not(mask, out=mask)
        work *= mask
        work *= lr_eff / (1.0 - self.beta1 ** step)
        w -= work


#: learning_method -> its class
LEARNING_METHODS: dict[str, type[LearningMethod]] = {
    cls.name: cls for cls in (_Momentum, _SparseMomentum, _TorchMomentum, _AdaGrad,
                              _DecayedAdaGrad, _RMSProp, _AdaDelta, _Adam, _Adamax)}
