"""``paddle.networks``: v1's network helpers, unwrapped, under their own names (as Paddle
0.11); the sequence and attention helpers are not implemented and say so when called."""

from __future__ import annotations

from ._names import export_v1, missing_attribute

_NAMES = (
    "sequence_conv_pool simple_lstm simple_img_conv_pool img_conv_bn_pool lstmemory_group "
    "lstmemory_unit small_vgg img_conv_group vgg_16_network gru_unit gru_group simple_gru "
    "simple_gru2 bidirectional_gru bidirectional_lstm simple_attention dot_product_attention "
    "multi_head_attention text_conv_pool img_separable_conv").split()
__all__ = export_v1(globals(), __name__, {name: name for name in _NAMES})

__getattr__ = missing_attribute(__name__, __all__)
