"""conv_algorithm's layout rule with the filters and image sizes given (the runtime's call)."""

from minipaddle.kernels.conv import BATCH_LAYOUT_MIN_PIXELS, conv_algorithm


def _layout(c, f, k, image, out, groups=1):
    return conv_algorithm(c, groups, (out, out), filters=f, filter_hw=(k, k),
                          in_hw=(image, image))


def test_layout_rule_by_weight_and_image_sizes():
    # ResNet-20: 16x16 stage and 1x1 stride-2 projections in "batch", the 8x8 stage in "pixel"
    assert _layout(16, 16, 3, 32, 32) == "batch"
    assert _layout(32, 32, 3, 16, 16) == "batch"
    assert _layout(16, 32, 1, 32, 16) == "batch"
    assert _layout(32, 64, 1, 16, 8) == "batch"
    assert _layout(64, 64, 3, 8, 8) == "pixel"
    assert _layout(32, 64, 3, 16, 8) == "pixel"
    # LeNet: conv1 (1->20 5x5, 24x24 output) "batch", conv2 (20->50 5x5, 8x8) "pixel"
    assert _layout(1, 20, 5, 28, 24) == "batch"
    assert _layout(20, 50, 5, 12, 8) == "pixel"
    # large outputs stay "batch" whatever the weight (VGG's 512->512 on 28x28)
    assert 28 * 28 >= BATCH_LAYOUT_MIN_PIXELS
    assert _layout(512, 512, 3, 28, 28) == "batch"
    # groups: the weight holds C/G input channels per filter
    assert _layout(128, 128, 3, 8, 8, groups=32) == "batch"
    assert _layout(128, 128, 3, 8, 8) == "pixel"
    # a layout decided before is kept, depthwise stays depthwise
    assert conv_algorithm(64, 1, (8, 8), "batch", filters=64, filter_hw=(3, 3),
                          in_hw=(8, 8)) == "batch"
    assert conv_algorithm(8, 8, (8, 8), filters=8, filter_hw=(3, 3),
                          in_hw=(8, 8)) == "depthwise"


def test_layout_rule_without_sizes_is_the_pixel_count():
    assert conv_algorithm(32, 1, (16, 16)) == "pixel"
    assert conv_algorithm(32, 1, (32, 16)) == "batch"
