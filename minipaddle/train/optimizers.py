"""Paddle v1's parameter updates: learning methods, schedules, clipping, L1/L2, ModelAverage.

:class:`ParameterUpdater` turns an :class:`~minipaddle.config.OptimizationConfig` and the
network's :class:`~minipaddle.config.ParameterConfig` list into the per-batch update Paddle v1
applied (spec ``paddle_v1.md`` section 8b).  It follows the ``SgdThreadUpdater`` stack of the
v2 API (8b.1): every non-static parameter gets

    ModelAverage( Regularizer( GradientClipping( method ) ) )

where each wrapper is present only when its setting is on.  The methods are classes of
:mod:`.methods` and the schedules classes of :mod:`.schedules`, each found by name in its table
(``LEARNING_METHODS``, ``SCHEDULES``).  Per batch the trainer calls::

    updater.start_batch(batch_size)      # n += batch_size; lr = schedule(n or pass)
    updater.update(values, grads)        # clip -> method step -> L1/L2 -> SUM1 += w
    updater.finish_batch()               # t += 1; ModelAverage window roll
    ...
    updater.finish_pass()                # pass += 1; ModelAverage window limits

Gradients are **sums** over the batch (Paddle's convention, 8b.8): for momentum SGD the
mean-loss learning rate is ``learning_rate * batch_size``, while the adaptive methods are nearly
invariant to the gradient's scale.

Methods (``opt_config.learning_method``), with w the parameter, g its (clipped) gradient,
lr the scheduled global rate, lr_eff = lr * ParameterConfig.learning_rate, mu the parameter's
momentum, lambda2 its decay_rate, t the 1-based batch index:

* ``momentum`` / ``sparse_momentum`` (dense parameters: exactly momentum) / ``torch_momentum``
  (lr_eff * (1 - mu) from the second batch on): heavy-ball tail with r = 1.
* ``adagrad``: G += g^2; r = 1/sqrt(G_old + G + eps); G_old += G, G = 0 after every 16384th batch.
* ``decayed_adagrad``: E = rho E + (1 - rho) g^2 (first batch of training: E = rho E + g^2);
  r = 1/sqrt(E + eps).
* ``rmsprop`` (centred): M like E above (first batch M = g^2); F = rho F + (1 - rho) g;
  r = 1/sqrt(M - F^2 + eps).
* ``adadelta``: Eg = rho Eg + (1 - rho) g^2; r = sqrt((Edx + eps)/(Eg + eps));
  Edx = rho Edx + (1 - rho) (r g)^2; the step is multiplied by lr.
* heavy-ball tail of the four above: v = mu v - lr_eff r (g + lambda2 w); w += v.
* ``adam``: g' = g + lambda2 w; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
  alpha_t = lr_eff sqrt(1 - b2^t)/(1 - b1^t); w -= alpha_t m/(sqrt(v) + eps) (eps outside the
  square root of the *uncorrected* v, eps = adam_epsilon).
* ``adamax``: g' as Adam; m = b1 m + (1 - b1) g'; u = max(b2 u, |g'|);
  w -= lr_eff/(1 - b1^t) m/u, with a zero step where u == 0.

Adam and Adamax have no heavy-ball coefficient, so the parameter's ``momentum`` (mu) is unused
by them; a parameter with momentum != 0 is refused with those methods rather than ignored.

Gradient clipping (8b.5): threshold = the parameter's gradient_clipping_threshold when > 0, else
opt_config.gradient_clipping_threshold; when max|g| > threshold every element is clipped to
[-threshold, threshold] *before* the method, so clipped values feed every accumulator; the L2
term is never clipped.  L1 (decay_rate_l1 > 0, 8b.4): the method runs without its L2 term,
then w = sign(w) max(|w| - c1, 0) with c1 = lr lr_p lambda1, then (if lambda2 > 0)
w /= 1 + lr lr_p lambda2; both coefficients are multiplied element-wise by r for adagrad,
decayed_adagrad, rmsprop and adadelta.  L1 with momentum != 0 is refused (Paddle CHECKs).

Schedules (8b.3), n = samples processed *including* the current batch, p = finished passes,
a/b = learning_rate_decay_a/b, lr0 = learning_rate: constant lr0; poly lr0 (1 + a n)^-b;
caffe_poly lr0 (1 - n/a)^b while n <= a, else 0; exp lr0 a^(n/b); discexp lr0 a^floor(n/b);
linear max(lr0 - a n, b); manual / pass_manual: learning_rate_args "s0:r0,s1:r1,..." gives
lr0 r_i for the first i with n (or p) <= s_i, the last rate past the last boundary.

ModelAverage (8b.6), on when average_window > 0: SUM1 += w after every update, SUM2 += SUM1 and
SUM1 = 0 every 16384 batches, and the window rolls (SUM3 = SUM1 + SUM2, SUM1 = SUM2 = 0,
oldNumAccumulates = numAccumulates, numAccumulates = 0) when numAccumulates >= minWindow and
numAccumulates >= min(maxWindow, int(numUpdates * average_window)) (the product is converted to
an integer by truncation, as Paddle's ``std::min<int64_t>`` does); minWindow starts at
min(10000, max_average_window); at the end of a pass maxWindow becomes the number of batches of
that pass when max_average_window is unset, and minWindow = min(minWindow, numUpdates).
The average is (SUM1 + SUM2 + SUM3)/(numAccumulates + oldNumAccumulates).

Differences from Paddle v1
--------------------------
1. Gradient clipping and L1 follow the v2 API's ``SgdThreadUpdater``.  ``paddle_trainer``'s
   dense local updater (``SgdLocalUpdater``) silently ignored gradient_clipping_threshold
   (global and per parameter) and aborted on any decay_rate_l1 > 0.
2. AdaGrad, Adam and Adamax follow the learning-rate schedule (learning_rate_schedule,
   learning_rate_decay_a/b, learning_rate_args).  Paddle used the constant
   opt_config.learning_rate for them and silently ignored the schedule settings.  With the
   default schedule (poly with a = b = 0, or constant) nothing changes.
3. Consequently the L1/L2 regularizer's rate for AdaGrad, Adam and Adamax is the scheduled lr
   (Paddle: the constant learning_rate).
4. Adam and Adamax apply the L2 decay_rate as the coupled term g + lambda2 w before the moments
   (like every other method's "+ lambda2 w"; the term is not clipped).  Paddle silently ignored
   L2Regularization / decay_rate with them (when decay_rate_l1 = 0; with L1 on, both Paddle
   and minipaddle apply L2 as the post-step shrink w /= 1 + lr lr_p lambda2).
5. Adamax takes a zero step where u == 0 (the gradient has been exactly 0 on every step so
   far).  Paddle computed 0/0 there and wrote NaN into the parameter.
6. Refused with a ConfigError instead of silently ignored or crashing: momentum != 0 with Adam
   or Adamax (Paddle ignored mu); num_batches_regularization > 1 (delayed regularisation);
   sparse parameters (is_sparse, sparse_update, sparse_remote_update: rows are not updated
   lazily here); algorithm 'owlqn'; unknown methods and schedules; schedules that give lr = 0
   from the first batch because of default arguments (exp or discexp with
   learning_rate_decay_a <= 0 or learning_rate_decay_b = 0, caffe_poly with
   learning_rate_decay_a <= 0, manual / pass_manual with empty learning_rate_args); malformed,
   non-integer, negative or non-increasing manual boundaries (Paddle's parser CHECK-failed on
   some and walked a non-increasing table in an order-dependent way).
7. A parameter that gets no gradient in a batch (missing from ``grads``) is not stepped: its
   momentum, moments and decay stay as they are.  Paddle stepped every non-static parameter
   every batch, with a zero gradient if no layer produced one.  ModelAverage still accumulates
   its (unchanged) value, so averages stay consistent.
8. All optimizer state (every buffer, the sample counter n, the batch counter t, the pass
   counter p, the ModelAverage sums and counters) is part of :meth:`ParameterUpdater.state_dict`,
   so a resumed run continues bit for bit.  Paddle saved parameter values only and reset all of
   that on --start_pass / --init_model_path.
9. Scalars (lr, schedule, bias corrections, thresholds) are Python floats (double precision);
   Paddle computed them in ``real`` (float32).  Array arithmetic runs in the parameters' dtype.
   The average is (SUM1 + SUM2 + SUM3)/count; Paddle computed s SUM1 + s SUM2 + s SUM3 with
   s = 1/count.  These differ by rounding only.
10. ModelAverage stays on whatever num_batches_per_send_parameter says (Paddle switched it off
    when that pserver setting was > 1), and a pass with no batches leaves the window limits as
    they are (Paddle CHECK-failed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import numpy as np

from minipaddle.config import ConfigError, OptimizationConfig, ParameterConfig
from minipaddle.kernels.clamp import relu_in_place

from minipaddle.runtime.backend import to_host
from minipaddle.train.methods import LEARNING_METHODS, LearningMethod
from minipaddle.train.schedules import SCHEDULES, make_schedule, parse_learning_rate_args

__all__ = ["LEARNING_METHODS", "SCHEDULES", "ParameterUpdater", "parse_learning_rate_args"]

_SGD_ALGORITHMS = ("sgd", "async_sgd")

#: ModelAverage's buffers.
_AVERAGE_BUFFERS = ("SUM1", "SUM2", "SUM3")

#: scalar state: name -> numpy dtype of its 0-d array.
_SCALARS = {"n": np.int64, "t": np.int64, "pass": np.int64, "lr": np.float64}
_AVERAGE_SCALARS = ("average/num_updates", "average/prev_num_updates",
                    "average/num_accumulates", "average/old_num_accumulates",
                    "average/min_window", "average/max_window")
#: scalar state key -> the ParameterUpdater attribute holding it
_SCALAR_ATTRS = {"n": "_n", "t": "_t", "pass": "_pass", "lr": "_lr",
                 **{key: "_" + key.split("/")[1] for key in _AVERAGE_SCALARS}}


# ---------------------------------------------------------------------------------------------
# Per-parameter state


class _Param:
    """One managed parameter: its settings, state buffers and scratch space."""

    __slots__ = ("name", "shape", "lr_p", "mu", "l2", "l1", "clip", "buffers", "g", "work",
                 "r", "mask", "sums")

    def __init__(self, cfg: ParameterConfig, shape: tuple[int, ...], method: LearningMethod,
                 dtype: np.dtype, average: bool, global_clip: float, xp: Any = np):
        self.name = cfg.name
        self.shape = shape
        self.lr_p = float(cfg.get("learning_rate"))
        self.mu = float(cfg.get("momentum"))
        self.l2 = float(cfg.get("decay_rate"))
        self.l1 = float(cfg.get("decay_rate_l1"))
        local = float(cfg.get("gradient_clipping_threshold"))
        self.clip = local if local > 0 else global_clip
        self.buffers = {b: xp.zeros(shape, dtype) for b in method.buffers}
        self.sums = {b: xp.zeros(shape, dtype) for b in _AVERAGE_BUFFERS} if average else {}
        self.g = xp.empty(shape, dtype)        # gradient in our dtype, clipped, + lambda2 w
        self.work = xp.empty(shape, dtype)     # scratch
        self.r = xp.empty(shape, dtype) if method.element_rate else None
        self.mask = xp.empty(shape, bool) if method.needs_mask else None


def _check_parameter(cfg: ParameterConfig, method: LearningMethod) -> None:
    name = cfg.name
    mu = float(cfg.get("momentum"))
    for flag in ("is_sparse", "sparse_update", "sparse_remote_update"):
        if cfg.get(flag):
            raise ConfigError(f"parameter {name!r}: {flag}=True is not supported (minipaddle "
                              "updates every parameter densely); remove it",
                              argument=flag)
    nbr = cfg.get("num_batches_regularization")
    if nbr is not None and int(nbr) > 1:
        raise ConfigError(f"parameter {name!r}: num_batches_regularization={nbr} (delayed "
                          "regularisation) is not supported; set it to 1",
                          argument="num_batches_regularization")
    if float(cfg.get("decay_rate_l1")) > 0 and mu != 0:
        raise ConfigError(f"parameter {name!r}: L1 regularisation (decay_rate_l1="
                          f"{cfg.get('decay_rate_l1')}) cannot be combined with momentum={mu} "
                          "(Paddle refuses it too); set momentum to 0 or drop l1_rate",
                          argument="momentum")
    if not method.heavy_ball and mu != 0:
        raise ConfigError(f"parameter {name!r}: momentum={mu} would be ignored by "
                          f"learning_method {method.name!r}, which has no heavy-ball momentum (it "
                          "uses adam_beta1 instead); remove the momentum setting (the global "
                          "MomentumOptimizer(momentum=...) default or ParamAttr(momentum=...))",
                          argument="momentum")


def _learning_method(opt: OptimizationConfig, xp: Any) -> LearningMethod:
    """The learning method ``opt`` asks for (an SGD algorithm), or a ConfigError."""
    algorithm = opt.get("algorithm")
    if algorithm not in _SGD_ALGORITHMS:
        extra = " (OWL-QN, a quasi-Newton batch method)" if algorithm == "owlqn" else ""
        raise ConfigError(f"opt_config.algorithm={algorithm!r}{extra} is not supported; "
                          f"minipaddle trains with {' or '.join(map(repr, _SGD_ALGORITHMS))} "
                          "(settings(learning_method=...) with an SGD-family method)",
                          argument="algorithm")
    method = opt.get("learning_method")
    if method not in LEARNING_METHODS:
        raise ConfigError(f"opt_config.learning_method={method!r} is not supported; known "
                          f"methods: {', '.join(LEARNING_METHODS)}",
                          argument="learning_method")
    return LEARNING_METHODS[method](opt, xp)


def _managed_parameters(parameters: list[ParameterConfig], shapes: Mapping[str, tuple],
                        method: LearningMethod) -> list[ParameterConfig]:
    """The non-static parameters, checked: listed once, with a shape of their size, settings
    the updater supports."""
    managed = [p for p in parameters if not p.get("is_static")]
    names = [p.name for p in parameters]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"parameters listed more than once: {', '.join(dup)}")
    missing = [p.name for p in managed if p.name not in shapes]
    if missing:
        raise ConfigError(f"no shape given for parameters: {', '.join(missing)}")
    wrong = []
    for p in managed:
        shape = tuple(int(d) for d in shapes[p.name])
        if int(np.prod(shape, dtype=np.int64)) != int(p.size):
            wrong.append(f"{p.name} (size {p.size}, shape {shape})")
    if wrong:
        raise ConfigError(f"parameter shapes do not match their sizes: {', '.join(wrong)}")
    for p in managed:
        _check_parameter(p, method)
    return managed


def _clipped(xp: Any, st: _Param, g: Any, dtype: np.dtype) -> Any:
    """The gradient in ``dtype``, clipped element-wise when max|g| > threshold (8b.5); it is
    ``st.g`` when it had to be converted or clipped."""
    if g.dtype != dtype:
        xp.copyto(st.g, g, casting="same_kind")
        g = st.g
    thr = st.clip
    if thr > 0 and g.size:
        gmax = max(float(g.max()), -float(g.min()))
        if gmax > thr:
            xp.clip(g, -thr, thr, out=st.g)
            g = st.g
    return g


def _l1_then_l2(xp: Any, st: _Param, w: Any, lr: float) -> None:
    """L1 soft threshold, then multiplicative L2 (8b.4); both scaled element-wise by the
    method's rate r where it keeps one."""
    gbuf, work, r = st.g, st.work, st.r
    c1 = lr * st.lr_p * st.l1
    xp.abs(w, out=work)
    if r is not None:
        xp.multiply(r, c1, out=gbuf)
        work -= gbuf
    else:
        work -= c1
    relu_in_place(xp, work)                    # max(work, 0): kernels/clamp.py says why
    xp.copysign(work, w, out=w)
    if st.l2 > 0:
        c2 = lr * st.lr_p * st.l2
        if r is not None:
            xp.multiply(r, c2, out=gbuf)
            gbuf += 1.0
            w /= gbuf
        else:
            w /= 1.0 + c2


def _state_mismatch(buffers: Mapping[str, Any], scalars: list[str],
                    state: Mapping[str, np.ndarray]) -> list[str]:
    """What keeps ``state`` from loading into these buffers and scalars (empty: nothing)."""
    expected = set(buffers) | set(scalars)
    missing = sorted(expected - set(state))
    extra = sorted(set(state) - expected)
    bad = []
    for key, arr in buffers.items():
        if key in state and tuple(np.shape(state[key])) != arr.shape:
            bad.append(f"{key} (expected {arr.shape}, got {tuple(np.shape(state[key]))})")
    for key in scalars:
        if key in state and np.shape(state[key]) != ():
            bad.append(f"{key} (expected a scalar, got shape {tuple(np.shape(state[key]))})")
    parts = []
    if missing:
        parts.append(f"missing keys: {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected keys: {', '.join(extra)}")
    if bad:
        parts.append(f"wrong shapes: {', '.join(bad)}")
    return parts


# ---------------------------------------------------------------------------------------------
# The updater


class ParameterUpdater:
    """Paddle v1's per-parameter optimizer stack for the non-static parameters.

    ``values`` handed to :meth:`update` are the live parameter arrays (updated in place, dtype
    kept); ``grads`` are the gradients summed over the batch.  Call :meth:`update` exactly once
    per batch, between :meth:`start_batch` and :meth:`finish_batch`.

    ``xp`` is the array module of the values, gradients and state buffers (NumPy, or CuPy for
    a GPU network): the arithmetic calls its functions, so both run the same rules.
    :meth:`state_dict` returns host (NumPy) copies either way.
    """

    #: batches between AdaGrad's G -> G_old spill and ModelAverage's SUM1 -> SUM2 spill.
    ADAGRAD_SPILL = 16384
    AVERAGE_SPILL = 16384

    def __init__(self, opt_config: OptimizationConfig, parameters: list[ParameterConfig],
                 shapes: Mapping[str, tuple[int, ...]], dtype: Any = np.float32,
                 xp: Any = np):
        opt = opt_config
        self.xp = xp
        self._method: LearningMethod = _learning_method(opt, xp)
        self.method: str = self._method.name
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating type, got {self.dtype}")
        self._schedule = make_schedule(opt)
        global_clip = float(opt.get("gradient_clipping_threshold") or 0.0)

        self._average_window = float(opt.get("average_window") or 0.0)
        self._average = self._average_window > 0
        self._max_window_set = opt.max_average_window is not None
        max_window = int(opt.get("max_average_window"))

        managed = _managed_parameters(parameters, shapes, self._method)
        self._static = frozenset(p.name for p in parameters if p.get("is_static"))
        self._params: dict[str, _Param] = {
            p.name: _Param(p, tuple(int(d) for d in shapes[p.name]), self._method, self.dtype,
                           self._average, global_clip, xp)
            for p in managed}

        # counters
        self._n = 0            # samples processed, including the current batch
        self._t = 0            # finished batches
        self._pass = 0         # finished passes
        self._lr = self._schedule(0, 0)
        self._num_updates = 0
        self._prev_num_updates = 0
        self._num_accumulates = 0
        self._old_num_accumulates = 0
        self._min_window = min(10000, max_window)
        self._max_window = max_window

    # -- the per-batch protocol --------------------------------------------------------------

    def start_pass(self) -> None:
        """Nothing to do (Paddle's startPass is a no-op for these optimizers)."""

    def start_batch(self, batch_size: int) -> None:
        """n += batch_size, then lr = schedule(n, pass); ModelAverage counts the batch."""
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._n += batch_size
        self._lr = float(self._schedule(self._n, self._pass))
        if self._average:
            self._num_updates += 1
            self._num_accumulates += 1

    def update(self, values: Mapping[str, np.ndarray],
               grads: Mapping[str, np.ndarray]) -> None:
        """One step for every managed parameter that has a gradient; in place on ``values``."""
        params = self._params
        unknown = [k for k in grads if k not in params and k not in self._static]
        if unknown:
            raise ValueError(f"gradients for unknown parameters: {', '.join(unknown)}")
        need = params if self._average else [k for k in params if k in grads]
        missing = [k for k in need if k not in values]
        if missing:
            raise ValueError(f"values lack parameters: {', '.join(missing)}")
        step = self._t + 1                 # 1-based index of this batch
        for name, st in params.items():
            if name in grads:
                w = values[name]
                g = grads[name]
                if tuple(w.shape) != st.shape or tuple(g.shape) != st.shape:
                    raise ValueError(f"parameter {name!r}: value shape {tuple(w.shape)} and "
                                     f"gradient shape {tuple(g.shape)}, expected {st.shape}")
                if w.dtype != self.dtype:
                    raise ValueError(f"parameter {name!r} has dtype {w.dtype}, the updater "
                                     f"works in {self.dtype}")
                self._step(st, w, g, step)
            if step % self.ADAGRAD_SPILL == 0:
                self._method.spill(st)
            if self._average:
                self._accumulate(st, values[name])

    def step(self, batch_size: int, values: Mapping[str, np.ndarray],
             grads: Mapping[str, np.ndarray]) -> None:
        """One batch's update: :meth:`start_batch`, :meth:`update`, :meth:`finish_batch`
        (``values`` may hold the static parameters too: they are left as they are)."""
        self.start_batch(batch_size)
        self.update(values, grads)
        self.finish_batch()

    def finish_batch(self) -> None:
        """t += 1; ModelAverage starts a new window when the current one is long enough."""
        self._t += 1
        if self._average and self._window_too_long():
            self._old_num_accumulates = self._num_accumulates
            self._num_accumulates = 0

    def finish_pass(self) -> None:
        """pass += 1; ModelAverage's window limits follow the pass just finished."""
        self._pass += 1
        if self._average:
            if not self._max_window_set and self._num_updates > self._prev_num_updates:
                self._max_window = self._num_updates - self._prev_num_updates
                self._prev_num_updates = self._num_updates
            self._min_window = min(self._min_window, self._num_updates)

    @property
    def learning_rate(self) -> float:
        """The global learning rate in force (the schedule at the last start_batch)."""
        return self._lr

    @property
    def parameter_names(self) -> list[str]:
        """The managed (non-static) parameters, in config order."""
        return list(self._params)

    # -- ModelAverage ------------------------------------------------------------------------

    def _window_too_long(self) -> bool:
        acc = self._num_accumulates
        return (acc >= self._min_window and
                acc >= min(self._max_window, int(self._num_updates * self._average_window)))

    def _accumulate(self, st: _Param, w: np.ndarray) -> None:
        s1, s2, s3 = st.sums["SUM1"], st.sums["SUM2"], st.sums["SUM3"]
        s1 += w
        if self._num_updates % self.AVERAGE_SPILL == 0:
            s2 += s1
            s1.fill(0)
        if self._window_too_long():
            self.xp.add(s1, s2, out=s3)
            s1.fill(0)
            s2.fill(0)

    def averaged_values(self, values: Mapping[str, np.ndarray]
                        ) -> Optional[dict[str, np.ndarray]]:
        """ModelAverage's weights as new arrays, or None when ModelAverage is off.

        Managed parameters get (SUM1 + SUM2 + SUM3)/(numAccumulates + oldNumAccumulates), or a
        copy of their value before anything was accumulated; every other entry of ``values``
        (static parameters) is copied unchanged, so the result replaces ``values`` whole.
        """
        if not self._average:
            return None
        missing = [k for k in self._params if k not in values]
        if missing:
            raise ValueError(f"values lack parameters: {', '.join(missing)}")
        count = self._num_accumulates + self._old_num_accumulates
        out: dict[str, np.ndarray] = {}
        for name, arr in values.items():
            st = self._params.get(name)
            if st is None or count == 0:
                out[name] = arr.copy()
                continue
            avg = st.sums["SUM1"] + st.sums["SUM2"]
            avg += st.sums["SUM3"]
            avg /= count
            out[name] = avg
        return out

    # -- one parameter's step ----------------------------------------------------------------

    def _step(self, st: _Param, w: np.ndarray, g: np.ndarray, step: int) -> None:
        """Clip, the method (without its L2 term when the L1 regularizer owns decay), L1."""
        g = _clipped(self.xp, st, g, self.dtype)
        l1_on = st.l1 > 0
        self._method.step(st, w, g, self._lr * st.lr_p, 0.0 if l1_on else st.l2, step)
        if l1_on:
            _l1_then_l2(self.xp, st, w, self._lr)

    # -- checkpoints -------------------------------------------------------------------------

    def _scalar_keys(self) -> list[str]:
        return list(_SCALARS) + (list(_AVERAGE_SCALARS) if self._average else [])

    def _buffer_items(self):
        for name, st in self._params.items():
            for b, arr in st.buffers.items():
                yield f"{name}/{b}", arr
            for b, arr in st.sums.items():
                yield f"{name}/{b}", arr

    def state_dict(self) -> dict[str, np.ndarray]:
        """Host (NumPy) copies of every buffer ("param/buffer") and the counters (0-d
        arrays)."""
        state = {key: np.array(to_host(arr)) for key, arr in self._buffer_items()}
        for key in self._scalar_keys():
            dtype = _SCALARS.get(key, np.int64)
            state[key] = np.array(getattr(self, _SCALAR_ATTRS[key]), dtype=dtype)
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """The exact inverse of :meth:`state_dict`; mismatches are one ConfigError."""
        buffers = dict(self._buffer_items())
        scalars = self._scalar_keys()
        parts = _state_mismatch(buffers, scalars, state)
        if parts:
            raise ConfigError(f"optimizer state does not match this updater "
                              f"({self.method}): " + "; ".join(parts))
        for key, arr in buffers.items():
            self.xp.copyto(arr, self.xp.asarray(state[key]), casting="same_kind")
        for key in scalars:
            value = np.asarray(state[key])
            setattr(self, _SCALAR_ATTRS[key], float(value) if key == "lr" else int(value))

