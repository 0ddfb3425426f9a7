# In the shape of Paddle's trainer_config_helpers/tests/configs/img_trans_layers.py: a 32 x 32
# transposed convolution of a 227 x 227 image into 64 maps.  Its im2col working buffer is
# 64*32*32 rows by 227*227 pixels per sample: 13.5 GB in float32.
from paddle.trainer_config_helpers import *

settings(learning_rate=1e-3, batch_size=1000)
img = data_layer(name="image", size=227 * 227)
up = img_conv_layer(name="up", input=img, num_channels=1, num_filters=64, filter_size=32,
                    padding=1, stride=1, act=LinearActivation(), trans=True)
outputs(up)
