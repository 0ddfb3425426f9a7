# batch_norm_layer on an image (channels from the conv) and on a plain vector (channels =
# input size), with every argument that changes the config.
from minipaddle import *

settings(batch_size=16, learning_rate=0.01, learning_method=MomentumOptimizer(momentum=0.9))

image = data_layer(name="image", size=3 * 16 * 12, height=16, width=12)  # H 16, W 12
conv = img_conv_layer(input=image, filter_size=3, num_filters=8, padding=1,
                      act=LinearActivation(), bias_attr=False)

# __batch_norm_0__: defaults (relu, scale mean 1 std 0, static moving mean/var, zero bias).
bn_default = batch_norm_layer(input=conv)

bn_custom = batch_norm_layer(input=conv, name="bn_custom", act=TanhActivation(),
                             num_channels=8, batch_norm_type="batch_norm", epsilon=1e-3,
                             moving_average_fraction=0.99, use_global_stats=False,
                             mean_var_names=["bn_mean", "bn_var"],
                             param_attr=ParamAttr(initial_mean=0.5, initial_std=0.1,
                                                  l2_rate=0.0),
                             bias_attr=ParamAttr(initial_mean=0.0, initial_std=0.0,
                                                 learning_rate=2.0),
                             layer_attr=ExtraAttr(drop_rate=0.5,
                                                  error_clipping_threshold=10.0))

vec = data_layer(name="vec", size=20)
hidden = fc_layer(input=vec, size=32, act=LinearActivation())
# __batch_norm_1__: a vector input: 32 channels of 1x1, no height/width; no bias.
bn_vector = batch_norm_layer(input=hidden, bias_attr=False, use_global_stats=True)

outputs(bn_default, bn_custom, bn_vector)
