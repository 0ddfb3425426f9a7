# SSD's cross_channel_norm_layer, Paddle v1 config style: after a conv (the SSD form, a scale
# initialised to 20), with its automatic name, and on a non-square image data layer.
from paddle.trainer_config_helpers import *

settings(batch_size=4, learning_rate=0.01)

image = data_layer(name="image", size=3 * 6 * 6, height=6, width=6)
conv = img_conv_layer(input=image, filter_size=3, num_filters=8, padding=1, name="conv4_3",
                      act=ReluActivation())

# the SSD form: a constant scale of 20 per channel
conv4_3_norm = cross_channel_norm_layer(
    input=conv, name="conv4_3_norm",
    param_attr=ParamAttr(initial_mean=20, initial_std=0, is_static=False, learning_rate=1))

# a non-square image: 2 channels of 3 x 5 pixels; the default attribute and automatic name
wide = data_layer(name="wide", size=2 * 3 * 5, height=3, width=5)
wide_norm = cross_channel_norm_layer(input=wide)                    # __cross_channel_norm_0__

outputs(conv4_3_norm, wide_norm)
