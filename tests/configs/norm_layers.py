# img_cmrnorm_layer (cross-map response norm; auto names __crmnorm_N__, sic).  No settings():
# opt_config falls back to config_parser's DEFAULT_SETTING.
from minipaddle import *

image = data_layer(name="image", size=16 * 7 * 14, height=7, width=14)  # H 7, W 14

# __crmnorm_0__: Paddle's testNormLayer geometry; the config stores scale / size.
norm = img_cmrnorm_layer(input=image, size=5, scale=0.001, power=0.75)
lrn3 = img_cmrnorm_layer(input=image, name="lrn3", size=3, num_channels=16)

conv = img_conv_layer(input=image, filter_size=3, num_filters=8, padding=1)
# __crmnorm_1__ on the conv output (channels inferred: 8), even size.
norm_conv = img_cmrnorm_layer(input=conv, size=4, scale=0.002, power=0.5)

outputs(norm, lrn3, norm_conv)
