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

On the CPU the "batch" layout runs in cache-sized blocks of samples or of output rows
(:func:`_run_blocks`), copies the columns of a stride-1 2-D conv whose output is as wide as
its input in runs of whole blocks of rows (:func:`_columns_by_rows`), and computes a data
gradient (so also a transposed conv's forward) by one of three routes
(:func:`_data_grad_method`): the forward conv of ``dy`` with the flipped weight (stride 1), one
stride-1 conv per image phase on strided views of the flattened padded ``dy`` (larger strides:
:func:`_subpixel_data_grad`), or ``W^T @ d`` and col2im.

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

from copy import copy
from functools import lru_cache
from itertools import product

import numpy as np

from .depthwise import depthwise_backward, depthwise_forward
from .smallconv import flat_applies, flat_backward, flat_forward, flat_pays
from .subpixel import axis_phases, phases_data_grad, phases_pay

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
#: bytes of im2col columns the "batch" layout copies and multiplies in one block (a few
#: samples, or a band of output rows of one sample), so that the GEMM reads the columns from
#: cache right after the copy wrote them. 768 KB, 1.5 MB, 2 MB and 4 MB measured: 2 MB as fast
#: as the best on every bench layer, and fewer calls on small ones (LeNet's conv1)
BLOCK_BYTES = 2 * 1024 * 1024
#: kernel offsets a block of BLOCK_BYTES pays col2im adds for (more: a larger block)
COL2IM_TAPS = 9
_LAYOUTS = ("batch", "pixel")


def conv_output_size(size, kernel, padding, stride, dilation):
    """Output length of a convolution along one axis (Paddle's caffe mode, spec 2.3):
    ``1 + (size + 2*padding - ((kernel - 1)*dilation + 1)) // stride``."""
    return 1 + (size + 2 * padding - ((kernel - 1) * dilation + 1)) // stride


def conv_algorithm(in_channels, groups, out_hw, layout=None, *, filters=None, filter_hw=None,
                   in_hw=None, stride=None, padding=None, dilation=None):
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
    LeNet's 20->50 5x5 on 8x8 (4.1) 0.73x.

    Given also a convolution's (not a transposed one's) ``stride``, ``padding`` and
    ``dilation``, a 2-D conv with few channels that :func:`~.smallconv.flat_pays` admits runs
    ``"flat"`` (:mod:`.smallconv`: im2col over the image flattened at its padded width)."""
    depthwise = groups > 1 and in_channels == groups
    if layout is not None:
        if layout not in _LAYOUTS + ("depthwise", "flat"):
            raise ValueError(f"layout must be one of {_LAYOUTS} or None, got {layout!r}")
        if layout == "depthwise" and not depthwise:
            raise ValueError(f"layout 'depthwise' needs one input channel per group, got "
                             f"{in_channels} channels in {groups} groups")
    if depthwise:
        return "depthwise"
    if layout is not None:
        return layout
    if (stride is not None and filters is not None and filter_hw is not None
            and flat_pays(in_channels, groups, filters, filter_hw, out_hw, stride, padding,
                          dilation)):
        return "flat"
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


def same_dtype(xp, x, *others):
    """Cast the other arrays to ``x.dtype`` when ``x`` is floating (float32 stays float32);
    integer ``x`` (hand-written test data) is promoted with the others instead. (The
    Winograd kernels use it too.)"""
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

    def with_batch(self, n):
        """This geometry for ``n`` samples (a block of the batch)."""
        if n == self.n:
            return self
        other = copy(self)
        other.n = n
        return other

    def blocks(self, itemsize, xp, col2im=False):
        """The "batch" layout's blocks, ``(i0, i1, o0, o1)``: :func:`_block_plan`. A block that
        runs col2im (one add per kernel offset) is made larger for a larger filter, so that
        the per-call cost of those adds stays small against the block's GEMM. Off the CPU
        (``xp`` not NumPy) the whole batch is one block: a GPU wants few large launches."""
        if xp is not np:
            return ((0, self.n, 0, self.out[0]),)
        size = BLOCK_BYTES * (max(1, self.taps // COL2IM_TAPS) if col2im else 1)
        return _block_plan(self.n, self.c * self.taps, self.out, itemsize, size)


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


@lru_cache(maxsize=512)
def _block_plan(n, rows, out, itemsize, block_bytes):
    """How the "batch" layout splits a batch so that the columns of one block (``rows`` =
    C*taps rows of the block's pixels) need at most about ``block_bytes`` and stay in cache
    from their im2col copy to the GEMM that reads them: ``("samples", i0, i1)`` blocks of
    whole samples when one sample's columns fit, else bands: the outputs ``o0:o1`` of the
    slowest output axis of one sample (bands of equal height). Each block is ``(i0, i1, o0,
    o1)``: samples ``i0:i1``, output lines ``o0:o1``."""
    per_line = rows * _pixels(out[1:]) * itemsize
    per_sample = per_line * out[0]
    if per_sample <= block_bytes:
        step = max(1, block_bytes // per_sample)
        count = -(-n // step)
        step = -(-n // count)
        return tuple((i, min(n, i + step), 0, out[0]) for i in range(0, n, step))
    lines = max(1, block_bytes // per_line)
    count = -(-out[0] // lines)
    lines = -(-out[0] // count)
    return tuple((i, i + 1, o, min(out[0], o + lines))
                 for i in range(n) for o in range(0, out[0], lines))


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
    transposed to (C, *padded, N) for "pixel" (the depthwise kernel pads its own rows:
    kernels/depthwise.py). Only the interior of a reused buffer is written; its border was
    zeroed when it was created."""
    padded = any(geo.padding)
    if geo.layout == "pixel":
        if not padded:
            return xp.ascontiguousarray(x.transpose(_to_last(geo.rank)))
        buf = _buffer(ws, xp, "pad", (geo.c,) + geo.padded + (x.shape[0],), x.dtype)
        _zero_border(buf, 1, geo)                 # (C, *padded, N)
        buf[(slice(None),) + geo.interior] = x.transpose(_to_last(geo.rank))
        return buf
    if not padded:
        return x
    buf = _buffer(ws, xp, "pad", (x.shape[0], geo.c) + geo.padded, x.dtype)
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
    """The "pixel" layout's weight gradient ``d @ cols^T`` per group, computed as its
    transpose ``cols @ d^T`` (the faster GEMM form, see :func:`_run_blocks`), shaped as the
    weight (F, C/G, *filter); ``d`` in :func:`_output_side` form."""
    dw = xp.matmul(cols, d.transpose(0, 2, 1))                   # (G, K, F/G)
    return xp.ascontiguousarray(dw.transpose(0, 2, 1)).reshape(
        (geo.f, geo.c // geo.g) + geo.filter)


def _data_grad(w, d, geo, xp, ws=None, out=None):
    """Image-side gradient (N, C, *image) from the output side ``d`` (in :func:`_output_side`
    form) through a weight ``w`` (F, C/G, *filter): column gradient ``W^T @ d``, then col2im
    (written into ``out`` when given).

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
        if out is None:
            return pad[(every, every) + geo.interior].copy()   # never the buffer itself
        out[...] = pad[(every, every) + geo.interior]
        return out
    dcols = dcols.reshape((g,) + geo.filter + (cg,) + geo.out + (geo.n,))  # (G, K, P*N)
    pad = _col2im(lambda taps: dcols[(every,) + taps],
                  lambda where: (Ellipsis,) + where + (every,),
                  (g, cg) + geo.padded + (geo.n,), geo, xp, ws, dcols.dtype)
    pad = pad.reshape((geo.c,) + geo.padded + (geo.n,))
    if out is None:
        return pad[(every,) + geo.interior].transpose(_from_last(rank)).copy()
    out[...] = pad[(every,) + geo.interior].transpose(_from_last(rank))
    return out


def _col2im(tap, where, shape, geo, xp, ws, dtype):
    """Sum the column gradients of every kernel offset into a zeroed padded image of ``shape``
    (a "col2im" buffer): ``tap(offset)`` is an offset's (.., *out, ..) block, ``where(slices)``
    indexes the padded image's spatial axes. See :func:`_col2im_into`."""
    pad = _buffer(ws, xp, "col2im", shape, dtype)
    return _col2im_into(pad, tap, where, geo.windows(), geo.phases(), geo.stride, False, xp,
                        ws)


def _col2im_into(pad, tap, where, windows, phases, stride, accumulate, xp, ws):
    """Sum the column gradients of every kernel offset into the padded image ``pad``: set it
    to the sum, or add the sum to it when ``accumulate``. ``windows``/``phases``: the
    geometry's plans for the outputs whose columns ``tap`` gives.

    Stride 1: one add of a shifted slice per offset. Larger strides: the padded image splits
    into prod(stride) phases (cells whose index is p mod stride along every axis); every
    offset feeds exactly one phase at a shift, so each phase is summed in its own contiguous
    buffer with unit-stride adds and copied (or added) into its strided place once (strided
    adds were 3-7x slower)."""
    if all(s == 1 for s in stride):
        if not accumulate:
            pad[...] = 0
        for taps, slices in windows:
            pad[where(slices)] += tap(taps)
        return pad
    for dest_slices, taps in phases:
        dest = pad[where(dest_slices)]
        if not taps:
            if not accumulate:
                dest[...] = 0
            continue
        phase = _buffer(ws, xp, "phase", dest.shape, pad.dtype)
        first, shift = taps[0]
        if phase[where(shift)].shape == phase.shape:
            phase[...] = tap(first)       # the first offset covers the whole phase
        else:
            phase[...] = 0
            phase[where(shift)] += tap(first)
        for t, shift in taps[1:]:
            phase[where(shift)] += tap(t)
        if accumulate:
            dest += phase
        else:
            dest[...] = phase
    return pad


# --------------------------------------------------------------------------------------------
# convolution


def _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size=None):
    stride, padding, dilation = _geometry(stride, padding, dilation, x.ndim - 2)
    out, g = _conv_shapes(x.shape, w.shape, groups, stride, padding, dilation, "conv",
                          output_size)
    algorithm = conv_algorithm(x.shape[1], g, out, layout)
    return _Geometry(x.shape, w.shape, out, g, stride, padding, dilation, algorithm)


def _check_flat(geo):
    if not flat_applies(geo.c, geo.g, geo.filter, geo.stride, geo.padding, geo.dilation):
        raise ValueError(f"layout 'flat' runs 2-D convs of one group, stride 1 and padding at "
                         f"most (filter-1)*dilation; got filter {geo.filter}, groups {geo.g}, "
                         f"stride {geo.stride}, padding {geo.padding}")


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
    x, w = same_dtype(xp, x, w)
    geo = _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size)
    if out is None:
        out = xp.empty((geo.n, geo.f) + geo.out, dtype=x.dtype)
    if geo.layout == "depthwise":
        return depthwise_forward(x, w, geo, xp, ws, out)
    if geo.layout == "flat":
        _check_flat(geo)
        return flat_forward(x, w, geo, xp, ws, out)
    if geo.layout == "batch":
        target = out if out.flags.c_contiguous else xp.empty(out.shape, dtype=out.dtype)
        _run_blocks(geo, xp, ws, x.dtype, w, x=x, columns=columns, y=target)
        if target is not out:
            out[...] = target
        return out
    cols = _im2col(x, geo, xp, ws, out=columns)
    return _gemm_to_nchw(w, cols, geo, xp, out=out)


def _run_blocks(geo, xp, ws, dtype, w, *, x=None, columns=None, filled=False, y=None,
                d=None, want_dw=False, dx=None):
    """The "batch" layout block by block (:meth:`_Geometry.blocks`), each block's columns used
    while they are in cache: im2col of the image side ``x`` (N, C, *image) (into the kept
    ``columns`` when given; read from them instead when ``filled``, i.e. a forward wrote them)
    for the forward ``y = W @ cols`` written into ``y`` (N, F, *out)
    and, with the output side ``d`` (N, F, *out), the weight gradient ``d @ cols^T`` (returned,
    shaped as ``w``, when ``want_dw``) and the image-side gradient ``W^T @ d`` followed by
    col2im, written into ``dx`` (N, C, *image)."""
    g, fg, cg, k = geo.g, geo.f // geo.g, geo.c // geo.g, geo.k
    out0, line = geo.out[0], _pixels(geo.out[1:])
    rest = geo.out[1:]
    every = slice(None)
    wm = w.reshape(g, fg, k)
    wt = None
    if dx is not None:
        # the weight's rows reordered to (*offset, c) (a small copy): each kernel offset's
        # column gradient is one contiguous block, which col2im reads streaming
        order = (0,) + tuple(range(3, 3 + geo.rank)) + (2, 1)
        wt = w.reshape((g, fg, cg) + geo.filter).transpose(order).reshape(g, k, fg)
    ylines = None if y is None else y.reshape(geo.n, g, fg, out0, line)
    dlines = None if d is None else d.reshape(geo.n, g, fg, out0, line)
    kept = None if columns is None else columns.reshape(geo.n, g, k, out0, line)
    need_cols = y is not None or want_dw
    dw = img = pad = None
    for i0, i1, o0, o1 in geo.blocks(dtype.itemsize, xp, dx is not None):
        m, h = i1 - i0, o1 - o0
        whole = o0 == 0 and o1 == out0
        if need_cols:
            if filled:
                cols = kept[i0:i1, :, :, o0:o1].reshape(m, g, k, -1)
            else:
                if o0 == 0:
                    img = (_rows_image(x[i0:i1], geo, ws) if _same_width(geo, xp)
                           else _padded_image(x[i0:i1], geo, xp, ws))  # (m, C, *padded)
                cols = _block_columns(img, geo, o0, o1, kept, i0, i1, xp, ws)  # (m, G, K, h*l)
            if y is not None:
                xp.matmul(wm, cols, out=ylines[i0:i1, :, :, o0:o1].reshape(m, g, fg, -1))
        if d is None:
            continue
        dblk = dlines[i0:i1, :, :, o0:o1].reshape(m, g, fg, -1)
        if want_dw:
            # dw^T = cols @ d^T: (K, pixels) @ (pixels, F/G) ran at 87-96% of the GEMM peak,
            # d @ cols^T at 60-85% (and lower on bands)
            part = xp.matmul(cols, dblk.transpose(0, 1, 3, 2))         # (m, G, K, F/G)
            part = part.sum(axis=0) if m > 1 else part[0]
            if dw is None:
                dw = part
            else:
                dw += part                                             # a fixed order
        if dx is None:
            continue
        if o0 == 0:
            pad = _buffer(ws, xp, "col2im", (m, g, cg) + geo.padded, dtype)
            if not whole:
                pad[...] = 0
        dcols = xp.matmul(wt, dblk).reshape((m, g) + geo.filter + (cg, h) + rest)
        if whole:
            _col2im_into(pad, lambda taps: dcols[(every, every) + taps],
                         lambda where: (Ellipsis,) + where, geo.windows(), geo.phases(),
                         geo.stride, False, xp, ws)
        else:
            band = (h,) + rest
            start = o0 * geo.stride[0]
            span = (h - 1) * geo.stride[0] + (geo.filter[0] - 1) * geo.dilation[0] + 1
            _col2im_into(pad[:, :, :, start:start + span],
                         lambda taps: dcols[(every, every) + taps],
                         lambda where: (Ellipsis,) + where,
                         _window_plan(geo.filter, geo.stride, geo.dilation, band),
                         _phase_plan(geo.filter, geo.stride, geo.dilation, band),
                         geo.stride, True, xp, ws)
        if o1 == out0:
            dx[i0:i1] = pad.reshape((m, geo.c) + geo.padded)[(every, every) + geo.interior]
    if dw is None:
        return None
    return xp.ascontiguousarray(dw.transpose(0, 2, 1)).reshape((geo.f, cg) + geo.filter)


#: a data gradient runs as convolutions of the output side (the flipped conv for stride 1,
#: one conv per image phase for larger strides) when the output side has at most this many
#: channels per image-side channel: those read about F/C times the values that col2im's column
#: gradient holds (LeNet's conv1, 1 -> 20 channels, took 4x as long as by col2im)
GRADIENT_AS_CONV_MAX_RATIO = 2


def _data_grad_method(geo):
    """How the "batch" layout computes a data gradient (a transposed conv's forward):
    "conv" (:func:`_gradient_as_conv`), "subpixel" (:func:`_subpixel_data_grad`) or
    "col2im" (W^T @ d, then col2im, in :func:`_run_blocks`)."""
    if geo.f > GRADIENT_AS_CONV_MAX_RATIO * geo.c:
        return "col2im"
    if all(s == 1 for s in geo.stride):
        if all((k - 1) * d >= p for k, d, p in zip(geo.filter, geo.dilation, geo.padding)):
            return "conv"
        return "col2im"
    return "subpixel"


def _data_grad_batch(geo, w, d, dx, xp, ws):
    """The image-side gradient of the output side ``d`` (N, F, *out), written into ``dx``
    (N, C, *image), by :func:`_data_grad_method`."""
    method = _data_grad_method(geo)
    if method == "conv":
        other, wf = _gradient_as_conv(geo, w, xp)
        _run_blocks(other, xp, ws, d.dtype, wf, x=d, y=dx)
    elif method == "subpixel":
        _subpixel_data_grad(geo, w, d, dx, xp, ws)
    else:
        _run_blocks(geo, xp, ws, d.dtype, w, d=d, dx=dx)
    return dx


@lru_cache(maxsize=512)
def _subpixel_plan(image, filt, out, stride, padding, dilation):
    """The phases of a strided conv's data gradient (per axis :func:`~.subpixel.axis_phases`):
    each is a stride-1 correlation of ``d`` with its taps (reversed), dilated by the step of
    ``(t*d - r)/s`` between them.

    Returns ``(lo, hi, combos)``: the padding of ``d`` before and after each axis, and per
    combination of one phase per axis ``(dest, taps, steps, starts, counts)``: the slices of
    the image it fills, the filter indices per axis (None: no tap, the cells are zero), the
    dilation, the first index read in the padded ``d`` and the cell count, per axis."""
    axes, lo, hi = [], [], []
    for size, k, o, s, p, d in zip(image, filt, out, stride, padding, dilation):
        phases, before, after = [], 0, 0
        for r, dest, q_lo, q_hi, taps in axis_phases(size, k, s, p, d):
            count = q_hi - q_lo + 1
            if not taps:
                phases.append((dest, None, 1, 0, count))
                continue
            m = [(t * d - r) // s for t in taps]
            step = m[1] - m[0] if len(m) > 1 else 1
            start = q_lo - m[-1]
            before, after = max(before, -start), max(after, q_hi - m[0] - (o - 1))
            phases.append((dest, tuple(reversed(taps)), step, start, count))
        axes.append(phases)
        lo.append(before)
        hi.append(after)
    combos = []
    for combo in product(*axes):
        dest = tuple(c[0] for c in combo)
        if any(c[1] is None for c in combo):
            combos.append((dest, None, None, None, None))
            continue
        combos.append((dest, tuple(c[1] for c in combo), tuple(c[2] for c in combo),
                       tuple(c[3] + b for c, b in zip(combo, lo)),
                       tuple(c[4] for c in combo)))
    return tuple(lo), tuple(hi), tuple(combos)


def _subpixel_data_grad(geo, w, d, dx, xp, ws, phases=None):
    """The data gradient of a strided conv as one stride-1 conv per phase of the image
    (sub-pixel convolution). With ``phases`` (None: :func:`~.subpixel.phases_pay` decides),
    all phases at once, one im2col and GEMM per block (:func:`~.subpixel.phases_data_grad`).
    Else (:func:`_subpixel_plan`) each phase computed without columns: on the
    padded ``d`` flattened, a kernel offset shifts the whole image by a constant, so a
    phase's output over the flattened grid (its rows padded to the padded image's width) is
    the sum over its offsets of ``W_t (G, C/G, F/G) @ d_flat[.., shift_t : shift_t + L]``,
    a strided GEMM operand read in place. The valid cells are then copied into the phase's
    strided place in ``dx``. Blocks of samples; no im2col, no col2im."""
    if phases or (phases is None and phases_pay(geo)):
        return phases_data_grad(geo, w, d, dx, xp, ws)
    lo, hi, combos = _subpixel_plan(geo.image, geo.filter, geo.out, geo.stride, geo.padding,
                                    geo.dilation)
    g, fg, cg, rank = geo.g, geo.f // geo.g, geo.c // geo.g, geo.rank
    every = slice(None)
    # (*filter, G, C/G, F/G): the weight of the conv d -> dx per kernel offset and group
    order = tuple(range(3, 3 + rank)) + (0, 2, 1)
    wt = xp.ascontiguousarray(w.reshape((g, fg, cg) + geo.filter).transpose(order))
    padded = tuple(o + a + b for o, a, b in zip(geo.out, lo, hi))
    flat = [1] * rank                      # element strides of the padded image, per axis
    for axis in range(rank - 2, -1, -1):
        flat[axis] = flat[axis + 1] * padded[axis + 1]
    plans, per_sample = [], 1
    for dest, taps, steps, starts, counts in combos:
        if taps is None:
            plans.append((dest, None, None, None, None))
            continue
        length = sum((c - 1) * f for c, f in zip(counts, flat)) + 1
        shifts = tuple(
            (t, sum((st + u * step) * f for st, u, step, f in zip(starts, us, steps, flat)))
            for us, t in zip(product(*[range(len(a)) for a in taps]), product(*taps)))
        plans.append((dest, shifts, length, counts, None))
        per_sample = max(per_sample, geo.f * _pixels(padded) * d.dtype.itemsize)
    step = max(1, BLOCK_BYTES // per_sample) if xp is np else geo.n
    item = d.dtype.itemsize
    for i0 in range(0, geo.n, step):
        i1 = min(geo.n, i0 + step)
        m = i1 - i0
        img = xp.ascontiguousarray(_pad_block(d[i0:i1], lo, hi, padded, xp, ws))
        s_n, s_c = img.strides[0], img.strides[1]
        flat_img = img.reshape(-1)
        for dest, shifts, length, counts, _ in plans:
            target = dx[(slice(i0, i1), every) + dest]
            if shifts is None:
                target[...] = 0
                continue
            out = _buffer(ws, xp, "phase", (m, g, cg, length), d.dtype)
            tmp = _buffer(ws, xp, "product", (m, g, cg, length), d.dtype) if len(shifts) > 1 \
                else None
            for j, (t, shift) in enumerate(shifts):
                operand = xp.lib.stride_tricks.as_strided(
                    flat_img[shift:], shape=(m, g, fg, length),
                    strides=(s_n, fg * s_c, s_c, item))
                if j == 0:
                    xp.matmul(wt[t], operand, out=out)
                else:
                    xp.matmul(wt[t], operand, out=tmp)
                    out += tmp
            o_n, o_c = out.strides[0], out.strides[2]
            target[...] = xp.lib.stride_tricks.as_strided(
                out, shape=(m, geo.c) + counts,
                strides=(o_n, o_c) + tuple(f * item for f in flat))
    return dx


def _pad_block(x, lo, hi, padded, xp, ws):
    """``x`` (m, C, *spatial) zero-padded by ``lo`` before and ``hi`` after each spatial axis
    (a "pad" buffer; ``x`` itself when there is no padding)."""
    if not any(lo) and not any(hi):
        return x
    buf = _buffer(ws, xp, "pad", x.shape[:2] + padded, x.dtype)
    lead = (slice(None), slice(None))
    for a, b, size in zip(lo, hi, x.shape[2:]):
        buf[lead + (slice(None, a),)] = 0
        buf[lead + (slice(a + size, None),)] = 0
        lead += (slice(a, a + size),)
    buf[lead] = x
    return buf


def _gradient_as_conv(geo, w, xp):
    """For a conv of stride 1 whose padding is at most the dilated filter's reach, ``p <=
    (k-1)*d`` on every axis: ``(geometry, weight)`` of the conv whose forward is its data
    gradient, dy -> dx: the output side padded by ``(k-1)*d - p``, the filter flipped and its
    two channel axes swapped within each group. Its forward runs block by block like any
    conv (columns of dy, one GEMM with K = F/G*taps), with no col2im. None otherwise."""
    if any(s != 1 for s in geo.stride):
        return None
    pad = tuple((k - 1) * d - p for k, d, p in zip(geo.filter, geo.dilation, geo.padding))
    if min(pad) < 0:
        return None
    g, fg, cg = geo.g, geo.f // geo.g, geo.c // geo.g
    flip = (slice(None),) * 3 + (slice(None, None, -1),) * geo.rank
    wf = w.reshape((g, fg, cg) + geo.filter).swapaxes(1, 2)[flip]
    wf = xp.ascontiguousarray(wf).reshape((geo.c, fg) + geo.filter)
    other = _Geometry((geo.n, geo.f) + geo.out, wf.shape, geo.image, g, geo.stride, pad,
                      geo.dilation, "batch")
    return other, wf


def _block_columns(img, geo, o0, o1, kept, i0, i1, xp, ws):
    """The columns (m, G, K, h*line) of the output lines ``o0:o1`` of the padded images
    ``img`` (m, C, *padded) (samples ``i0:i1``): written into the kept columns when given,
    else into a "cols" buffer."""
    m, h = img.shape[0], o1 - o0
    s_n, s_c, s_sp = img.strides[0], img.strides[1], img.strides[2:]
    if _same_width(geo, xp):
        if kept is None:
            cols = _buffer(ws, xp, "cols", (m, geo.g, geo.k, h * geo.out[1]), img.dtype)
            block = cols.reshape(m, geo.g, geo.k, h, geo.out[1])
        else:
            block = kept[i0:i1, :, :, o0:o1]
            cols = None
        _columns_by_rows(img, geo, o0, o1, block)
        return block.reshape(m, geo.g, geo.k, -1) if cols is None else cols
    if _shifted_rows(geo, o0, o1, xp):
        if kept is None:
            cols = _buffer(ws, xp, "cols", (m, geo.g, geo.k, geo.pixels), img.dtype)
        else:
            cols = kept[i0:i1].reshape(m, geo.g, geo.k, -1)
        _columns_by_shifted_rows(img, geo, cols, xp, ws)
        return cols
    view = xp.lib.stride_tricks.as_strided(
        img[:, :, o0 * geo.stride[0]:],
        shape=(m, geo.c) + geo.filter + (h,) + geo.out[1:],
        strides=((s_n, s_c) + tuple(s * d for s, d in zip(s_sp, geo.dilation))
                 + tuple(s * st for s, st in zip(s_sp, geo.stride))))
    if kept is None:
        cols = _buffer(ws, xp, "cols", (m, geo.g, geo.k, h * _pixels(geo.out[1:])), img.dtype)
        cols.reshape(view.shape)[...] = view
        return cols
    block = kept[i0:i1, :, :, o0:o1]                     # (m, G, K, h, line): a view
    block.reshape(view.shape)[...] = view               # splits and merges whole axes: a view
    return block.reshape(m, geo.g, geo.k, -1)


#: output rows narrower than this many pixels make the "batch" layout's im2col copy in two
#: steps (:func:`_columns_by_shifted_rows`); a one-step copy streams runs of one output row
#: only. LeNet's conv1 (24 wide) took 0.58x as long in two steps, a 32-wide 3x3 1.1x
SHIFTED_ROWS_MAX_WIDTH = 32


#: stride-1 2-D convs whose output is as wide as the input ("same" padding along the width)
#: and at least this wide copy the "batch" columns by :func:`_columns_by_rows` (before the
#: two-step copy of narrow rows). Paired on one thread against the copies they replace,
#: 3x3 pad 1, forward: 64->64 on 32x32 0.92 (one-step copy), 32->32 on 16x16 0.76-0.79,
#: 64->64 on 8x8 0.79-0.81, 16->16 on 24x24 0.79-0.83 (two-step copy)
SAME_WIDTH_MIN_WIDTH = 1


def _same_width(geo, xp):
    """Whether the "batch" columns are copied by :func:`_columns_by_rows`: NumPy, 2-D,
    stride 1, output rows as wide as the input's and at least ``SAME_WIDTH_MIN_WIDTH``."""
    return (xp is np and geo.rank == 2 and geo.stride == (1, 1)
            and geo.out[1] == geo.image[1] and geo.out[1] >= SAME_WIDTH_MIN_WIDTH)


def _rows_image(x, geo, ws):
    """For :func:`_columns_by_rows`: ``x`` (m, C, H, W) flattened per channel to one row of
    ``H*W`` values with ``ph*W + pw`` zeros before and after it, (m, C, L) (the row padding
    as whole rows, the width padding not at all: one contiguous copy per channel)."""
    m, (h, w), (ph, pw) = x.shape[0], geo.image, geo.padding
    lead = ph * w + pw
    buf = _buffer(ws, np, "pad", (m, geo.c, 2 * lead + h * w), x.dtype)
    buf[:, :, :lead] = 0
    buf[:, :, lead + h * w:] = 0
    buf[:, :, lead:lead + h * w] = x.reshape(m, geo.c, h * w)
    return buf


def _columns_by_rows(img, geo, o0, o1, block):
    """The "batch" columns of the output rows ``o0:o1`` into ``block`` (m, G, K, h, Wo), for a
    conv :func:`_same_width` admits, from ``img`` (:func:`_rows_image`). As the output rows
    are as wide as the input's, output pixel ``j = oy*W + ox`` of kernel offset ``(ky, kx)``
    reads the flat row at ``(o0 + ky*dh)*W + kx*dw + j``: every (c, ky, kx) row of the
    columns is ONE contiguous run of ``h*W`` values (the one-step copy streams runs of W),
    so one strided view copies the block in long runs. Only the cells where ``ox + kx*dw -
    pw`` falls outside the image row read a neighbouring row's values: they are zeroed after
    (per kx, a strided fill)."""
    m = img.shape[0]
    (kh, kw), (dh, dw), w = geo.filter, geo.dilation, geo.image[1]
    h = o1 - o0
    s_n, s_c, item = img.strides[0], img.strides[1], img.strides[2]
    # the view built by the ndarray constructor on the (contiguous) rows image: as_strided
    # took 7-8 us a call, a tenth of a 64-channel 32x32 band's copy
    view = np.ndarray((m, geo.c, kh, kw, h, w), img.dtype, img, o0 * w * item,
                      (s_n, s_c, dh * w * item, dw * item, w * item, item))
    cols = block.reshape(m, geo.c, kh, kw, h, w)
    cols[...] = view
    # one column at a time: a fill of a (.., h, few) slice runs its inner loop along the few
    # columns (2 for a dilated 3x3), along the h rows this way
    for kx, ox in _wrapped_cells(geo.filter, geo.dilation, geo.padding, w):
        cols[:, :, :, kx, :, ox] = 0
    return block


@lru_cache(maxsize=512)
def _wrapped_cells(filt, dilation, padding, width):
    """For :func:`_columns_by_rows`: the ``(kx, ox)`` whose column cells read a neighbouring
    image row (``ox + kx*dw - pw`` outside ``[0, width)``), to be zeroed. (Each range is
    clipped to the row: a padding wider than the image made the fill index past it.)"""
    kw, dw, pw = filt[1], dilation[1], padding[1]
    return tuple((kx, ox) for kx in range(kw)
                 for ox in sorted(set(range(min(width, max(0, pw - kx * dw))))
                                  | set(range(max(0, width + pw - kx * dw), width))))


def _shifted_rows(geo, o0, o1, xp):
    """Whether :func:`_block_columns` copies a block in two steps: 2-D, stride and dilation
    1, whole samples, output rows narrower than ``SHIFTED_ROWS_MAX_WIDTH``, on NumPy."""
    return (xp is np and geo.rank == 2 and geo.stride == (1, 1) and geo.dilation == (1, 1)
            and o0 == 0 and o1 == geo.out[0] and geo.out[1] < SHIFTED_ROWS_MAX_WIDTH)


def _columns_by_shifted_rows(img, geo, cols, xp, ws):
    """The "batch" columns of the padded images ``img`` (m, C, Hp, Wp) for a stride-1 2-D
    conv, into ``cols`` (m, G, K, Ho*Wo), in two copies: first each image shifted by every
    kernel column, ``s[m, c, kx, y, ox] = img[m, c, y, ox + kx]`` (a "shift" buffer, kw*Hp*Wo
    values per channel), then for every kernel row ``ky`` the rows ``ky:ky+Ho`` of ``s``,
    which are one contiguous run of Ho*Wo values: the columns' (c, ky, kx) rows are written
    by long runs instead of runs of one output row."""
    m, c = img.shape[0], geo.c
    (kh, kw), (ho, wo) = geo.filter, geo.out
    hp = img.shape[2]
    s_n, s_c, s_h, s_w = img.strides
    shifted = _buffer(ws, xp, "shift", (m, c, kw, hp, wo), img.dtype)
    shifted[...] = xp.lib.stride_tricks.as_strided(
        img, shape=(m, c, kw, hp, wo), strides=(s_n, s_c, s_w, s_h, s_w))
    t_n, t_c, t_kx, t_y, t_x = shifted.strides
    cols.reshape(m, c, kh, kw, ho * wo)[...] = xp.lib.stride_tricks.as_strided(
        shifted, shape=(m, c, kh, kw, ho * wo), strides=(t_n, t_c, t_y, t_kx, t_x))
    return cols


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


def _dx_target(dx_out, x, xp):
    """The array a backward computes its data gradient (shaped and typed as ``x``) into:
    the caller's ``dx_out`` itself when it is C-contiguous and of ``x``'s dtype, else a new
    one (which :func:`_deliver` copies into ``dx_out``)."""
    if dx_out is None:
        return xp.empty(x.shape, dtype=x.dtype)
    if tuple(dx_out.shape) != tuple(x.shape):
        raise ValueError(f"conv: dx_out has shape {tuple(dx_out.shape)}, x has "
                         f"{tuple(x.shape)}")
    if dx_out.dtype == x.dtype and dx_out.flags.c_contiguous:
        return dx_out
    return xp.empty(x.shape, dtype=x.dtype)


def _deliver(dx, dx_out):
    """``dx``, or ``dx_out`` holding it when the caller gave one (a copy only where the
    gradient could not be computed in place)."""
    if dx is None or dx_out is None or dx is dx_out:
        return dx
    if tuple(dx_out.shape) != tuple(dx.shape):
        raise ValueError(f"conv: dx_out has shape {tuple(dx_out.shape)}, the data gradient "
                         f"is {tuple(dx.shape)}")
    dx_out[...] = dx
    return dx_out


def conv_backward(x, w, dy, *, stride, padding, dilation, groups, need_dx=True, layout=None,
                  columns=None, ws=None, xp=np, output_size=None, dx_out=None):
    """Gradients ``(dx, dw)`` of ``sum(conv_forward(x, w) * dy)``; ``dx`` is None when
    ``need_dx`` is False. ``columns``: the columns the forward wrote for this ``x`` (same
    layout), else they are recomputed. ``dx_out``: an array shaped as ``x`` (a runtime's
    slice of its whole batch's gradient) that ``dx`` is written into and returned as; a
    C-contiguous one of ``x``'s dtype is written directly by every route."""
    _check_rank(x, ("w", w), ("dy", dy))
    x, w, dy = same_dtype(xp, x, w, dy)
    geo = _conv_geometry(x, w, stride, padding, dilation, groups, layout, output_size)
    expected = (geo.n, geo.f) + geo.out
    if tuple(dy.shape) != expected:
        raise ValueError(f"conv: dy has shape {tuple(dy.shape)}, the output is {expected}")
    dx = _dx_target(dx_out, x, xp) if need_dx else None
    if geo.layout == "depthwise":
        dx, dw = depthwise_backward(x, w, dy, geo, need_dx, xp, ws, dx=dx)
        return _deliver(dx, dx_out), dw
    if geo.layout == "flat":
        _check_flat(geo)
        dx, dw = flat_backward(x, w, dy, geo, need_dx, xp, ws, dx=dx)
        return _deliver(dx, dx_out), dw
    if geo.layout == "batch":
        dy = xp.ascontiguousarray(dy)
        fused = need_dx and _data_grad_method(geo) == "col2im"
        dw = _run_blocks(geo, xp, ws, x.dtype, w, x=x, columns=columns,
                         filled=columns is not None, d=dy, want_dw=True,
                         dx=dx if fused else None)
        if need_dx and not fused:
            _data_grad_batch(geo, w, dy, dx, xp, ws)
        return _deliver(dx, dx_out), dw
    d = _output_side(dy, geo, xp)
    cols = columns if columns is not None else _im2col(x, geo, xp, ws)
    dw = _weight_grad(d, cols, geo, xp)
    if need_dx and _data_grad_method(geo) == "subpixel":    # works on NCHW, any layout
        _subpixel_data_grad(geo, w, xp.ascontiguousarray(dy), dx, xp, ws)
    elif need_dx:
        _data_grad(w, d, geo, xp, ws, out=dx)
    return _deliver(dx, dx_out), dw


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
    if algorithm == "flat":
        raise ValueError("layout 'flat' runs convolutions, not transposed ones")
    if algorithm == "depthwise":      # shifted adds are written for the conv direction only
        algorithm = conv_algorithm(f, 1, image, layout)
    return _Geometry((n, f) + out, w.shape, image, g, stride, padding, dilation, algorithm)


def conv_transpose_forward(x, w, *, stride, padding, dilation, groups, output_size,
                           layout=None, ws=None, xp=np, out=None, bias=None):
    """Transposed convolution (Paddle's exconvt, deconv3d) of ``x`` (N, C, *image) with ``w``
    (C, F/groups, *filter) to ``y`` (N, F, *out), ``out = output_size`` (None: the formula
    ``(size-1)*s + (k-1)*d + 1 - 2*p`` per axis). Returns ``x.dtype``, written into ``out``
    when given; plus ``bias`` (F,) per output channel when given (while the one-GEMM phases
    route copies its result into place, else one add)."""
    _check_rank(x, ("w", w))
    x, w = same_dtype(xp, x, w)
    geo = _transpose_geometry(x, w, stride, padding, dilation, groups, output_size, layout)
    shape = (geo.n, geo.c) + geo.image
    if out is not None and tuple(out.shape) != shape:
        raise ValueError(f"conv_transpose: out has shape {tuple(out.shape)}, expected {shape}")
    if bias is not None and tuple(bias.shape) != (geo.c,):
        raise ValueError(f"conv_transpose: bias has shape {tuple(bias.shape)}, expected "
                         f"({geo.c},)")
    method = _data_grad_method(geo)
    if geo.layout == "batch" or method == "subpixel":   # (NCHW, any layout)
        y = out if out is not None and out.flags.c_contiguous else xp.empty(shape, x.dtype)
        if method == "subpixel" and phases_pay(geo):
            phases_data_grad(geo, w, xp.ascontiguousarray(x), y, xp, ws, bias=bias)
            bias = None
        else:
            _data_grad_batch(geo, w, xp.ascontiguousarray(x), y, xp, ws)
    else:
        y = _data_grad(w, _output_side(x, geo, xp), geo, xp, ws)
    if bias is not None:
        y += xp.asarray(bias, dtype=y.dtype).reshape((1, -1) + (1,) * geo.rank)
    if out is None or y is out:
        return y
    out[...] = y
    return out


def conv_transpose_backward(x, w, dy, *, stride, padding, dilation, groups, need_dx=True,
                            layout=None, ws=None, xp=np, dx_out=None):
    """Gradients ``(dx, dw)`` of ``sum(conv_transpose_forward(x, w) * dy)``, ``dy`` being
    (N, F, *out); ``dx`` is None when ``need_dx`` is False. ``dx`` is the conv forward of
    ``dy`` with ``w``; ``dw`` is the conv weight gradient with ``dy`` as input and ``x`` as
    output gradient; both use one set of columns of ``dy``. ``dx_out``: as for
    :func:`conv_backward` (written directly by both layouts)."""
    _check_rank(x, ("w", w), ("dy", dy))
    x, w, dy = same_dtype(xp, x, w, dy)
    geo = _transpose_geometry(x, w, stride, padding, dilation, groups, tuple(dy.shape[2:]),
                              layout)
    expected = (geo.n, geo.c) + geo.image
    if tuple(dy.shape) != expected:
        raise ValueError(f"conv_transpose: dy has shape {tuple(dy.shape)}, expected {expected}")
    dx = _dx_target(dx_out, x, xp) if need_dx else None
    if geo.layout == "batch":
        dw = _run_blocks(geo, xp, ws, x.dtype, w, x=dy, y=dx, d=xp.ascontiguousarray(x),
                         want_dw=True)
        return _deliver(dx, dx_out), dw
    cols = _im2col(dy, geo, xp, ws)
    dw = _weight_grad(_output_side(x, geo, xp), cols, geo, xp)
    if need_dx:
        _gemm_to_nchw(w, cols, geo, xp, out=dx)
    return _deliver(dx, dx_out), dw


#: the 2-D names (every function above takes any number of spatial axes)
conv2d_forward = conv_forward
conv2d_backward = conv_backward
conv2d_transpose_forward = conv_transpose_forward
conv2d_transpose_backward = conv_transpose_backward
