# data_norm_layer (minipaddle's helper for Paddle's raw data_norm type): one static (5, size)
# parameter per layer, each strategy, a named layer with a named, shared-by-name statistics
# parameter.
from paddle.trainer_config_helpers import *

settings(batch_size=8, learning_rate=0.01)

dense = data_layer(name="dense", size=4)
wide = data_layer(name="wide", size=7)

z = data_norm_layer(input=dense)
mm = data_norm_layer(input=dense, data_norm_strategy="min-max")
dec = data_norm_layer(input=wide, name="scaled", data_norm_strategy="decimal-scaling",
                      param_attr=ParamAttr(name="wide_stats", initial_std=0.0,
                                           initial_mean=1.0))

outputs(fc_layer(input=[z, mm, dec], size=2, act=LinearActivation(), name="out"))
