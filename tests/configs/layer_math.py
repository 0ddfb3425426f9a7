# Arithmetic on layers (Paddle's layer_math): unary functions are mixed layers with an identity
# projection and an activation; numbers become slope_intercept layers; a size-1 layer is
# repeated (featmap_expand) before it is added, and scales a layer through scaling_layer.
from minipaddle import *

settings(batch_size=4, learning_rate=0.1)

a = data_layer(name="a", size=5)
b = data_layer(name="b", size=5)
s = data_layer(name="s", size=1)

roots = layer_math.sqrt(layer_math.abs(a))                    # __abs_0__, __sqrt_0__
smooth = layer_math.sigmoid(b, name="smooth")
total = roots + smooth                                        # __mixed_0__
shifted = 3 - total * 0.5                                     # slope 0.5, slope -1, intercept 3
diff = shifted - b                                            # b negated, then summed
scaled = s * diff                                             # scaling_layer(diff, weight=s)
offset = diff + s                                             # s repeated 5 times, summed
outputs(scaled, offset)
