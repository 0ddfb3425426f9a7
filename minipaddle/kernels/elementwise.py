"""Element-wise, vector and norm layers of Paddle v1 (issue 16), as its C++ runtime computes
them (facts and their Paddle files: docs/layer_notes_16.md).

Inputs are ``(N, D)`` rows (any trailing shape is flattened to D where a function says so);
per-sample scalars (weights, exponents) are ``(N, 1)`` or ``(N,)``. Backward functions take
the forward's inputs (and output where useful) plus the output gradient and return the input
gradients in input order (parameters after inputs). Float32 stays float32.
"""

import numpy as np

__all__ = [
    "scale_shift_forward", "scale_shift_backward",
    "clip_forward", "clip_backward",
    "power_forward", "power_backward",
    "scaling_forward", "scaling_backward",
    "slope_intercept_forward", "slope_intercept_backward",
    "interpolation_forward", "interpolation_backward",
    "linear_comb_forward", "linear_comb_backward",
    "cos_sim_forward", "cos_sim_backward",
    "cos_sim_vec_mat_forward", "cos_sim_vec_mat_backward",
    "dot_prod_forward", "dot_prod_backward",
    "l2_distance_forward", "l2_distance_backward",
    "out_prod_forward", "out_prod_backward",
    "tensor_forward", "tensor_backward",
    "sum_to_one_norm_forward", "sum_to_one_norm_backward",
    "row_l2_norm_forward", "row_l2_norm_backward",
    "cross_channel_norm_forward", "cross_channel_norm_backward", "CROSS_CHANNEL_NORM_EPS",
    "data_norm_forward", "data_norm_backward", "DATA_NORM_STRATEGIES",
    "maxid_forward",
    "multiplex_forward", "multiplex_backward",
    "factorization_machine_forward", "factorization_machine_backward",
    "selective_fc_forward", "selective_fc_backward",
]


def _rows(a):
    return a.reshape(a.shape[0], -1)


def _col(v, n):
    """A per-sample scalar as an ``(n, 1)`` column."""
    return v.reshape(n, 1)


def _per_sample(w, x):
    """A per-sample scalar shaped to broadcast against ``x`` (``(N, 1, ...)``)."""
    return w.reshape((x.shape[0],) + (1,) * (x.ndim - 1))


# ------------------------------------------------------------------------- scalar-parameter maps

def scale_shift_forward(x, w, b=None, xp=np):
    """``y = w * x + b`` with trainable scalars ``w`` and (optional) ``b`` (any 1-element
    arrays)."""
    y = x * w.reshape(())
    return y + b.reshape(()) if b is not None else y


def scale_shift_backward(x, dy, w, *, bias=True, xp=np):
    """``(dx, dw, db)``: ``dx = w * dy``, ``dw = sum(x * dy)``, ``db = sum(dy)`` (shape (1,));
    ``db`` is None without bias."""
    dw = xp.sum(x * dy).reshape(1)
    db = xp.sum(dy).reshape(1) if bias else None
    return dy * w.reshape(()), dw, db


def clip_forward(x, *, low, high, xp=np):
    """``y = min(max(x, low), high)``."""
    return xp.clip(x, x.dtype.type(low), x.dtype.type(high))


def clip_backward(x, dy, *, low, high, xp=np):
    """``dx = dy`` where ``low <= x <= high`` (bounds included), else 0."""
    inside = (x >= x.dtype.type(low)) & (x <= x.dtype.type(high))
    return dy * inside


def slope_intercept_forward(x, *, slope, intercept, xp=np):
    """``y = slope * x + intercept`` (config constants, no parameters)."""
    return x * x.dtype.type(slope) + x.dtype.type(intercept)


def slope_intercept_backward(dy, *, slope, xp=np):
    """``dx = slope * dy``."""
    return dy * dy.dtype.type(slope)


# ------------------------------------------------------------------------ per-sample weights

def power_forward(w, x, xp=np):
    """``y[n, j] = x[n, j] ** w[n]``: input 0 is the exponent (one per sample), input 1 the
    vectors ``(N, D)``."""
    return x ** _col(w, x.shape[0])


def power_backward(w, x, y, dy, xp=np):
    """``(dw, dx)``: ``dw[n] = sum_j dy * log(x) * y`` (shape like ``w``),
    ``dx = dy * w * x ** (w - 1)``."""
    wc = _col(w, x.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        dw = xp.sum(dy * xp.log(x) * y, axis=1, keepdims=True)
    return dw.reshape(w.shape), dy * wc * x ** (wc - 1)


def scaling_forward(w, x, xp=np):
    """``y[n] = w[n] * x[n]``: input 0 the per-sample weight, input 1 the rows."""
    return x * _per_sample(w, x)


def scaling_backward(w, x, dy, xp=np):
    """``(dw, dx)``: ``dw[n] = sum_j dy * x``, ``dx = w[n] * dy``."""
    dw = xp.sum(_rows(dy * x), axis=1, keepdims=True).reshape(w.shape)
    return dw, dy * _per_sample(w, x)


def interpolation_forward(w, x1, x2, xp=np):
    """``y[n] = w[n] * x1[n] + (1 - w[n]) * x2[n]``."""
    wc = _col(w, x1.shape[0])
    return x1 * wc + x2 * (1 - wc)


def interpolation_backward(w, x1, x2, dy, xp=np):
    """``(dw, dx1, dx2)``: ``dw[n] = sum_j dy * (x1 - x2)``, ``dx1 = w dy``,
    ``dx2 = (1 - w) dy``."""
    wc = _col(w, x1.shape[0])
    dw = xp.sum(dy * (x1 - x2), axis=1, keepdims=True).reshape(w.shape)
    return dw, dy * wc, dy * (1 - wc)


def linear_comb_forward(w, v, xp=np):
    """``linear_comb`` / ``convex_comb``: ``w`` is ``(N, M)``, ``v`` is ``(N, M * D)`` read as
    M rows of D; ``y[n, j] = sum_i w[n, i] * v[n, i * D + j]`` -> ``(N, D)``."""
    N, M = w.shape
    return xp.matmul(w[:, None, :], v.reshape(N, M, -1))[:, 0, :]


def linear_comb_backward(w, v, dy, xp=np):
    """``(dw, dv)``: ``dw[n, i] = sum_j dy[n, j] v[n, i, j]``, ``dv[n, i, j] = w[n, i] dy[n, j]``."""
    N, M = w.shape
    vm = v.reshape(N, M, -1)
    dw = xp.matmul(vm, dy[:, :, None])[:, :, 0]
    dv = (w[:, :, None] * dy[:, None, :]).reshape(v.shape)
    return dw, dv


# --------------------------------------------------------------------------------- similarities

def _cos_rows(x, y, scale, xp):
    """Row-wise ``scale * <x, y> / (|x| |y|)``; ``y`` has N rows or one (broadcast)."""
    xy = xp.sum(x * y, axis=-1, keepdims=True)
    nx = xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True))
    ny = xp.sqrt(xp.sum(y * y, axis=-1, keepdims=True))
    return x.dtype.type(scale) * xy / (nx * ny), xy, nx, ny


def cos_sim_forward(x, y, *, scale=1.0, xp=np):
    """``cos_sim`` of size 1: ``out[n] = scale * cos(x[n], y[n])`` -> ``(N, 1)``; ``y`` may have
    a single row, shared by every sample. A zero vector gives NaN (Paddle CHECK-fails)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cos_rows(x, y, scale, xp)[0]


def _cos_grads(x, y, dz, scale, xp):
    out, xy, nx, ny = _cos_rows(x, y, scale, xp)
    k = dz * x.dtype.type(scale) / (nx * ny)          # d out / d xy, times dz
    dx = k * (y - x * xy / (nx * nx))
    dyy = k * (x - y * xy / (ny * ny))
    return dx, dyy


def cos_sim_backward(x, y, dz, *, scale=1.0, xp=np):
    """``(dx, dy)``: with ``c = scale / (|x| |y|)``, ``dx = dz c (y - x <x,y>/|x|^2)`` and the
    mirror for ``y``; a one-row ``y`` gets the sum over the batch."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dx, dyy = _cos_grads(x, y, _col(dz, x.shape[0]), scale, xp)
    if y.shape[0] == 1 and x.shape[0] != 1:
        dyy = xp.sum(dyy, axis=0, keepdims=True)
    return dx, dyy


def cos_sim_vec_mat_forward(x, m, *, scale=1.0, xp=np):
    """``cos_sim`` of size K > 1 (Paddle's ``cos_vm``): ``x`` is ``(N, D)``, ``m`` is
    ``(N, K * D)`` read as K rows of D; ``out[n, k] = scale * cos(m[n, k], x[n])`` -> ``(N, K)``."""
    N, D = x.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _cos_rows(m.reshape(N, -1, D), x[:, None, :], scale, xp)[0]
    return out[:, :, 0]


def cos_sim_vec_mat_backward(x, m, dz, *, scale=1.0, xp=np):
    """``(dx, dm)`` of :func:`cos_sim_vec_mat_forward` (``dx`` sums over the K keys)."""
    N, D = x.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        dm, dx = _cos_grads(m.reshape(N, -1, D), x[:, None, :], dz[:, :, None], scale, xp)
    return xp.sum(dx, axis=1), dm.reshape(m.shape)


def dot_prod_forward(x, y, xp=np):
    """``out[n] = <x[n], y[n]>`` -> ``(N, 1)``."""
    return xp.sum(_rows(x) * _rows(y), axis=1, keepdims=True)


def dot_prod_backward(x, y, dz, xp=np):
    """``(dx, dy) = (dz * y, dz * x)``."""
    dz = _col(dz, x.shape[0])
    return (dz * _rows(y)).reshape(x.shape), (dz * _rows(x)).reshape(y.shape)


def l2_distance_forward(x, y, xp=np):
    """``out[n] = |x[n] - y[n]|`` (Euclidean, no epsilon) -> ``(N, 1)``."""
    d = _rows(x) - _rows(y)
    return xp.sqrt(xp.sum(d * d, axis=1, keepdims=True))


def l2_distance_backward(x, y, out, dz, xp=np):
    """``(dx, dy)``: ``dx = dz (x - y) / out``, ``dy = -dx`` (a zero distance gives NaN/inf,
    as in Paddle)."""
    d = _rows(x) - _rows(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = d * (_col(dz, x.shape[0]) / out)
    return g.reshape(x.shape), (-g).reshape(y.shape)


def out_prod_forward(x, y, xp=np):
    """``out[n, i * B + j] = x[n, i] * y[n, j]`` -> ``(N, A * B)``."""
    return (x[:, :, None] * y[:, None, :]).reshape(x.shape[0], -1)


def out_prod_backward(x, y, dz, xp=np):
    """``(dx, dy)``: ``dx[n, i] = sum_j dz[n, i, j] y[n, j]``, ``dy[n, j] = sum_i dz x``."""
    g = dz.reshape(x.shape[0], x.shape[1], y.shape[1])
    return xp.matmul(g, y[:, :, None])[:, :, 0], xp.matmul(x[:, None, :], g)[:, 0, :]


def tensor_forward(x1, x2, w, b=None, xp=np):
    """Bilinear tensor product: ``w`` is ``(K, A, B)`` (Paddle's K weight slices, each A x B,
    laid out one after another), ``out[n, k] = x1[n] @ w[k] @ x2[n] + b[k]`` -> ``(N, K)``."""
    out = xp.einsum("na,kab,nb->nk", x1, w, x2)
    return out + b.reshape(1, -1) if b is not None else out


def tensor_backward(x1, x2, w, dz, *, bias=True, xp=np):
    """``(dx1, dx2, dw, db)`` of :func:`tensor_forward` (``db`` of shape (K,), None without
    bias)."""
    dx1 = xp.einsum("nk,kab,nb->na", dz, w, x2)
    dx2 = xp.einsum("nk,kab,na->nb", dz, w, x1)
    dw = xp.einsum("nk,na,nb->kab", dz, x1, x2)
    db = xp.sum(dz, axis=0) if bias else None
    return dx1, dx2, dw, db


# ---------------------------------------------------------------------------------------- norms

def sum_to_one_norm_forward(x, xp=np):
    """``y[n] = x[n] / sum_j x[n, j]`` (Paddle CHECK-fails unless every row sum is > 0)."""
    return x / xp.sum(x, axis=1, keepdims=True)


def sum_to_one_norm_backward(x, y, dy, xp=np):
    """``dx = (dy - sum_j dy * y) / s`` with ``s`` the row sum."""
    s = xp.sum(x, axis=1, keepdims=True)
    return (dy - xp.sum(dy * y, axis=1, keepdims=True)) / s


def row_l2_norm_forward(x, xp=np):
    """``y[n] = x[n] / |x[n]|`` (no epsilon: a zero row gives NaN, as in Paddle)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return x / xp.sqrt(xp.sum(x * x, axis=1, keepdims=True))


def row_l2_norm_backward(x, y, dy, xp=np):
    """``dx = (dy - y * sum_j dy * y) / |x|``."""
    norm = xp.sqrt(xp.sum(x * x, axis=1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (dy - y * xp.sum(dy * y, axis=1, keepdims=True)) / norm


CROSS_CHANNEL_NORM_EPS = 1e-6


def _cc_norm(x, xp):
    """``(x as (N, C, S), norm (N, 1, S))`` with ``norm = sqrt(sum_c x^2 + 1e-6)``."""
    xs = x.reshape(x.shape[0], x.shape[1], -1)
    return xs, xp.sqrt(xp.sum(xs * xs, axis=1, keepdims=True)
                       + x.dtype.type(CROSS_CHANNEL_NORM_EPS))


def cross_channel_norm_forward(x, scale, xp=np):
    """SSD's L2 normalisation across channels: ``x`` is ``(N, C, ...)``, ``scale`` holds C
    values; ``y[n, c, s] = scale[c] * x[n, c, s] / sqrt(sum_c' x[n, c', s]^2 + 1e-6)``."""
    xs, norm = _cc_norm(x, xp)
    return (xs / norm * scale.reshape(1, -1, 1)).reshape(x.shape)


def cross_channel_norm_backward(x, dy, scale, xp=np):
    """``(dx, dscale)``, the true gradient of :func:`cross_channel_norm_forward`:
    ``dx = (scale dy - xhat * sum_c(scale dy xhat)) / norm`` with ``xhat = x / norm``,
    ``dscale[c] = sum_{n,s} dy * xhat`` (shape (C,)). Paddle's own backward puts ``scale[c]``
    outside the channel sum, which equals this only for a uniform scale (layer notes)."""
    xs, norm = _cc_norm(x, xp)
    xhat = xs / norm
    g = _rows(dy).reshape(xs.shape)
    sg = g * scale.reshape(1, -1, 1)
    dx = (sg - xhat * xp.sum(sg * xhat, axis=1, keepdims=True)) / norm
    return dx.reshape(x.shape), xp.sum(g * xhat, axis=(0, 2))


DATA_NORM_STRATEGIES = ("z-score", "min-max", "decimal-scaling")


def _data_norm_terms(stats, strategy):
    """``(shift, factor)`` rows from the static ``(5, D)`` parameter: min, 1/range, mean,
    1/std, 1/10^k (Paddle's row order)."""
    if strategy == "z-score":
        return stats[2], stats[3]
    if strategy == "min-max":
        return stats[0], stats[1]
    if strategy == "decimal-scaling":
        return None, stats[4]
    raise ValueError(f"data_norm strategy {strategy!r}: expected one of {DATA_NORM_STRATEGIES}")


def data_norm_forward(x, stats, *, strategy, xp=np):
    """``z-score``: ``(x - mean) * (1/std)``; ``min-max``: ``(x - min) * (1/range)``;
    ``decimal-scaling``: ``x * (1/10^k)``; ``stats`` is the ``(5, D)`` static parameter."""
    stats = stats.reshape(5, -1)
    shift, factor = _data_norm_terms(stats, strategy)
    return (x - shift if shift is not None else x) * factor


def data_norm_backward(dy, stats, *, strategy, xp=np):
    """``dx = dy * factor`` (the parameter is static: no gradient)."""
    return dy * _data_norm_terms(stats.reshape(5, -1), strategy)[1]


# ------------------------------------------------------------------------------ id selections

def maxid_forward(x, *, beam_size=1, xp=np):
    """``(ids, values)``, each ``(N, beam_size)``: the indices of the ``beam_size`` largest
    values of each row, largest first (ties: lower index first), and those values. No
    gradient."""
    order = xp.argsort(-x, axis=1, kind="stable")[:, :beam_size]
    return order, xp.take_along_axis(x, order, axis=1)


def multiplex_forward(ids, xs, xp=np):
    """``y[n] = xs[ids[n]][n]``: ``ids`` integer ``(N,)``, ``xs`` a list of equal-shape arrays
    (Paddle's inputs 1..K; ``ids`` come from input 0)."""
    ids = xp.asarray(ids).reshape(-1)
    stacked = xp.stack(xs)                       # (K, N, ...)
    return stacked[ids, xp.arange(ids.shape[0])]


def multiplex_backward(ids, dy, n_inputs, xp=np):
    """Gradients of the candidate inputs: row ``n`` of ``dy`` goes to input ``ids[n]``,
    zeros elsewhere (a list of ``n_inputs`` arrays)."""
    ids = xp.asarray(ids).reshape(-1)
    mask_shape = (-1,) + (1,) * (dy.ndim - 1)
    return [dy * (ids == k).reshape(mask_shape) for k in range(n_inputs)]


def factorization_machine_forward(x, v, xp=np):
    """Second-order factorization machine term: ``v`` is ``(D, F)`` latent vectors;
    ``out[n] = 0.5 * sum_f ((x v)_f^2 - (x^2 v^2)_f)`` -> ``(N, 1)``."""
    xv = xp.matmul(x, v)
    return 0.5 * xp.sum(xv * xv - xp.matmul(x * x, v * v), axis=1, keepdims=True)


def factorization_machine_backward(x, v, dz, xp=np):
    """``(dx, dv)``: ``dx = dz * ((x v) v^T - x * sum_f v^2)``,
    ``dv = sum_n dz[n] (x[n]^T (x v)[n] - x[n]^2 v)``."""
    dz = _col(dz, x.shape[0])
    xv = xp.matmul(x, v)
    dx = dz * (xp.matmul(xv, v.T) - x * xp.sum(v * v, axis=1)[None, :])
    dv = xp.matmul((x * dz).T, xv) - v * xp.sum(x * x * dz, axis=0)[:, None]
    return dx, dv


# ------------------------------------------------------------------------------ selective fc

def selective_fc_forward(xs, ws, b=None, mask=None, xp=np):
    """Paddle's ``selective_fc``: ``z = (sum_i x_i W_i^T + b) * mask``. Each weight is stored
    transposed, ``(size, input size)``; ``mask`` ``(N, size)`` holds 1 for a selected column
    and 0 for one left out (None: every column, a plain fc)."""
    z = xp.matmul(xs[0], ws[0].T)
    for x, w in zip(xs[1:], ws[1:]):
        z = z + xp.matmul(x, w.T)
    if b is not None:
        z = z + b.reshape(1, -1)
    return z * mask if mask is not None else z


def selective_fc_backward(xs, ws, dz, mask=None, *, bias=True, xp=np):
    """``(dxs, dws, db)`` of :func:`selective_fc_forward`: the output gradient is masked
    first, then ``dx_i = dz W_i``, ``dW_i = dz^T x_i`` (shape ``(size, input size)``),
    ``db = sum_n dz`` (None without bias)."""
    if mask is not None:
        dz = dz * mask
    dxs = [xp.matmul(dz, w) for w in ws]
    dws = [xp.matmul(dz.T, x) for x in xs]
    return dxs, dws, (xp.sum(dz, axis=0) if bias else None)
