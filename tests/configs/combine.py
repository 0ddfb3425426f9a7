# concat_layer, addto_layer and dropout_layer on images (height/width copied, channel count
# kept by addto only) and on plain vectors (height 0, width 0, depth 1 written).
from minipaddle import *

settings(batch_size=16, learning_rate=0.01)

image = data_layer(name="image", size=2 * 8 * 8, height=8, width=8)
branch_a = img_conv_layer(input=image, filter_size=3, padding=1, num_filters=4)  # __conv_0__
branch_b = img_conv_layer(input=image, filter_size=1, num_filters=4,
                          act=LinearActivation())  # __conv_1__

cat = concat_layer(input=[branch_a, branch_b])  # __concat_0__
added = addto_layer(input=[branch_a, branch_b], act=ReluActivation())  # __addto_0__
dropped = dropout_layer(input=added, dropout_rate=0.5)  # __dropout_0__ (an addto layer)

# addto keeps num_filters (4): no num_channels needed.  concat loses it: 8 given explicitly.
pool_add = img_pool_layer(input=added, pool_size=2, stride=2)
pool_cat = img_pool_layer(input=cat, name="pool_cat", num_channels=8, pool_size=2, stride=2)

a = data_layer(name="a", size=10)
b = data_layer(name="b", size=10)
vcat = concat_layer(input=[a, b], name="vcat", act=ReluActivation(),
                    layer_attr=ExtraAttr(error_clipping_threshold=1.0))
vadd = addto_layer(input=[a, b], name="vadd", bias_attr=True,
                   layer_attr=ExtraAttr(drop_rate=0.25, error_clipping_threshold=5.0))

outputs(dropped, pool_add, pool_cat, vcat, vadd)
