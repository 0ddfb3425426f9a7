"""Helper names and signatures of 2016-2017 files: accepted with Paddle's meaning where Paddle
had one, refused naming today's spelling where not."""

import textwrap
from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import ConfigError
from minipaddle.train.datasets import Dataset
from minipaddle.train.trainer import Trainer

CONFIGS = Path(__file__).parent / "configs"


def parse(tmp_path, body):
    path = tmp_path / "old.py"
    path.write_text("from paddle.trainer_config_helpers import *\n"
                    "x = data_layer(name='x', size=2 * 4 * 4)\n" + textwrap.dedent(body))
    return mp.parse_config(str(path))


def test_adagrad_momentum_and_img_width_keep_paddles_meaning():
    config = mp.parse_config(str(CONFIGS / "old_names.py"))
    assert config.opt_config.learning_method == "adagrad"
    # AdaGradOptimizer(momentum=m): m is the momentum of the parameters created after it
    assert {p.momentum for p in config.model_config.parameters} == {0.9}
    conf = config.model_config.layer("pool").inputs[0].pool_conf
    assert (conf.img_size, conf.img_size_y, conf.output_x, conf.output_y) == (10, 6, 5, 3)
    # the pooling reads the flat row as 2 maps of 6 rows by 10 columns
    net = mp.compile(config, dtype="float64", seed=0)
    image = np.arange(120, dtype=np.float64)[None]
    pooled = net.forward({"image": image}, fetch=["pool"])["pool"]
    expected = image.reshape(2, 3, 2, 5, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(pooled.reshape(2, 3, 5), expected)



def test_adagrad_momentum_reaches_training(tmp_path):
    # the same run without the momentum ends elsewhere: AdaGrad applies the parameters'
    # momentum as its heavy-ball term
    text = (CONFIGS / "old_names.py").read_text()
    plain = tmp_path / "plain.py"
    plain.write_text(text.replace("AdaGradOptimizer(momentum=0.9)", "AdaGradOptimizer()"))
    rng = np.random.default_rng(0)
    data = Dataset("toy", rng.random((64, 2, 6, 10)).astype(np.float32),
                   rng.integers(0, 3, 64), 3)
    weights = []
    for path in (CONFIGS / "old_names.py", plain):
        trainer = Trainer(mp.parse_config(str(path)), (data, None), seed=0)
        trainer.train(num_passes=2)
        weights.append(np.array(trainer.net.parameters["_prob.w0"]))
    assert np.abs(weights[0] - weights[1]).max() > 1e-3


def test_img_width_that_contradicts_or_does_not_divide_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"img_pool_layer 'p': img_width=3: 16 pixels per "
                                          r"channel is not a multiple of the known side 3"):
        parse(tmp_path, "img_pool_layer(name='p', input=x, num_channels=2, pool_size=2, "
                        "img_width=3)\n")
    with pytest.raises(ConfigError, match=r"img_pool_layer 'p': img_width=8: contradicts the "
                                          r"width 4 of input layer 'i'"):
        parse(tmp_path, "i = data_layer(name='i', size=16, height=4, width=4)\n"
                        "img_pool_layer(name='p', input=i, num_channels=1, pool_size=2, "
                        "img_width=8)\n")


def test_old_spellings_without_a_meaning_here_are_refused_naming_todays(tmp_path):
    with pytest.raises(ConfigError, match=r"maxout_layer 'm': channels=2: an older Paddle "
                                          r"spelling; today maxout_layer takes num_channels=2"):
        parse(tmp_path, "maxout_layer(name='m', input=x, groups=2, channels=2)\n")
    with pytest.raises(ConfigError, match=r"setup_data_provider.*never released by Paddle; "
                                          r"write define_py_data_sources2\(train_list, "
                                          r"test_list, module, obj=function, args=args\)"):
        parse(tmp_path, "setup_data_provider('train.list', None, 'provider', 'process')\n")


def test_layer_math_and_arithmetic_on_layers_build_paddles_layers(tmp_path):
    # once refused (NotImplementedError); now Paddle's layer_math: a mixed layer with an
    # identity projection per unary function, slope_intercept for numbers (tests/dsl/
    # test_layer_math.py has the rest)
    model = parse(tmp_path, "y = layer_math.exp(x)\nz = 2 * x - 1\noutputs(y, z)\n").model_config
    exp = model.layer("__exp_0__")
    assert exp.type == "mixed" and exp.active_type == "exponential"
    assert [model.layer(n).type for n in model.output_layer_names] == ["mixed",
                                                                        "slope_intercept"]
    with pytest.raises(ConfigError, match=r"layer_math 'x': a layer can be added to a layer or "
                                          r"a number, got str"):
        parse(tmp_path, "x + 'one'\n")
