"""Convolution (Paddle's ``exconv``, ``conv3d``) and transposed convolution (``exconvt``,
``deconv3d``) by im2col + GEMM, and depthwise convolution by shifted multiply-adds, for any
number of spatial axes: ``(H, W)`` images and ``(D, H, W)`` volumes run the same code (the
docstrings below say (kh, kw) and (Ho, Wo) for short; per-axis values run slowest axis first).

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

``layout=None`` picks a layout by :func:`conv_algorithm`'s rule: ``"batch"`` when an output
image has at least ``BATCH_LAYOUT_MIN_PIXELS`` pixels, and, given the filters, the filter size
and the input image size, also when the weight (the per-sample weight-gradient partials
"batch" writes and sums) is smaller than the input and output images of one sample (what
"pixel" transposes). A convolution with one input channel per group and more than one group
(depthwise, with any channel multiplier) runs the ``"depthwise"`` kernel instead: kh*kw
multiply-adds of shifted views, no columns at all.

Every intermediate is created in the dtype of ``x``: float32 stays float32. Weights and output
gradients of another dtype are cast to ``x.dtype`` first (an integer ``x`` is promoted with them
to a floating dtype instead). Scratch buffers: ``ws(tag, shape, dtype)``, when given, returns a reusable
array of undefined contents for a tag (one call uses distinct tags for the buffers it needs at
the same time); what the kernels return never aliases a ``ws`` buffer. No batch chunking, no threads: scheduling is the runtime
backend's business (it calls these functions per chunk of the batch). ``xp`` is the array module
(NumPy, or CuPy on a GPU backend).
"""

from functools import lru_cache
from itertools import product

import numpy as np

__all__ = [
    "conv_output_size",
    "conv_algorithm",
    "conv_forward",
    "conv_backward",
    "conv_transpose_forward",
    "conv_transpose_backward",
    "conv2d_forward",
    "columns_shape",
    "conv2d_backward",
    "conv2d_transpose_forward",
    "conv2d_transpose_backward",
    "BATCH_LAYOUT_MIN_PIXELS",
]

#: output pixels per image from which the "batch" column layout is chosen when
#: :func:`conv_algorithm` is not told the filters and image sizes
BATCH_LAYOUT_MIN_PIXELS = 512
_LAYOUTS = ("batch", "pixel")


def conv_output_size(size, kernel, padding, stride, dilation):
    """Output length of a convolution along one axis (Paddle's caffe mode, spec 2.3):
    ``1 + (size + 2*padding - ((kernel - 1)*dilation + 1)) // stride``."""
    return 1 + (size + 2 * padding - ((kernel - 1) * dilation + 1)) // stride


def conv_algorithm(in_channels, groups, out_hw, layout=None, *, filters=None, filter_hw=None,
                   in_hw=None):
    """The kernel a conv with these channels, groups and output (or, for a transposed conv,
    input) image size runs: ``"depthwise"``, ``"batch"`` or ``"pixel"``. A ``layout`` decided
    before (by the caller, once) is kept; a depthwise conv runs ``"depthwise"`` whatever the
    layout.

    The rule: "pixel" costs a transposing copy of each sample's input and output images
    forward (and of their gradients backward), C*H*W + F*Ho*Wo values per sample each way;
    "batch" costs, besides small per-sample GEMMs, a weight gradient written per sample and
    summed, F*C/G*kh*kw values per sample. "batch" is chosen for output images of
    ``BATCH_LAYOUT_MIN_PIXELS`` pixels or more (wide per-sample GEMMs, and columns that fill
    a chunk of the batch with few samples, so "pixel" would merge few: AlexNet's 96->256 5x5
    on 27x27 and VGG's 512->512 on 28x28 ran no faster in "pixel"), and, when ``filters``,
    ``filter_hw`` (the filter's spatial sizes) and ``in_hw`` (the input image's) are given,
    also when the weight is smaller than the images. Measured on ResNet-20, small VGG and
    LeNet training steps, both layouts, forward + backward: 32->32 3x3 on 16x16 (weight /
    images 0.56) runs 0.96x in "batch", ResNet's 1x1 stride-2 projections (0.02, 0.17) 0.45x
    and 0.59x; 64->64 on 8x8 (4.5) runs 0.82x in "pixel", 128->128 on 16x16 (2.25) 0.90x,
    LeNet's 20->50 5x5 on 8x8 (4.1) 0.73x."""
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
    if filters is None or filter_hw is None or in_hw is None:
        return "batch" if _pixels(out_hw) >= BATCH_LAYOUT_MIN_PIXELS else "pixel"
    weight = filters * (in_channels // groups) * _pixels(filter_hw)
    images = in_channels * _pixels(in_hw) + filters * _pixels(out_hw)
    return "batch" if weight <= images or _pixels(out_hw) >= BATCH_LAYOUT_MIN_PIXELS else "pixel"


def _pixels(sizes):
    n = 1
    for s in sizes:
        n *= s
    return n


# --------------------------------------------------------------------------------------------
# argument handling


def _axes(value, name, rank):
    """A per-axis argument as a tuple of ``rank`` ints, slowest axis first (a single int means
    every axis)."""
    if isinstance(value, (tuple, list)):
        if len(value) != rank:
            raise ValueError(f"{name} must give one value per spatial axis ({rank}), got "
                             f"{value!r}")
        return tuple(int(v) for v in value)
    return (int(value),) * rank


def _geometry(stride, padding, dilation, rank):
    stride = _axes(stride, "stride", rank)
    padding = _axes(padding, "padding", rank)
    dilation = _axes(dilation, "dilation", rank)
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(
            f"need stride >= 1, dilation >= 1, padding >= 0; got stride={stride}, "
            f"padding={padding}, dilation={dilation}")
    return stride, padding, dilation


def _check_rank(x, *others):
    """``x`` is (N, C, *spatial) with at least one spatial axis; the named ``others`` have as
    many dimensions as ``x``. Returns the number of spatial axes."""
    if x.ndim < 3:
        raise ValueError(f"x must be (N, C, *spatial) with at least one spatial axis, got shape "
                         f"{tuple(x.shape)}")
    for name, a in others:
        if a.ndim != x.ndim:
            raise ValueError(f"{name} must be {x.ndim}-D like x, got shape {tuple(a.shape)}")
    return x.ndim - 2


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
    """Check a conv's input shape (N, Cin, *image) against its weight (Cout, Cin/G, *filter)
    and return ``(out, G)``, ``out`` the output's spatial sizes. ``what`` names the arrays in
    messages. ``output_size``: the output size a validated config states (taken as it is),
    else computed."""
    cin, image = in_shape[1], tuple(in_shape[2:])
    cout, cin_g, filt = w_shape[0], w_shape[1], tuple(w_shape[2:])
    g = int(groups)
    if g < 1 or cin % g or cout % g:
        raise ValueError(f"groups={groups} must divide both channel counts ({what}: {cin} and "
                         f"{cout})")
    if cin_g * g != cin:
        raise ValueError(f"{what}: weight shape {tuple(w_shape)} needs {cin_g * g} channels "
                         f"with groups={g}, the input has {cin}")
    if output_size is not None:
        return _axes(output_size, "output_size", len(image)), g
    out = tuple(conv_output_size(*a) for a in zip(image, filt, padding, stride, dilation))
    if min(out) < 1:
        raise ValueError(f"{what}: output size {out} < 1 for image {image}, filter {filt}, "
                         f"stride {stride}, padding {padding}, dilation {dilation}")
    return out, g


class _Geometry:
    """One conv's shapes: input ``(n, c, *image)`` (the image side), weight
    ``(f, c/g, *filter)``, output ``(n, f, *out)``, per-axis stride / padding / dilation
    (slowest axis first), the column layout."""

    def __init__(self, in_shape, w_shape, out, groups, stride, padding, dilation, layout):
        self.n, self.c = in_shape[0], in_shape[1]
        self.image = tuple(in_shape[2:])
        self.f, self.filter = w_shape[0], tuple(w_shape[2:])
        self.out = tuple(out)
        self.rank = len(self.image)
        self.g = groups
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.layout = layout
        self.taps = _pixels(self.filter)
        self.k = (self.c // groups) * self.taps
        self.pixels = _pixels(self.out)
        self.padded = tuple(s + 2 * p for s, p in zip(self.image, padding))
        #: the interior of the padded image, per axis
        self.interior = tuple(slice(p, p + s) for s, p in zip(self.image, padding))

    def windows(self):
        """For each kernel offset (the last axis fastest): the offset and the strided slices of
        the padded image that it reads for all outputs."""
        return _window_plan(self.filter, self.stride, self.dilation, self.out)

    def phases(self):
        """For col2im with a stride: :func:`_phase_plan`."""
        return _phase_plan(self.filter, self.stride, self.dilation, self.out)


# The slicing plans depend on the geometry only: worked out once per geometry (a network has a
# handful), not on every call.

@lru_cache(maxsize=512)
def _window_plan(filt, stride, dilation, out):
    spans = [s * (o - 1) + 1 for s, o in zip(stride, out)]
    return tuple((taps, tuple([slice(t * d, t * d + span, s) for t, d, span, s
                               in zip(taps, dilation, spans, stride)]))
                 for taps in product(*[range(k) for k in filt]))


@lru_cache(maxsize=512)
def _phase_plan(filt, stride, dilation, out):
    """Per phase of the padded image (cells whose index is p mod stride along every axis):
    its strided slices, and the kernel offsets that feed it with the slices of the phase
    they land on."""
    plan = []
    for phase in product(*[range(s) for s in stride]):
        dest = tuple([slice(p, None, s) for p, s in zip(phase, stride)])
        taps = tuple(
            (t, tuple([slice(k * d // s, k * d // s + o)
                       for k, d, s, o in zip(t, dilation, stride, out)]))
            for t in product(*[range(k) for k in filt])
            if all([(k * d) % s == p for k, d, s, p in zip(t, dilation, stride, phase)]))
        plan.append((dest, taps))
    return tuple(plan)


def _buffer(ws, xp, tag, shape, dtype):
    """A scratch array (contents undefined): from ``ws`` when given, else a new one."""
    return xp.empty(shape, dtype=dtype) if ws is None else ws(tag, shape, dtype)


# --------------------------------------------------------------------------------------------
# the shared pieces


def _to_last(rank):
    """The axes permutation moving axis 0 (N) of an (N, C, *spatial) array last."""
    return tuple(range(1, rank + 2)) + (0,)


def _from_last(rank):
    """The inverse of :func:`_to_last`."""
    return (rank + 1,) + tuple(range(rank + 1))


def _padded_image(x, geo, xp, ws):
    """``x`` (N, C, *image) zero-padded, as (N, C, *padded) for the "batch" layout or
    transposed to (C, *padded, N) for "pixel" (and "depthwise": (N, C, *padded)). Only the
    interior of a reused buffer is written; its border was zeroed when it was created."""
    padded = any(geo.padding)
    if geo.layout == "pixel":
        if not padded:
            return xp.ascontiguousarray(x.transpose(_to_last(geo.rank)))
        buf = _buffer(ws, xp, "pad", (geo.c,) + geo.padded + (geo.n,), x.dtype)
        _zero_border(buf, 1, geo)                 # (C, *padded, N)
        buf[(slice(None),) + geo.interior] = x.transpose(_to_last(geo.rank))
        return buf
    if not padded:
        return x
    buf = _buffer(ws, xp, "pad", (geo.n, geo.c) + geo.padded, x.dtype)
    _zero_border(buf, 2, geo)
    buf[(slice(None), slice(None)) + geo.interior] = x
    return buf


def _zero_border(buf, first, geo):
    """Zero the padding of ``buf``, whose axes ``first`` onwards are the padded spatial axes
    and whose interior the caller writes: along each axis, the padding cells within the
    interior of the axes before it."""
    lead = (slice(None),) * first
    for p, s, inner in zip(geo.padding, geo.image, geo.interior):
        buf[lead + (slice(None, p),)] = 0
        buf[lead + (slice(p + s, None),)] = 0
        lead += (inner,)


def _im2col(x, geo, xp, ws=None, out=None):
    """Columns of ``x`` (N, C, *image): ``(N, G, K, P)`` ("batch") or ``(G, K, P*N)``
    ("pixel"), P the output pixels, written into ``out`` when given."""
    img = _padded_image(x, geo, xp, ws)
    if geo.layout == "pixel":
        s_c, s_n, s_sp = img.strides[0], img.strides[-1], img.strides[1:-1]
        shape = (geo.c,) + geo.filter + geo.out + (geo.n,)
        strides = ((s_c,) + tuple(s * d for s, d in zip(s_sp, geo.dilation))
                   + tuple(s * st for s, st in zip(s_sp, geo.stride)) + (s_n,))
        cols_shape = (geo.g, geo.k, geo.pixels * geo.n)
    else:
        s_n, s_c, s_sp = img.strides[0], img.strides[1], img.strides[2:]
        shape = (geo.n, geo.c) + geo.filter + geo.out
        strides = ((s_n, s_c) + tuple(s * d for s, d in zip(s_sp, geo.dilation))
                   + tuple(s * st for s, st in zip(s_sp, geo.stride)))
        cols_shape = (geo.n, geo.g, geo.k, geo.pixels)
    view = xp.lib.stride_tricks.as_strided(img, shape=shape, strides=strides)
    if out is None:
        out = _buffer(ws, xp, "cols", cols_shape, x.dtype)
    out.reshape(view.shape)[...] = view
    return out


def _gemm_to_nchw(w, cols, geo, xp, out=None):
    """``W @ cols`` per group for a weight ``w`` (F, C/G, *filter), as (N, F, *out) (written
    into ``out`` when given)."""
    wm = w.reshape(geo.g, geo.f // geo.g, geo.k)
    shape = (geo.n, geo.f) + geo.out
    if out is None:
        out = xp.empty(shape, dtype=cols.dtype)
    if geo.layout == "batch":   # (G, F/G, K) @ (N, G, K, P) -> (N, G, F/G, P): NCHW already
        xp.matmul(wm, cols, out=out.reshape(geo.n, geo.g, geo.f // geo.g, -1))
    else:                       # (G, F/G, P*N) -> (F, *out, N) -> NCHW
        y = xp.matmul(wm, cols)
        out[...] = y.reshape((geo.f,) + geo.out + (geo.n,)).transpose(_from_last(geo.rank))
    return out


def _output_side(d, geo, xp):
    """An output-side array ``d`` (N, F, *out) in the layout's GEMM form: (N, G, F/G, P) for
    "batch" (a view), (G, F/G, P*N) for "pixel" (one transposing copy)."""
    fg = geo.f // geo.g
    if geo.layout == "batch":
        return d.reshape(geo.n, geo.g, fg, geo.pixels)
    return xp.ascontiguousarray(d.transpose(_to_last(geo.rank))).reshape(geo.g, fg, -1)


def _weight_grad(d, cols, geo, xp):
    """``d @ cols^T`` per group (summed over the batch, in a fixed order), shaped as the
    weight (F, C/G, *filter); ``d`` in :func:`_output_side` form."""
    if geo.layout == "batch":
        per_sample = xp.matmul(d, cols.transpose(0, 1, 3, 2))   # (N, G, F/G, K)
        dw = per_sample.sum(axis=0)
    else:
        dw = xp.matmul(d, cols.transpose(0, 2, 1))               # (G, F/G, K)
    return dw.reshape((geo.f, geo.c // geo.g) + geo.filter)


def _data_grad(w, d, geo, xp, ws=None):
    """Image-side gradient (N, C, *image) from the output side ``d`` (in :func:`_output_side`
    form) through a weight ``w`` (F, C/G, *filter): column gradient ``W^T @ d``, then col2im.

    The weight's rows are reordered to (*offset, c) first (a small copy), so each kernel
    offset's column gradient is one contiguous block per sample (or in all, for "pixel")
    instead of P values every C/G*taps rows: col2im reads it streaming."""
    g, fg, cg, rank = geo.g, geo.f // geo.g, geo.c // geo.g, geo.rank
    order = (0,) + tuple(range(3, 3 + rank)) + (2, 1)
    wt = w.reshape((g, fg, cg) + geo.filter).transpose(order).reshape(g, geo.k, fg)
    dcols = xp.matmul(wt, d) if fg > 1 else wt * d
    every = slice(None)
    if geo.layout == "batch":                                          # (N, G, K, P)
        dcols = dcols.reshape((geo.n, g) + geo.filter + (cg,) + geo.out)
        pad = _col2im(lambda taps: dcols[(every, every) + taps],
                      lambda where: (Ellipsis,) + where,
                      (geo.n, g, cg) + geo.padded, geo, xp, ws, dcols.dtype)
        pad = pad.reshape((geo.n, geo.c) + geo.padded)
        return pad[(every, every) + geo.interior].copy()   # never the buffer itself
    dcols = dcols.reshape((g,) + geo.filter + (cg,) + geo.out + (geo.n,))  # (G, K, P*N)
    pad = _col2im(lambda taps: dcols[(every,) + taps],
                  lambda where: (Ellipsis,) + where + (every,),
                  (g, cg) + geo.padded + (geo.n,), geo, xp, ws, dcols.dtype)
    pad = pad.reshape((geo.c,) + geo.padded + (geo.n,))
    return pad[(every,) + geo.interior].transpose(_from_last(rank)).copy()


def _col2im(tap, where, shape, geo, xp, ws, dtype):
    """Sum the column gradients of every kernel offset into a zeroed padded image of ``shape``:
    ``tap(offset)`` is an offset's (.., *out, ..) block, ``where(slices)`` indexes the padded
    image's spatial axes.

    Stride 1: one add of a shifted slice per offset. Larger strides: the padded image splits
    into prod(stride) phases (cells whose index is p mod stride along every axis); every
    offset feeds exactly one phase at a shift, so each phase is summed in its own contiguous
    buffer with unit-stride adds and copied into its strided place once (strided adds were
    3-7x slower)."""
    pad = _buffer(ws, xp, "col2im", shape, dtype)
    if all(s == 1 for s in geo.stride):
        pad[...] = 0
        for taps, slices in geo.windows():
            pad[where(slices)] += tap(taps)
        return pad
    for dest_slices, taps in geo.phases():
        dest = pad[where(dest_slices)]
        if not taps:
            dest[...] = 0
            continue
        phase = _buffer(ws, xp, "phase", dest.shape, dtype)
        phase[...] = 0
        for t, shift in taps:
            phase[where(shift)] += tap(t)
        dest[...] = phase
    return pad


# --------------------------------------------------------------------------------------------
# depthwise: one input channel per group, F/G output channels (the multiplier) per group


def _tap_index(taps):
    """Index of one offset's weights in (.., G, M, *filter), keeping the filter axes."""
    return (slice(None),) * 3 + tuple(slice(t, t + 1) for t in taps)


def _depthwise_forward(x, w, geo, xp, ws, out):
    """y[n, g*m + j] = sum over offsets of w[g*m + j, 0, offset] * shifted x[n, g]."""
    m = geo.f // geo.g
    img = _padded_image(x, geo, xp, ws)[:, :, None]             # (N, G, 1, *padded)
    wk = w.reshape((1, geo.g, m) + geo.filter)
    y = out.reshape((geo.n, geo.g, m) + geo.out)
    tmp = _buffer(ws, xp, "product", y.shape, y.dtype)
    first = True
    for taps, slices in geo.windows():
        wv = wk[_tap_index(taps)]
        cells = img[(slice(None),) * 3 + slices]
        if first:
            xp.multiply(cells, wv, out=y)
            first = False
        else:
            xp.multiply(cells, wv, out=tmp)
            y += tmp
    return out


def _depthwise_backward(x, w, dy, geo, need_dx, xp, ws):
    m = geo.f // geo.g
    img = _padded_image(x, geo, xp, ws)[:, :, None]             # (N, G, 1, *padded)
    dy5 = dy.reshape((geo.n, geo.g, m) + geo.out)
    dw = xp.empty((geo.g, m) + geo.filter, dtype=dy.dtype)
    tmp = _buffer(ws, xp, "product", dy5.shape, dy.dtype) if need_dx else None
    pad = None
    if need_dx:
        pad = _buffer(ws, xp, "col2im", (geo.n, geo.g) + geo.padded, dy.dtype)
        pad[...] = 0
    wk = w.reshape((1, geo.g, m) + geo.filter)
    axes = "pqrstuvw"[:geo.rank]
    subscripts = f"ngj{axes},ngj{axes}->gj"
    for taps, slices in geo.windows():
        # one pass of multiply-and-sum per offset (no temporary), a fixed order
        dw[(slice(None), slice(None)) + taps] = xp.einsum(
            subscripts, img[(slice(None),) * 3 + slices], dy5)
        if need_dx:
            xp.multiply(dy5, wk[_tap_index(taps)], out=tmp)
            pad[(slice(None), slice(None)) + slices] += tmp.sum(axis=2) if m > 1 else tmp[:, :, 0]
    dx = None
    if need_dx:
        dx = pad[(slice(None), slice(None)) + geo.interior].copy()
    return dx, dw.reshape(w.shape)


# --------------------------------------------------------------------------------------------
# convolution


def _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size=None):
    stride, padding, dilation = _geometry(stride, padding, dilation, x.ndim - 2)
    out, g = _conv_shapes(x.shape, w.shape, groups, stride, padding, dilation, "conv",
                          output_size)
    algorithm = conv_algorithm(x.shape[1], g, out, layout)
    return _Geometry(x.shape, w.shape, out, g, stride, padding, dilation, algorithm)


def conv_forward(x, w, *, stride, padding, dilation, groups, layout=None, out=None,
                 columns=None, ws=None, xp=np, output_size=None):
    """Convolution (cross-correlation) of ``x`` (N, C, *image) with ``w``
    (F, C/groups, *filter); returns ``y`` (N, F, *out) in ``x.dtype``, without bias. Any
    number of spatial axes: (H, W) for 2-D, (D, H, W) for 3-D.

    ``stride``, ``padding``, ``dilation``: an int (every axis) or one per spatial axis,
    slowest first. ``layout``: "batch", "pixel" or None (automatic; depthwise convs ignore
    it). ``out``: an (N, F, *out) array to write ``y`` into. ``columns``: an array of
    :func:`columns_shape` to write the im2col columns into (so a backward pass can reuse
    them; untouched by the depthwise kernel). ``ws``: buffer provider (module docstring).
    ``output_size``: the output's spatial sizes as a validated config states them (None:
    computed here)."""
    _check_rank(x, ("w", w))
    x, w = _same_dtype(xp, x, w)
    geo = _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size)
    if out is None:
        out = xp.empty((geo.n, geo.f) + geo.out, dtype=x.dtype)
    if geo.layout == "depthwise":
        return _depthwise_forward(x, w, geo, xp, ws, out)
    cols = _im2col(x, geo, xp, ws, out=columns)
    return _gemm_to_nchw(w, cols, geo, xp, out=out)


def columns_shape(x_shape, w_shape, *, stride, padding, dilation, groups, layout=None,
                  output_size=None):
    """Shape of the im2col columns :func:`conv_forward` writes for these shapes, or None
    when the conv runs the depthwise kernel (which needs no columns)."""
    stride, padding, dilation = _geometry(stride, padding, dilation, len(x_shape) - 2)
    out, g = _conv_shapes(x_shape, w_shape, groups, stride, padding, dilation, "conv",
                          output_size)
    algorithm = conv_algorithm(x_shape[1], g, out, layout)
    geo = _Geometry(x_shape, w_shape, out, g, stride, padding, dilation, algorithm)
    if algorithm == "batch":
        return (geo.n, geo.g, geo.k, geo.pixels)
    if algorithm == "pixel":
        return (geo.g, geo.k, geo.pixels * geo.n)
    return None


def conv_backward(x, w, dy, *, stride, padding, dilation, groups, need_dx=True, layout=None,
                  columns=None, ws=None, xp=np, output_size=None):
    """Gradients ``(dx, dw)`` of ``sum(conv_forward(x, w) * dy)``; ``dx`` is None when
    ``need_dx`` is False. ``columns``: the columns the forward wrote for this ``x`` (same
    layout), else they are recomputed."""
    _check_rank(x, ("w", w), ("dy", dy))
    x, w, dy = _same_dtype(xp, x, w, dy)
    geo = _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size)
    expected = (geo.n, geo.f) + geo.out
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
    """Output spatial sizes and groups of a transposed conv; checks that a conv of an image of
    that size gives back the spatial sizes of ``x``."""
    c, image = x_shape[1], tuple(x_shape[2:])
    cw, filt = w_shape[0], tuple(w_shape[2:])
    g = int(groups)
    if g < 1 or c % g:
        raise ValueError(f"conv_transpose: groups={groups} must divide the {c} input channels")
    if cw != c:
        raise ValueError(f"conv_transpose: weight shape {tuple(w_shape)} has {cw} input "
                         f"channels, x has {c}")
    if output_size is None:
        output_size = tuple((size - 1) * s + (k - 1) * d + 1 - 2 * p
                            for size, k, s, p, d in zip(image, filt, stride, padding, dilation))
    out = _axes(output_size, "output_size", len(image))
    back = tuple(conv_output_size(o, k, p, s, d)
                 for o, k, p, s, d in zip(out, filt, padding, stride, dilation))
    if min(out) < 1 or back != image:
        raise ValueError(
            f"conv_transpose: output_size {out} does not invert to the input size {image} for "
            f"filter {filt}, stride {stride}, padding {padding}, dilation {dilation} (a conv "
            f"of it gives {back})")
    return out, g


def _transpose_geometry(x, w, stride, padding, dilation, groups, output_size, layout):
    """The geometry of the conv whose data gradient this transposed conv is: its input is the
    transposed conv's output (N, F, *out), its output the transposed conv's input."""
    stride, padding, dilation = _geometry(stride, padding, dilation, x.ndim - 2)
    out, g = _transpose_shapes(x.shape, w.shape, groups, stride, padding, dilation,
                               output_size)
    n, image = x.shape[0], tuple(x.shape[2:])
    f = w.shape[1] * g
    algorithm = conv_algorithm(f, g, image, layout)
    if algorithm == "depthwise":      # shifted adds are written for the conv direction only
        algorithm = conv_algorithm(f, 1, image, layout)
    return _Geometry((n, f) + out, w.shape, image, g, stride, padding, dilation, algorithm)


def conv_transpose_forward(x, w, *, stride, padding, dilation, groups, output_size,
                           layout=None, ws=None, xp=np):
    """Transposed convolution (Paddle's exconvt, deconv3d) of ``x`` (N, C, *image) with ``w``
    (C, F/groups, *filter) to ``y`` (N, F, *out), ``out = output_size`` (None: the formula
    ``(size-1)*s + (k-1)*d + 1 - 2*p`` per axis). Returns ``x.dtype``, without bias."""
    _check_rank(x, ("w", w))
    x, w = _same_dtype(xp, x, w)
    geo = _transpose_geometry(x, w, stride, padding, dilation, groups, output_size, layout)
    return _data_grad(w, _output_side(x, geo, xp), geo, xp, ws)


def conv_transpose_backward(x, w, dy, *, stride, padding, dilation, groups, need_dx=True,
                            layout=None, ws=None, xp=np):
    """Gradients ``(dx, dw)`` of ``sum(conv_transpose_forward(x, w) * dy)``, ``dy`` being
    (N, F, *out); ``dx`` is None when ``need_dx`` is False. ``dx`` is the conv forward of
    ``dy`` with ``w``; ``dw`` is the conv weight gradient with ``dy`` as input and ``x`` as
    output gradient; both use one set of columns of ``dy``."""
    _check_rank(x, ("w", w), ("dy", dy))
    x, w, dy = _same_dtype(xp, x, w, dy)
    geo = _transpose_geometry(x, w, stride, padding, dilation, groups, tuple(dy.shape[2:]),
                              layout)
    expected = (geo.n, geo.c) + geo.image
    if tuple(dy.shape) != expected:
        raise ValueError(f"conv_transpose: dy has shape {tuple(dy.shape)}, expected {expected}")
    cols = _im2col(dy, geo, xp, ws)
    dw = _weight_grad(_output_side(x, geo, xp), cols, geo, xp)
    dx = _gemm_to_nchw(w, cols, geo, xp) if need_dx else None
    return dx, dw


#: the 2-D names (every function above takes any number of spatial axes)
conv2d_forward = conv_forward
conv2d_backward = conv_backward
conv2d_transpose_forward = conv_transpose_forward
conv2d_transpose_backward = conv_transpose_backward
