# In the style of Paddle's demo/mnist/light_mnist.py: a light CNN of four img_conv_groups with
# batch norm on a flat 784-value data layer (no height or width, as the demo wrote it); the
# first group reads it as a 1 x 28 x 28 image through num_channels.  64 filters per group
# (the demo had 128) keep the test quick.
from paddle.trainer_config_helpers import *

is_predict = get_config_arg("is_predict", bool, False)

if not is_predict:
    define_py_data_sources2(train_list="data/train.list", test_list="data/test.list",
                            module="mnist_provider", obj="process")

settings(batch_size=50, learning_rate=0.001, learning_method=AdamOptimizer(),
         regularization=L2Regularization(8e-4))

img = data_layer(name="pixel", size=1 * 28 * 28)


def light_cnn(input_image, num_channels, num_classes):
    def group(ipt, num_filter=64, conv_filter_size=3, num_channels_=None):
        return img_conv_group(input=ipt, num_channels=num_channels_, pool_size=2,
                              pool_stride=2, conv_padding=0, conv_num_filter=[num_filter],
                              conv_filter_size=conv_filter_size, conv_act=ReluActivation(),
                              conv_with_batchnorm=True, conv_batchnorm_drop_rate=0,
                              pool_type=MaxPooling())

    tmp = group(input_image, num_channels_=num_channels)
    tmp = group(tmp)
    tmp = group(tmp)
    tmp = group(tmp, conv_filter_size=1)
    return fc_layer(input=tmp, size=num_classes, act=SoftmaxActivation())


predict = light_cnn(input_image=img, num_channels=1, num_classes=10)

if not is_predict:
    lbl = data_layer(name="label", size=10)
    inputs(img, lbl)
    outputs(classification_cost(input=predict, label=lbl))
else:
    outputs(predict)
