"""Activations of Paddle v1 (spec section 5), with Paddle's clamps.

Each activation is a pair of pure functions::

    forward(x, xp=np) -> y
    backward(x, y, dy, xp=np) -> dx

where ``x`` is the pre-activation, ``y = forward(x)`` the output and ``dy`` the gradient with
respect to ``y``. Every function keeps the dtype of its inputs (float32 stays float32); only
Python scalar constants (NEP 50 "weak" scalars) are mixed into the arithmetic. Backward functions
assume their inputs lie in the activation's domain (positive for log, sqrt, reciprocal).

``ACTIVATIONS`` maps Paddle's serialized ``active_type`` strings to ``(forward, backward)``.
``ROW_WISE`` names those that act on each sample's values as one row (softmax).
``"sequence_softmax"`` is not supported (it needs sequence start positions) and is absent.

The identity forward and backward return their argument itself (no copy). The others never
write into their arguments; where a chain of steps would allocate several temporaries (sigmoid,
tanh, softmax and softsign forwards, the tanh, stanh and softsign backwards) the steps are
written over one fresh array, with the bits of the one-expression forms (a 0-d input then gives
a 0-d array). Tanh's and softmax's clamps are :func:`.clamp.clamp_into` (NumPy's ``minimum``/
``maximum`` with a scalar run a slow loop); ``clip`` with scalars is fast and stays.
"""

import numpy as np

from .clamp import clamp_into, relu_into

# Paddle's clamps (hl_cpu_functions / ActivationFunction.cpp)
SIGMOID_THRESHOLD_MIN = -40.0
SIGMOID_THRESHOLD_MAX = 13.0
EXP_MAX_INPUT = 40.0
SOFTRELU_THRESHOLD = 40.0
BRELU_MAX = 24.0
SOFTMAX_MIN_SHIFTED = -64.0
STANH_A = 1.7159
STANH_B = 2.0 / 3.0


def _array(xp, t):
    """``t``, the fresh result of a ufunc, as an array the next steps can write over (a 0-d
    input gives NumPy a scalar)."""
    return t if isinstance(t, xp.ndarray) else xp.asarray(t)


#: NumPy's temporary elision: ``a * t`` with a temporary ``t`` of this many bytes or more runs
#: as ``t *= a`` (numpy/_core/src/multiarray/temp_elide.c)
_ELIDE_BYTES = 256 * 1024


def _times_fresh(xp, a, t):
    """``a * t`` written over the fresh array ``t``, its operands in the order NumPy's own
    ``a * t`` on a temporary takes them (they differ only in which NaN a product of two NaNs
    keeps): ``t * a`` from :data:`_ELIDE_BYTES` on, ``a * t`` below."""
    if xp is np and t.nbytes >= _ELIDE_BYTES:
        return xp.multiply(t, a, out=t)
    return xp.multiply(a, t, out=t)


def _mask(cond, dy, xp):
    """``dy`` where ``cond`` holds, 0 elsewhere, in dy's dtype: ``dy * cond`` as Paddle
    computes it (a boolean factor keeps dy's dtype; several times faster than ``where``)."""
    return dy * cond


# --- identity / linear -------------------------------------------------------------------------

def identity_forward(x, xp=np):
    return x


def identity_backward(x, y, dy, xp=np):
    return dy


# --- sigmoid -----------------------------------------------------------------------------------

def sigmoid_forward(x, xp=np):
    # 1 / (1 + exp(-clip(x))), each step written over the clipped copy
    t = _array(xp, xp.clip(x, SIGMOID_THRESHOLD_MIN, SIGMOID_THRESHOLD_MAX))
    xp.negative(t, out=t)
    xp.exp(t, out=t)
    xp.add(1, t, out=t)
    return xp.divide(1, t, out=t)


def sigmoid_backward(x, y, dy, xp=np):
    return dy * y * (1 - y)


# --- tanh --------------------------------------------------------------------------------------

def tanh_forward(x, xp=np):
    # 2 / (1 + exp(min(-2x, 40))) - 1, each step written over -2x
    t = _array(xp, xp.multiply(-2, x))
    clamp_into(xp, t, t, hi=EXP_MAX_INPUT)
    xp.exp(t, out=t)
    xp.add(1, t, out=t)
    xp.divide(2, t, out=t)
    return xp.subtract(t, 1, out=t)


def tanh_backward(x, y, dy, xp=np):
    t = _array(xp, xp.multiply(y, y))           # dy * (1 - y * y)
    xp.subtract(1, t, out=t)
    return _times_fresh(xp, dy, t)


# --- stanh: a * tanh(b x) ----------------------------------------------------------------------

def stanh_forward(x, xp=np):
    # Paddle writes a*(2/(1+exp(-2bx)) - 1) without a clamp; a*tanh(bx) is the same function
    # without the overflow warning for large negative x.
    return STANH_A * xp.tanh(STANH_B * x)


def stanh_backward(x, y, dy, xp=np):
    a = _array(xp, xp.multiply(dy, STANH_B / STANH_A))   # dy * (b / a) * (a * a - y * y)
    t = _array(xp, xp.multiply(y, y))
    xp.subtract(STANH_A * STANH_A, t, out=t)
    return xp.multiply(a, t, out=a)


# --- relu / brelu ------------------------------------------------------------------------------

def relu_forward(x, xp=np):
    return relu_into(xp, x, xp.empty_like(x))   # max(x, 0): :mod:`.clamp` says why not directly


def relu_backward(x, y, dy, xp=np):
    return relu_grad(xp, y, dy)


def relu_grad(xp, y, dy, out=None):
    """``dy * (y > 0)`` (relu's gradient from its output ``y``: :func:`_mask`'s values, NaN
    and signed zeros alike), into ``out`` when given: the comparison written as 0/1 in dy's
    dtype, then multiplied in place (1.3-1.6x faster than multiplying by a boolean array,
    which is converted on the fly)."""
    out = xp.empty_like(dy) if out is None else out
    xp.greater(y, 0, out=out)
    out *= dy
    return out


def brelu_forward(x, xp=np):
    return xp.clip(x, 0, BRELU_MAX)


def brelu_backward(x, y, dy, xp=np):
    return _mask((y > 0) & (y < BRELU_MAX), dy, xp)


# --- softrelu: ln(1 + e^x) ---------------------------------------------------------------------

def softrelu_forward(x, xp=np):
    xc = xp.clip(x, -SOFTRELU_THRESHOLD, SOFTRELU_THRESHOLD)
    return xp.log1p(xp.exp(xc))


def softrelu_backward(x, y, dy, xp=np):
    # Paddle: dy * (1 - exp(-clip(y))); -expm1(-y) is the same value without cancellation.
    yc = xp.clip(y, -SOFTRELU_THRESHOLD, SOFTRELU_THRESHOLD)
    return dy * -xp.expm1(-yc)


# --- abs / square / exponential / log / sqrt / reciprocal / softsign ---------------------------

def abs_forward(x, xp=np):
    return xp.abs(x)


def abs_backward(x, y, dy, xp=np):
    return dy * xp.sign(x)


def square_forward(x, xp=np):
    return x * x


def square_backward(x, y, dy, xp=np):
    return 2 * x * dy


def exponential_forward(x, xp=np):
    return xp.exp(x)


def exponential_backward(x, y, dy, xp=np):
    return dy * y


def log_forward(x, xp=np):
    return xp.log(x)


def log_backward(x, y, dy, xp=np):
    return dy / x


def sqrt_forward(x, xp=np):
    return xp.sqrt(x)


def sqrt_backward(x, y, dy, xp=np):
    return 0.5 * dy / y


def reciprocal_forward(x, xp=np):
    return 1 / x


def reciprocal_backward(x, y, dy, xp=np):
    return -dy * y * y


def softsign_forward(x, xp=np):
    t = _array(xp, xp.abs(x))                   # x / (1 + |x|)
    xp.add(1, t, out=t)
    return xp.divide(x, t, out=t)


def softsign_backward(x, y, dy, xp=np):
    d = _array(xp, xp.abs(x))                   # dy / (d * d), d = 1 + |x|
    xp.add(1, d, out=d)
    xp.multiply(d, d, out=d)
    return xp.divide(dy, d, out=d)


# --- softmax (row-wise over the last axis) -----------------------------------------------------

def softmax_forward(x, xp=np):
    e = _array(xp, xp.subtract(x, xp.max(x, axis=-1, keepdims=True)))  # exp(max(., -64)) / sum
    clamp_into(xp, e, e, lo=SOFTMAX_MIN_SHIFTED)
    xp.exp(e, out=e)
    return xp.divide(e, xp.sum(e, axis=-1, keepdims=True), out=e)


def softmax_backward(x, y, dy, xp=np):
    return y * (dy - xp.sum(dy * y, axis=-1, keepdims=True))


#: activations that act on each sample's values as one row (the network hands them (N, size),
#: whatever the layer's natural shape); the others are elementwise
ROW_WISE = frozenset({"softmax"})

ACTIVATIONS = {
    "": (identity_forward, identity_backward),
    "linear": (identity_forward, identity_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "softmax": (softmax_forward, softmax_backward),
    "relu": (relu_forward, relu_backward),
    "brelu": (brelu_forward, brelu_backward),
    "softrelu": (softrelu_forward, softrelu_backward),
    "stanh": (stanh_forward, stanh_backward),
    "abs": (abs_forward, abs_backward),
    "square": (square_forward, square_backward),
    "exponential": (exponential_forward, exponential_backward),
    "log": (log_forward, log_backward),
    "sqrt": (sqrt_forward, sqrt_backward),
    "reciprocal": (reciprocal_forward, reciprocal_backward),
    "softsign": (softsign_forward, softsign_backward),
}
