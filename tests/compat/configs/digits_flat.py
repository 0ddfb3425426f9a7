# A Paddle-demo-style config for the 8 x 8 digits: flat data layer (64 values, no height or
# width), simple_img_conv_pool reading it as a 1-channel image, and a softmax classifier.
from paddle.trainer_config_helpers import *

settings(batch_size=32, learning_rate=0.1 / 32, learning_method=MomentumOptimizer(0.9),
         regularization=L2Regularization(0.0005 * 32))

img = data_layer(name="pixel", size=64)
conv = simple_img_conv_pool(input=img, filter_size=3, num_filters=16, num_channel=1,
                            conv_padding=1, pool_size=2, pool_stride=2,
                            act=ReluActivation())
hidden = fc_layer(input=conv, size=64, act=ReluActivation())
predict = fc_layer(input=hidden, size=10, act=SoftmaxActivation())
outputs(classification_cost(input=predict, label=data_layer(name="label", size=10)))
