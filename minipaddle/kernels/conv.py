"""2-D convolution (Paddle's ``exconv``) and transposed convolution (``exconvt``) by im2col + GEMM,
and depthwise convolution by shifted multiply-adds.

Semantics (spec 6.1): plain cross-correlation, no kernel flip, zero padding, per-axis ``(h, w)``
stride / padding / dilation, and groups as contiguous channel blocks: group ``g`` reads input
channels ``[g*C/G, (g+1)*C/G)`` and writes output channels ``[g*F/G, (g+1)*F/G)``. No bias: the
runtime adds it.

Weight layouts: conv ``w`` is ``(F, C/G, kh, kw)``; transposed conv ``w`` is ``(C, F/G, kh, kw)``
(Paddle's deconv layout, input channels first). A transposed conv from C to F channels *is* the
data gradient of a conv from F to C channels with the same weight array, so both directions are
built from the same four pieces: im2col, ``W @ cols`` into NCHW, the weight gradient
``d @ cols^T`` and the data gradient ``W^T @ d`` followed by col2im (kh*kw strided ``+=`` of
slices into a zeroed padded buffer, never ``add.at``).

Two column layouts, both one contiguous copy of a strided window view of the zero-padded input
(stride and dilation live in the view's strides), K = C/G*kh*kw rows ordered (c, ky, kx) as
Paddle's im2col:

* ``"batch"``: columns ``(N, G, K, Ho*Wo)``. ``W (G, F/G, K) @ cols`` broadcasts over the batch and
  lands directly in NCHW. Best for large images, where one sample's GEMM is big enough and the
  copies stream along image rows.
* ``"pixel"``: the image transposed to ``(C, H, W, N)`` first, columns ``(G, K, Ho*Wo*N)``: one
  GEMM per group over the whole batch, and for stride 1 the copies stream along runs of
  ``Wo*N`` values instead of ``Wo``. Best for small images (LeNet's 8x8 outputs), at the cost of
  transposing the input and output.

``layout=None`` picks ``"batch"`` when an output image has at least ``BATCH_LAYOUT_MIN_PIXELS``
pixels. A convolution with one input channel per group and more than one group (depthwise,
with any channel multiplier) runs the ``"depthwise"`` kernel instead: kh*kw multiply-adds of
shifted views, no columns at all.

Every intermediate is created in the dtype of ``x``: float32 stays float32. Weights and output
gradients of another dtype are cast to ``x.dtype`` first (an integer ``x`` is promoted with them
to a floating dtype instead). Scratch buffers: ``ws(tag, shape, dtype)``, when given, returns a reusable
array of undefined contents for a tag (one call uses distinct tags for the buffers it needs at
the same time); what the kernels return never aliases a ``ws`` buffer. No batch chunking, no threads: scheduling is the runtime
backend's business (it calls these functions per chunk of the batch). ``xp`` is the array module
(NumPy, or CuPy on a GPU backend).
"""

import numpy as np

__all__ = [
    "conv_output_size",
    "conv_algorithm",
    "conv2d_forward",
    "columns_shape",
    "conv2d_backward",
    "conv2d_transpose_forward",
    "conv2d_transpose_backward",
    "BATCH_LAYOUT_MIN_PIXELS",
]

#: output pixels per image from which the "batch" column layout is chosen
BATCH_LAYOUT_MIN_PIXELS = 512
_LAYOUTS = ("batch", "pixel")


def conv_output_size(size, kernel, padding, stride, dilation):
    """Output length of a convolution along one axis (Paddle's caffe mode, spec 2.3):
    ``1 + (size + 2*padding - ((kernel - 1)*dilation + 1)) // stride``."""
    return 1 + (size + 2 * padding - ((kernel - 1) * dilation + 1)) // stride


def conv_algorithm(in_channels, groups, out_hw, layout=None):
    """The kernel a conv with these channels, groups and output (or, for a transposed conv,
    input) image size runs: ``"depthwise"``, ``"batch"`` or ``"pixel"``. A ``layout`` decided
    before (by the caller, once) is kept; a depthwise conv runs ``"depthwise"`` whatever the
    layout."""
    depthwise = groups > 1 and in_channels == groups
    if layout is not None:
        if layout not in _LAYOUTS + ("depthwise",):
            raise ValueError(f"layout must be one of {_LAYOUTS} or None, got {layout!r}")
        if layout == "depthwise" and not depthwise:
            raise ValueError(f"layout 'depthwise' needs one input channel per group, got "
                             f"{in_channels} channels in {groups} groups")
    if depthwise:
        return "depthwise"
    if layout is not None:
        return layout
    return "batch" if _pixels(out_hw) >= BATCH_LAYOUT_MIN_PIXELS else "pixel"


def _pixels(sizes):
    n = 1
    for s in sizes:
        n *= s
    return n


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


def _conv_shapes(in_shape, w_shape, groups, stride, padding, dilation, what, output_size=None):
    """Check a conv's input shape (N, Cin, H, W) against its weight (Cout, Cin/G, kh, kw) and
    return ``(out_hw, G)``. ``what`` names the arrays in messages. ``output_size``: the output
    size a validated config states (taken as it is), else computed."""
    n, cin, h, w = in_shape
    cout, cin_g, kh, kw = w_shape
    g = int(groups)
    if g < 1 or cin % g or cout % g:
        raise ValueError(f"groups={groups} must divide both channel counts ({what}: {cin} and "
                         f"{cout})")
    if cin_g * g != cin:
        raise ValueError(f"{what}: weight shape {tuple(w_shape)} needs {cin_g * g} channels "
                         f"with groups={g}, the input has {cin}")
    if output_size is not None:
        return _pair(output_size, "output_size"), g
    ho = conv_output_size(h, kh, padding[0], stride[0], dilation[0])
    wo = conv_output_size(w, kw, padding[1], stride[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"{what}: output size ({ho}, {wo}) < 1 for image ({h}, {w}), filter "
                         f"({kh}, {kw}), stride {stride}, padding {padding}, dilation {dilation}")
    return (ho, wo), g


class _Geometry:
    """One conv's shapes: input ``(n, c, h, w)`` (the image side), weight ``(f, c/g, kh, kw)``,
    output ``(n, f, ho, wo)``, per-axis stride / padding / dilation, the column layout."""

    def __init__(self, in_shape, w_shape, out_hw, groups, stride, padding, dilation, layout):
        self.n, self.c, self.h, self.w = in_shape
        self.f, _, self.kh, self.kw = w_shape
        self.ho, self.wo = out_hw
        self.g = groups
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.layout = layout
        self.k = (self.c // groups) * self.kh * self.kw

    @property
    def padded_hw(self):
        return self.h + 2 * self.padding[0], self.w + 2 * self.padding[1]

    def windows(self):
        """For each kernel offset (ky, kx): the strided (y, x) slices of the padded image
        that it reads for all outputs."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        y_span = sh * (self.ho - 1) + 1
        x_span = sw * (self.wo - 1) + 1
        for ky in range(self.kh):
            for kx in range(self.kw):
                yield ky, kx, (slice(ky * dh, ky * dh + y_span, sh),
                               slice(kx * dw, kx * dw + x_span, sw))


def _buffer(ws, xp, tag, shape, dtype):
    """A scratch array (contents undefined): from ``ws`` when given, else a new one."""
    return xp.empty(shape, dtype=dtype) if ws is None else ws(tag, shape, dtype)


# --------------------------------------------------------------------------------------------
# the shared pieces


def _padded_image(x, geo, xp, ws):
    """``x`` (N, C, H, W) zero-padded, as (N, C, Hp, Wp) for the "batch" layout or transposed
    to (C, Hp, Wp, N) for "pixel" (and "depthwise": (N, C, Hp, Wp)). Only the interior of a
    reused buffer is written; its border was zeroed when it was created."""
    (ph, pw) = geo.padding
    hp, wp = geo.padded_hw
    if geo.layout == "pixel":
        if not (ph or pw):
            return xp.ascontiguousarray(x.transpose(1, 2, 3, 0))
        buf = _buffer(ws, xp, "pad", (geo.c, hp, wp, geo.n), x.dtype)
        _zero_border(buf[None], ph, pw, geo.h, geo.w)      # (1, C, Hp, Wp, N)
        buf[:, ph:ph + geo.h, pw:pw + geo.w, :] = x.transpose(1, 2, 3, 0)
        return buf
    if not (ph or pw):
        return x
    buf = _buffer(ws, xp, "pad", (geo.n, geo.c, hp, wp), x.dtype)
    _zero_border(buf, ph, pw, geo.h, geo.w)
    buf[:, :, ph:ph + geo.h, pw:pw + geo.w] = x
    return buf


def _zero_border(buf, ph, pw, h, w):
    """Zero the padding rows and columns of ``buf`` (axes 2 and 3 are the padded y, x), whose
    interior ``[ph:ph+h, pw:pw+w]`` the caller writes."""
    buf[:, :, :ph] = 0
    buf[:, :, ph + h:] = 0
    buf[:, :, ph:ph + h, :pw] = 0
    buf[:, :, ph:ph + h, pw + w:] = 0


def _im2col(x, geo, xp, ws=None, out=None):
    """Columns of ``x`` (N, C, H, W): ``(N, G, K, Ho*Wo)`` ("batch") or ``(G, K, Ho*Wo*N)``
    ("pixel"), written into ``out`` when given."""
    img = _padded_image(x, geo, xp, ws)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    if geo.layout == "pixel":
        s_c, s_y, s_x, s_n = img.strides
        view = xp.lib.stride_tricks.as_strided(
            img, shape=(geo.c, geo.kh, geo.kw, geo.ho, geo.wo, geo.n),
            strides=(s_c, s_y * dh, s_x * dw, s_y * sh, s_x * sw, s_n))
        shape = (geo.g, geo.k, geo.ho * geo.wo * geo.n)
    else:
        s_n, s_c, s_y, s_x = img.strides
        view = xp.lib.stride_tricks.as_strided(
            img, shape=(geo.n, geo.c, geo.kh, geo.kw, geo.ho, geo.wo),
            strides=(s_n, s_c, s_y * dh, s_x * dw, s_y * sh, s_x * sw))
        shape = (geo.n, geo.g, geo.k, geo.ho * geo.wo)
    if out is None:
        out = _buffer(ws, xp, "cols", shape, x.dtype)
    out.reshape(view.shape)[...] = view
    return out


def _gemm_to_nchw(w, cols, geo, xp, out=None):
    """``W @ cols`` per group for a weight ``w`` (F, C/G, kh, kw), as (N, F, Ho, Wo) (written
    into ``out`` when given)."""
    wm = w.reshape(geo.g, geo.f // geo.g, geo.k)
    shape = (geo.n, geo.f, geo.ho, geo.wo)
    if out is None:
        out = xp.empty(shape, dtype=cols.dtype)
    if geo.layout == "batch":   # (G, F/G, K) @ (N, G, K, P) -> (N, G, F/G, P): NCHW already
        xp.matmul(wm, cols, out=out.reshape(geo.n, geo.g, geo.f // geo.g, -1))
    else:                       # (G, F/G, P*N) -> (F, Ho, Wo, N) -> NCHW
        y = xp.matmul(wm, cols)
        out[...] = y.reshape(geo.f, geo.ho, geo.wo, geo.n).transpose(3, 0, 1, 2)
    return out


def _output_side(d, geo, xp):
    """An output-side array ``d`` (N, F, Ho, Wo) in the layout's GEMM form: (N, G, F/G, P) for
    "batch" (a view), (G, F/G, P*N) for "pixel" (one transposing copy)."""
    fg = geo.f // geo.g
    if geo.layout == "batch":
        return d.reshape(geo.n, geo.g, fg, geo.ho * geo.wo)
    return xp.ascontiguousarray(d.transpose(1, 2, 3, 0)).reshape(geo.g, fg, -1)


def _weight_grad(d, cols, geo, xp):
    """``d @ cols^T`` per group (summed over the batch, in a fixed order), shaped as the
    weight (F, C/G, kh, kw); ``d`` in :func:`_output_side` form."""
    if geo.layout == "batch":
        per_sample = xp.matmul(d, cols.transpose(0, 1, 3, 2))   # (N, G, F/G, K)
        dw = per_sample.sum(axis=0)
    else:
        dw = xp.matmul(d, cols.transpose(0, 2, 1))               # (G, F/G, K)
    return dw.reshape(geo.f, geo.c // geo.g, geo.kh, geo.kw)


def _data_grad(w, d, geo, xp, ws=None):
    """Image-side gradient (N, C, H, W) from the output side ``d`` (in :func:`_output_side`
    form) through a weight ``w`` (F, C/G, kh, kw): column gradient ``W^T @ d``, then col2im.

    The weight's rows are reordered to (ky, kx, c) first (a small copy), so each kernel
    offset's column gradient is one contiguous block per sample (or in all, for "pixel")
    instead of Ho*Wo values every C/G*kh*kw rows: col2im reads it streaming."""
    g, fg, cg = geo.g, geo.f // geo.g, geo.c // geo.g
    taps = (geo.kh, geo.kw)
    wt = w.reshape(g, fg, cg, geo.kh, geo.kw).transpose(0, 3, 4, 2, 1).reshape(g, geo.k, fg)
    dcols = xp.matmul(wt, d) if fg > 1 else wt * d
    (ph, pw) = geo.padding
    if geo.layout == "batch":                                         # (N, G, K, P)
        dcols = dcols.reshape((geo.n, g) + taps + (cg, geo.ho, geo.wo))
        pad = _col2im(lambda ky, kx: dcols[:, :, ky, kx], lambda ys, xs: (Ellipsis, ys, xs),
                      (geo.n, g, cg) + geo.padded_hw, geo, xp, ws, dcols.dtype)
        pad = pad.reshape((geo.n, geo.c) + geo.padded_hw)
        return pad[:, :, ph:ph + geo.h, pw:pw + geo.w].copy()   # never the buffer itself
    dcols = dcols.reshape((g,) + taps + (cg, geo.ho, geo.wo, geo.n))  # (G, K, P*N)
    pad = _col2im(lambda ky, kx: dcols[:, ky, kx],
                  lambda ys, xs: (Ellipsis, ys, xs, slice(None)),
                  (g, cg) + geo.padded_hw + (geo.n,), geo, xp, ws, dcols.dtype)
    pad = pad.reshape((geo.c,) + geo.padded_hw + (geo.n,))
    return pad[:, ph:ph + geo.h, pw:pw + geo.w, :].transpose(3, 0, 1, 2).copy()


def _col2im(tap, where, shape, geo, xp, ws, dtype):
    """Sum the column gradients of every kernel offset into a zeroed padded image of ``shape``:
    ``tap(ky, kx)`` is offset (ky, kx)'s (.., Ho, Wo, ..) block, ``where(ys, xs)`` indexes the
    padded image's spatial axes.

    Stride 1: kh*kw adds of shifted slices. Larger strides: the padded image splits into
    stride_y * stride_x phases (rows y = py mod stride_y, columns likewise); every offset feeds
    exactly one phase at a shift, so each phase is summed in its own contiguous buffer with
    unit-stride adds and copied into its strided place once (strided adds were 3-7x slower)."""
    pad = _buffer(ws, xp, "col2im", shape, dtype)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    if (sh, sw) == (1, 1):
        pad[...] = 0
        for ky, kx, (ys, xs) in geo.windows():
            pad[where(ys, xs)] += tap(ky, kx)
        return pad
    for py in range(sh):
        for px in range(sw):
            dest = pad[where(slice(py, None, sh), slice(px, None, sw))]
            taps = [(ky, kx) for ky in range(geo.kh) for kx in range(geo.kw)
                    if (ky * dh) % sh == py and (kx * dw) % sw == px]
            if not taps:
                dest[...] = 0
                continue
            phase = _buffer(ws, xp, "phase", dest.shape, dtype)
            phase[...] = 0
            for ky, kx in taps:
                y0, x0 = ky * dh // sh, kx * dw // sw
                phase[where(slice(y0, y0 + geo.ho), slice(x0, x0 + geo.wo))] += tap(ky, kx)
            dest[...] = phase
    return pad


# --------------------------------------------------------------------------------------------
# depthwise: one input channel per group, F/G output channels (the multiplier) per group


def _depthwise_forward(x, w, geo, xp, ws, out):
    """y[n, g*m + j] = sum over (ky, kx) of w[g*m + j, 0, ky, kx] * shifted x[n, g]."""
    m = geo.f // geo.g
    img = _padded_image(x, geo, xp, ws)[:, :, None]             # (N, G, 1, Hp, Wp)
    wk = w.reshape(1, geo.g, m, geo.kh, geo.kw)
    y = out.reshape(geo.n, geo.g, m, geo.ho, geo.wo)
    tmp = _buffer(ws, xp, "product", y.shape, y.dtype)
    for ky, kx, (ys, xs) in geo.windows():
        wv = wk[:, :, :, ky:ky + 1, kx:kx + 1]
        if ky == 0 and kx == 0:
            xp.multiply(img[:, :, :, ys, xs], wv, out=y)
        else:
            xp.multiply(img[:, :, :, ys, xs], wv, out=tmp)
            y += tmp
    return out


def _depthwise_backward(x, w, dy, geo, need_dx, xp, ws):
    m = geo.f // geo.g
    img = _padded_image(x, geo, xp, ws)[:, :, None]             # (N, G, 1, Hp, Wp)
    dy5 = dy.reshape(geo.n, geo.g, m, geo.ho, geo.wo)
    dw = xp.empty((geo.g, m, geo.kh, geo.kw), dtype=dy.dtype)
    tmp = _buffer(ws, xp, "product", dy5.shape, dy.dtype) if need_dx else None
    pad = None
    if need_dx:
        pad = _buffer(ws, xp, "col2im", (geo.n, geo.g) + geo.padded_hw, dy.dtype)
        pad[...] = 0
    wk = w.reshape(1, geo.g, m, geo.kh, geo.kw)
    for ky, kx, (ys, xs) in geo.windows():
        # one pass of multiply-and-sum per offset (no temporary), a fixed order
        dw[:, :, ky, kx] = xp.einsum("ngjyx,ngjyx->gj", img[:, :, :, ys, xs], dy5)
        if need_dx:
            xp.multiply(dy5, wk[:, :, :, ky:ky + 1, kx:kx + 1], out=tmp)
            pad[:, :, ys, xs] += tmp.sum(axis=2) if m > 1 else tmp[:, :, 0]
    dx = None
    if need_dx:
        (ph, pw) = geo.padding
        dx = pad[:, :, ph:ph + geo.h, pw:pw + geo.w].copy()
    return dx, dw.reshape(w.shape)


# --------------------------------------------------------------------------------------------
# convolution


def _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size=None):
    stride, padding, dilation = _geometry(stride, padding, dilation)
    out_hw, g = _conv_shapes(x.shape, w.shape, groups, stride, padding, dilation, "conv",
                             output_size)
    algorithm = conv_algorithm(x.shape[1], g, out_hw, layout)
    return _Geometry(x.shape, w.shape, out_hw, g, stride, padding, dilation, algorithm)


def conv2d_forward(x, w, *, stride, padding, dilation, groups, layout=None, out=None,
                   columns=None, ws=None, xp=np, output_size=None):
    """Convolution (cross-correlation) of ``x`` (N, C, H, W) with ``w`` (F, C/groups, kh, kw);
    returns ``y`` (N, F, Ho, Wo) in ``x.dtype``, without bias.

    ``layout``: "batch", "pixel" or None (automatic; depthwise convs ignore it). ``out``: an
    (N, F, Ho, Wo) array to write ``y`` into. ``columns``: an array of
    :func:`columns_shape` to write the im2col columns into (so a backward pass can reuse
    them; untouched by the depthwise kernel). ``ws``: buffer provider (module docstring).
    ``output_size``: (Ho, Wo) as a validated config states it (None: computed here)."""
    _check_4d("x", x)
    _check_4d("w", w)
    x, w = _same_dtype(xp, x, w)
    geo = _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size)
    if out is None:
        out = xp.empty((geo.n, geo.f, geo.ho, geo.wo), dtype=x.dtype)
    if geo.layout == "depthwise":
        return _depthwise_forward(x, w, geo, xp, ws, out)
    cols = _im2col(x, geo, xp, ws, out=columns)
    return _gemm_to_nchw(w, cols, geo, xp, out=out)


def columns_shape(x_shape, w_shape, *, stride, padding, dilation, groups, layout=None,
                  output_size=None):
    """Shape of the im2col columns :func:`conv2d_forward` writes for these shapes, or None
    when the conv runs the depthwise kernel (which needs no columns)."""
    stride, padding, dilation = _geometry(stride, padding, dilation)
    out_hw, g = _conv_shapes(x_shape, w_shape, groups, stride, padding, dilation, "conv",
                             output_size)
    algorithm = conv_algorithm(x_shape[1], g, out_hw, layout)
    geo = _Geometry(x_shape, w_shape, out_hw, g, stride, padding, dilation, algorithm)
    if algorithm == "batch":
        return (geo.n, geo.g, geo.k, geo.ho * geo.wo)
    if algorithm == "pixel":
        return (geo.g, geo.k, geo.ho * geo.wo * geo.n)
    return None


def conv2d_backward(x, w, dy, *, stride, padding, dilation, groups, need_dx=True, layout=None,
                    columns=None, ws=None, xp=np, output_size=None):
    """Gradients ``(dx, dw)`` of ``sum(conv2d_forward(x, w) * dy)``; ``dx`` is None when
    ``need_dx`` is False. ``columns``: the columns the forward wrote for this ``x`` (same
    layout), else they are recomputed."""
    _check_4d("x", x)
    _check_4d("w", w)
    _check_4d("dy", dy)
    x, w, dy = _same_dtype(xp, x, w, dy)
    geo = _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size)
    expected = (geo.n, geo.f, geo.ho, geo.wo)
    if tuple(dy.shape) != expected:
        raise ValueError(f"conv: dy has shape {tuple(dy.shape)}, the output is {expected}")
    if geo.layout == "depthwise":
        return _depthwise_backward(x, w, dy, geo, need_dx, xp, ws)
    d = _output_side(dy, geo, xp)
    cols = columns if columns is not None else _im2col(x, geo, xp, ws)
    dw = _weight_grad(d, cols, geo, xp)
    dx = _data_grad(w, d, geo, xp, ws) if need_dx else None
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


def _transpose_geometry(x, w, stride, padding, dilation, groups, output_size, layout):
    """The geometry of the conv whose data gradient this transposed conv is: its input is the
    transposed conv's output (N, F, Ho, Wo), its output the transposed conv's input."""
    stride, padding, dilation = _geometry(stride, padding, dilation)
    out_hw, g = _transpose_shapes(x.shape, w.shape, groups, stride, padding, dilation,
                                  output_size)
    n, c, h, w_ = x.shape
    f = w.shape[1] * g
    algorithm = conv_algorithm(f, g, (h, w_), layout)
    if algorithm == "depthwise":      # shifted adds are written for the conv direction only
        algorithm = conv_algorithm(f, 1, (h, w_), layout)
    return _Geometry((n, f) + out_hw, w.shape, (h, w_), g, stride, padding, dilation,
                     algorithm)


def conv2d_transpose_forward(x, w, *, stride, padding, dilation, groups, output_size,
                             layout=None, ws=None, xp=np):
    """Transposed convolution (Paddle's exconvt) of ``x`` (N, C, H, W) with ``w``
    (C, F/groups, kh, kw) to ``y`` (N, F, Ho, Wo), ``output_size = (Ho, Wo)`` (None: the
    formula ``(H-1)*s + (k-1)*d + 1 - 2*p``). Returns ``x.dtype``, without bias."""
    _check_4d("x", x)
    _check_4d("w", w)
    x, w = _same_dtype(xp, x, w)
    geo = _transpose_geometry(x, w, stride, padding, dilation, groups, output_size, layout)
    return _data_grad(w, _output_side(x, geo, xp), geo, xp, ws)


def conv2d_transpose_backward(x, w, dy, *, stride, padding, dilation, groups, need_dx=True,
                              layout=None, ws=None, xp=np):
    """Gradients ``(dx, dw)`` of ``sum(conv2d_transpose_forward(x, w) * dy)``, ``dy`` being
    (N, F, Ho, Wo); ``dx`` is None when ``need_dx`` is False. ``dx`` is the conv forward of
    ``dy`` with ``w``; ``dw`` is the conv weight gradient with ``dy`` as input and ``x`` as
    output gradient; both use one set of columns of ``dy``."""
    _check_4d("x", x)
    _check_4d("w", w)
    _check_4d("dy", dy)
    x, w, dy = _same_dtype(xp, x, w, dy)
    geo = _transpose_geometry(x, w, stride, padding, dilation, groups, tuple(dy.shape[2:]),
                              layout)
    expected = (geo.n, geo.c, geo.h, geo.w)
    if tuple(dy.shape) != expected:
        raise ValueError(f"conv_transpose: dy has shape {tuple(dy.shape)}, expected {expected}")
    cols = _im2col(dy, geo, xp, ws)
    dw = _weight_grad(_output_side(x, geo, xp), cols, geo, xp)
    dx = _gemm_to_nchw(w, cols, geo, xp) if need_dx else None
    return dx, dw
