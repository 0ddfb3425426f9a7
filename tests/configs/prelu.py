# prelu_layer: partial_sum, channel_shared True/False, custom init.  Paddle v1 config style.
from paddle.trainer_config_helpers import *

settings(batch_size=16, learning_rate=0.01)

image = data_layer(name="image", size=3 * 4 * 6, height=4, width=6)  # 72 values

prelu = prelu_layer(input=image)  # __prelu_layer_0__: one slope per value
prelu_ps = prelu_layer(input=image, name="prelu_ps", partial_sum=24)
prelu_shared = prelu_layer(input=image, name="prelu_shared", channel_shared=True)
prelu_channel = prelu_layer(input=image, name="prelu_channel", channel_shared=False,
                            num_channels=3,
                            param_attr=ParamAttr(initial_mean=0.1, initial_std=0.0))

outputs(prelu, prelu_ps, prelu_shared, prelu_channel)
