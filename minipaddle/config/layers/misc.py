"""Facts of the remaining vector layers of issue 16 (conv_shift, sampling_id, print): their
output shapes and multiply-adds.  None has parameters."""

from __future__ import annotations

from ..models import LayerConfig, ModelConfig
from . import declare, input_size


def _conv_shift_mult_adds(layer: LayerConfig, model: ModelConfig) -> int:
    # each of the M outputs sums K products
    return (layer.size or 0) * input_size(model, layer, 1)


declare("conv_shift", mult_adds=_conv_shift_mult_adds)
# the config's size is the input's (Paddle's); the output is one id per sample, as maxid's
declare("sampling_id", output_shape=lambda layer: (1,))
# nothing comes out of a print layer (no later layer may read it)
declare("print", output_shape=lambda layer: (0,), display="print")
