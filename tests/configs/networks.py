# networks.py image helpers: simple_img_conv_pool, img_conv_bn_pool, img_conv_group and
# img_separable_conv, with auto names (__conv_pool_0__, __conv_bn_pool_0__,
# __separable_conv_0__) and explicit ones.
from minipaddle import *

settings(batch_size=16, learning_rate=0.01)

image = data_layer(name="image", size=1 * 28 * 28, height=28, width=28)

# __conv_pool_0___conv: 5x5 -> 24x24; __conv_pool_0___pool: 2/2 -> 12x12.
conv_pool = simple_img_conv_pool(input=image, filter_size=5, num_filters=8, num_channel=1,
                                 pool_size=2, pool_stride=2, act=ReluActivation())

# pool_stride left at its default 1; average pooling; unshared bias off; gaussian weights.
conv_pool_named = simple_img_conv_pool(input=conv_pool, name="conv_pool_named", filter_size=3,
                                       num_filters=16, pool_size=3, pool_type=AvgPooling(),
                                       conv_padding=1, groups=2, conv_stride=1,
                                       shared_bias=False, bias_attr=False,
                                       param_attr=ParamAttr(initial_std=0.01))

# __conv_bn_pool_0__: conv (linear) -> batch norm (relu) -> pool.
conv_bn_pool = img_conv_bn_pool(input=conv_pool, filter_size=3, num_filters=16, pool_size=2,
                                pool_stride=2, conv_padding=1)

# Auto-named layers: __conv_0__ -> __batch_norm_0__ (drop 0.5) -> __conv_1__ -> __pool_0__.
group = img_conv_group(input=conv_bn_pool, conv_num_filter=[16, 32], pool_size=2,
                       pool_stride=2, conv_padding=1, conv_filter_size=3,
                       conv_act=ReluActivation(), conv_with_batchnorm=[True, False],
                       conv_batchnorm_drop_rate=[0.5, 0], pool_type=MaxPooling())

# __separable_conv_0__: depthwise (groups 8, 16 filters) then 1x1 pointwise to 12 channels.
separable = img_separable_conv(input=conv_pool, num_channels=8, num_out_channels=12,
                               filter_size=3, padding=1, depth_multiplier=2,
                               act=ReluActivation())

outputs(conv_pool_named, group, separable)
