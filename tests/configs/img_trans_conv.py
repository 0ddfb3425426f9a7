# Transposed convolution (trans=True): the input is the conv "output", the layer produces the
# "image" img = (out - 1) * s + (f - 1) * d + 1 - 2p.  Written as a Paddle v1 config file.
from paddle.trainer_config_helpers import *

settings(batch_size=16, learning_rate=0.01)

feat = data_layer(name="feat", size=16 * 8 * 8, height=8, width=8)
rect = data_layer(name="rect_feat", size=4 * 5 * 7, height=5, width=7)  # H 5, W 7

# __conv_0__ (type exconvt): 8x8 -> 16x16.
up = img_conv_layer(input=feat, filter_size=4, num_filters=3, stride=2, padding=1, trans=True)

# Paddle's testConvTransLayer geometry: filter 2 (x) x 4 (y), padding 0 / 1, stride 2.
up_y = img_conv_layer(input=feat, name="deconv_y", filter_size=2, filter_size_y=4,
                      num_filters=3, stride=2, padding=0, padding_y=1, trans=True)

# Pairs, dilation, groups, explicit layer_type and an unshared bias on a non-square input.
up_pairs = img_conv_layer(input=rect, name="deconv_pairs", filter_size=(3, 2), num_filters=6,
                          stride=(2, 3), padding=(1, 0), dilation=(2, 1), groups=2,
                          trans=True, layer_type="exconvt", shared_biases=False,
                          act=LinearActivation())

# __conv_1__: an ordinary conv on the deconv output (channels inferred from num_filters 3).
down = img_conv_layer(input=up, filter_size=3, num_filters=4)

outputs(up_y, up_pairs, down)
