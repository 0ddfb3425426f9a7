# settings(): every learning method, selected with the config arg `method` (goldens exist for
# each), a different learning-rate schedule per method, L2Regularization, ModelAverage and
# gradient clipping.
from minipaddle import *

method = get_config_arg("method", str, "momentum")

LEARNING_METHODS = {
    "momentum": MomentumOptimizer(momentum=0.9),
    "adam": AdamOptimizer(beta1=0.8, beta2=0.99, epsilon=1e-6),
    "adamax": AdamaxOptimizer(beta1=0.85, beta2=0.995),
    "adagrad": AdaGradOptimizer(),
    "decayed_adagrad": DecayedAdaGradOptimizer(rho=0.9, epsilon=1e-5),
    "adadelta": AdaDeltaOptimizer(rho=0.8, epsilon=1e-4),
    "rmsprop": RMSPropOptimizer(rho=0.7, epsilon=1e-3),
}
# (schedule, decay_a, decay_b, args)
SCHEDULES = {
    "momentum": ("poly", 0.1, 0.5, ""),
    "adam": ("constant", 0.0, 0.0, ""),
    "adamax": ("exp", 0.5, 10000.0, ""),
    "adagrad": ("discexp", 0.5, 20000.0, ""),
    "decayed_adagrad": ("linear", 1e-7, 1e-4, ""),
    "adadelta": ("caffe_poly", 1000000.0, 0.9, ""),
    "rmsprop": ("manual", 0.0, 0.0, "1000:1.0,2000:0.5,3000:0.25"),
}
schedule, decay_a, decay_b, schedule_args = SCHEDULES[method]

settings(batch_size=128, learning_rate=0.1 / 128.0, learning_rate_decay_a=decay_a,
         learning_rate_decay_b=decay_b, learning_rate_schedule=schedule,
         learning_rate_args=schedule_args, learning_method=LEARNING_METHODS[method],
         regularization=L2Regularization(0.0005 * 128),
         model_average=ModelAverage(average_window=0.5, max_average_window=10000,
                                    do_average_in_cpu=True),
         gradient_clipping_threshold=10.0, is_async=(method == "adagrad"))

x = data_layer(name="x", size=8)
label = data_layer(name="label", size=4)
hidden = fc_layer(input=x, size=16, act=ReluActivation(),
                  param_attr=ParamAttr(momentum=0.0, l2_rate=0.0))
prob = fc_layer(input=hidden, size=4, act=SoftmaxActivation())
outputs(classification_cost(input=prob, label=label))
