# maxout_layer, spp_layer, pad_layer and bilinear_interp_layer on a non-square conv output.
from minipaddle import *

settings(batch_size=16, learning_rate=0.01)

image = data_layer(name="image", size=3 * 12 * 10, height=12, width=10)  # H 12, W 10
# __conv_0__: linear, as maxout and bilinear_interp require; 8 x 12 x 10.
conv = img_conv_layer(input=image, filter_size=3, num_filters=8, padding=1,
                      act=LinearActivation())

# __maxout_layer_0__: 8 -> 4 channels.  The output carries no channel count, so the pool
# after it needs num_channels (as Paddle's test_maxout passes num_channels).
maxout = maxout_layer(input=conv, groups=2)
pool = img_pool_layer(input=maxout, num_channels=4, pool_size=2, stride=2)
maxout4 = maxout_layer(input=conv, name="maxout4", groups=4, num_channels=8)

# __spp_0__: pyramid height 3 -> 1 + 4 + 16 = 21 bins per channel.
spp = spp_layer(input=conv, pyramid_height=3)
spp_avg = spp_layer(input=conv, name="spp_avg", num_channels=8, pyramid_height=2,
                    pool_type=AvgPooling())

# __pad_0__: channels 8 + 1 + 2, height 12 + 0 + 1, width 10 + 2 + 3.
pad = pad_layer(input=conv, pad_c=[1, 2], pad_h=[0, 1], pad_w=[2, 3])
pad_h_only = pad_layer(input=conv, name="pad_h_only", pad_h=[1, 1])
# __conv_1__: channels inferred from the pad layer (11).
conv_after_pad = img_conv_layer(input=pad, filter_size=1, num_filters=4)

# __bilinear_interp_layer_0__: 12 x 10 -> 24 x 20.
bilinear = bilinear_interp_layer(input=conv, out_size_x=20, out_size_y=24)

outputs(pool, maxout4, spp, spp_avg, pad_h_only, conv_after_pad, bilinear)
