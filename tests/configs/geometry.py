# The geometry layers of issue 16: crop_layer, upsample_layer, rotate_layer,
# switch_order_layer, resize_layer, scale_sub_region_layer, roi_pool_layer,
# block_expand_layer and trans_layer, with their auto names.
from minipaddle import *

settings(batch_size=16, learning_rate=0.01)

image = data_layer(name="image", size=3 * 8 * 6, height=8, width=6)    # H 8, W 6
reference = data_layer(name="reference", size=3 * 5 * 4, height=5, width=4)

# __crop_layer_0__: height and width cropped to the reference's 5 x 4 at (2, 1).
crop = crop_layer(input=[image, reference], offset=[2, 1], shape=[])
# one input: channels 1..2, rows 3..6, columns 0..5 of the image.
crop_by_shape = crop_layer(input=image, name="crop_by_shape", offset=[1, 3, 0], axis=1,
                           shape=[1, 2, 4, 6])

# __pool_0__: 2x2 max pool with mask, 3 x 4 x 3; __upsample_0__ back to 8 x 6.
pool = img_pool_layer(input=image, num_channels=3, pool_size=2, stride=2,
                      pool_type=MaxWithMaskPooling())
unpool = upsample_layer(input=[pool, pool], scale=2)
# on a square 6 x 6 image: upsample_size is also the y size (Paddle ignores upsample_size_y
# when upsample_size is given).
square = data_layer(name="square", size=2 * 6 * 6, height=6, width=6)
square_pool = img_pool_layer(input=square, name="square_pool", num_channels=2, pool_size=2,
                             stride=2, pool_type=MaxWithMaskPooling())
unpool_by_size = upsample_layer(input=[square_pool, square_pool], name="unpool_by_size",
                                upsample_size=6, upsample_size_y=99)

# __rotate_layer_0__: 8 x 6 planes turned to 6 x 8.
rotated = rotate_layer(input=image, height=8, width=6)
# __switch_order_0__: NCHW -> NHWC, height axes [0], width axes [1, 2, 3].
nhwc = switch_order_layer(input=image, reshape_axis=1)
nhwc_axis2 = switch_order_layer(input=image, name="nhwc_axis2", reshape_axis=2,
                                act=ReluActivation())

# __resize_0__: rows of 16.
resized = resize_layer(input=image, size=16)

# __scale_sub_region_0__: a region scaled by 0.5.
indices = data_layer(name="indices", size=6)
scaled = scale_sub_region_layer(input=image, indices=indices, value=0.5)

# __roi_pool_0__: 3 channels inferred from the conv, 2 x 3 bins.
conv = img_conv_layer(input=image, filter_size=3, num_filters=3, padding=1,
                      act=LinearActivation())
rois = data_layer(name="rois", size=5)
roi = roi_pool_layer(input=conv, rois=rois, pooled_width=3, pooled_height=2,
                     spatial_scale=0.25)

# __block_expand_layer_0__: 3 x 2 blocks, stride 2, padding_x 1:
# x 1 + ceil((6 + 2 - 2) / 2) = 4, y 1 + ceil((8 - 3) / 2) = 4 -> 16 blocks of 3 * 3 * 2.
blocks = block_expand_layer(input=image, num_channels=3, block_x=2, block_y=3, stride_x=2,
                            stride_y=2, padding_x=1)

# __trans_layer_0__
vector = data_layer(name="vector", size=16)
transposed = trans_layer(input=vector)

outputs(crop, crop_by_shape, unpool, unpool_by_size, rotated, nhwc, nhwc_axis2, resized,
        scaled, roi, blocks, transposed)
