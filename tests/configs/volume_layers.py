# 3-D layers: img_conv3d_layer (conv3d, and deconv3d with trans=True), img_pool3d_layer and
# batch_norm_layer(img3D=True) on volumes from data layers with a depth. Written as a Paddle v1
# config file; the hand-derived fields are checked in tests/configs/test_volume_fields.py.
from paddle.trainer_config_helpers import *

settings(batch_size=8, learning_rate=0.01)

# 2 channels, depth 4, height 6, width 10.
vol = data_layer(name="vol", size=2 * 4 * 6 * 10, depth=4, height=6, width=10)

# __conv3d_0__: filter 3, stride 1, padding 1 on every axis: same size.
same = img_conv3d_layer(input=vol, filter_size=3, num_filters=5, padding=1)

# Per-axis (x, y, z) triples and groups; padding_y 0 reads as the x padding (Paddle's Conv3D).
per_axis = img_conv3d_layer(input=vol, name="per_axis", filter_size=[3, 2, 1], num_filters=4,
                            stride=[2, 1, 2], padding=[1, 0, 0], groups=2,
                            shared_biases=False, bias_attr=False, act=LinearActivation())

# deconv3d: 5 channels in, 5 filters out (Paddle's runtime needs channels == num_filters).
up = img_conv3d_layer(input=same, name="up", filter_size=2, num_filters=5, stride=2,
                      trans=True, layer_type="deconv3d", act=LinearActivation())

# pool3d: max with ceil rounding, and average with floor rounding on per-axis triples.
pooled = img_pool3d_layer(input=up, name="pooled", pool_size=3, stride=2, padding=1)
avg = img_pool3d_layer(input=vol, name="avg", pool_size=[2, 3, 2], stride=[2, 3, 1],
                       pool_type=AvgPooling(), ceil_mode=False)

bn = batch_norm_layer(input=pooled, img3D=True, act=TanhActivation())

outputs(per_axis, avg, bn)
