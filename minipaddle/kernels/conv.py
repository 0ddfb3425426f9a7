"""2-D convolution (Paddle's ``exconv``) and transposed convolution (``exconvt``) by im2col + GEMM.

Semantics (spec 6.1): plain cross-correlation, no kernel flip, zero padding, per-axis ``(h, w)``
stride / padding / dilation, and groups as contiguous channel blocks: group ``g`` reads input
channels ``[g*C/G, (g+1)*C/G)`` and writes output channels ``[g*F/G, (g+1)*F/G)``. No bias: the
runtime adds it.

Weight layouts: conv ``w`` is ``(F, C/G, kh, kw)``; transposed conv ``w`` is ``(C, F/G, kh, kw)``
(Paddle's deconv layout, input channels first). A transposed conv from C to F channels *is* the
data gradient of a conv from F to C channels with the same weight array, so both directions are
built from the same four pieces:

* ``_im2col``: one contiguous copy of a strided window view of the zero-padded input, laid out
  channel-major ``(G, K, N*Ho*Wo)`` with ``K = C/G*kh*kw`` (rows ordered c, ky, kx as Paddle's
  im2col). The large dimension (batch x pixels) is contiguous and every group is one GEMM over the
  whole batch, so a batched ``matmul`` over the group axis does all the work in one call.
* ``_gemm_to_nchw``: ``W (G, F/G, K) @ cols`` and one transposing copy into NCHW.
* ``_weight_grad``: ``dy (G, F/G, N*P) @ cols^T`` (the transposed view goes to BLAS uncopied).
* ``_data_grad``: ``W^T @ dy`` into columns, then col2im as kh*kw strided ``+=`` of slices into a
  zeroed padded buffer (never ``add.at``).

Every intermediate is created in the dtype of ``x``: float32 stays float32. Weights and output
gradients of another dtype are cast to ``x.dtype`` first (an integer ``x`` is promoted with them
to a floating dtype instead). No state, no buffers kept between calls
and no batch chunking: chunking, threads and workspace reuse are the runtime backend's business
(a caller that chunks the batch just calls these functions per chunk).
"""

import numpy as np

__all__ = [
    "conv_output_size",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_transpose_forward",
    "conv2d_transpose_backward",
]


def conv_output_size(size, kernel, padding, stride, dilation):
    """Output length of a convolution along one axis (Paddle's caffe mode, spec 2.3):
    ``1 + (size + 2*padding - ((kernel - 1)*dilation + 1)) // stride``."""
    return 1 + (size + 2 * padding - ((kernel - 1) * dilation + 1)) // stride


# --------------------------------------------------------------------------------------------
# argument handling


def _pair(value, name):
    """A per-axis argument as an ``(h, w)`` pair of ints (a single int means both axes)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an (h, w) pair, got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _geometry(stride, padding, dilation):
    stride = _pair(stride, "stride")
    padding = _pair(padding, "padding")
    dilation = _pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(
            f"need stride >= 1, dilation >= 1, padding >= 0; got stride={stride}, "
            f"padding={padding}, dilation={dilation}")
    return stride, padding, dilation


def _check_4d(name, a):
    if a.ndim != 4:
        raise ValueError(f"{name} must be 4-D, got shape {tuple(a.shape)}")


def _same_dtype(xp, x, *others):
    """Cast the other arrays to ``x.dtype`` when ``x`` is floating (float32 stays float32);
    integer ``x`` (hand-written test data) is promoted with the others instead."""
    dtype = x.dtype
    if dtype.kind not in "fc":
        dtype = xp.result_type(x, *others)
        if dtype.kind not in "fc":
            dtype = xp.dtype(xp.float64)
    return tuple(a.astype(dtype, copy=False) for a in (x,) + others)


def _conv_shapes(in_shape, w_shape, groups, stride, padding, dilation, what):
    """Check a conv's input shape (N, Cin, H, W) against its weight (Cout, Cin/G, kh, kw) and
    return ``(out_hw, G)``. ``what`` names the arrays in messages."""
    n, cin, h, w = in_shape
    cout, cin_g, kh, kw = w_shape
    g = int(groups)
    if g < 1 or cin % g or cout % g:
        raise ValueError(f"groups={groups} must divide both channel counts ({what}: {cin} and "
                         f"{cout})")
    if cin_g * g != cin:
        raise ValueError(f"{what}: weight shape {tuple(w_shape)} needs {cin_g * g} channels "
                         f"with groups={g}, the input has {cin}")
    ho = conv_output_size(h, kh, padding[0], stride[0], dilation[0])
    wo = conv_output_size(w, kw, padding[1], stride[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"{what}: output size ({ho}, {wo}) < 1 for image ({h}, {w}), filter "
                         f"({kh}, {kw}), stride {stride}, padding {padding}, dilation {dilation}")
    return (ho, wo), g


# --------------------------------------------------------------------------------------------
# the shared pieces

# The forward switches to batch-major columns (one GEMM per sample and group, output written
# straight into NCHW, no transposing copy) when a sample has at least this many output pixels;
# below it one GEMM over the whole batch per group is faster.
_BATCH_MAJOR_MIN_PIXELS = 512


def _im2col(x, ksize, out_hw, groups, stride, padding, dilation, xp, batch_major=False):
    """Columns of ``x`` (N, C, H, W) as a contiguous ``(G, C/G*kh*kw, N*Ho*Wo)`` array, or with
    ``batch_major`` as ``(N, G, C/G*kh*kw, Ho*Wo)``.

    The zero-padded input is viewed as (C, kh, kw, N, Ho, Wo) (batch-major: (N, C, kh, kw, Ho,
    Wo)) with stride and dilation in the view's strides, and that view is copied once; (Ho, Wo)
    innermost keeps the copy streaming.
    """
    n, c, h, w = x.shape
    kh, kw = ksize
    ho, wo = out_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    if ph or pw:
        xpad = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        xpad[:, :, ph:ph + h, pw:pw + w] = x
    else:
        xpad = x
    s_n, s_c, s_y, s_x = xpad.strides
    view = xp.lib.stride_tricks.as_strided(
        xpad, shape=(c, kh, kw, n, ho, wo),
        strides=(s_c, s_y * dh, s_x * dw, s_n, s_y * sh, s_x * sw))
    k = (c // groups) * kh * kw
    if batch_major:
        return xp.ascontiguousarray(view.transpose(3, 0, 1, 2, 4, 5)).reshape(n, groups, k,
                                                                              ho * wo)
    return xp.ascontiguousarray(view).reshape(groups, k, n * ho * wo)


def _channel_major(a, groups, xp):
    """``a`` (N, C, H, W) as a contiguous ``(G, C/G, N*H*W)`` array (one copy)."""
    n, c, h, w = a.shape
    t = xp.ascontiguousarray(a.reshape(n, c, h * w).transpose(1, 0, 2))
    return t.reshape(groups, c // groups, n * h * w)


def _gemm_to_nchw(w, cols, n, out_hw, xp):
    """``y = W @ cols`` per group for a conv weight ``w`` (Cout, Cin/G, kh, kw) and columns
    (G, K, N*P), returned as a contiguous (N, Cout, Ho, Wo) array."""
    cout = w.shape[0]
    g, k, _ = cols.shape
    y = xp.matmul(w.reshape(g, cout // g, k), cols)  # (G, Cout/G, N*P)
    y = y.reshape(cout, n, out_hw[0], out_hw[1]).transpose(1, 0, 2, 3)
    return xp.ascontiguousarray(y)


def _weight_grad(cols, dy_cm, w_shape, xp):
    """Weight gradient ``dy @ cols^T`` per group: ``cols`` (G, K, N*P) are the columns of the
    conv input, ``dy_cm`` (G, Cout/G, N*P) the channel-major output gradient."""
    return xp.matmul(dy_cm, cols.transpose(0, 2, 1)).reshape(w_shape)


def _data_grad(w, dy_cm, in_shape, out_hw, stride, padding, dilation, xp):
    """Input gradient of a conv with weight ``w`` (Cout, Cin/G, kh, kw) from the channel-major
    output gradient ``dy_cm`` (G, Cout/G, N*Ho*Wo); ``in_shape`` = (N, Cin, H, W) of the conv
    input. Column gradient ``W^T @ dy`` per group, then col2im by kh*kw strided adds."""
    n, cin, h, w_ = in_shape
    cout, _, kh, kw = w.shape
    g = dy_cm.shape[0]
    ho, wo = out_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    wm = w.reshape(g, cout // g, -1)
    if cout == g:
        # one output channel per group (depthwise): an outer product, where a broadcast
        # multiply is about 4x faster than matmul's inner dimension of 1
        dcols = wm.transpose(0, 2, 1) * dy_cm  # (G, Cin/G*kh*kw, N*P)
    else:
        dcols = xp.matmul(wm.transpose(0, 2, 1), dy_cm)  # (G, Cin/G*kh*kw, N*P)
    dcols = dcols.reshape(cin, kh, kw, n, ho, wo)
    dxpad = xp.zeros((cin, n, h + 2 * ph, w_ + 2 * pw), dtype=dcols.dtype)
    y_span = sh * (ho - 1) + 1
    x_span = sw * (wo - 1) + 1
    for ky in range(kh):
        y0 = ky * dh
        for kx in range(kw):
            x0 = kx * dw
            dxpad[:, :, y0:y0 + y_span:sh, x0:x0 + x_span:sw] += dcols[:, ky, kx]
    dx = dxpad[:, :, ph:ph + h, pw:pw + w_].transpose(1, 0, 2, 3)
    return xp.ascontiguousarray(dx)


# --------------------------------------------------------------------------------------------
# convolution


def conv2d_forward(x, w, *, stride, padding, dilation, groups, xp=np):
    """Convolution (cross-correlation) of ``x`` (N, C, H, W) with ``w`` (F, C/groups, kh, kw);
    returns ``y`` (N, F, Ho, Wo) in ``x.dtype``, without bias."""
    _check_4d("x", x)
    _check_4d("w", w)
    stride, padding, dilation = _geometry(stride, padding, dilation)
    x, w = _same_dtype(xp, x, w)
    out_hw, g = _conv_shapes(x.shape, w.shape, groups, stride, padding, dilation, "conv")
    n, f = x.shape[0], w.shape[0]
    if out_hw[0] * out_hw[1] >= _BATCH_MAJOR_MIN_PIXELS:
        # large images: per-sample GEMMs are big enough, and (N, G, F/G, P) is already NCHW
        cols = _im2col(x, w.shape[2:], out_hw, g, stride, padding, dilation, xp,
                       batch_major=True)
        y = xp.matmul(w.reshape(g, f // g, cols.shape[2]), cols)
        return y.reshape((n, f) + out_hw)
    cols = _im2col(x, w.shape[2:], out_hw, g, stride, padding, dilation, xp)
    return _gemm_to_nchw(w, cols, n, out_hw, xp)


def conv2d_backward(x, w, dy, *, stride, padding, dilation, groups, need_dx=True, xp=np):
    """Gradients ``(dx, dw)`` of ``sum(conv2d_forward(x, w) * dy)``; ``dx`` is None when
    ``need_dx`` is False. The columns of ``x`` are recomputed, not kept from the forward."""
    _check_4d("x", x)
    _check_4d("w", w)
    _check_4d("dy", dy)
    stride, padding, dilation = _geometry(stride, padding, dilation)
    x, w, dy = _same_dtype(xp, x, w, dy)
    out_hw, g = _conv_shapes(x.shape, w.shape, groups, stride, padding, dilation, "conv")
    expected = (x.shape[0], w.shape[0]) + out_hw
    if tuple(dy.shape) != expected:
        raise ValueError(f"conv: dy has shape {tuple(dy.shape)}, the output is {expected}")
    dy_cm = _channel_major(dy, g, xp)
    cols = _im2col(x, w.shape[2:], out_hw, g, stride, padding, dilation, xp)
    dw = _weight_grad(cols, dy_cm, w.shape, xp)
    del cols
    dx = None
    if need_dx:
        dx = _data_grad(w, dy_cm, x.shape, out_hw, stride, padding, dilation, xp)
    return dx, dw


# --------------------------------------------------------------------------------------------
# transposed convolution: the data gradient of a conv from F to C channels with weight w


def _transpose_shapes(x_shape, w_shape, groups, stride, padding, dilation, output_size):
    """Output (Ho, Wo) and groups of a transposed conv; checks that a conv of an (Ho, Wo) image
    gives back the (H, W) of ``x``."""
    n, c, h, w = x_shape
    cw, f_g, kh, kw = w_shape
    g = int(groups)
    if g < 1 or c % g:
        raise ValueError(f"conv_transpose: groups={groups} must divide the {c} input channels")
    if cw != c:
        raise ValueError(f"conv_transpose: weight shape {tuple(w_shape)} has {cw} input "
                         f"channels, x has {c}")
    if output_size is None:
        output_size = tuple(
            (size - 1) * s + (k - 1) * d + 1 - 2 * p
            for size, k, s, p, d in zip((h, w), (kh, kw), stride, padding, dilation))
    ho, wo = _pair(output_size, "output_size")
    back = (conv_output_size(ho, kh, padding[0], stride[0], dilation[0]),
            conv_output_size(wo, kw, padding[1], stride[1], dilation[1]))
    if ho < 1 or wo < 1 or back != (h, w):
        raise ValueError(
            f"conv_transpose: output_size ({ho}, {wo}) does not invert to the input size "
            f"({h}, {w}) for filter ({kh}, {kw}), stride {stride}, padding {padding}, "
            f"dilation {dilation} (a conv of it gives {back})")
    return (ho, wo), g


def conv2d_transpose_forward(x, w, *, stride, padding, dilation, groups, output_size, xp=np):
    """Transposed convolution (Paddle's exconvt) of ``x`` (N, C, H, W) with ``w``
    (C, F/groups, kh, kw) to ``y`` (N, F, Ho, Wo), ``output_size = (Ho, Wo)`` (None: the
    formula ``(H-1)*s + (k-1)*d + 1 - 2*p``). Returns ``x.dtype``, without bias."""
    _check_4d("x", x)
    _check_4d("w", w)
    stride, padding, dilation = _geometry(stride, padding, dilation)
    x, w = _same_dtype(xp, x, w)
    out_hw, g = _transpose_shapes(x.shape, w.shape, groups, stride, padding, dilation,
                                  output_size)
    n, _, h, w_ = x.shape
    y_shape = (n, w.shape[1] * g) + out_hw
    x_cm = _channel_major(x, g, xp)
    return _data_grad(w, x_cm, y_shape, (h, w_), stride, padding, dilation, xp)


def conv2d_transpose_backward(x, w, dy, *, stride, padding, dilation, groups, need_dx=True,
                              xp=np):
    """Gradients ``(dx, dw)`` of ``sum(conv2d_transpose_forward(x, w) * dy)``, ``dy`` being
    (N, F, Ho, Wo); ``dx`` is None when ``need_dx`` is False. ``dx`` is the conv forward of
    ``dy`` with ``w``; ``dw`` is the conv weight gradient with ``dy`` as input and ``x`` as
    output gradient; both use one set of columns of ``dy``."""
    _check_4d("x", x)
    _check_4d("w", w)
    _check_4d("dy", dy)
    stride, padding, dilation = _geometry(stride, padding, dilation)
    x, w, dy = _same_dtype(xp, x, w, dy)
    out_hw, g = _transpose_shapes(x.shape, w.shape, groups, stride, padding, dilation,
                                  tuple(dy.shape[2:]))
    n, c, h, w_ = x.shape
    expected = (n, w.shape[1] * g) + out_hw
    if tuple(dy.shape) != expected:
        raise ValueError(f"conv_transpose: dy has shape {tuple(dy.shape)}, expected {expected}")
    cols = _im2col(dy, w.shape[2:], (h, w_), g, stride, padding, dilation, xp)
    dw = _weight_grad(cols, _channel_major(x, g, xp), w.shape, xp)
    dx = _gemm_to_nchw(w, cols, n, (h, w_), xp) if need_dx else None
    return dx, dw
