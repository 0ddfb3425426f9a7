"""The GPU backend's contract: selection and its errors, registry precedence, which algorithm
each layer runs (and the one warning when cuDNN is missing), the cuDNN graph plumbing (with a
stand-in frontend), array kinds in and out, parameters read and written from the host, and
``minipaddle train/time --use-gpu`` end to end."""

from __future__ import annotations

import re
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.cli import main
from minipaddle.config import ConfigError
from minipaddle.runtime import backend as backend_module
from minipaddle.runtime.backend import get_backend, to_host
from minipaddle.runtime.gpu import GPUBackend
from minipaddle.runtime.layers.conv import ConvLayer
from minipaddle.runtime.layers.cudnn import CudnnConvLayer, GPUBatchNormLayer, GPUPoolLayer
from minipaddle.runtime.layers.fc import FCLayer
from minipaddle.runtime.registry import known_types, lookup

from fake_cudnn import FakeCudnn
from gpu_support import cupy_backend

ZOO = Path(__file__).resolve().parents[2] / "model_zoo"
DIGITS = str(ZOO / "digits.yaml")


def gpu_config(x_shape=(2, 6, 6)):
    """A network of every GPU layer type (use_gpu=1 picks them, as in Paddle)."""
    def net():
        c, h, w = x_shape
        x = data_layer(name="x", size=c * h * w, height=h, width=w)
        conv = img_conv_layer(input=x, name="c", filter_size=3, num_filters=4, padding=1)
        convt = img_conv_layer(input=conv, name="t", filter_size=2, num_filters=2, stride=2,
                               trans=True)
        pool = img_pool_layer(input=convt, name="p", pool_size=2, stride=2,
                              pool_type=CudnnMaxPooling())
        return batch_norm_layer(input=pool, name="b")

    return mp.parse_config(lambda: outputs(net()), config_args="use_gpu=1")


def compile_quietly(config, device, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = mp.compile(config, device=device, **kw)
    return net, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def seeded_step(net, x):
    """A training forward and a backward seeded with ones at the output; the outputs."""
    out = net.forward({"x": x}, training=True)
    return out, net.backward({"b": np.ones_like(out["b"])})


# ---------------------------------------------------------------------------------- selection

def test_gpu_without_cupy_is_a_clear_error(monkeypatch):
    monkeypatch.delitem(backend_module._MADE, "gpu", raising=False)
    monkeypatch.setitem(sys.modules, "cupy", None)           # import cupy raises ImportError
    with pytest.raises(ConfigError, match=r"device='gpu' needs the GPU backend.*CuPy cannot be "
                                          r"imported.*pip install 'minipaddle\[gpu\]'"):
        get_backend("gpu")


def test_gpu_without_a_device_is_a_clear_error(monkeypatch):
    def no_driver():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=no_driver)))
    monkeypatch.delitem(backend_module._MADE, "gpu", raising=False)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(ConfigError, match=r"device='gpu' needs the GPU backend, which is not "
                                          r"available on this machine: .*no CUDA-capable"):
        get_backend("gpu")


def test_a_backend_instance_is_used_as_it_is():
    backend = GPUBackend(xp=np)
    assert get_backend(backend) is backend
    net, _ = compile_quietly(gpu_config(), backend, seed=0)
    assert net.backend is backend and net.xp is np and "backend=gpu" in repr(net)
    assert repr(backend) == "GPUBackend(NumPy stand-in, no cuDNN)"


# ----------------------------------------------------------------------------------- registry

def test_registry_precedence():
    assert "cudnn_conv" in known_types("gpu") and "exconv" in known_types("gpu")
    assert lookup("cudnn_conv", "gpu", "c") == (CudnnConvLayer, None)
    assert lookup("exconv", "gpu", "c") == (ConvLayer, None)          # shared: im2col on CuPy
    assert lookup("cudnn_conv", "cpu", "c") == (ConvLayer, "exconv")   # the CPU fallback
    assert lookup("cudnn_conv", "gpu", "c", {"cudnn_conv": "exconv"}) == (ConvLayer, "exconv")
    assert lookup("pool", "gpu", "p")[0] is GPUPoolLayer
    assert lookup("cudnn_batch_norm", "gpu", "b")[0] is GPUBatchNormLayer
    assert lookup("fc", "any-new-backend", "f") == (FCLayer, None)    # registered for all
    with pytest.raises(ConfigError, match="type 'cudnn_conv' has no implementation on the "
                                          "any-new-backend backend"):
        lookup("cudnn_conv", "any-new-backend", "c")


def test_without_cudnn_one_warning_names_the_conv_layers():
    net, messages = compile_quietly(gpu_config(), GPUBackend(xp=np), seed=0)
    assert len(messages) == 1, messages
    assert messages[0].startswith("cuDNN is not available to the gpu backend")
    assert "cudnn_conv -> exconv: c; cudnn_convt -> exconvt: t" in messages[0]
    algorithms = {name: layer.algorithm for name, layer in net.layers.items()}
    assert algorithms["c"].startswith("cudnn_conv -> exconv: im2col + GEMM")
    assert algorithms["t"].startswith("cudnn_convt -> exconvt: im2col + GEMM")
    # on the GPU the cuDNN pool and batch-norm types are no substitutes: no warning for them
    assert algorithms["p"] == "pool: cudnn-max-pool as max pooling kernels"
    assert algorithms["b"] == "cudnn_batch_norm: batch-norm kernels"


def test_cpu_fallback_names_the_cpu_algorithm():
    net, messages = compile_quietly(gpu_config(), "cpu", seed=0)
    assert len(messages) == 1 and messages[0].startswith("running GPU layer types with their "
                                                         "cpu counterparts")
    assert net.layers["c"].algorithm.startswith("cudnn_conv -> exconv: im2col + GEMM")
    assert net.layers["p"].algorithm == "cudnn-max-pool -> max-projection"


# ------------------------------------------------------------------------ cuDNN (stand-in API)

def test_cudnn_layers_run_graphs_built_once_per_shape():
    fake = FakeCudnn()
    backend = GPUBackend(xp=np, cudnn=fake)
    net, messages = compile_quietly(gpu_config(), backend, seed=0)
    assert messages == []
    assert net.layers["c"].algorithm == "cudnn_conv: cuDNN"
    assert net.layers["t"].algorithm == "cudnn_convt: cuDNN"
    x = np.random.default_rng(0).uniform(-1, 1, (3, 72)).astype(np.float32)
    for _ in range(2):
        out = net.forward({"x": x}, training=True)
        net.backward({"b": np.ones_like(out["b"])}, input_grads=False)
    # conv: fprop, wgrad (no dgrad: its input is a data layer); transposed conv: dgrad forward,
    # then wgrad and fprop for its input gradient, which the conv below it needs
    assert sorted(op for op, _, _ in fake.builds) == ["dgrad", "fprop", "fprop", "wgrad",
                                                      "wgrad"]
    assert fake.executes.count("fprop") == 4 and fake.executes.count("dgrad") == 2
    assert all(graph.deselected == ["TENSOR_CORE"] for graph in fake.graphs)   # no TF32
    assert backend.conv_graphs().tf32 is False
    net.forward({"x": x.reshape(3, 2, 6, 6)[:1]})          # another batch: two new graphs
    assert len(fake.builds) == 7


def test_graphs_and_handle_are_released_at_exit_and_rebuilt_after():
    # the real frontend (nanobind) reports its objects still alive at interpreter shutdown as
    # leaks; the atexit hook frees every live ConvGraphs' graphs and handle first
    from minipaddle.kernels.gpu import cudnn as cudnn_module

    fake = FakeCudnn()
    backend = GPUBackend(xp=np, cudnn=fake)
    net, _ = compile_quietly(gpu_config(), backend, seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 72)).astype(np.float32)
    before = net.forward({"x": x})["b"].copy()
    graphs = backend.conv_graphs()
    handle = fake.handle_made
    assert graphs._graphs and handle is not None
    cudnn_module._release_all()
    assert graphs._graphs == {} and graphs._workspace is None
    assert fake.handles_destroyed == [handle] and fake.handle_made is None
    builds = len(fake.builds)
    np.testing.assert_array_equal(net.forward({"x": x})["b"], before)   # built again
    assert len(fake.builds) == 2 * builds and fake.handle_made is not None


def test_float64_graphs_keep_every_engine():
    fake = FakeCudnn()
    net, _ = compile_quietly(gpu_config(), GPUBackend(xp=np, cudnn=fake), seed=0,
                             dtype="float64")
    net.forward({"x": np.ones((1, 72))})
    assert fake.graphs and all(graph.deselected == [] for graph in fake.graphs)


def test_a_graph_cudnn_cannot_build_sends_that_layer_to_im2col():
    config = gpu_config()
    fake = FakeCudnn(unsupported={"wgrad"})
    net, _ = compile_quietly(config, GPUBackend(xp=np, cudnn=fake), seed=0)
    cpu, _ = compile_quietly(config, "cpu", seed=0)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 72)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = net.forward({"x": x}, training=True)
        assert caught == [] and net.layers["c"].fallback_reason is None   # forward: cuDNN
        grads = net.backward({"b": np.ones_like(out["b"])})
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2, messages                       # one per layer, once
    assert re.match(r"layer 'c' \(cudnn_conv\): cuDNN cannot build conv wgrad .*no engine.*"
                    r"running it as exconv \(im2col \+ GEMM\) on the GPU instead", messages[0])
    assert messages[1].startswith("layer 't' (cudnn_convt): cuDNN cannot build conv wgrad")
    assert net.layers["c"].algorithm.startswith("cudnn_conv -> exconv: im2col + GEMM")
    assert net.layers["c"].algorithm.endswith("(cuDNN could not build it)")
    expected, cpu_grads = seeded_step(cpu, x)
    np.testing.assert_allclose(out["b"], expected["b"], rtol=1e-4, atol=1e-5)
    for name, grad in cpu_grads.parameters.items():
        np.testing.assert_allclose(grads.parameters[name], grad, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------- arrays in, arrays out

def test_outputs_gradients_and_parameters_on_the_standin():
    net, _ = compile_quietly(gpu_config(), GPUBackend(xp=np), seed=0)
    x = np.ones((2, 72), np.float32)
    assert isinstance(net.forward({"x": x})["b"], np.ndarray)
    assert isinstance(net.forward({"x": x}, as_numpy=False)["b"], np.ndarray)
    net.parameters["_c.w0"] = np.full((4, 2, 3, 3), 0.5)         # written from the host
    assert to_host(net.parameters["_c.w0"]).dtype == np.float32
    np.testing.assert_array_equal(to_host(net.parameters["_c.w0"]), 0.5)


def test_cupy_feeds_give_cupy_outputs_and_gradients_stay_on_the_device():
    backend = cupy_backend()
    cupy = backend.xp
    net, _ = compile_quietly(gpu_config(), backend, seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 72)).astype(np.float32)
    assert isinstance(net.forward({"x": x})["b"], np.ndarray)
    assert isinstance(net.forward({"x": cupy.asarray(x)}, as_numpy=True)["b"], np.ndarray)
    out = net.forward({"x": cupy.asarray(x)}, training=True)["b"]
    assert isinstance(out, cupy.ndarray)
    grads = net.backward({"b": cupy.ones_like(out)}, input_grads=True)
    assert all(isinstance(g, cupy.ndarray) for g in grads.parameters.values())
    assert isinstance(grads.inputs["x"], cupy.ndarray)
    assert isinstance(net.parameters["_c.w0"], cupy.ndarray)
    net.parameters["_c.w0"] = np.full((4, 2, 3, 3), 0.5)
    np.testing.assert_array_equal(to_host(net.parameters["_c.w0"]), 0.5)


# ------------------------------------------------------------------------- the command line

@pytest.mark.parametrize("cudnn", [None, "fake"])
def test_train_and_time_with_use_gpu_run_on_the_gpu_backend(cudnn, tmp_path, capsys,
                                                              monkeypatch):
    backend = GPUBackend(xp=np, cudnn=FakeCudnn() if cudnn else None)
    monkeypatch.setitem(backend_module._MADE, "gpu", backend)  # what get_backend("gpu") returns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main(["time", DIGITS, "--use-gpu", "--iterations", "1", "--batch-size",
                     "8"]) == 0
        timing = capsys.readouterr().out
        assert timing.startswith("gpu, batch 8")
        expected = "cudnn_conv: cuDNN" if cudnn else "cudnn_conv -> exconv: im2col + GEMM"
        assert expected in timing
        assert main(["train", DIGITS, "--use-gpu", "--num-passes", "1", "--quiet",
                     "--batch-size", "128", "--save-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("test accuracy")
    header = (tmp_path / "pass-00000" / "_conv1.w0").read_bytes()[:16]
    assert header[:8] == b"\x00\x00\x00\x00\x04\x00\x00\x00"
