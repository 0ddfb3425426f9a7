"""Paddle's raw config-parser names in every config's namespace: default_* setters, Settings,
Inputs/Outputs by name, Parameter, the Layer forms' errors, the unimplemented names, xrange
and Python 2 syntax."""

import textwrap
from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import ConfigError
from minipaddle.cli import main

CONFIGS = Path(__file__).parent / "configs"


def parse(tmp_path, text, name="config.py", config_args=""):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return mp.parse_config(str(path), config_args)


def located(err, tmp_path, line, name="config.py"):
    """The error message starts with the config file and the line of the failing call."""
    assert str(err.value).startswith(f"{tmp_path / name}:{line}: "), str(err.value)


def resnet_parameters(blocks):
    """Trainable parameters of a bottleneck ResNet, counted by hand: conv weights (no bias),
    batch-norm scale and shift, the 1000-way classifier."""
    total, channels = 7 * 7 * 3 * 64 + 2 * 64, 64
    for count, width in zip(blocks, (64, 128, 256, 512)):
        for i in range(count):
            out = 4 * width
            if i == 0:
                total += channels * out + 2 * out                   # projection shortcut
            total += channels * width + 2 * width                   # 1x1
            total += 9 * width * width + 2 * width                  # 3x3
            total += width * out + 2 * out                          # 1x1
            channels = out
    return total + 2048 * 1000 + 1000


@pytest.mark.parametrize("depth, blocks, known", [(50, (3, 4, 6, 3), 25_557_032),
                                                  (101, (3, 4, 23, 3), 44_549_160),
                                                  (152, (3, 8, 36, 3), 60_192_808)])
def test_resnet_shaped_config_summarises_with_the_standard_parameter_counts(
        capsys, depth, blocks, known):
    assert resnet_parameters(blocks) == known
    config = str(CONFIGS / "resnet_raw_names.py")
    assert main(["summary", config, "--config-args", f"layer_num={depth}"]) == 0
    assert f"trainable parameters: {known:,}\n" in capsys.readouterr().out


def test_resnet_shaped_config_settings_defaults_inputs_and_outputs():
    config = mp.parse_config(str(CONFIGS / "resnet_raw_names.py"))
    mc, opt = config.model_config, config.opt_config
    assert mc.input_layer_names == ["image", "label"]       # named before the layers existed
    assert mc.output_layer_names == ["cost"]
    assert (opt.algorithm, opt.learning_method, opt.batch_size) == ("sgd", "momentum", 64)
    assert (opt.learning_rate_schedule, opt.learning_rate_decay_a) == ("discexp", 0.1)
    for param in mc.parameters:
        assert (param.momentum, param.decay_rate) == (0.9, 0.0064), param.name


def test_default_setters_reach_only_the_layers_and_parameters_created_after_them(tmp_path):
    config = parse(tmp_path, """
        from paddle.trainer_config_helpers import *
        x = data_layer(name="x", size=4)
        before = fc_layer(input=x, size=3, name="before")
        default_momentum(0.5)
        default_decay_rate(0.25)
        default_initial_mean(0.125)
        default_initial_std(0.75)
        default_initial_strategy(1)
        default_num_batches_regularization(1)
        default_gradient_clipping_threshold(8.0)
        default_device(0)
        gauss = fc_layer(input=x, size=3, name="gauss", param_attr=ParamAttr(initial_std=0.5))
        smart = fc_layer(input=x, size=3, name="smart")
        Layer(name="raw", type="fc", size=2, inputs="x")
        default_initial_smart(True)
        Layer(name="raw_smart", type="fc", size=2, inputs="x", bias=False)
        default_update_hooks(None)
        default_compact_func(None)
        """)
    mc = config.model_config
    before = mc.parameter("_before.w0")
    assert (before.momentum, before.decay_rate, before.device, before.initial_strategy) == \
        (None, None, None, 0)
    gauss = mc.parameter("_gauss.w0")        # ParamAttr gives std; the mean is the default
    assert (gauss.initial_mean, gauss.initial_std, gauss.initial_strategy) == (0.125, 0.5, 0)
    assert (gauss.momentum, gauss.decay_rate, gauss.gradient_clipping_threshold) == \
        (0.5, 0.25, 8.0)
    assert (gauss.num_batches_regularization, gauss.device) == (1, 0)
    smart = mc.parameter("_smart.w0")        # smart: std 1/sqrt(4), the default strategy
    assert (smart.initial_mean, smart.initial_std, smart.initial_strategy,
            smart.initial_smart) == (0.0, 0.5, 1, True)
    assert mc.parameter("_smart.wbias").initial_std == 0.0       # the helpers' zero bias
    raw, raw_bias = mc.parameter("_raw.w0"), mc.parameter("_raw.wbias")
    assert (raw.initial_mean, raw.initial_std, raw.initial_strategy, raw.dims) == \
        (0.125, 0.75, 1, [4, 2])
    assert (raw_bias.initial_mean, raw_bias.initial_std, raw_bias.dims) == (0.125, 0.75, [1, 2])
    raw_smart = mc.parameter("_raw_smart.w0")
    assert (raw_smart.initial_mean, raw_smart.initial_std, raw_smart.initial_smart) == \
        (0.0, 0.5, True)
    assert mc.layer("before").device is None
    assert mc.layer("gauss").device == mc.layer("raw").device == 0
    # the runtime initialises by strategy 1 (uniform in mean +- std)
    values = mp.compile(config, seed=0).parameters["_raw.w0"]
    assert 0.125 - 0.75 <= values.min() and values.max() <= 0.125 + 0.75
    assert values.std() > 0.3


def test_default_setter_errors_name_the_setter_and_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"default_momentum: val=-1: .*greater than or "
                                          r"equal to 0") as err:
        parse(tmp_path, "x = 1\ndefault_momentum(-1)\n")
    located(err, tmp_path, 2)
    with pytest.raises(NotImplementedError, match=r"default_update_hooks\(.*\): parameter "
                                                  r"update hooks \(pruning\)"):
        parse(tmp_path, "default_update_hooks('pruning')\n")


def test_settings_takes_plain_values_and_keeps_what_it_does_not_set(tmp_path):
    config = parse(tmp_path, """
        from paddle.trainer_config_helpers import *
        settings(batch_size=8, learning_method=AdamOptimizer(beta1=0.8),
                 model_average=ModelAverage(0.5))
        Settings(learning_rate=0.25, learning_rate_schedule="poly", algorithm="async_sgd",
                 save_dir="runs/x", start_pass=3, usage_ratio=0.5)
        define_py_data_sources2("train.list", "test.list", module="m", obj="o")
        Layer(name="x", type="data", size=2)
        """)
    opt = config.opt_config
    assert (opt.batch_size, opt.learning_method, opt.adam_beta1) == (8, "adam", 0.8)
    assert (opt.learning_rate, opt.algorithm, opt.average_window) == (0.25, "async_sgd", 0.5)
    assert (config.save_dir, config.start_pass) == ("runs/x", 3)
    assert config.data_config.usage_ratio == config.test_data_config.usage_ratio == 0.5


def test_settings_before_settings_helper_is_kept_as_paddle_kept_its_one_dict(tmp_path):
    config = parse(tmp_path, """
        from paddle.trainer_config_helpers import *
        Settings(l2weight=0.5, learning_rate_args="1:1")
        settings(batch_size=4, learning_rate=0.5)
        """)
    opt = config.opt_config
    assert (opt.l2weight, opt.learning_rate_args) == (0.5, "")     # settings() sets the args
    assert (opt.batch_size, opt.learning_rate) == (4, 0.5)


def test_settings_sets_no_parameter_defaults_unlike_settings(tmp_path):
    config = parse(tmp_path, """
        Settings(batch_size=4, learning_method="momentum")
        Layer(name="x", type="data", size=2)
        Layer(name="f", type="fc", size=2, inputs="x")
        """)
    assert config.model_config.parameter("_f.w0").momentum is None


@pytest.mark.parametrize("call, pattern", [
    ("Settings(learning_rat=0.1)", r"Settings: unknown setting 'learning_rat' \(did you mean "
                                   r"'learning_rate'\?\)"),
    ("Settings(learning_rate='0.1')", r"Settings: learning_rate='0.1': .*number"),
    ("Settings(learning_method='momentun')", r"Settings: learning_method='momentun': expected "
                                             r"one of momentum, sparse_momentum"),
    ("Settings(batch_size=-3)", r"Settings: batch_size=-3: must not be negative"),
    ("learning_rate(0.1)", r"learning_rate\(0.1\) is obsolete: use Settings\(learning_rate=0.1"),
])
def test_settings_errors_say_what_and_where(tmp_path, call, pattern):
    with pytest.raises(ConfigError, match=pattern) as err:
        parse(tmp_path, f"x = 1\n{call}\n")
    located(err, tmp_path, 2)


def test_inputs_and_outputs_by_name_are_checked_when_the_config_ends(tmp_path):
    ok = parse(tmp_path, """
        Outputs("out")
        Layer(name="b", type="data", size=2)
        Layer(name="a", type="data", size=2)
        Layer(name="out", type="addto", inputs=["a", "b"], bias=False)
        Inputs("a", "b")
        """)
    assert ok.model_config.input_layer_names == ["a", "b"]
    assert ok.model_config.output_layer_names == ["out"]
    with pytest.raises(ConfigError, match=r"Outputs: no layer is named 'outt' \(did you mean "
                                          r"'out'\?\)") as err:
        parse(tmp_path, 'Layer(name="out", type="data", size=2)\nOutputs("outt")\n')
    located(err, tmp_path, 2)
    with pytest.raises(ConfigError, match=r"Inputs: 'f' is a 'fc' layer; inputs are data"):
        parse(tmp_path, 'Inputs("f")\nLayer(name="x", type="data", size=2)\n'
                        'Layer(name="f", type="fc", size=2, inputs="x")\n')
    with pytest.raises(ConfigError, match=r"Inputs: takes layer names \(strings\), got layer "
                                          r"'x'; inputs\(\.\.\.\) takes layer objects"):
        parse(tmp_path, "from paddle.trainer_config_helpers import *\n"
                        "Inputs(data_layer(name='x', size=2))\n")


def test_helper_outputs_keeps_inputs_set_by_raw_inputs(tmp_path):
    config = parse(tmp_path, """
        from paddle.trainer_config_helpers import *
        Inputs("label", "pixel")
        pixel = data_layer(name="pixel", size=4)
        label = data_layer(name="label", size=2)
        prob = fc_layer(input=pixel, size=2, act=SoftmaxActivation())
        outputs(classification_cost(input=prob, label=label))
        """)
    assert config.model_config.input_layer_names == ["label", "pixel"]


def test_parameter_of_its_own_is_shared_by_name_and_checked(tmp_path):
    config = parse(tmp_path, """
        Parameter("shared", 8, None, [4, 2], initial_std=0.5, learning_rate=2)
        Layer(name="x", type="data", size=4)
        Layer(name="f", type="fc", size=2, inputs=Input("x", parameter_name="shared"))
        Layer(name="g", type="fc", size=2, inputs=Input("x", parameter_name="shared"))
        """)
    shared = config.model_config.parameter("shared")
    assert (shared.initial_std, shared.learning_rate, shared.device) == (0.5, 2.0, None)
    assert [p.name for p in config.model_config.parameters].count("shared") == 1
    net = mp.compile(config, seed=0)
    y = net.forward({"x": np.ones((1, 4))}, fetch=["f", "g"])
    np.testing.assert_array_equal(y["f"] - net.parameters["_f.wbias"],
                                  y["g"] - net.parameters["_g.wbias"])
    with pytest.raises(ConfigError, match=r"Layer 'f': inputs='shared': parameter 'shared' is "
                                          r"shared but this layer needs size 6 dims \[3, 2\]"):
        parse(tmp_path, 'Parameter("shared", 8, None, [4, 2])\n'
                        'Layer(name="x", type="data", size=3)\n'
                        'Layer(name="f", type="fc", size=2, inputs=Input("x", "shared"))\n')


@pytest.mark.parametrize("call, pattern", [
    ('Layer(name="c", type="lstmemory", inputs="x")',
     r"Layer 'c': type='lstmemory': the raw form of this layer type is not implemented"),
    ('Layer(name="c", type="fc", size=2, input="x")',
     r"Layer 'c': unknown argument 'input' for a 'fc' layer \(did you mean 'inputs'\?\)"),
    ('Layer(name="c", type="exconv", num_filters=2, inputs="x")',
     r"Layer 'c': inputs='x': a 'exconv' layer's Input needs conv=Conv"),
    ('Layer(name="c", type="exconv", inputs=Input("x", conv=Conv(3, 1)))',
     r"Layer 'c': num_filters=None: is required"),
    ('Layer(name="c", type="fc", size=2, inputs="y")',
     r"Layer 'c': inputs='y': unknown input layer 'y'"),
    ('Layer(name="x", type="data", size=2)', r"Layer 'x': name='x': duplicate layer name"),
    ('Layer(name="c", type="fc", inputs="x")', r"Layer 'c': a 'fc' layer needs 'size'"),
    ('Layer(name="c", type="fc", size="2", inputs="x")', r"Layer 'c': size: .*integer"),
    ('Layer(name="c", type="fc", size=2, inputs="x", active_type="relu6")',
     r"Layer 'c': active_type='relu6': unknown activation"),
    ('Layer(name="c", type="pool", inputs=Input("x", pool=Pool("max", 1, 2)))',
     r"Layer 'c': inputs='max': Pool\(pool_type=\.\.\.\) must be one of max-projection"),
    ('Layer(name="c", type="norm", inputs=Input("x", norm=Norm("rnorm", 1, 3, 1.0, 0.75)))',
     r"only 'cmrnorm-projection' and 'cross-channel-norm' are implemented"),
    ('Conv(3, 1, stride=0)', r"Conv: stride: .*greater than 0"),
    ('Conv(3, 1, strid=1)', r"Conv: unknown argument 'strid' \(did you mean 'stride'\?\)"),
])
def test_raw_layer_errors_name_the_layer_the_argument_and_the_line(tmp_path, call, pattern):
    with pytest.raises(ConfigError, match=pattern) as err:
        parse(tmp_path, f'Layer(name="x", type="data", size=16)\n{call}\n')
    located(err, tmp_path, 2)


@pytest.mark.parametrize("name", ["FCLayer", "TrainData", "Import", "MaxOut", "Evaluator",
                                  "RecurrentLayerGroupBegin", "ConvProjection"])
def test_unimplemented_raw_names_raise_naming_themselves(tmp_path, name):
    with pytest.raises(NotImplementedError, match=rf"^{name} is a name of Paddle's raw config "
                                                  r"parser that minipaddle does not implement"):
        parse(tmp_path, f"{name}('x')\n")


def test_xrange_and_a_python2_print_statement(tmp_path, capsys):
    config = parse(tmp_path, """
        for i in xrange(3):
            Layer(name="x%d" % i, type="data", size=i + 1)
        """)
    assert [layer.name for layer in config.model_config.layers] == ["x0", "x1", "x2"]
    path = tmp_path / "old.conf"
    path.write_text("Settings(batch_size=1)\nprint 'layers:', 3\n")
    assert main(["summary", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"minipaddle: error: {path}:2: syntax error: a Python 2 print statement "
                   "`print 'layers:', 3`; configs run as Python 3 here: write print(...)")
