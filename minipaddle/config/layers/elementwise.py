"""Element-wise and vector layers of issue 16 (Paddle's ``slope_intercept``, ``scaling``,
...): their parameters and multiply-adds; the others take the defaults (a flat output of
``size``, no parameters)."""

from __future__ import annotations

from . import declare

# y = slope * x + intercept: config constants, no parameter
declare("slope_intercept")
# y[n] = w[n] * x[n]: input 0 is one weight per sample, input 1 the rows
declare("scaling")
