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

# scale_shift_layer: smart-initialised scale of dims [1, 1], a zero bias unless bias_attr=False
scale_shift = scale_shift_layer(input=vec)                          # __scale_shift_0__
scale_only = scale_shift_layer(input=vec, name="scale_only", bias_attr=False,
                               param_attr=ParamAttr(initial_mean=1.0, initial_std=0.0))

# clip_layer: int bounds stay ints in clip_conf
clipped = clip_layer(input=vec, min=-10, max=10)                    # __clip_0__
clipped_f = clip_layer(input=vec, min=-0.5, max=2.5, name="clipped_f")

# power, interpolation: [weight, ...] input order
powered = power_layer(input=vec, weight=gate)                       # __power_layer_0__
mixed_rows = interpolation_layer(input=[vec, other], weight=gate,
                                 layer_attr=ExtraAttr(device=-1))   # __interpolation_layer_0__

# linear_comb_layer (type convex_comb): size inferred, or given; convex_comb_layer is the same
comb_weights = data_layer(name="comb_weights", size=3)
comb_vectors = data_layer(name="comb_vectors", size=12)
comb = linear_comb_layer(weights=comb_weights, vectors=comb_vectors)  # __linear_comb_layer_0__
convex = convex_comb_layer(weights=comb_weights, vectors=comb_vectors, size=4, name="convex")

# cos_sim: size 1 (type cos) with the default int scale 1, and the vector-matrix form (cos_vm)
cos = cos_sim(a=vec, b=other)                                       # __cos_sim_0__
cos_vm = cos_sim(a=vec, b=data_layer(name="keys", size=18),
                 size=3, scale=5.0, name="cos_vm")

# dot product, Euclidean distance, outer product
dot = dot_prod_layer(input1=vec, input2=other)                      # __dot_prod_layer_0__
distance = l2_distance_layer(x=vec, y=other)                        # __l2_distance_layer_0__
outer = out_prod_layer(input1=vec, input2=comb_weights)             # __out_prod_layer_0__

# tensor_layer: weight dims [A, B, size], bias [1, size]; linear by default
bilinear = tensor_layer(a=vec, b=comb_weights, size=5)              # __tensor_layer_0__
bilinear_tanh = tensor_layer(a=vec, b=other, size=2, act=TanhActivation(), bias_attr=False,
                             name="bilinear_tanh", layer_attr=ExtraAttr(drop_rate=0.5))

# factorization_machine: latent vectors of dims [input size, factor_size]
fm = factorization_machine(input=vec, factor_size=4)                # __factorization_machine_0__
fm_sigmoid = factorization_machine(input=other, factor_size=2, act=SigmoidActivation(),
                                   name="fm_sigmoid", param_attr=ParamAttr(initial_std=0.1))

# selective_fc_layer: transposed weights [size, input size], a 0/1 column mask as select
columns = data_layer(name="columns", size=5)
sel_fc = selective_fc_layer(input=[vec, other], size=5, select=columns,
                            mul_ratio=0.5)                          # __selective_fc_layer_0__
sel_fc_plain = selective_fc_layer(input=vec, size=5, name="sel_fc_plain", bias_attr=False,
                                  act=LinearActivation(), pass_generation=True)

# maxid: the size is the input's; multiplex: an index of size 1 and equal-sized candidates
best = maxid_layer(input=vec)                                       # __maxid_layer_0__
index = data_layer(name="index", size=1)
chosen = multiplex_layer(input=[index, vec, other, shifted])        # __multiplex_layer_0__

outputs(shifted, scaled, scaled_picture, scale_shift, scale_only, clipped, clipped_f, powered,
        mixed_rows, comb, convex, cos, cos_vm, dot, distance, outer, bilinear, bilinear_tanh,
        fm, fm_sigmoid, sel_fc, sel_fc_plain, best, chosen)
