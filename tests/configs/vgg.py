# small_vgg and vgg_16_network on 32x32 RGB images (five halvings -> 1x1).
from minipaddle import *

settings(batch_size=128, learning_rate=0.1 / 128.0,
         learning_method=MomentumOptimizer(momentum=0.9),
         regularization=L2Regularization(0.0005 * 128))

image = data_layer(name="image", size=3 * 32 * 32, height=32, width=32)
label = data_layer(name="label", size=10)

small = small_vgg(input_image=image, num_channels=3, num_classes=10)
vgg16 = vgg_16_network(input_image=image, num_channels=3, num_classes=10)

outputs(classification_cost(input=small, label=label),
        cross_entropy(input=vgg16, label=label))
