"""The runtime layer: binds one LayerConfig's parameters to kernels.

A runtime layer computes its pre-activation output from its inputs (``forward``) and the
input and parameter gradients from the pre-activation gradient (``backward``).  Activation,
dropout and error clipping are applied by the network around every layer, the same way for
all, as Paddle's ``Layer`` base class did.

Arrays travel in the shape the layer type's facts state (:mod:`minipaddle.config.layers`):
an image layer (config height > 0 and width > 0, not spp) as ``(N, C, H, W)``, every other
layer as ``(N, size)``; a layer that needs another view reshapes (both are the same C-order
buffer, Paddle's row layout).  Parameter shapes are the type's facts too.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...config import LayerConfig, ModelConfig
from ...config.layers import parameter_shapes
from ..algorithm import Algorithm


class Pass:
    """What one forward pass is: its mode, the backend and its array module."""

    TEST, TRAIN, CHECK = "test", "train", "check"

    def __init__(self, mode: str, backend: Any, rng: Optional[np.random.Generator] = None):
        self.mode = mode
        self.backend = backend
        self.xp = backend.xp
        #: the network's random generator (host side), for layers that draw (sampling_id)
        self.rng = rng if rng is not None else np.random.default_rng()
        #: set by the backward pass: the layers whose output gradient is needed
        self.wanted: frozenset = frozenset()
        #: the network's ``batch_stat_sum``: None, or a function summing a 1-D array over the
        #: shards of a batch computed apart (batch norm then takes its statistics over all)
        self.stat_sum: Optional[Any] = None

    def needs_grad(self, layer: str) -> bool:
        """Whether the backward pass needs the gradient of ``layer``'s output (a layer may
        skip computing an input gradient nobody reads)."""
        return layer in self.wanted

    @property
    def training(self) -> bool:
        """Training arithmetic (batch statistics): in training and gradient-check passes."""
        return self.mode != Pass.TEST


class RuntimeLayer:
    """Base class.  Subclasses implement ``forward``/``backward``; ``param_shapes`` comes
    from the type's declared facts; ``cache`` holds what backward needs from the last
    forward."""

    #: the layer's output is a cost column (N, 1) seeded with ones by backward(None).
    is_cost = False
    #: the layer is fed, not computed (a data layer): the network checks and places what is
    #: fed and never builds an instance of the class
    fed = False
    #: the layer's output has another number of rows than its first input (Paddle's
    #: resize_layer reads the batch matrix as rows of its size): the network then takes the
    #: rows from the output instead of the input
    changes_batch = False
    #: the layer watches its inputs (print): a forward computes it whenever it computes all
    #: of its inputs, although no fetched output needs it
    observes = False
    #: the config's activation is the layer's own business (nce scores its sampled classes
    #: with it): the network applies none to the layer's output
    owns_activation = False

    @property
    def commutes_with_relu(self) -> bool:
        """``layer(relu(x)) == relu(layer(x))``, gradients included (max pooling), so the
        network may move the relu of the layer's single input after it."""
        return False

    def __init__(self, config: LayerConfig, model: ModelConfig,
                 shapes: dict[str, tuple[int, ...]]):
        self.config = config
        self.name = config.name
        self.input_names = [inp.input_layer_name for inp in config.inputs]
        self.input_shapes = [shapes[n] for n in self.input_names]
        self.out_shape = shapes[config.name]
        #: parameter name -> array shape, in Paddle's flat order when C-flattened.
        self.param_shapes: dict[str, tuple[int, ...]] = dict(parameter_shapes(config, model))
        #: parameters updated by the layer itself (batch-norm moving statistics).
        self.static_params: set[str] = set()
        self.cache: dict[str, Any] = {}
        #: (GPU algorithm, CPU algorithm run instead) when the config asked for a GPU one.
        self.mapped: Optional[tuple[str, str]] = None
        #: which implementation runs (shown by ``minipaddle time`` as :attr:`algorithm`)
        self.implementation = Algorithm(config.type)

    @property
    def algorithm(self) -> str:
        """The implementation as ``minipaddle time`` shows it, e.g. ``cudnn_conv: cuDNN`` or
        ``cudnn_conv -> exconv: im2col + GEMM, pixel layout``."""
        return str(self.implementation)

    # -- helpers -------------------------------------------------------------------------------
    def weight_name(self, index: int = 0) -> Optional[str]:
        return self.config.inputs[index].input_parameter_name

    @property
    def bias_name(self) -> Optional[str]:
        return self.config.bias_parameter_name

    # -- memory ----------------------------------------------------------------------------------
    #: what :meth:`working_bytes` counts, for the memory guard's message
    working_memory = "working memory"

    def working_bytes(self, batch: int, itemsize: int, backend: Any) -> int:
        """Bytes of scratch memory a pass over ``batch`` samples needs besides the layer's
        inputs, output and gradients (a convolution's im2col columns, a normalisation's
        temporaries); the network's memory guard counts them."""
        return 0

    # -- the contract --------------------------------------------------------------------------
    def forward(self, xs: list, params: dict, p: Pass) -> Any:
        """Pre-activation output in the layer's natural shape."""
        raise NotImplementedError

    def backward(self, xs: list, z: Any, dz: Any, params: dict, grads: dict,
                 p: Pass) -> list:
        """Input gradients (None for inputs that take none); parameter gradients are added
        into ``grads`` (a missing key means none yet)."""
        raise NotImplementedError


def as_image(x: Any, channels: int, height: int, width: int) -> Any:
    """``x`` seen as ``(N, channels, height, width)``: an image layer may read a flat input
    (an fc output, a data layer without height/width, an spp output) as an image, as Paddle
    did through num_channels."""
    return x.reshape(x.shape[0], channels, height, width)


def accumulate(grads: dict, name: Optional[str], value: Any) -> None:
    """grads[name] += value (shared parameters sum their users' gradients)."""
    if name is None or value is None:
        return
    if name in grads:
        grads[name] = grads[name] + value
    else:
        grads[name] = value


def sum_parts(parts: list) -> tuple:
    """The (gradient, bias gradient or None) pairs of a batch's chunks summed in chunk order
    into the first pair's arrays: the same sums every step, whatever the threads did."""
    total, bias = parts[0]
    for part, bias_part in parts[1:]:
        total += part
        if bias is not None:
            bias += bias_part
    return total, bias


def kept_buffers(cache: dict, key: str, shapes: list, dtype: Any, xp: Any) -> list:
    """One array per shape of ``shapes`` (contents undefined), kept in ``cache[key]`` from step
    to step: an array kept before is reused where its shape and dtype still match."""
    old = cache.get(key) or []
    kept = [old[i] if i < len(old) and old[i].shape == tuple(s) and old[i].dtype == dtype
            else xp.empty(s, dtype=dtype) for i, s in enumerate(shapes)]
    cache[key] = kept
    return kept
