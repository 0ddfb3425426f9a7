# The remaining vector layers of issue 16 (conv_shift, sampling_id, print) and the older data
# source helper, Paddle v1 config style: automatic names, defaults and a non-default of each.
from paddle.trainer_config_helpers import *

define_py_data_sources(train_list="train.list", test_list="test.list", module="provider",
                       obj=("read_train", "read_test"), args={"words": "dict.txt"},
                       train_async=True)
settings(batch_size=8, learning_rate=0.01)

memory = data_layer(name="memory", size=8)
kernel = data_layer(name="kernel", size=3)
wide = data_layer(name="wide", size=5)

# conv_shift_layer: the output has a's size, the inputs are [a, b]
shifted = conv_shift_layer(a=memory, b=kernel)                    # __conv_shift_layer_0__
shifted_wide = conv_shift_layer(a=shifted, b=wide, name="shifted_wide",
                                layer_attr=ExtraAttr(device=-1))

# sampling_id_layer: the config's size is the input's
probs = fc_layer(input=shifted_wide, size=4, act=SoftmaxActivation())
sampled = sampling_id_layer(input=probs)                          # __sampling_id_layer_0__

# print_layer: the default format (one line per input), then a format of our own
print_layer(input=shifted)                                        # __print_0__
printer_layer(input=[shifted, sampled], format="a=%s ids=%s", name="show")

cost = square_error_cost(input=shifted_wide, label=data_layer(name="target", size=8))
outputs(cost, sampled)
