"""CPU-GPU consistency, in the spirit of Paddle's test_ConvUnify / test_NetworkCompare and
MXNet's check_consistency: the same config, weights, inputs and dropout masks on ``cpu`` and
on a GPU backend give the same outputs (training and test passes), parameter and input
gradients and moving statistics, within the float32 tolerances of conftest.py; and the
integer cases of test_ConvUnify (spec 7.2) exactly, for every conv type on every device."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import *  # noqa: F403

from gpu_support import assert_close, rtol_of
from tests.dsl_models import model_of

N = 4


def compile_pair(model, device, seed: int = 1):
    with warnings.catch_warnings():      # cuDNN types without cuDNN: one substitution warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return mp.compile(model, seed=seed), mp.compile(model, device=device, seed=seed)


def feed_for(net, rng, positive: bool, batch: int = N) -> dict:
    feed = {}
    for name in net.order:
        if net.configs[name].type != "data":
            continue
        shape = (batch,) + net.shapes[name]
        if name in net.label_slots:
            feed[name] = rng.integers(0, net.label_slots[name], size=batch)
        elif positive:
            feed[name] = rng.uniform(0.2, 1.0, size=shape).astype(np.float32)
        else:
            feed[name] = rng.uniform(-1, 1, size=shape).astype(np.float32)
    return feed


def check_consistency(fn, device, positive: bool = False, seed: int = 2) -> None:
    check_model_consistency(model_of(fn), device, positive, seed)


def check_model_consistency(model, device, positive: bool = False, seed: int = 2,
                            values: Optional[dict] = None, batch: int = N) -> None:
    """``values``: data layer -> function of a generator giving what it is fed (an index, a
    mask, a box row: inputs that random values would make invalid)."""
    cpu, dev = compile_pair(model, device)
    rng = np.random.default_rng(seed)
    static = cpu.parameters.static
    for name, param in cpu.parameters.items():     # the same values on both, off any kink
        if name not in static:
            param += rng.normal(0.0, 0.05 * (float(param.std()) or 1.0),
                                size=param.shape).astype(param.dtype)
        dev.parameters[name] = param
    feed = feed_for(cpu, rng, positive, batch)
    feed.update({name: make(rng).astype(np.float32) for name, make in (values or {}).items()})
    layers = [name for name in cpu.order if name in cpu.layers]
    out_cpu = cpu.forward(feed, training=True, fetch=layers)
    out_dev = dev.forward(feed, training=True, fetch=layers)
    rtol = rtol_of(device)
    for name in layers:
        assert_close(out_dev[name], out_cpu[name], rtol, f"training forward of {name!r}")
    seeds = {k: rng.standard_normal(out_cpu[k].shape).astype(np.float32)
             for k in model.output_layer_names}
    g_cpu, g_dev = cpu.backward(seeds, input_grads=True), dev.backward(seeds, input_grads=True)
    assert sorted(g_dev.parameters) == sorted(g_cpu.parameters)
    assert sorted(g_dev.inputs) == sorted(g_cpu.inputs)
    rtol = rtol_of(device)
    for name, grad in g_cpu.parameters.items():
        assert_close(g_dev.parameters[name], grad, rtol, f"gradient of parameter {name!r}")
    for name, grad in g_cpu.inputs.items():
        assert_close(g_dev.inputs[name], grad, rtol, f"gradient of input {name!r}")
    for name in cpu.parameters:                      # moving statistics were updated alike
        assert_close(dev.parameters[name], cpu.parameters[name], rtol, f"parameter {name!r}")
    out_cpu = cpu.forward(feed, training=False, fetch=layers)
    out_dev = dev.forward(feed, training=False, fetch=layers)
    for name in layers:
        assert_close(out_dev[name], out_cpu[name], rtol, f"test forward of {name!r}")


def image(name: str, c: int, h: int, w: int):
    return data_layer(name=name, size=c * h * w, height=h, width=w)


# --------------------------------------------------------------- convolutions (spec 7.1, 7.3)

CONV_TYPES = ["exconv", "cudnn_conv"]
CONVT_TYPES = {"exconv": "exconvt", "cudnn_conv": "cudnn_convt"}


def conv_cases(kind: str):
    """Spec section 7's conv configurations with layer type ``kind`` (its transposed
    counterpart for the transposed ones)."""
    trans_kind = CONVT_TYPES[kind]
    return {
        # testConvLayer: 3x16x16, 16 filters 2x2, padding (0, 1), stride 2, dilation 2 -> 7x8
        "dilated_padded_strided": lambda: img_conv_layer(
            input=image("x", 3, 16, 16), filter_size=2, num_filters=16, padding=0,
            padding_y=1, stride=2, dilation=2, act=LinearActivation(), layer_type=kind),
        # testDepthwiseConvLayer: 16 ch 8 (y) x 16 (x), groups 16, 32 filters 2 (x) x 3 (y)
        "depthwise_groups_16": lambda: img_conv_layer(
            input=image("x", 16, 8, 16), filter_size=2, filter_size_y=3, num_filters=32,
            groups=16, padding=0, padding_y=1, stride=2, act=TanhActivation(),
            layer_type=kind),
        # testProjectionConv: 3 ch img 16, 18 filters 2x2, pad (0, 1), stride 2, dilation 2,
        # groups 3
        "groups_3_dilated": lambda: img_conv_layer(
            input=image("x", 3, 16, 16), filter_size=2, num_filters=18, padding=0,
            padding_y=1, stride=2, dilation=2, groups=3, act=LinearActivation(),
            layer_type=kind),
        # test_NetworkCompare img_conv_cudnn vs exconv: 1x1, 8 -> 16 channels, groups 2
        "one_by_one_groups_2": lambda: img_conv_layer(
            input=image("x", 8, 5, 5), filter_size=1, num_filters=16, groups=2,
            act=ReluActivation(), layer_type=kind),
        "per_axis_unshared_bias": lambda: img_conv_layer(
            input=image("x", 4, 7, 9), filter_size=(3, 2), num_filters=6, groups=2,
            stride=(1, 2), padding=(1, 0), shared_biases=False, act=LinearActivation(),
            layer_type=kind),
        "per_axis_dilation": lambda: img_conv_layer(
            input=image("x", 2, 11, 10), filter_size=3, num_filters=4, stride=(2, 1),
            padding=(2, 1), dilation=(2, 1), act=LinearActivation(), layer_type=kind),
        # testConvTransLayer: 16 channels on 8x8, 3 filters 2 (x) x 4 (y), pad (0, 1), stride 2
        "transposed": lambda: img_conv_layer(
            input=image("x", 16, 8, 8), filter_size=2, filter_size_y=4, num_filters=3,
            padding=0, padding_y=1, stride=2, trans=True, act=LinearActivation(),
            layer_type=trans_kind),
        "transposed_groups_unshared_bias": lambda: img_conv_layer(
            input=image("x", 4, 5, 6), filter_size=3, num_filters=6, groups=2, stride=2,
            padding=1, trans=True, shared_biases=False, act=SigmoidActivation(),
            layer_type=trans_kind),
        "conv_after_conv": lambda: img_conv_layer(     # an input gradient through a conv
            input=img_conv_layer(input=image("x", 2, 9, 9), filter_size=3, num_filters=4,
                                 padding=1, act=TanhActivation(), layer_type=kind),
            filter_size=3, num_filters=3, stride=2, act=LinearActivation(), layer_type=kind),
    }


CONV_CASES = sorted(conv_cases("exconv"))


@pytest.mark.parametrize("kind", CONV_TYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv(case, kind, device):
    check_consistency(conv_cases(kind)[case], device)


# ----------------------------------------------------------------------- every other layer type

def pools():
    x = image("x", 4, 9, 9)
    outs = []
    for pool_type in (MaxPooling(), AvgPooling(), MaxWithMaskPooling(), CudnnMaxPooling(),
                      CudnnAvgPooling()):
        outs.append(img_pool_layer(input=x, pool_size=3, stride=2, pool_type=pool_type))
        outs.append(img_pool_layer(input=x, pool_size=3, pool_size_y=2, stride=2, padding=1,
                                   pool_type=pool_type, ceil_mode=False))
    outs.append(img_pool_layer(input=x, pool_size=3, stride=2, padding=1,
                               pool_type=AvgPooling(), exclude_mode=False))
    return outs


def norms():
    x = data_layer(name="x", size=6 * 5 * 7, height=5, width=7)
    v = data_layer(name="v", size=6)
    return [img_cmrnorm_layer(input=x, size=5, scale=0.001, power=0.75),
            img_cmrnorm_layer(input=x, size=4, scale=0.5, power=0.75),
            batch_norm_layer(input=x, act=TanhActivation(), batch_norm_type="batch_norm"),
            batch_norm_layer(input=x, act=ReluActivation(), batch_norm_type="cudnn_batch_norm"),
            batch_norm_layer(input=x, use_global_stats=True, batch_norm_type="cudnn_batch_norm"),
            batch_norm_layer(input=v, act=LinearActivation()),
            cross_channel_norm_layer(input=x)]


def image_layers():
    x = image("x", 4, 8, 8)
    conv = img_conv_layer(input=x, filter_size=3, num_filters=4, padding=1,
                          act=LinearActivation())
    return [maxout_layer(input=conv, groups=2),
            bilinear_interp_layer(input=conv, out_size_x=13, out_size_y=5),
            bilinear_interp_layer(input=conv, out_size_x=8, out_size_y=8),
            spp_layer(input=x, pyramid_height=3, pool_type=AvgPooling()),
            spp_layer(input=x, pyramid_height=2),
            pad_layer(input=x, pad_c=[1, 2], pad_h=[2, 3], pad_w=[3, 5]),
            prelu_layer(input=x, partial_sum=16),
            prelu_layer(input=x, channel_shared=True)]


def volumes():
    """The 3-D layers (their kernels run on the GPU's array module as on the CPU)."""
    x = data_layer(name="x", size=4 * 3 * 4 * 5, depth=3, height=4, width=5)
    conv = img_conv3d_layer(input=x, filter_size=[3, 2, 2], num_filters=4, padding=1,
                            groups=2, act=TanhActivation())
    return [img_conv3d_layer(input=conv, filter_size=2, num_filters=4, stride=2, trans=True,
                             act=LinearActivation()),
            img_pool3d_layer(input=conv, pool_size=2, stride=2),
            img_pool3d_layer(input=x, pool_size=3, padding=1, pool_type=AvgPooling()),
            batch_norm_layer(input=conv, img3D=True, act=LinearActivation())]


ACTIVATIONS = ["tanh", "sigmoid", "softmax", "relu", "brelu", "softrelu", "stanh", "abs",
               "square", "exp", "log", "sqrt", "reciprocal", "softsign", "linear"]


def activations():
    x = data_layer(name="x", size=5)
    attr = ParamAttr(initial_min=0.1, initial_max=1.0)     # positive: log, sqrt, reciprocal
    bias = ParamAttr(initial_mean=0.5, initial_std=0.0)
    return [fc_layer(input=x, size=4, act=act, param_attr=attr, bias_attr=bias)
            for act in ACTIVATIONS]


def combinations():
    a = data_layer(name="a", size=4)
    b = image("b", 2, 3, 3)
    f = fc_layer(input=[a, b], size=5, act=TanhActivation(),
                 layer_attr=ExtraAttr(drop_rate=0.3, error_clipping_threshold=0.5))
    c = concat_layer(input=[f, a])
    d = dropout_layer(input=c, dropout_rate=0.5)
    s = addto_layer(input=[d, c], act=ReluActivation(),
                    bias_attr=ParamAttr(initial_mean=0.0, initial_std=0.5))
    i1 = img_conv_layer(input=b, filter_size=1, num_filters=3, act=LinearActivation())
    i2 = img_conv_layer(input=b, filter_size=3, num_filters=2, padding=1)
    # concat of projections (type concat2)
    projected = concat_layer(input=[full_matrix_projection(input=a, size=3),
                                    identity_projection(input=f)])
    return [s, concat_layer(input=[i1, i2]), addto_layer(input=[i1, i1]), projected]


def costs():
    x = data_layer(name="x", size=6)
    lab = data_layer(name="lab", size=3)
    w = data_layer(name="w", size=1)
    t = data_layer(name="t", size=3)
    p = fc_layer(input=x, size=3, act=SoftmaxActivation())
    r = fc_layer(input=x, size=3, act=LinearActivation())
    return [classification_cost(input=p, label=lab, weight=w, coeff=2.0),
            square_error_cost(input=r, label=t, weight=w, coeff=0.5),
            cross_entropy(input=p, label=lab)]


def mixed_layers():
    """mixed (every projection and operator), concat2 and featmap_expand."""
    x = data_layer(name="x", size=6)
    ids = data_layer(name="ids", size=7)
    img = image("img", 2, 5, 5)
    flt = data_layer(name="flt", size=3 * 2 * 3 * 3)
    m = mixed_layer(size=4, act=TanhActivation(), bias_attr=True, input=[
        full_matrix_projection(x), trans_full_matrix_projection(x), table_projection(ids),
        identity_projection(x, offset=1)])
    d = mixed_layer(input=[dotmul_projection(x), scaling_projection(x),
                           dotmul_operator(a=x, b=x, scale=0.5)])
    c = mixed_layer(bias_attr=True, input=[conv_projection(img, filter_size=2, num_filters=2),
                                           conv_projection(img, filter_size=2, num_filters=2,
                                                           groups=2)])
    t = mixed_layer(input=[conv_projection(img, filter_size=2, num_filters=2, stride=2,
                                           trans=True),
                           conv_operator(img=img, filter=data_layer(name="tf", size=16),
                                         filter_size=2, num_filters=2, stride=2, trans=True)])
    o = mixed_layer(input=conv_operator(img=img, filter=flt, filter_size=3, num_filters=3))
    cat = concat_layer(input=[identity_projection(m), full_matrix_projection(d, size=3)])
    return [m, d, c, t, o, cat, repeat_layer(m, 3), repeat_layer(d, 2, as_row_vector=False)]


def extra_costs_and_row_norms():
    """Issue 16's costs, row norms and data_norm (positive feeds: the 0/1 label rounds them)."""
    x = data_layer(name="x", size=6)
    t = data_layer(name="t", size=3)
    lab = data_layer(name="lab", size=3)
    flag = data_layer(name="flag", size=1)
    w = data_layer(name="w", size=1)
    p = fc_layer(input=x, size=3, act=SigmoidActivation())
    r = fc_layer(input=x, size=3, act=LinearActivation())
    s = fc_layer(input=x, size=1, act=LinearActivation())
    u = fc_layer(input=x, size=1, act=LinearActivation())
    return [smooth_l1_cost(input=row_l2_norm_layer(input=r), label=t),
            huber_regression_cost(input=r, label=t, delta=0.5),
            huber_classification_cost(input=s, label=flag),
            sum_cost(input=sum_to_one_norm_layer(input=p)),
            rank_cost(left=s, right=u, label=flag, weight=w),
            multi_binary_label_cross_entropy(input=p, label=t),
            cross_entropy_with_selfnorm(input=p, label=lab),
            sum_cost(input=fc_layer(input=data_norm_layer(input=x), size=2))]


@pytest.mark.parametrize("case,positive", [(pools, False), (norms, False),
                                           (image_layers, False), (activations, True),
                                           (combinations, False), (costs, True),
                                           (volumes, False), (mixed_layers, False),
                                           (extra_costs_and_row_norms, True)],
                         ids=["pool", "norm", "image", "activations", "concat_addto_dropout",
                              "costs", "volumes", "mixed", "extra_costs_and_row_norms"])
def test_layers(case, positive, device):
    check_consistency(case, device, positive=positive)


CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _ground_truth(rng) -> np.ndarray:
    """Five rows [label, xmin, ymin, xmax, ymax, difficult] per image, the last two padding
    (label -1), as tests/configs/detection.py feeds its boxes."""
    rows = np.full((N, 5, 6), -1.0)
    for i in range(N):
        for j in range(3):
            x0, y0 = rng.uniform(0.0, 0.6, size=2)
            w, h = rng.uniform(0.15, 0.4, size=2)
            rows[i, j] = [j % 2, x0, y0, x0 + w, y0 + h, 0]
    return rows.reshape(N, -1)


#: trans_layer transposes the batch: it runs when the batch size is its input's size (16)
GEOMETRY_BATCH = 16
#: issue 16's layer families, by their test config files, with the data layers random values
#: would make invalid
CONFIG_CASES = {
    "elementwise": {"index": lambda rng: rng.integers(0, 3, size=(N, 1)),
                    "columns": lambda rng: (rng.uniform(size=(N, 5)) < 0.6)},
    "geometry": {"indices": lambda rng: np.tile([1, 2, 2, 5, 1, 4], (GEOMETRY_BATCH, 1)),
                 "rois": lambda rng: np.tile([[0, 0, 0, 5, 7], [1, 1, 2, 4, 6],
                                              [3, 2, 1, 2, 1], [2, 0.5, 0.5, 3.5, 6.5]],
                                             (GEOMETRY_BATCH // 4, 1))},
    "mixed": {},
    "detection": {"boxes": _ground_truth},
    # conv_shift, sampling_id (both sides draw from generators seeded alike) and print
    "misc": {},
    # hsigmoid and nce (nce's negatives: both sides draw from generators seeded alike)
    "sampled_cost": {},
}


def config_model(name: str):
    return mp.parse_config(CONFIGS / f"{name}.py").model_config


@pytest.mark.parametrize("name", sorted(CONFIG_CASES))
def test_layer_families(name, device):
    # positive inputs: power_layer's fractional powers of negative numbers are NaN
    check_model_consistency(config_model(name), device, positive=name == "elementwise",
                            values=CONFIG_CASES[name],
                            batch=GEOMETRY_BATCH if name == "geometry" else N)


def test_every_runtime_layer_type_is_covered():
    """The cases above compile every registered layer type at least once."""
    from minipaddle.runtime.registry import known_types

    seen = {layer.type for name in CONFIG_CASES for layer in config_model(name).layers}
    for fn in ([pools, norms, image_layers, activations, combinations, costs, volumes,
                mixed_layers, extra_costs_and_row_norms]
               + [conv_cases(kind)[case] for kind in CONV_TYPES for case in CONV_CASES]):
        seen |= {layer.type for layer in model_of(fn).layers}
    pool_types = set()
    for layer in model_of(pools).layers:
        if layer.type == "pool":
            pool_types.add(layer.inputs[0].pool_conf.pool_type)
    assert set(known_types("gpu")) <= seen, sorted(set(known_types("gpu")) - seen)
    assert pool_types == {"max-projection", "avg-projection", "max-pool-with-mask",
                          "cudnn-max-pool", "cudnn-avg-pool"}


# --------------------------------------------------------------- spec 7.2 test_ConvUnify, exact

W1 = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1.0])
PARAM2 = np.array([1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1.0])
PARAM3 = np.array([1, 2, 3, 4, 4, 3, 2, 1.0])

#: name -> (trans, channels, image (h, w), filters, filter size, groups, input, weights, output)
CONVUNIFY = {
    "case1": (False, 1, 4, 2, 3, 1, np.arange(1, 17), W1,
              [[[348, 393], [528, 573]], [[192, 237], [372, 417]]]),
    "case1_transposed": (True, 1, 2, 2, 3, 1, np.arange(1, 5), W1,
                         [[[1, 4, 7, 6], [7, 23, 33, 24], [19, 53, 63, 42], [21, 52, 59, 36]],
                          [[9, 26, 23, 14], [33, 77, 67, 36], [21, 47, 37, 18],
                           [9, 18, 11, 4]]]),
    "case2": (False, 2, 3, 2, 2, 1, np.arange(1, 19), PARAM2,
              [[[356, 392], [464, 500]], [[184, 220], [292, 328]]]),
    "case3_groups": (False, 2, 3, 2, 2, 2, np.arange(1, 19), PARAM3,
                     [[[37, 47], [67, 77]], [[113, 123], [143, 153]]]),
    "case2_transposed": (True, 2, 2, 2, 2, 1, np.arange(1, 9), PARAM2,
                         [[[41, 87, 46], [92, 194, 102], [51, 107, 56]],
                          [[25, 55, 30], [60, 130, 70], [35, 75, 40]]]),
    "case3_transposed_groups": (True, 2, 2, 2, 2, 2, np.arange(1, 9), PARAM3,
                                [[[1, 4, 4], [6, 20, 16], [9, 24, 16]],
                                 [[20, 39, 18], [38, 70, 30], [14, 23, 8]]]),
}


@pytest.mark.parametrize("kind", CONV_TYPES)
@pytest.mark.parametrize("case", sorted(CONVUNIFY))
def test_convunify_exact(case, kind, device):
    """One forward of each hand-set case, stride 1, padding 0, bias zeroed, as the CPU type
    and the GPU type on both backends: every output equals the hand-derived integers."""
    trans, channels, size, filters, fsize, groups, x, w, expected = CONVUNIFY[case]
    layer_type = CONVT_TYPES[kind] if trans else kind

    def net():
        return img_conv_layer(input=image("x", channels, size, size), filter_size=fsize,
                              num_filters=filters, groups=groups, trans=trans, stride=1,
                              padding=0, act=LinearActivation(), layer_type=layer_type,
                              name="conv")

    model = model_of(net)
    for net_ in compile_pair(model, device):
        net_.parameters["_conv.w0"] = w.reshape(net_.parameters["_conv.w0"].shape)
        net_.parameters["_conv.wbias"] = np.zeros(filters)
        out = net_.forward({"x": x.reshape(1, -1).astype(np.float32)})["conv"]
        np.testing.assert_array_equal(out[0], np.array(expected, dtype=np.float32))
