"""A NumPy stand-in for the part of NVIDIA's cuDNN Frontend Python API that
``minipaddle.kernels.gpu.cudnn`` calls (``pygraph``, ``tensor``, ``conv_fprop`` / ``conv_dgrad``
/ ``conv_wgrad``, plan building, ``execute``), so the cuDNN layer code runs in CI with
``GPUBackend(xp=numpy, cudnn=FakeCudnn())``.

It checks what the real graph checks (every tensor's dims and C-order strides, the output
dims a conv of those shapes gives, a bound array of the declared shape, dtype and contiguity)
and computes with the shared im2col kernels.  It proves the plumbing, not cuDNN: only a real
GPU run (bench/gpu_check.py) checks the real API.
"""

from __future__ import annotations

import numpy as np

from minipaddle.kernels import conv as K


class FakeGraphNotSupported(RuntimeError):
    pass


class data_type:  # noqa: N801  (the frontend's spelling)
    FLOAT, DOUBLE, HALF = "float32", "float64", "float16"


class heur_mode:  # noqa: N801
    A, FALLBACK = "A", "FALLBACK"


class numerical_note:  # noqa: N801
    TENSOR_CORE = "TENSOR_CORE"


def _c_strides(dim):
    strides, step = [], 1
    for size in reversed(dim):
        strides.append(step)
        step *= size
    return strides[::-1]


class _Tensor:
    def __init__(self, dim, stride, data_type, name):
        self.dim, self.stride, self.data_type, self.name = list(dim), list(stride), data_type, name
        self.is_output = False

    def set_output(self, flag):
        self.is_output = bool(flag)
        return self

    def set_data_type(self, value):
        self.data_type = value
        return self

    def set_dim(self, dim):
        self.dim = list(dim)
        return self

    def set_stride(self, stride):
        self.stride = list(stride)
        return self


class _Graph:
    def __init__(self, fake, io_data_type=None, intermediate_data_type=None,
                 compute_data_type=None, handle=None, name="graph"):
        assert handle is fake.handle_made, "graphs are built on the frontend's handle"
        self.fake, self.io = fake, io_data_type
        self.op = None
        self.deselected: list = []
        self.built = False

    def tensor(self, dim, stride, data_type=None, name=""):
        assert stride == _c_strides(dim), f"{name}: strides {stride} are not C order of {dim}"
        return _Tensor(dim, stride, data_type, name)

    def _conv(self, op, a, b, padding, stride, dilation, **_):
        assert self.op is None, "one conv per graph"
        assert len(padding) == len(stride) == len(dilation) == 2
        self.op, self.a, self.b = op, a, b
        self.geometry = dict(padding=tuple(padding), stride=tuple(stride),
                             dilation=tuple(dilation))
        self.out = _Tensor([], [], None, op)
        return self.out

    def conv_fprop(self, image, weight, padding, stride, dilation, **kw):
        return self._conv("fprop", image, weight, padding, stride, dilation, **kw)

    def conv_dgrad(self, loss, filter, padding, stride, dilation, **kw):  # noqa: A002
        return self._conv("dgrad", loss, filter, padding, stride, dilation, **kw)

    def conv_wgrad(self, image, loss, padding, stride, dilation, **kw):
        return self._conv("wgrad", image, loss, padding, stride, dilation, **kw)

    def validate(self):
        out = self.out
        assert out.is_output and out.dim and out.stride == _c_strides(out.dim)
        g = self.geometry
        image, weight, grad = {"fprop": (self.a, self.b, out), "dgrad": (out, self.b, self.a),
                               "wgrad": (self.a, out, self.b)}[self.op]
        n, c, h, w = image.dim
        f, cg, kh, kw = weight.dim
        assert c % cg == 0 and f % (c // cg) == 0, "groups must divide both channel counts"
        expect = [n, f] + [K.conv_output_size(size, k, p, s, d) for size, k, p, s, d in zip(
            (h, w), (kh, kw), g["padding"], g["stride"], g["dilation"])]
        assert grad.dim == expect, f"{self.op}: output-side dims {grad.dim}, a conv gives {expect}"

    def build_operation_graph(self):
        pass

    def create_execution_plans(self, modes):
        assert list(modes) == [heur_mode.A, heur_mode.FALLBACK]

    def deselect_numeric_notes(self, notes):
        self.deselected.extend(notes)

    def check_support(self):
        if self.op in self.fake.unsupported:
            raise FakeGraphNotSupported(f"no engine for {self.op} (stand-in)")

    def build_plans(self):
        self.built = True
        self.fake.builds.append((self.op, tuple(self.a.dim), tuple(self.b.dim)))

    def get_workspace_size(self):
        return 256

    def execute(self, pack, workspace, handle=None):
        assert self.built and workspace.size >= 256 and workspace.dtype == np.uint8
        if handle is not None:
            assert handle is self.fake.handle_made
        for tensor in (self.a, self.b, self.out):
            arr = pack[tensor]
            assert list(arr.shape) == tensor.dim, f"{tensor.name}: bound {arr.shape}"
            assert arr.flags.c_contiguous and arr.dtype == np.dtype(self.io)
        a, b, out = pack[self.a], pack[self.b], pack[self.out]
        geometry = self.geometry
        if self.op == "fprop":
            groups = a.shape[1] // b.shape[1]
            out[...] = K.conv2d_forward(a, b, groups=groups, **geometry)
        elif self.op == "dgrad":      # the data gradient: a transposed conv of the gradient
            groups = out.shape[1] // b.shape[1]
            out[...] = K.conv2d_transpose_forward(a, b, groups=groups,
                                                  output_size=out.shape[2:], **geometry)
        else:
            groups = a.shape[1] // out.shape[1]
            _, dw = K.conv2d_backward(a, np.empty(out.shape, out.dtype), b, groups=groups,
                                      need_dx=False, **geometry)
            out[...] = dw
        self.fake.executes.append(self.op)


class FakeCudnn:
    """Module-like: ``cudnn.pygraph(...)``, ``cudnn.create_handle()``, the enums.
    ``unsupported`` names operations whose graphs fail to build; ``builds`` and ``executes``
    record what ran."""

    data_type, heur_mode, numerical_note = data_type, heur_mode, numerical_note

    def __init__(self, unsupported=()):
        self.unsupported = set(unsupported)
        self.builds: list = []
        self.executes: list = []
        self.graphs: list = []
        self.handle_made = None
        self.handles_destroyed: list = []

    def create_handle(self):
        assert self.handle_made is None, "one handle per backend"
        self.handle_made = object()
        return self.handle_made

    def destroy_handle(self, handle):
        assert handle is self.handle_made, "only the handle made is destroyed"
        self.handles_destroyed.append(handle)
        self.handle_made = None

    def pygraph(self, **kw):
        graph = _Graph(self, **kw)
        self.graphs.append(graph)
        return graph
