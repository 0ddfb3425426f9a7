"""cuDNN convolutions through NVIDIA's cuDNN Frontend Python package (``import cudnn``, on PyPI
as ``nvidia-cudnn-frontend``; CuPy 14 no longer wraps cuDNN).

Three graph operations of one 2-D cross-correlation (spec 6.1: no kernel flip, zero padding,
per-axis ``(h, w)`` stride / padding / dilation) on contiguous NCHW arrays:

* ``fprop``: ``y = conv(x, w)``, x ``(N, C, H, W)``, w ``(F, C/G, kh, kw)``, y ``(N, F, Ho, Wo)``;
* ``dgrad``: the data gradient ``dx (N, C, H, W)`` from ``dy`` and ``w`` (also the forward of a
  transposed convolution, whose output size the caller gives);
* ``wgrad``: the weight gradient ``dw (F, C/G, kh, kw)`` from ``x`` and ``dy``.

Groups are what the shapes say (cuDNN reads G = C / w.shape[1]), as in Paddle's cudnn_conv.
No bias: the runtime adds it with the shared code.  Float32 graphs compute in float32 with the
engines that use tensor cores (TF32 on Ampere and Hopper) deselected, so the results match the
float32 im2col path within float32 rounding (when that leaves no engine the build fails with
:class:`CudnnUnsupported`, and the runtime layer runs the im2col path instead; a frontend
without the numerical-note filter sets :attr:`ConvGraphs.tf32`).

Built graphs are cached per (operation, shapes, geometry, dtype); one workspace buffer grows to
the largest graph's need.  ``frontend()`` imports the package once; this module imports nothing
from CUDA at import time.  At exit every live instance frees its graphs and handle first: the
frontend's bindings (nanobind) print a "leaked instances" report for any of their objects still
alive when the interpreter shuts down.
"""

from __future__ import annotations

import atexit
import gc
import weakref
from typing import Any, Optional

import numpy as np

__all__ = ["ConvGraphs", "CudnnUnsupported", "frontend"]

_FRONTEND: dict[str, Any] = {}
#: the ConvGraphs alive now, released at exit (before the frontend's bindings are torn down)
_LIVE: "weakref.WeakSet[ConvGraphs]" = weakref.WeakSet()


@atexit.register
def _release_all() -> None:
    for graphs in list(_LIVE):
        graphs.release()
    gc.collect()


class CudnnUnsupported(RuntimeError):
    """cuDNN could not build a graph for this convolution (no engine supports it)."""


def frontend() -> tuple[Optional[Any], Optional[str]]:
    """(the ``cudnn`` module, None), or (None, why it cannot be imported); imported once."""
    if "module" not in _FRONTEND:
        try:
            import cudnn  # noqa: PLC0415  (optional, GPU-only dependency)
        except Exception as err:  # ImportError, or libcudnn failing to load
            _FRONTEND["module"] = None
            _FRONTEND["error"] = (f"import cudnn failed ({type(err).__name__}: {err}); install "
                                  "NVIDIA's cuDNN Frontend: pip install nvidia-cudnn-frontend")
        else:
            _FRONTEND["module"], _FRONTEND["error"] = cudnn, None
    return _FRONTEND["module"], _FRONTEND["error"]


def _strides(shape: tuple[int, ...]) -> list[int]:
    """Element strides of a C-contiguous array of ``shape``."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(int(size), 1)
    return strides[::-1]


class _Graph:
    """One built graph: its tensors (a, b -> out) and workspace size."""

    __slots__ = ("graph", "a", "b", "out", "workspace")

    def __init__(self, graph: Any, a: Any, b: Any, out: Any, workspace: int):
        self.graph, self.a, self.b, self.out, self.workspace = graph, a, b, out, workspace


class ConvGraphs:
    """cuDNN convolution graphs for one array module (CuPy), built on first use and cached.

    ``cudnn`` is the frontend module (default: :func:`frontend`); tests pass a stand-in.
    ``allow_tf32=False`` deselects the tensor-core (TF32) engines for float32.
    """

    def __init__(self, xp: Any, cudnn: Any = None, allow_tf32: bool = False):
        if cudnn is None:
            cudnn, error = frontend()
            if cudnn is None:
                raise CudnnUnsupported(error)
        self.xp = xp
        self.cudnn = cudnn
        self.allow_tf32 = allow_tf32
        #: whether float32 graphs may use TF32 engines (allowed, or not filterable)
        self.tf32 = allow_tf32
        self._graphs: dict[tuple, _Graph] = {}
        self._handle: Any = None
        self._workspace: Any = None
        _LIVE.add(self)

    def release(self) -> None:
        """Free the built graphs, the workspace and the cuDNN handle; the next call builds
        again.  Done for every live instance at exit."""
        self._graphs.clear()
        self._workspace = None
        handle, self._handle = self._handle, None
        destroy = getattr(self.cudnn, "destroy_handle", None)
        if handle is not None and destroy is not None:
            try:
                destroy(handle)
            except Exception:  # a frontend already torn down: nothing left to free
                pass

    # -- the three operations --------------------------------------------------------------
    def fprop(self, x: Any, w: Any, *, stride, padding, dilation, out: Any = None) -> Any:
        """``conv(x, w)`` as ``(N, F, Ho, Wo)`` (written into ``out`` when given)."""
        n, _, h, wd = x.shape
        f, _, kh, kw = w.shape
        ho = 1 + (h + 2 * padding[0] - ((kh - 1) * dilation[0] + 1)) // stride[0]
        wo = 1 + (wd + 2 * padding[1] - ((kw - 1) * dilation[1] + 1)) // stride[1]
        if out is None:
            out = self.xp.empty((n, f, ho, wo), dtype=x.dtype)
        return self._run("fprop", x, w, out, stride, padding, dilation)

    def dgrad(self, dy: Any, w: Any, *, image_shape: tuple[int, ...], stride, padding,
              dilation, out: Any = None) -> Any:
        """The gradient with respect to a conv's input of shape ``image_shape``
        ``(N, C, H, W)``, from ``dy`` ``(N, F, Ho, Wo)`` through ``w`` ``(F, C/G, kh, kw)``."""
        if out is None:
            out = self.xp.empty(tuple(image_shape), dtype=dy.dtype)
        return self._run("dgrad", dy, w, out, stride, padding, dilation)

    def wgrad(self, x: Any, dy: Any, *, weight_shape: tuple[int, ...], stride, padding,
              dilation, out: Any = None) -> Any:
        """The weight gradient ``(F, C/G, kh, kw)`` = ``weight_shape`` of ``sum(conv(x, w) *
        dy)``, summed over the batch."""
        if out is None:
            out = self.xp.empty(tuple(weight_shape), dtype=x.dtype)
        return self._run("wgrad", x, dy, out, stride, padding, dilation)

    # -- graphs ----------------------------------------------------------------------------
    def _run(self, op: str, a: Any, b: Any, out: Any, stride, padding, dilation) -> Any:
        xp = self.xp
        a, b = xp.ascontiguousarray(a), xp.ascontiguousarray(b)
        geometry = (tuple(int(v) for v in stride), tuple(int(v) for v in padding),
                    tuple(int(v) for v in dilation))
        key = (op, tuple(a.shape), tuple(b.shape), tuple(out.shape), geometry,
               np.dtype(a.dtype).str)
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._graphs[key] = self._build(op, a.shape, b.shape, out.shape,
                                                    *geometry, np.dtype(a.dtype))
        target = out if out.flags.c_contiguous else xp.empty(out.shape, dtype=out.dtype)
        pack = {graph.a: a, graph.b: b, graph.out: target}
        workspace = self._workspace_of(graph.workspace)
        try:
            graph.graph.execute(pack, workspace, handle=self.handle())
        except TypeError:      # frontends before 1.x took the handle only when building
            graph.graph.execute(pack, workspace)
        if target is not out:
            out[...] = target
        return out

    def _workspace_of(self, nbytes: int) -> Any:
        if self._workspace is None or self._workspace.size < max(nbytes, 1):
            self._workspace = self.xp.empty(max(nbytes, 1), dtype=np.uint8)
        return self._workspace

    def handle(self) -> Any:
        """The cuDNN handle of these graphs, on CuPy's current stream when it was made."""
        if self._handle is None:
            cudnn = self.cudnn
            self._handle = cudnn.create_handle()
            cuda = getattr(self.xp, "cuda", None)
            if cuda is not None and hasattr(cudnn, "set_stream"):
                cudnn.set_stream(handle=self._handle, stream=cuda.get_current_stream().ptr)
        return self._handle

    def _data_type(self, dtype: np.dtype) -> Any:
        types = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE",
                 np.dtype(np.float16): "HALF"}
        if dtype not in types:
            raise CudnnUnsupported(f"cuDNN convolutions take float16/32/64 arrays, not {dtype}")
        return getattr(self.cudnn.data_type, types[dtype])

    def _build(self, op: str, a_shape, b_shape, out_shape, stride, padding, dilation,
               dtype: np.dtype) -> _Graph:
        cudnn = self.cudnn
        dt = self._data_type(dtype)
        try:
            graph = cudnn.pygraph(io_data_type=dt, intermediate_data_type=dt,
                                  compute_data_type=dt, handle=self.handle())
            a = graph.tensor(name="a", dim=list(a_shape), stride=_strides(a_shape),
                             data_type=dt)
            b = graph.tensor(name="b", dim=list(b_shape), stride=_strides(b_shape),
                             data_type=dt)
            geometry = dict(padding=list(padding), stride=list(stride),
                            dilation=list(dilation))
            if op == "fprop":
                out = graph.conv_fprop(image=a, weight=b, **geometry)
            elif op == "dgrad":
                out = graph.conv_dgrad(loss=a, filter=b, **geometry)
            else:
                out = graph.conv_wgrad(image=a, loss=b, **geometry)
            out.set_output(True).set_data_type(dt).set_dim(list(out_shape)).set_stride(
                _strides(out_shape))
            graph.validate()
            graph.build_operation_graph()
            graph.create_execution_plans([cudnn.heur_mode.A, cudnn.heur_mode.FALLBACK])
            self._select_engines(graph, dtype)
            graph.check_support()
            graph.build_plans()
            workspace = int(graph.get_workspace_size())
        except Exception as err:  # the frontend raises its own error types
            raise CudnnUnsupported(
                f"cuDNN cannot build conv {op} for {tuple(a_shape)} x {tuple(b_shape)} -> "
                f"{tuple(out_shape)}, stride {stride}, padding {padding}, dilation "
                f"{dilation}, {dtype}: {type(err).__name__}: {err}") from err
        return _Graph(graph, a, b, out, workspace)

    def _select_engines(self, graph: Any, dtype: np.dtype) -> None:
        """Deselect the tensor-core engines (TF32) for float32 unless allowed."""
        if self.allow_tf32 or dtype != np.float32:
            return
        note = getattr(getattr(self.cudnn, "numerical_note", None), "TENSOR_CORE", None)
        if note is None or not hasattr(graph, "deselect_numeric_notes"):
            self.tf32 = True          # this frontend cannot filter: TF32 engines may run
            return
        graph.deselect_numeric_notes([note])
