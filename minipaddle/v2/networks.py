"""``paddle.networks``: v1's network helpers, unwrapped, under their own names (as Paddle
0.11); the sequence and attention helpers are not implemented and say so when called."""

from __future__ import annotations

from .. import dsl
from ._names import missing_attribute, public_name, unsupported_function

_NAMES = (
    "sequence_conv_pool simple_lstm simple_img_conv_pool img_conv_bn_pool lstmemory_group "
    "lstmemory_unit small_vgg img_conv_group vgg_16_network gru_unit gru_group simple_gru "
    "simple_gru2 bidirectional_gru bidirectional_lstm simple_attention dot_product_attention "
    "multi_head_attention text_conv_pool img_separable_conv").split()
_SUPPORTED = set(dsl.__all__) - set(dsl._unsupported.__all__)

__all__ = []
for _name in _NAMES:
    globals()[_name] = (getattr(dsl, _name) if _name in _SUPPORTED
                        else unsupported_function(public_name(__name__, _name)))
    __all__.append(_name)

__getattr__ = missing_attribute(__name__, __all__)
