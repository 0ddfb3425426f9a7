# mixed_layer in both forms (input=[...] and the with-block), every projection and operator it
# takes, and the layers made of mixed layers (embedding_layer, gated_unit_layer) plus
# repeat_layer.  Sizes are inferred where a term states one.
from minipaddle import *

settings(batch_size=8, learning_rate=0.01)

words = data_layer(name="words", size=30)                     # ids in [0, 30)
vec = data_layer(name="vec", size=12)
other = data_layer(name="other", size=12)

emb = embedding_layer(input=words, size=6, name="emb")        # table (30, 6), std 1/sqrt(30)

# the with-block: the size comes from the identity projection (12)
with mixed_layer(name="sum", act=TanhActivation(), bias_attr=True) as total:
    total += identity_projection(input=vec)
    total += full_matrix_projection(input=emb)                   # (6, 12)
    total += trans_full_matrix_projection(input=other,           # (12, 12), named
                                          param_attr=ParamAttr(name="shared_t"))
    total += dotmul_projection(input=other)                      # (12,), std 1.0
    total += scaling_projection(input=vec)                       # (1,), std 1.0

# input=[...]: an operator's second operand goes after the projections
prod = mixed_layer(input=[dotmul_operator(a=vec, b=other, scale=0.5),
                          table_projection(input=words, size=12)],
                   layer_attr=ExtraAttr(drop_rate=0.1))          # __mixed_0__, size 12
part = mixed_layer(size=4, input=identity_projection(input=prod, offset=3))

image = data_layer(name="image", size=3 * 6 * 6, height=6, width=6)
# a conv projection first: one bias per filter of each conv term (5 + 5)
with mixed_layer(name="convs", bias_attr=True) as convs:
    convs += conv_projection(image, filter_size=3, num_filters=5, padding=1)
    convs += conv_projection(image, filter_size=(1, 3), num_filters=5, padding=(0, 1),
                             param_attr=ParamAttr(initial_std=0.02))
up = mixed_layer(input=conv_projection(image, filter_size=2, num_filters=4, stride=2,
                                       num_channels=3, trans=True))   # 4 x 12 x 12
filters = data_layer(name="filters", size=4 * 3 * 3 * 3)
per_sample = mixed_layer(input=conv_operator(img=image, filter=filters, filter_size=3,
                                             num_filters=4))          # 4 x 4 x 4

feature = img_conv_layer(input=image, filter_size=1, num_filters=6, name="feature")
sliced = mixed_layer(input=slice_projection(feature, slices=[(0, 2), (4, 6)]))  # 4 channels

gated = gated_unit_layer(input=vec, size=5, act=ReluActivation())
rows = repeat_layer(input=gated, num_repeats=3)
cols = repeat_layer(input=gated, num_repeats=2, as_row_vector=False, name="cols")

outputs(total, part, convs, up, per_sample, sliced, rows, cols)
