"""Paddle v1's learning-rate schedules (spec ``paddle_v1.md`` 8b.3), one class per schedule.

:data:`SCHEDULES` maps ``opt_config.learning_rate_schedule`` to its class; :func:`make_schedule`
reads an :class:`~minipaddle.config.OptimizationConfig`, checks the arguments once and returns
the schedule, a callable ``lr(n, pass_index)`` (n = samples processed including the current
batch; a/b = learning_rate_decay_a/b; lr0 = learning_rate).  The formulas and the refusals are
listed in :mod:`minipaddle.train.optimizers`' docstring.  A new schedule is one class here and
one entry in the table.
"""

from __future__ import annotations

import math

from minipaddle.config import ConfigError, OptimizationConfig

__all__ = ["SCHEDULES", "Schedule", "make_schedule", "parse_learning_rate_args"]


def parse_learning_rate_args(args: str, schedule: str) -> list[tuple[int, float]]:
    """``"s0:r0,s1:r1,..."`` -> [(s0, r0), ...]; boundaries non-negative, strictly increasing
    integers; a ConfigError naming learning_rate_args otherwise."""

    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"opt_config.learning_rate_args={args!r} is malformed for schedule {schedule!r}: "
            f"{why}; expected 'boundary:rate,...' with strictly increasing integer "
            "boundaries, e.g. '10000:1.0,20000:0.5,30000:0.1'", argument="learning_rate_args")

    if not args or not args.strip():
        raise ConfigError(
            f"learning_rate_schedule={schedule!r} needs opt_config.learning_rate_args "
            "('boundary:rate,...', e.g. '10000:1.0,20000:0.5'); it is empty, which gives no "
            "learning rate at all", argument="learning_rate_args")
    table: list[tuple[int, float]] = []
    for piece in args.split(","):
        piece = piece.strip()
        if ":" not in piece:
            raise bad(f"piece {piece!r} has no ':'")
        left, right = (s.strip() for s in piece.split(":", 1))
        try:
            boundary = int(left)
        except ValueError:
            raise bad(f"boundary {left!r} is not an integer") from None
        try:
            rate = float(right)
        except ValueError:
            raise bad(f"rate {right!r} is not a number") from None
        if boundary < 0:
            raise bad(f"boundary {boundary} is negative")
        if not math.isfinite(rate):
            raise bad(f"rate {right!r} is not finite")
        if table and boundary <= table[-1][0]:
            raise bad(f"boundary {boundary} does not exceed the previous one, {table[-1][0]}")
        table.append((boundary, rate))
    return table


class Schedule:
    """lr(n, pass_index) of one schedule; the constructor checks its arguments."""

    name = "constant"

    def __init__(self, lr0: float, a: float, b: float, opt: OptimizationConfig):
        self.lr0, self.a, self.b = lr0, a, b

    def __call__(self, n: int, pass_index: int) -> float:
        return self.lr0


class _Poly(Schedule):
    """lr0 (1 + a n)^-b."""

    name = "poly"

    def __init__(self, lr0: float, a: float, b: float, opt: OptimizationConfig):
        super().__init__(lr0, a, b, opt)
        if a < 0:
            raise ConfigError(f"learning_rate_schedule 'poly' needs learning_rate_decay_a >= 0 "
                              f"(lr0*(1+a*n)^-b); got {a}", argument="learning_rate_decay_a")

    def __call__(self, n: int, pass_index: int) -> float:
        return self.lr0 * math.pow(1.0 + self.a * n, -self.b)


class _CaffePoly(Schedule):
    """lr0 (1 - n/a)^b while n <= a, else 0."""

    name = "caffe_poly"

    def __init__(self, lr0: float, a: float, b: float, opt: OptimizationConfig):
        super().__init__(lr0, a, b, opt)
        if a <= 0:
            raise ConfigError(
                f"learning_rate_schedule 'caffe_poly' (lr0*(1-n/a)^b, 0 once n > a) needs "
                f"learning_rate_decay_a > 0, the number of samples after which lr reaches 0; "
                f"got {a}, which gives lr = 0 from the first batch. Set "
                "learning_rate_decay_a (horizon in samples) and learning_rate_decay_b "
                "(power)", argument="learning_rate_decay_a")

    def __call__(self, n: int, pass_index: int) -> float:
        if n > self.a:
            return 0.0
        return self.lr0 * math.pow(1.0 - n / self.a, self.b)


class _Exp(Schedule):
    """lr0 a^(n/b)."""

    name = "exp"
    formula = "lr0*a^(n/b)"

    def __init__(self, lr0: float, a: float, b: float, opt: OptimizationConfig):
        super().__init__(lr0, a, b, opt)
        if a <= 0 or b == 0:
            raise ConfigError(
                f"learning_rate_schedule {self.name!r} ({self.formula}) needs "
                f"learning_rate_decay_a > 0 (the decay factor) and learning_rate_decay_b != 0 "
                f"(samples per decay); got a={a}, b={b}, which gives lr = 0 (or no number) "
                "from the start. Set learning_rate_decay_a and learning_rate_decay_b",
                argument="learning_rate_decay_a" if a <= 0 else "learning_rate_decay_b")

    def __call__(self, n: int, pass_index: int) -> float:
        return self.lr0 * math.pow(self.a, n / self.b)


class _DiscExp(_Exp):
    """lr0 a^floor(n/b)."""

    name = "discexp"
    formula = "lr0*a^floor(n/b)"

    def __call__(self, n: int, pass_index: int) -> float:
        return self.lr0 * math.pow(self.a, math.floor(n / self.b))


class _Linear(Schedule):
    """max(lr0 - a n, b)."""

    name = "linear"

    def __call__(self, n: int, pass_index: int) -> float:
        return max(self.lr0 - self.a * n, self.b)


class _Manual(Schedule):
    """lr0 r_i for the first boundary s_i >= n of learning_rate_args, the last rate past the
    last boundary."""

    name = "manual"

    def __init__(self, lr0: float, a: float, b: float, opt: OptimizationConfig):
        super().__init__(lr0, a, b, opt)
        self.table = parse_learning_rate_args(opt.get("learning_rate_args") or "", self.name)

    def key(self, n: int, pass_index: int) -> int:
        return n

    def __call__(self, n: int, pass_index: int) -> float:
        key = self.key(n, pass_index)
        for boundary, rate in self.table:
            if key <= boundary:
                return self.lr0 * rate
        return self.lr0 * self.table[-1][1]


class _PassManual(_Manual):
    """As ``manual``, counting finished passes instead of samples."""

    name = "pass_manual"

    def key(self, n: int, pass_index: int) -> int:
        return pass_index


#: learning_rate_schedule -> its class
SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (Schedule, _Poly, _CaffePoly, _Exp, _DiscExp, _Linear, _Manual,
                              _PassManual)}


def make_schedule(opt: OptimizationConfig) -> Schedule:
    """The schedule ``opt`` asks for, its arguments checked (a ConfigError naming the
    argument otherwise)."""
    lr0 = opt.get("learning_rate")
    if lr0 is None:
        raise ConfigError("opt_config.learning_rate is not set (Paddle requires it; "
                          "settings(learning_rate=...) writes it)", argument="learning_rate")
    a = float(opt.get("learning_rate_decay_a"))
    b = float(opt.get("learning_rate_decay_b"))
    name = opt.get("learning_rate_schedule")
    if name not in SCHEDULES:
        raise ConfigError(f"opt_config.learning_rate_schedule={name!r} is not supported; "
                          f"known schedules: {', '.join(SCHEDULES)}",
                          argument="learning_rate_schedule")
    return SCHEDULES[name](float(lr0), a, b, opt)
