# In the shape of Paddle's model-zoo resnet.py: the optimisation set with the config parser's
# raw names (default_momentum, default_decay_rate, Settings with plain values), the network's
# inputs and outputs named before the layers exist, xrange, and a config argument choosing
# the depth (50, 101 or 152).
from paddle.trainer_config_helpers import *

layer_num = get_config_arg("layer_num", int, 50)
batch_size = 64
default_momentum(0.9)
default_decay_rate(0.0001 * batch_size)
Settings(algorithm="sgd", batch_size=batch_size, learning_rate=0.1 / batch_size,
         learning_method="momentum", learning_rate_schedule="discexp",
         learning_rate_decay_a=0.1, learning_rate_decay_b=batch_size * 10000)
Inputs("image", "label")
Outputs("cost")


def conv_bn(name, input, size, filters, stride, channels=None, act=ReluActivation()):
    conv = img_conv_layer(name=name + "_conv", input=input, filter_size=size,
                          num_channels=channels, num_filters=filters, stride=stride,
                          padding=(size - 1) // 2, act=LinearActivation(), bias_attr=False)
    return batch_norm_layer(name=name + "_bn", input=conv, act=act)


def bottleneck(name, input, width, stride, project):
    shortcut = input
    if project:
        shortcut = conv_bn(name + "_proj", input, 1, width * 4, stride, act=LinearActivation())
    x = conv_bn(name + "_a", input, 1, width, stride)
    x = conv_bn(name + "_b", x, 3, width, 1)
    x = conv_bn(name + "_c", x, 1, width * 4, 1, act=LinearActivation())
    return addto_layer(name=name + "_add", input=[shortcut, x], act=ReluActivation())


BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
image = data_layer(name="image", size=3 * 224 * 224)
x = conv_bn("conv1", image, 7, 64, 2, channels=3)
x = img_pool_layer(name="pool1", input=x, pool_size=3, stride=2)
for stage, (count, width) in enumerate(zip(BLOCKS[layer_num], (64, 128, 256, 512))):
    for i in xrange(count):
        x = bottleneck("res%d_%d" % (stage + 2, i + 1), x, width,
                       2 if i == 0 and stage > 0 else 1, i == 0)
x = img_pool_layer(name="avgpool", input=x, pool_size=7, stride=1, pool_type=AvgPooling())
prob = fc_layer(name="prob", input=x, size=1000, act=SoftmaxActivation())
classification_cost(name="cost", input=prob, label=data_layer(name="label", size=1))
