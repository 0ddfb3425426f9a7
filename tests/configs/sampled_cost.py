# hsigmoid and nce_layer (Paddle v1's large-label-space costs), Paddle v1 config style:
# automatic names and defaults, then a non-default of each argument.
from paddle.trainer_config_helpers import *

settings(batch_size=16, learning_rate=0.01)

words = data_layer(name="words", size=12)
context = data_layer(name="context", size=6)
word_id = data_layer(name="word_id", size=7)
sample_weight = data_layer(name="sample_weight", size=1)
hidden = fc_layer(input=words, size=4, act=TanhActivation())

# hsigmoid: num_classes from the label's size, one weight (num_classes - 1, in) per input
tree = hsigmoid(input=hidden, label=word_id)                           # __hsigmoid_0__
tree_two = hsigmoid(input=[hidden, context], label=word_id, num_classes=7, name="tree_two",
                    param_attr=[ParamAttr(name="tree_w0"), ParamAttr(initial_std=0.5)],
                    bias_attr=False)

# nce_layer: sigmoid active type, num_neg_samples written, weight (num_classes, in)
noise = nce_layer(input=hidden, label=word_id)                         # __nce_layer_0__
noise_two = nce_layer(input=[hidden, context], label=word_id, weight=sample_weight,
                      num_neg_samples=3, name="noise_two",
                      neg_distribution=[0.25, 0.25, 0.125, 0.125, 0.125, 0.0625, 0.0625],
                      bias_attr=ParamAttr(initial_std=0.1))

outputs(tree, tree_two, noise, noise_two)
