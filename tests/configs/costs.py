# Cost layers: classification_cost (with its evaluator), cross_entropy, square_error_cost and
# its alias regression_cost (one name counter), per-sample weights and coeff.
from paddle.trainer_config_helpers import *

settings(batch_size=32, learning_rate=0.01)

x = data_layer(name="x", size=20)
label = data_layer(name="label", size=5)
weight = data_layer(name="weight", size=1)
target = data_layer(name="target", size=3)

prob = fc_layer(input=x, size=5, act=SoftmaxActivation())
pred = fc_layer(input=x, size=3, act=LinearActivation())

cls = classification_cost(input=prob, label=label)  # __cost_0__
xent = cross_entropy(input=prob, label=label, weight=weight, coeff=0.5)
mse = square_error_cost(input=pred, label=target)  # __square_error_cost_0__
reg = regression_cost(input=pred, label=target, weight=weight, coeff=2.0)  # ..._1__

outputs(cls, xent, mse, reg)
