# img_pool_layer: ceil (default) vs floor rounding, stride default 1, padding, per-axis
# arguments, exclude_mode and every accepted pool type, on square and non-square inputs.
from minipaddle import *

settings(batch_size=16, learning_rate=0.01)

image = data_layer(name="image", size=4 * 14 * 14, height=14, width=14)
rect = data_layer(name="rect", size=2 * 10 * 13, height=10, width=13)  # H 10, W 13

# __pool_0__: max 3/2, ceil: 1 + ceil(11 / 2) = 7.
pool_ceil = img_pool_layer(input=image, pool_size=3, stride=2)
# The same window with floor rounding: 1 + floor(11 / 2) = 6.
pool_floor = img_pool_layer(input=image, name="pool_floor", pool_size=3, stride=2,
                            ceil_mode=False)
# __pool_1__: stride defaults to 1 (not pool_size): 13.
pool_stride1 = img_pool_layer(input=image, pool_size=2, num_channels=4, ceil_mode=True)

avg_pad_ceil = img_pool_layer(input=image, name="avg_pad_ceil", pool_size=3, stride=2,
                              padding=1, pool_type=AvgPooling(), exclude_mode=False)
avg_pad_floor = img_pool_layer(input=image, name="avg_pad_floor", pool_size=3, stride=2,
                               padding=1, pool_type=AvgPooling(), exclude_mode=True,
                               ceil_mode=False)

cudnn_max = img_pool_layer(input=rect, name="cudnn_max_rect", pool_size=3, pool_size_y=2,
                           stride=2, stride_y=3, padding=1, padding_y=0,
                           pool_type=CudnnMaxPooling())
cudnn_avg = img_pool_layer(input=rect, name="cudnn_avg_rect", pool_size=3, pool_size_y=2,
                           stride=2, stride_y=3, padding=1, padding_y=0,
                           pool_type=CudnnAvgPooling(), ceil_mode=False)
max_mask = img_pool_layer(input=rect, name="max_mask", pool_size=2, stride=2,
                          pool_type=MaxWithMaskPooling())

outputs(pool_ceil, pool_floor, pool_stride1, avg_pad_ceil, avg_pad_floor, cudnn_max,
        cudnn_avg, max_mask)
