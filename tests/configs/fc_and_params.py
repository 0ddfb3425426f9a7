# fc_layer and ParamAttr/ExtraAttr: smart, gaussian, uniform and static parameters, per-
# parameter l2/learning rate/momentum/clipping over the settings() defaults, parameter sharing
# by name, multiple inputs.
from minipaddle import *

settings(batch_size=32, learning_rate=0.01, learning_method=MomentumOptimizer(momentum=0.9),
         regularization=L2Regularization(0.0005), gradient_clipping_threshold=25.0)

x = data_layer(name="x", size=100)
y = data_layer(name="y", size=50)

# __fc_layer_0__: tanh, smart init 1/sqrt(100), zero bias [1, 64].
hidden = fc_layer(input=x, size=64)

gauss = fc_layer(input=x, name="gauss", size=32, act=ReluActivation(),
                 param_attr=ParamAttr(initial_mean=0.0, initial_std=0.02, l2_rate=0.001,
                                      learning_rate=0.5, momentum=0.5,
                                      gradient_clipping_threshold=5.0),
                 bias_attr=ParamAttr(initial_mean=0.1, initial_std=0.0, learning_rate=2.0))

uniform = fc_layer(input=x, name="uniform", size=16,
                   param_attr=ParamAttr(initial_min=-0.5, initial_max=1.5))

# Static: the ParamAttr's l2_rate/learning_rate/momentum are not copied.
frozen = fc_layer(input=x, name="frozen", size=16, bias_attr=False,
                  param_attr=ParamAttr(is_static=True, initial_std=0.1, l2_rate=0.1,
                                       learning_rate=3.0, momentum=0.3))

# Two layers sharing one weight (and one bias) by name.
shared_a = fc_layer(input=hidden, name="shared_a", size=10,
                    param_attr=ParamAttr(name="shared_w"),
                    bias_attr=ParamAttr(name="shared_bias", initial_std=0.0))
shared_b = fc_layer(input=hidden, name="shared_b", size=10,
                    param_attr=ParamAttr(name="shared_w"),
                    bias_attr=ParamAttr(name="shared_bias", initial_std=0.0))

# __fc_layer_1__ / __fc_layer_2__: two inputs, one weight each.
two_inputs = fc_layer(input=[x, y], size=8, act=SigmoidActivation())
two_attrs = fc_layer(input=[x, y], size=8,
                     param_attr=[ParamAttr(initial_std=0.01), ParamAttr()],
                     layer_attr=ExtraAttr(drop_rate=0.3, error_clipping_threshold=10.0))

outputs(gauss, uniform, frozen, shared_a, shared_b, two_inputs, two_attrs)
