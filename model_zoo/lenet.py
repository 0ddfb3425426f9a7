"""LeNet-5 for 28x28 MNIST digits: the Python twin of ``lenet.yaml``.

A Paddle v1 config file (``paddle.trainer_config_helpers`` works in place of ``minipaddle``);
``minipaddle.parse_config`` resolves it to the same TrainerConfig as ``lenet.yaml``:
conv 20@5x5, max pool 2/2, conv 50@5x5, max pool 2/2, fc 500 relu, fc 10 softmax
(431,080 parameters).
"""

from minipaddle import *  # noqa: F401,F403

settings(
    batch_size=64,
    # 0.02 / 64: Paddle sums gradients over the batch (docs/paddle_compat.md), stepped down to
    # 30% every 20,000 samples (5 passes of mnist5k)
    learning_rate=0.02 / 64,
    learning_rate_schedule="discexp",
    learning_rate_decay_a=0.3,
    learning_rate_decay_b=20000.0,
    learning_method=MomentumOptimizer(momentum=0.9),
    # L2 0.0005 per mean-loss step = 0.032 on summed gradients
    regularization=L2Regularization(rate=0.032),
)

pixel = data_layer(name="pixel", size=784, height=28, width=28)
label = data_layer(name="label", size=10)
conv1 = simple_img_conv_pool(name="conv1", input=pixel, filter_size=5, num_filters=20,
                             num_channel=1, pool_size=2, pool_stride=2,
                             act=ReluActivation())
conv2 = simple_img_conv_pool(name="conv2", input=conv1, filter_size=5, num_filters=50,
                             pool_size=2, pool_stride=2, act=ReluActivation())
hidden = fc_layer(name="hidden", input=conv2, size=500, act=ReluActivation())
predict = fc_layer(name="predict", input=hidden, size=10, act=SoftmaxActivation())
cost = classification_cost(name="cost", input=predict, label=label)
outputs(cost)
