# img_conv_layer: defaults, ints, (x, y) pairs, _y arguments, dilation, groups, explicit
# layer_type, shared_biases=False, non-square input, every init flavour on a conv weight.
# Hand-computed values: tests/configs/test_goldens.py::test_img_conv_*.
from minipaddle import *

settings(batch_size=16, learning_rate=0.01)

image = data_layer(name="image", size=3 * 32 * 32, height=32, width=32)
rect = data_layer(name="rect", size=2 * 20 * 30, height=20, width=30)  # H 20, W 30

# __conv_0__: 5x5, 16 filters, defaults (stride 1, no padding, relu, smart init, shared bias).
conv_default = img_conv_layer(input=image, filter_size=5, num_filters=16)

# __conv_1__: int stride and padding, explicit num_channels, linear activation.
conv_strided = img_conv_layer(input=image, filter_size=3, num_filters=8, num_channels=3,
                              stride=2, padding=1, act=LinearActivation())

# (x, y) pairs for every geometric argument, groups, on a non-square image.
conv_pairs = img_conv_layer(input=rect, name="conv_pairs", filter_size=(3, 5), num_filters=8,
                            stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)

# Scalars plus _y arguments; unshared bias; explicit layer_type (allowed with dilation > 1).
conv_y_args = img_conv_layer(input=rect, name="conv_y_args", filter_size=3, filter_size_y=2,
                             num_filters=4, stride=2, stride_y=3, padding=1, padding_y=0,
                             dilation=2, dilation_y=3, shared_biases=False,
                             layer_type="exconv", act=SigmoidActivation())

# __conv_2__: list pairs whose y entry is overridden by filter_size_y; no bias; gaussian init.
conv_lists = img_conv_layer(input=image, filter_size=[2, 2], filter_size_y=4, num_filters=6,
                            stride=[1, 2], padding=[0, 1], bias_attr=False,
                            param_attr=ParamAttr(initial_mean=0.0, initial_std=0.02))

# __conv_3__: depthwise on conv_strided (channels inferred: 8), uniform init, custom bias,
# dropout (the only ExtraAttr a conv supports).
conv_depthwise = img_conv_layer(input=conv_strided, filter_size=3, num_filters=16, groups=8,
                                padding=1,
                                param_attr=ParamAttr(initial_min=-0.25, initial_max=0.75),
                                bias_attr=ParamAttr(initial_mean=0.1, initial_std=0.0),
                                layer_attr=ExtraAttr(drop_rate=0.2))

# Groups with smart init: the std ignores groups (uses all 3 input channels).
conv_groups = img_conv_layer(input=image, name="conv_groups", filter_size=3, num_filters=6,
                             groups=3, padding=1, act=TanhActivation())

outputs(conv_default, conv_pairs, conv_y_args, conv_lists, conv_depthwise, conv_groups)
