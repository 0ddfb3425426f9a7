"""parse_config sources, contexts, config args, the paddle import alias and graph resolution."""

import sys
import textwrap

import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403
from minipaddle.dsl.base import LayerOutput
from tests.hang_guard import hang_guard


def lenet_like():
    settings(batch_size=32, learning_rate=0.1, learning_method=MomentumOptimizer(0.9),
             regularization=L2Regularization(0.01))
    img = data_layer(name="pixel", size=784, height=28, width=28)
    lab = data_layer(name="label", size=10)
    conv = img_conv_layer(input=img, filter_size=5, num_filters=4)
    pool = img_pool_layer(input=conv, pool_size=2, stride=2)
    pred = fc_layer(input=pool, size=10, act=SoftmaxActivation())
    outputs(classification_cost(input=pred, label=lab))


def test_callable_source_and_auto_names_reset_every_parse():
    a = parse_config(lenet_like)
    b = parse_config(lenet_like)
    assert a == b
    names = [layer.name for layer in a.model_config.layers]
    assert names == ["pixel", "label", "__conv_0__", "__pool_0__", "__fc_layer_0__", "__cost_0__"]
    assert a.model_config.input_layer_names == ["pixel", "label"]
    assert a.model_config.output_layer_names == ["__cost_0__"]
    root = a.model_config.sub_models[0]
    assert root.name == "root" and root.layer_names == names
    assert root.evaluator_names == ["classification_error_evaluator"]
    ev = a.model_config.evaluators[0]
    assert (ev.type, ev.input_layers) == ("classification_error", ["__fc_layer_0__", "label"])


def test_settings_reach_only_later_parameters_and_never_leak():
    def net():
        data = data_layer(name="x", size=4)
        fc_layer(input=data, size=2, name="before")
        settings(batch_size=8, learning_method=MomentumOptimizer(momentum=0.5),
                 regularization=L2Regularization(0.1), gradient_clipping_threshold=3.0)
        fc_layer(input=data, size=2, name="after")

    mc = parse_config(net).model_config
    before, after = mc.parameter("_before.w0"), mc.parameter("_after.w0")
    assert before.momentum is None and before.decay_rate is None
    assert (after.momentum, after.decay_rate, after.gradient_clipping_threshold) == (0.5, 0.1, 3.0)
    assert mc.parameter("_after.wbias").decay_rate == 0.1     # biases included, as in Paddle
    # the next parse starts from Paddle's DEFAULT_SETTING again
    tc = parse_config(lambda: fc_layer(input=data_layer(name="x", size=4), size=2, name="f"))
    assert tc.opt_config.learning_rate == 1.0 and tc.opt_config.algorithm == "async_sgd"
    assert tc.model_config.parameter("_f.w0").momentum is None


def test_settings_fill_opt_config():
    def net():
        settings(batch_size=16, learning_rate=2e-3, learning_method=AdamOptimizer(beta1=0.8),
                 learning_rate_schedule="discexp", learning_rate_decay_a=0.5,
                 learning_rate_decay_b=1000.0, model_average=ModelAverage(0.5),
                 is_async=False)
        data_layer(name="x", size=1)

    opt = parse_config(net).opt_config
    assert (opt.batch_size, opt.learning_rate, opt.algorithm) == (16, 2e-3, "sgd")
    assert (opt.learning_method, opt.adam_beta1, opt.adam_beta2) == ("adam", 0.8, 0.999)
    assert (opt.learning_rate_schedule, opt.learning_rate_decay_a) == ("discexp", 0.5)
    assert opt.average_window == 0.5 and opt.max_average_window is None
    assert opt.gradient_clipping_threshold is None


def test_config_args_select_gpu_types():
    def net():
        x = data_layer(name="x", size=3 * 8 * 8, height=8, width=8)
        c = img_conv_layer(input=x, filter_size=3, num_filters=2)
        img_conv_layer(input=c, filter_size=3, num_filters=2, trans=True)
        img_conv_layer(input=c, filter_size=3, num_filters=2, layer_type="exconv")
        batch_norm_layer(input=c)

    cpu = [l.type for l in parse_config(net).model_config.layers[1:]]
    gpu_config = parse_config(net, config_args="use_gpu=1").model_config
    gpu = [l.type for l in gpu_config.layers[1:]]
    assert cpu == ["exconv", "exconvt", "exconv", "batch_norm"]
    assert gpu == ["cudnn_conv", "cudnn_convt", "exconv", "cudnn_batch_norm"]
    # batch norm statistics are shared on the CPU only, as in Paddle
    assert gpu_config.parameter("___batch_norm_0__.w1").is_shared is None
    assert parse_config(net).model_config.parameter("___batch_norm_0__.w1").is_shared is True


def test_explicit_gpu_type_is_kept_without_use_gpu():
    def net():
        x = data_layer(name="x", size=8 * 8, height=8, width=8)
        out = img_conv_layer(input=x, filter_size=3, num_filters=2, layer_type="cudnn_conv")
        assert out.layer_type == "cudnn_conv"

    assert parse_config(net).model_config.layers[1].type == "cudnn_conv"


def test_get_config_arg():
    seen = {}

    def net():
        seen["pred"] = get_config_arg("is_predict", bool, False)
        seen["n"] = get_config_arg("n", int, 7)
        seen["lr"] = get_config_arg("lr", float, 0.5)

    parse_config(net, "is_predict=1, n=3")
    assert seen == {"pred": True, "n": 3, "lr": 0.5}
    with pytest.raises(ConfigError, match="config arg n='x' cannot be read as int"):
        parse_config(net, "n=x")


PADDLE_STYLE = textwrap.dedent('''\
    from paddle.trainer_config_helpers import *
    from paddle.trainer_config_helpers.layers import fc_layer as fc

    is_predict = get_config_arg("is_predict", bool, False)
    if not is_predict:
        define_py_data_sources2(train_list="train.list", test_list="test.list",
                                module="mnist_provider", obj="process")
    settings(batch_size=128, learning_rate=0.1 / 128.0,
             learning_method=AdamOptimizer(), regularization=L2Regularization(0.0005 * 128))
    img = data_layer(name="pixel", size=28 * 28)
    conv = img_conv_group(input=img, num_channels=1, conv_num_filter=[8, 8], pool_size=2,
                          pool_stride=2, conv_with_batchnorm=True, conv_padding=1)
    predict = fc(input=conv, size=10, act=SoftmaxActivation())
    if not is_predict:
        label = data_layer(name="label", size=10)
        inputs(img, label)
        outputs(classification_cost(input=predict, label=label))
    else:
        outputs(predict)
''')


def test_paddle_v1_config_file_runs_unchanged(tmp_path):
    path = tmp_path / "mnist_conf.py"
    path.write_text(PADDLE_STYLE)
    assert "paddle" not in sys.modules
    tc = parse_config(str(path))
    assert "paddle" not in sys.modules and "paddle.trainer_config_helpers" not in sys.modules
    mc = tc.model_config
    assert [l.type for l in mc.layers][:6] == ["data", "exconv", "batch_norm", "exconv",
                                               "batch_norm", "pool"]
    assert mc.input_layer_names == ["pixel", "label"]
    assert tc.data_config.type == "py2" and tc.data_config.files == "train.list"
    assert tc.data_config.load_data_module == "mnist_provider"
    assert tc.test_data_config.files == "test.list" and tc.test_data_config.for_test
    assert tc.opt_config.learning_method == "adam"
    predict = parse_config(str(path), "is_predict=1")
    assert predict.data_config is None
    assert predict.model_config.output_layer_names == ["__fc_layer_0__"]
    assert predict.model_config.input_layer_names == ["pixel"]


def test_paddle_alias_does_not_shadow_a_real_paddle(tmp_path, monkeypatch):
    import types
    real = types.ModuleType("paddle")
    monkeypatch.setitem(sys.modules, "paddle", real)
    path = tmp_path / "c.py"
    path.write_text("from paddle.trainer_config_helpers import *\n"
                    "outputs(data_layer(name='x', size=2))\n")
    parse_config(str(path))
    assert sys.modules["paddle"] is real and not hasattr(real, "trainer_config_helpers")
    assert "paddle.trainer_config_helpers" not in sys.modules


def test_python_config_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("from minipaddle import *\nx = data_layer(name='x', size=10)\n"
                    "fc_layer(input=x, size=0)\n")
    with pytest.raises(ConfigError, match=r"bad\.py:3: fc_layer '__fc_layer_0__': size=0"):
        parse_config(str(path))


def test_syntax_error_and_missing_file(tmp_path):
    path = tmp_path / "syn.py"
    path.write_text("x = (\n")
    with pytest.raises(ConfigError, match=r"syn\.py:1: syntax error"):
        parse_config(str(path))
    with pytest.raises(ConfigError, match="no such config file"):
        parse_config(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="unknown config file type '.txt'"):
        (tmp_path / "a.txt").write_text("")
        parse_config(str(tmp_path / "a.txt"))


def test_unknown_document_kind_names_file(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("kind: banana\n")
    with pytest.raises(ConfigError, match=r"x\.yaml: kind 'banana' cannot be parsed"):
        parse_config(str(path))


def test_resolve_graph_without_parse_config():
    mp.dsl.context.reset_default_context()
    img = data_layer(name="pixel", size=16, height=4, width=4)
    lab = data_layer(name="label", size=3)
    unused = fc_layer(input=img, size=5, name="unused")
    pred = fc_layer(input=img, size=3, act=SoftmaxActivation(), name="pred")
    cost = classification_cost(input=pred, label=lab, name="cost")
    mc = mp.resolve(cost)
    assert [l.name for l in mc.layers] == ["pixel", "label", "pred", "cost"]
    assert [p.name for p in mc.parameters] == ["_pred.w0", "_pred.wbias"]
    assert mc.input_layer_names == ["pixel", "label"]
    assert mc.output_layer_names == ["cost"] and len(mc.evaluators) == 1
    assert unused.name == "unused"
    mp.dsl.context.reset_default_context()


def test_shared_parameter_by_name():
    def net():
        a = data_layer(name="a", size=4)
        b = data_layer(name="b", size=4)
        fc_layer(input=a, size=3, name="fa", param_attr=ParamAttr(name="shared_w"))
        fc_layer(input=b, size=3, name="fb", param_attr=ParamAttr(name="shared_w"))

    mc = parse_config(net).model_config
    assert [p.name for p in mc.parameters] == ["shared_w", "_fa.wbias", "_fb.wbias"]
    assert mc.layer("fb").inputs[0].input_parameter_name == "shared_w"


def test_param_attr_is_copied_not_mutated():
    attr = ParamAttr()

    def net():
        x = data_layer(name="x", size=3 * 8 * 8, height=8, width=8)
        c1 = img_conv_layer(input=x, filter_size=3, num_filters=4, param_attr=attr)
        img_conv_layer(input=c1, filter_size=5, num_filters=4, param_attr=attr)

    mc = parse_config(net).model_config
    assert mc.parameter("___conv_0__.w0").initial_std == pytest.approx((2 / (9 * 3)) ** 0.5)
    assert mc.parameter("___conv_1__.w0").initial_std == pytest.approx((2 / (25 * 4)) ** 0.5)
    assert attr.is_smart


def deep_residual(depth):
    x = data_layer(name="x", size=8)
    h = fc_layer(input=x, size=8)
    for _ in range(depth):
        h = addto_layer(input=[h, fc_layer(input=h, size=8, act=LinearActivation())],
                        act=ReluActivation())
    return h


def test_layer_output_repr_eq_dump_ignore_parents():
    holder = {}
    parse_config(lambda: holder.setdefault("out", deep_residual(300)))
    out = holder["out"]
    with hang_guard():       # walking the parents would take 2**300 steps: a hang, not slowness
        text = repr(out)
        assert out == out and out.model_dump()["name"] == out.name
    assert "parents" not in text and "parents" not in out.model_dump()
    assert len(out.parents) == 2 and isinstance(out.parents[0], LayerOutput)


def test_unsupported_paddle_names_raise_not_implemented():
    for fn in (context_projection, recurrent_layer, lstmemory, simple_lstm):
        with pytest.raises(NotImplementedError, match=fn.__name__):
            fn()


def test_compile_is_not_star_exported():
    assert "compile" not in mp.__all__


def test_parse_config_in_threads_share_nothing():
    from concurrent.futures import ThreadPoolExecutor

    def net(width):
        def build():
            settings(batch_size=width, learning_rate=0.1 * width)
            x = data_layer(name="x", size=4)
            for _ in range(20):
                x = fc_layer(input=x, size=width)
            outputs(x)
        return build

    def parse(width):
        return width, parse_config(net(width))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(parse, [3, 5, 7, 9] * 5))
    for width, tc in results:
        names = [l.name for l in tc.model_config.layers]
        assert names == ["x"] + [f"__fc_layer_{i}__" for i in range(20)]
        assert all(l.size == width for l in tc.model_config.layers[1:])
        assert tc.opt_config.batch_size == width
