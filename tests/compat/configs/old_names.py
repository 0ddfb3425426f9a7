# Helper spellings of 2016-2017 files that minipaddle accepts with Paddle's meaning: the older
# AdaGradOptimizer(momentum=) and img_pool_layer(img_width=) on a flat, non-square input.
from paddle.trainer_config_helpers import *

settings(batch_size=16, learning_rate=0.01, learning_method=AdaGradOptimizer(momentum=0.9))
image = data_layer(name="image", size=2 * 6 * 10)
pool = img_pool_layer(name="pool", input=image, num_channels=2, pool_size=2, stride=2,
                      img_width=10)
prob = fc_layer(name="prob", input=pool, size=3, act=SoftmaxActivation())
outputs(classification_cost(input=prob, label=data_layer(name="label", size=3)))
