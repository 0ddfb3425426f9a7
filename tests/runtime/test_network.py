"""The Network API: compile, parameters, forward/backward, feeds, label slots, dispatch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403


def compile_fn(fn, **kw):
    holder = {}
    tc = mp.parse_config(lambda: holder.setdefault("out", fn()))
    out = holder["out"]
    outs = out if isinstance(out, list) else [out]
    model = tc.model_config.model_copy(update={"output_layer_names": [o.name for o in outs]})
    return mp.compile(model, **kw)


# ---------------------------------------------------------------------------------------------
# the worked example this project grew from


X = np.array([
    [[0, 1, 1, 0, 2], [2, 2, 2, 2, 1], [1, 0, 0, 2, 0], [0, 1, 1, 0, 0], [1, 2, 0, 0, 2]],
    [[1, 0, 2, 2, 0], [0, 0, 0, 2, 0], [1, 2, 1, 2, 1], [1, 0, 0, 0, 0], [1, 2, 1, 1, 1]],
    [[2, 1, 2, 0, 0], [1, 0, 0, 1, 0], [0, 2, 1, 0, 1], [0, 1, 2, 2, 2], [2, 1, 0, 0, 1]]],
    dtype=float)
W = np.array([
    [[[-1, 1, 0], [0, 1, 0], [0, 1, 1]], [[-1, -1, 0], [0, 0, 0], [0, -1, 0]],
     [[0, 0, -1], [0, 1, 0], [1, -1, -1]]],
    [[[1, 1, -1], [-1, -1, 1], [0, -1, 1]], [[0, 1, 0], [-1, 0, -1], [-1, 1, 0]],
     [[-1, 0, 0], [-1, 0, 1], [-1, 0, 0]]]], dtype=float)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_worked_example_forward_backward_and_sgd_step(dtype):
    def net():
        x = data_layer(name="x", size=75, height=5, width=5)
        return img_conv_layer(input=x, name="conv", filter_size=3, num_filters=2, stride=2,
                              padding=1, act=LinearActivation())

    network = compile_fn(net, dtype=dtype)
    network.parameters["_conv.w0"] = W
    network.parameters["_conv.wbias"] = [1.0, 0.0]
    out = network.forward({"x": X[None]}, training=True)["conv"]
    assert out.shape == (1, 2, 3, 3) and out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out[0, 0], [[6, 7, 5], [3, -1, -1], [2, -1, 4]])
    np.testing.assert_array_equal(out[0, 1], [[2, -5, -8], [1, -4, -4], [0, -5, -5]])
    dy = np.array([[[[0, 1, 1], [2, 2, 2], [1, 0, 0]], [[1, 0, 2], [0, 0, 0], [1, 2, 1]]]])
    grads = network.backward({"conv": dy}, input_grads=True)
    dx = grads.inputs["x"]
    assert dx.shape == (1, 3, 5, 5)          # the shape that was fed
    dx = dx[0]
    np.testing.assert_array_equal(dx[0], [[-1, 1, 1, -2, -1], [1, -1, 3, -1, 1], [2, 0, 2, 0, 2],
                                          [4, 3, 4, 1, 3], [0, -1, -2, 1, -1]])
    np.testing.assert_array_equal(dx[1], [[0, -1, 0, -2, 0], [-1, -2, -3, -4, -1],
                                          [0, 0, 0, 0, 0], [-2, 0, 0, 0, -1], [0, -3, 0, -3, 0]])
    np.testing.assert_array_equal(dx[2], [[0, 1, 1, -2, 1], [0, -1, -1, -4, -1], [2, 0, 2, 0, 2],
                                          [-2, -3, -2, -1, -2], [1, -1, 0, 1, 0]])
    lr = 0.001
    for name, g in grads.parameters.items():
        network.parameters[name] -= lr * g
    tol = dict(atol=1e-6 if dtype == "float32" else 1e-12)
    np.testing.assert_allclose(network.parameters["_conv.wbias"], [0.991, -0.007], **tol)
    w = network.parameters["_conv.w0"]
    np.testing.assert_allclose(w[0], [
        [[-1.008, 0.99, -0.009], [-0.005, 0.994, -0.006], [-0.006, 0.995, 0.996]],
        [[-1.004, -1.001, -0.004], [-0.01, -0.009, -0.012], [-0.002, -1.002, -0.002]],
        [[-0.002, -0.002, -1.003], [-0.005, 0.992, -0.005], [0.993, -1.008, -1.007]]], **tol)
    np.testing.assert_allclose(w[1], [
        [[0.998, 0.998, -1.001], [-1.004, -1.007, 0.997], [-0.004, -1.004, 0.998]],
        [[0, 0.999, 0], [-1.009, -0.005, -1.004], [-1.004, 1, 0]],
        [[-1.004, -0.006, -0.005], [-1.002, -0.005, 0.998], [-1.002, -0.001, 0]]], **tol)


# ---------------------------------------------------------------------------------------------
# Paddle's test_ConvUnify cases, weights given flat in Paddle's layout


def unify(channels, size, filters, groups, trans, weights, inputs):
    def net():
        x = data_layer(name="x", size=channels * size * size, height=size, width=size)
        return img_conv_layer(input=x, name="c", filter_size=3 if len(weights) == 18 else 2,
                              num_filters=filters, groups=groups, trans=trans,
                              bias_attr=False, act=LinearActivation())
    network = compile_fn(net, dtype="float64")
    shape = network.parameters["_c.w0"].shape
    network.parameters["_c.w0"] = np.array(weights, dtype=float).reshape(shape)
    return network.forward({"x": np.array(inputs, dtype=float)[None]})["c"][0]


def test_conv_unify_cases():
    w1 = list(range(1, 10)) + list(range(9, 0, -1))
    out = unify(1, 4, 2, 1, False, w1, range(1, 17))
    np.testing.assert_array_equal(out, [[[348, 393], [528, 573]], [[192, 237], [372, 417]]])
    w2 = list(range(1, 9)) + list(range(8, 0, -1))
    out = unify(2, 3, 2, 1, False, w2, range(1, 19))
    np.testing.assert_array_equal(out, [[[356, 392], [464, 500]], [[184, 220], [292, 328]]])
    out = unify(2, 3, 2, 2, False, [1, 2, 3, 4, 4, 3, 2, 1], range(1, 19))
    np.testing.assert_array_equal(out, [[[37, 47], [67, 77]], [[113, 123], [143, 153]]])
    out = unify(1, 2, 2, 1, True, w1, [1, 2, 3, 4])
    np.testing.assert_array_equal(out, [
        [[1, 4, 7, 6], [7, 23, 33, 24], [19, 53, 63, 42], [21, 52, 59, 36]],
        [[9, 26, 23, 14], [33, 77, 67, 36], [21, 47, 37, 18], [9, 18, 11, 4]]])
    out = unify(2, 2, 2, 1, True, w2, range(1, 9))
    np.testing.assert_array_equal(out, [[[41, 87, 46], [92, 194, 102], [51, 107, 56]],
                                        [[25, 55, 30], [60, 130, 70], [35, 75, 40]]])
    out = unify(2, 2, 2, 2, True, [1, 2, 3, 4, 4, 3, 2, 1], range(1, 9))
    np.testing.assert_array_equal(out, [[[1, 4, 4], [6, 20, 16], [9, 24, 16]],
                                        [[20, 39, 18], [38, 70, 30], [14, 23, 8]]])


# ---------------------------------------------------------------------------------------------
# parameters


def small_net():
    x = data_layer(name="x", size=2 * 6 * 6, height=6, width=6)
    lab = data_layer(name="lab", size=3)
    c = img_conv_layer(input=x, name="conv", filter_size=3, num_filters=4, groups=2,
                       shared_biases=False)
    t = img_conv_layer(input=c, name="convt", filter_size=2, num_filters=6, groups=2,
                       stride=2, trans=True)
    b = batch_norm_layer(input=t, name="bn")
    pr = prelu_layer(input=b, name="pr", partial_sum=4)
    p = fc_layer(input=pr, name="p", size=3, act=SoftmaxActivation())
    return classification_cost(input=p, label=lab, name="cost")


def test_parameter_shapes_follow_one_rule():
    net = compile_fn(small_net)
    shapes = {k: v.shape for k, v in net.parameters.items()}
    assert shapes == {
        "_conv.w0": (4, 1, 3, 3), "_conv.wbias": (4, 4, 4),
        "_convt.w0": (4, 3, 2, 2), "_convt.wbias": (6,),
        "_bn.w0": (6,), "_bn.w1": (6,), "_bn.w2": (6,), "_bn.wbias": (6,),
        "_pr.w0": (6 * 8 * 8 // 4,), "_p.w0": (6 * 8 * 8, 3), "_p.wbias": (3,)}
    assert net.parameters.static == {"_bn.w1", "_bn.w2"}


def test_parameters_are_live_buffers_and_assignment_copies():
    net = compile_fn(small_net, seed=3)
    w = net.parameters["_p.wbias"]
    net.parameters["_p.wbias"] -= 1.0
    assert net.parameters["_p.wbias"] is w
    net.parameters["_p.wbias"] = np.array([1, 2, 3])          # ints: dtype kept
    assert w.dtype == np.float32 and list(w) == [1, 2, 3]
    with pytest.raises(ValueError, match=r"'_p.wbias' has shape \(3,\), cannot assign .*\(4,\)"):
        net.parameters["_p.wbias"] = np.zeros(4)
    with pytest.raises(KeyError, match="no parameter named 'nope'"):
        net.parameters["nope"]


def test_initialisation_from_config_and_seed():
    def net():
        x = data_layer(name="x", size=400)
        fc_layer(input=x, size=300, name="normal",
                 param_attr=ParamAttr(initial_mean=1.0, initial_std=0.5))
        fc_layer(input=x, size=300, name="uniform",
                 param_attr=ParamAttr(initial_min=-0.3, initial_max=0.1))
        return fc_layer(input=x, size=300, name="smart")

    a = compile_fn(net, seed=7, dtype="float64")
    b = compile_fn(net, seed=7, dtype="float64")
    for name in a.parameters:
        np.testing.assert_array_equal(a.parameters[name], b.parameters[name])
    normal, uniform = a.parameters["_normal.w0"], a.parameters["_uniform.w0"]
    assert abs(normal.mean() - 1.0) < 0.01 and abs(normal.std() - 0.5) < 0.01
    assert uniform.min() >= -0.3 and uniform.max() <= 0.1
    assert abs(uniform.mean() + 0.1) < 0.01
    assert abs(a.parameters["_smart.w0"].std() - 1 / 20) < 0.002     # 1/sqrt(400)
    assert not a.parameters["_smart.wbias"].any()                    # zero bias


# ---------------------------------------------------------------------------------------------
# forward / backward


def test_forward_shapes_dtype_and_no_aliasing():
    net = compile_fn(small_net, seed=1)
    rng = np.random.default_rng(0)
    feed = {"x": rng.standard_normal((4, 72)).astype(np.float32), "lab": np.array([0, 1, 2, 1])}
    out = net.forward(feed, fetch=["conv", "convt", "bn", "p", "cost"])
    assert out["conv"].shape == (4, 4, 4, 4) and out["convt"].shape == (4, 6, 8, 8)
    assert out["p"].shape == (4, 3) and out["cost"].shape == (4, 1)
    assert all(v.dtype == np.float32 for v in out.values())
    first = out["p"].copy()
    out2 = net.forward({"x": feed["x"] * 2, "lab": feed["lab"]}, fetch=["p"])
    np.testing.assert_array_equal(out["p"], first)        # not overwritten by a later call
    assert not np.shares_memory(out["p"], out2["p"])


def test_inference_needs_no_labels_and_missing_feed_errors():
    net = compile_fn(small_net)
    x = np.zeros((2, 2, 6, 6), np.float32)
    assert net.forward({"x": x}, fetch=["p"])["p"].shape == (2, 3)
    with pytest.raises(ValueError, match=r"missing feed for data layer 'lab' \(needed by cost\)"):
        net.forward({"x": x})


@pytest.mark.parametrize("feed,message", [
    ({"x": np.zeros((2, 71))}, r"data layer 'x': expected an array of shape \(N, 72\) or "
                               r"\(N, 2, 6, 6\), got shape \(2, 71\)"),
    ({"x": np.zeros((2, 72)), "lab": np.array([0.0, 1.0])},
     r"label data layer 'lab': expected integer labels, got dtype float64"),
    ({"x": np.zeros((2, 72)), "lab": np.array([0, 3])}, r"label 3 is outside \[0, 3\)"),
    ({"x": np.zeros((2, 72)), "lab": np.array([0, 1, 2])}, r"'lab' has 3 samples"),
    ({"x": np.zeros((0, 72)), "lab": np.zeros(0, int)}, r"the batch is empty"),
    ({"x": np.zeros((2, 72)), "lab": np.array([0, 1]), "nope": 1}, r"'nope', which is not a data"),
])
def test_feed_errors_name_the_data_layer(feed, message):
    net = compile_fn(small_net)
    with pytest.raises((ValueError, KeyError), match=message):
        net.forward(feed)


def test_backward_seeds_costs_and_returns_fed_shapes():
    net = compile_fn(small_net, seed=2, dtype="float64")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 6, 6))
    net.forward({"x": x, "lab": np.array([[0], [2], [1]])}, training=True)
    g = net.backward(input_grads=True)
    assert g.inputs["x"].shape == (3, 2, 6, 6) and "lab" not in g.inputs
    assert set(g.parameters) == set(net.parameters) - {"_bn.w1", "_bn.w2"}
    for name, grad in g.parameters.items():
        assert grad.shape == net.parameters[name].shape
    with pytest.raises(RuntimeError, match="needs a preceding forward"):
        net.forward({"x": x}, fetch=["p"])
        net.backward()


def test_backward_skips_data_layer_gradients_by_default():
    """The bare API does no work nobody asked for: without input_grads=True there are no
    data-layer gradients (a clear KeyError names the flag), and the parameter gradients are
    the same as when they are computed."""
    net = compile_fn(small_net, seed=2, dtype="float64")
    x = np.random.default_rng(1).standard_normal((3, 2, 6, 6))
    feed = {"x": x, "lab": np.array([[0], [2], [1]])}
    net.forward(feed, training=True)
    full = net.backward(input_grads=True)
    net.forward(feed, training=True)
    bare = net.backward()
    assert len(bare.inputs) == 0
    with pytest.raises(KeyError, match="input_grads=True"):
        bare.inputs["x"]
    assert set(bare.parameters) == set(full.parameters)
    for name, grad in full.parameters.items():
        np.testing.assert_array_equal(bare.parameters[name], grad, err_msg=name)


def test_label_slot_also_used_as_dense_input_is_rejected_at_compile():
    def net():
        lab = data_layer(name="lab", size=3)
        p = fc_layer(input=lab, size=3, act=SoftmaxActivation())
        return classification_cost(input=p, label=lab)

    tc = mp.parse_config(lambda: outputs(net()))          # parse_config accepts it, as Paddle
    with pytest.raises(ConfigError, match=r"data layer 'lab' is used both as an integer label "
                                          r"\(by __cost_0__, classification_error_evaluator\) "
                                          r"and as a dense input \(by __fc_layer_0__\)"):
        mp.compile(tc)


def test_batch_norm_moving_statistics_and_check_mode():
    def net():
        x = data_layer(name="x", size=3)
        return batch_norm_layer(input=x, name="bn", act=LinearActivation())

    net_ = compile_fn(net, dtype="float64")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)) * 2 + 5
    net_.forward({"x": x}, training="check")
    assert not net_.parameters["_bn.w1"].any()              # check mode: no update
    y = net_.forward({"x": x}, training=True)["bn"]
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(net_.parameters["_bn.w1"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(net_.parameters["_bn.w2"], 0.1 * x.var(axis=0))
    test = net_.forward({"x": x})["bn"]                     # moving statistics at test
    expected = (x - 0.1 * x.mean(0)) / np.sqrt(0.1 * x.var(0) + 1e-5)
    np.testing.assert_allclose(test, expected)


def test_dropout_paddle_rule_and_fixed_mask_in_check_mode():
    def net():
        x = data_layer(name="x", size=1000)
        return dropout_layer(input=x, dropout_rate=0.25, name="d")

    net_ = compile_fn(net, seed=0, dtype="float64")
    x = np.ones((4, 1000))
    train = net_.forward({"x": x}, training=True)["d"]
    assert set(np.unique(train)) == {0.0, 1.0}                 # mask, no rescale
    assert abs(train.mean() - 0.75) < 0.03
    np.testing.assert_allclose(net_.forward({"x": x})["d"], 0.75)   # test: scale by 1 - rate
    a = net_.forward({"x": x}, training="check")["d"]
    b = net_.forward({"x": x}, training="check")["d"]
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# dispatch


def test_gpu_types_run_on_cpu_counterparts_with_one_warning():
    def net():
        x = data_layer(name="x", size=2 * 4 * 4, height=4, width=4)
        c = img_conv_layer(input=x, name="c", filter_size=3, num_filters=2, padding=1)
        p = img_pool_layer(input=c, name="p", pool_size=2, stride=2,
                           pool_type=CudnnMaxPooling())
        return batch_norm_layer(input=p, name="b")

    tc = mp.parse_config(lambda: outputs(net()), config_args="use_gpu=1")
    types = [l.type for l in tc.model_config.layers]
    assert types == ["data", "cudnn_conv", "pool", "cudnn_batch_norm"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gpu_net = mp.compile(tc, seed=0)
    assert len(caught) == 1
    text = str(caught[0].message)
    for part in ("cudnn_conv -> exconv: c", "cudnn-max-pool -> max-projection: p",
                 "cudnn_batch_norm -> batch_norm: b"):
        assert part in text
    cpu_tc = mp.parse_config(lambda: outputs(net()))
    with pytest.warns(RuntimeWarning, match="cudnn-max-pool"):    # the pool type stays
        cpu_net = mp.compile(cpu_tc, seed=0)
    x = np.random.default_rng(0).standard_normal((2, 32)).astype(np.float32)
    np.testing.assert_array_equal(gpu_net.forward({"x": x})["b"], cpu_net.forward({"x": x})["b"])


def test_unknown_layer_type_and_device_errors():
    tc = mp.parse_config(lambda: outputs(fc_layer(input=data_layer(name="x", size=2), size=2)))
    bad = tc.model_config.model_copy(deep=True)
    bad.layers[1].type = "fancy"
    with pytest.raises(ConfigError, match=r"type 'fancy' has no implementation on the cpu "
                                          r"backend; known types: .*exconv"):
        mp.compile(bad)
    with pytest.raises(ConfigError, match="device='gpu' needs the GPU backend"):
        mp.compile(tc, device="gpu")
    with pytest.raises(ValueError, match="dtype must be one of"):
        mp.compile(tc, dtype="float16")


def test_compile_accepts_layer_outputs():
    mp.dsl.context.reset_default_context()
    x = data_layer(name="x", size=3)
    y = fc_layer(input=x, size=2, name="y")
    net = mp.compile(y, seed=0)
    assert net.forward({"x": np.ones((1, 3))})["y"].shape == (1, 2)
    mp.dsl.context.reset_default_context()


def test_given_outputs_are_not_recomputed_and_give_the_same_result():
    """forward(given=...) (gradient checks re-run only what a perturbed layer changes): with
    every layer before the relu/pool pair given, the cost is bit for bit a full forward's."""
    def net():
        x = data_layer(name="x", size=2 * 6 * 6, height=6, width=6)
        c = img_conv_layer(input=x, name="c", filter_size=3, num_filters=4, num_channels=2,
                           padding=1, act=ReluActivation())
        p = img_pool_layer(input=c, name="p", pool_size=2, stride=2, pool_type=MaxPooling())
        f = fc_layer(input=p, name="f", size=3, act=SoftmaxActivation(),
                     layer_attr=ExtraAttr(drop_rate=0.5))
        return classification_cost(input=f, label=data_layer(name="l", size=3), name="cost")

    network = compile_fn(net, dtype="float64", seed=2)
    rng = np.random.default_rng(0)
    feed = {"x": rng.uniform(-1, 1, (3, 72)), "l": np.array([0, 2, 1])}
    every = network.forward(feed, training="check", fetch=["c", "p", "f", "cost"])
    network.parameters["_f.w0"] *= 1.5                      # only f and cost change
    full = network.forward(feed, training="check", fetch=["cost"])["cost"]
    calls = []
    conv = network.layers["c"]
    original = conv.forward
    conv.forward = lambda *a: calls.append(1) or original(*a)
    partial = network.forward(feed, training="check", fetch=["cost"],
                              given={"c": every["c"], "p": every["p"]})["cost"]
    assert calls == [] and np.array_equal(partial, full)
    with pytest.raises(RuntimeError, match="backward\\(\\) needs a preceding forward"):
        network.backward()
