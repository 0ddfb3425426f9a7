# The element-wise and vector layers of issue 16, Paddle v1 config style: automatic names,
# Paddle's defaults and the non-default arguments of each.
from paddle.trainer_config_helpers import *

settings(batch_size=8, learning_rate=0.01)

vec = data_layer(name="vec", size=6)
other = data_layer(name="other", size=6)
gate = data_layer(name="gate", size=1)
picture = data_layer(name="picture", size=2 * 3 * 4, height=3, width=4)

# slope_intercept_layer: defaults (slope 1.0, intercept 0.0), then an int intercept kept an int
shifted = slope_intercept_layer(input=vec)                          # __slope_intercept_layer_0__
flipped = slope_intercept_layer(input=picture, name="flipped", slope=-2.0, intercept=1,
                                layer_attr=ExtraAttr(device=-1))

# scaling_layer: inputs in Paddle's order [weight, input]
scaled = scaling_layer(input=vec, weight=gate)                      # __scaling_layer_0__
scaled_picture = scaling_layer(input=flipped, weight=gate, name="scaled_picture")

outputs(shifted, scaled, scaled_picture)
