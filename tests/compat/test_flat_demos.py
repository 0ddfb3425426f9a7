"""Paddle's demos declare flat data layers (`data_layer(name='pixel', size=784)`) and let the
first image layer read the vector as an image through num_channels.  The trainer feeds each
data layer in the shape it declares, so such configs train unchanged."""

from pathlib import Path

import numpy as np

import minipaddle as mp
from minipaddle.cli import main
from minipaddle.train.datasets import Dataset
from minipaddle.train.trainer import Trainer

CONFIGS = Path(__file__).parent / "configs"


def test_light_mnist_with_a_flat_data_layer_trains_to_95_percent_in_2_passes():
    config = mp.parse_config(str(CONFIGS / "light_mnist_flat.py"))
    pixel = config.model_config.layer("pixel")
    assert (pixel.size, pixel.height, pixel.width) == (784, None, None)
    assert config.data_config.load_data_module == "mnist_provider"    # recorded, not run
    trainer = Trainer(config, "mnist5k", seed=1)
    result = trainer.train(num_passes=2)
    assert result.test_accuracy >= 0.95, result.test_metrics


def test_the_feed_has_the_data_layers_shape_and_is_read_as_the_image_paddle_saw():
    # a flat data layer gets (N, 784) rows; the first conv reads row-major C x H x W, so its
    # output equals the same conv on a data layer that declares 28 x 28
    flat = mp.parse_config(str(CONFIGS / "light_mnist_flat.py"))
    images = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    labels = np.arange(4)
    data = Dataset("tiny", images, labels, 10)
    trainer = Trainer(flat, (data, None), seed=3)
    fed = trainer._feed(images, labels)
    assert fed["pixel"].shape == (4, 784)
    np.testing.assert_array_equal(fed["pixel"], images.reshape(4, 784))

    def square():
        pixel = mp.data_layer(name="pixel", size=784, height=28, width=28)
        mp.outputs(mp.img_conv_layer(input=pixel, filter_size=3, num_filters=2, name="c",
                                     bias_attr=False))

    def vector():
        pixel = mp.data_layer(name="pixel", size=784)
        mp.outputs(mp.img_conv_layer(input=pixel, filter_size=3, num_filters=2, name="c",
                                     num_channels=1, bias_attr=False))

    a, b = (mp.compile(mp.parse_config(f), seed=5) for f in (square, vector))
    b.parameters["_c.w0"] = a.parameters["_c.w0"]
    np.testing.assert_array_equal(a.forward({"pixel": images})["c"],
                                  b.forward({"pixel": images.reshape(4, 784)})["c"])


def test_a_flat_digits_demo_trains_from_the_command_line(capsys):
    # no --data: the 64-value data layer picks the embedded 8 x 8 digits
    assert main(["train", str(CONFIGS / "digits_flat.py"), "--num-passes", "3",
                 "--seed", "1", "--quiet"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    accuracy = float(line.split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 95.0, line
