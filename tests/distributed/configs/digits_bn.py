# The digits network with batch norm after each convolution: the data-parallel tests compare
# it on 1 process and on 2 ranks with synchronised batch norm.
from minipaddle import *

settings(batch_size=32, learning_rate=0.05 / 32, learning_method=MomentumOptimizer(0.9),
         regularization=L2Regularization(0.0032))
pixel = data_layer(name="pixel", size=64, height=8, width=8)
label = data_layer(name="label", size=10)
conv1 = img_conv_layer(input=pixel, filter_size=3, num_filters=16, padding=1,
                       act=LinearActivation(), bias_attr=False)
bn1 = batch_norm_layer(input=conv1, act=ReluActivation())
pool1 = img_pool_layer(input=bn1, pool_size=2, stride=2)
conv2 = img_conv_layer(input=pool1, filter_size=3, num_filters=32, padding=1,
                       act=LinearActivation(), bias_attr=False)
bn2 = batch_norm_layer(input=conv2, act=ReluActivation())
pool2 = img_pool_layer(input=bn2, pool_size=2, stride=2)
hidden = fc_layer(input=pool2, size=64, act=ReluActivation())
predict = fc_layer(input=hidden, size=10, act=SoftmaxActivation())
outputs(classification_cost(input=predict, label=label))
