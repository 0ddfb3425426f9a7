"""Property tests: img_conv_layer and img_pool_layer against the output-size formulas of spec
section 2.3, written out here independently of minipaddle.config.formulas, plus YAML round
trips of every accepted config."""

from __future__ import annotations

import math

import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

from minipaddle import (
    AvgPooling, ConfigError, MaxPooling, data_layer, from_yaml, img_conv_layer, img_pool_layer,
    parse_config, to_yaml,
)

# ---------------------------------------------------------------------------------------------
# the spec's formulas (section 2.3), in the test's own words


def effective(filter_size: int, dilation: int) -> int:
    return (filter_size - 1) * dilation + 1


def conv_out(img: int, f: int, p: int, s: int, d: int) -> int:
    """caffe mode: 1 + floor((img + 2p - fe) / s)."""
    return 1 + math.floor((img + 2 * p - effective(f, d)) / s)


def convt_img(out: int, f: int, p: int, s: int, d: int) -> int:
    """transposed conv (caffe mode): (out - 1) s + fe - 2p."""
    return (out - 1) * s + effective(f, d) - 2 * p


def pool_out(img: int, k: int, p: int, s: int, ceil_mode: bool) -> int:
    """1 + ceil(...) with ceil_mode (non-caffe), 1 + floor(...) without."""
    rounding = math.ceil if ceil_mode else math.floor
    return 1 + rounding((img + 2 * p - k) / s)


def padding_only_windows(img: int, k: int, p: int, s: int, out: int) -> list[int]:
    """Starts of the windows [start, start + k) that miss the image [0, img) entirely."""
    starts = [i * s - p for i in range(out)]
    return [a for a in starts if a >= img or a + k <= 0]


# ---------------------------------------------------------------------------------------------
# argument spellings


@st.composite
def axis_argument(draw, name: str, lo: int, hi: int, optional: bool):
    """One per-axis argument in any accepted spelling: int, [x, y], (x, y), int + name_y, or a
    pair overridden by name_y (the _y value wins).  Returns (kwargs, x, y)."""
    forms = ["int", "list", "tuple", "int_y", "pair_y"] + (["omit"] if optional else [])
    form = draw(st.sampled_from(forms))
    x = draw(st.integers(lo, hi))
    y = x if form == "int" else draw(st.integers(lo, hi))
    if form == "omit":
        return {}, None, None
    if form == "int":
        return {name: x}, x, x
    if form == "list":
        return {name: [x, y]}, x, y
    if form == "tuple":
        return {name: (x, y)}, x, y
    if form == "int_y":
        return {name: x, f"{name}_y": y}, x, y
    ignored = draw(st.integers(lo, hi))
    return {name: [x, ignored], f"{name}_y": y}, x, y


@st.composite
def conv_cases(draw):
    channels = draw(st.integers(1, 6))
    height = draw(st.integers(1, 12))
    width = draw(st.integers(1, 12))
    num_filters = draw(st.integers(1, 8))
    groups = draw(st.one_of(st.just(1), st.integers(1, 4),
                            st.sampled_from([d for d in range(1, channels + 1)
                                             if channels % d == 0 and num_filters % d == 0])))
    kwargs = {"num_filters": num_filters}
    if groups != 1 or draw(st.booleans()):
        kwargs["groups"] = groups
    axes = {}
    for name, lo, hi, default, optional in (("filter_size", 1, 5, None, False),
                                            ("stride", 1, 4, 1, True),
                                            ("padding", 0, 3, 0, True),
                                            ("dilation", 1, 3, 1, True)):
        args, x, y = draw(axis_argument(name, lo, hi, optional))
        kwargs.update(args)
        axes[name] = (default, default) if x is None else (x, y)
    trans = draw(st.booleans())
    if trans or draw(st.booleans()):
        kwargs["trans"] = trans
    return channels, height, width, groups, trans, axes, kwargs


@st.composite
def pool_cases(draw):
    channels = draw(st.integers(1, 4))
    height = draw(st.integers(1, 12))
    width = draw(st.integers(1, 12))
    kwargs = {}
    axes = {}
    # small paddings and strides are drawn more often, so that ceil-mode configs (which
    # easily end in a padding-only window) are accepted often enough to be checked
    values = {"pool_size": st.integers(1, 5),
              "stride": st.one_of(st.sampled_from([1, 2]), st.integers(1, 4)),
              "padding": st.one_of(st.just(0), st.integers(0, 3))}
    for name, default in (("pool_size", None), ("stride", 1), ("padding", 0)):
        x = draw(values[name])
        if default is not None and x == default and draw(st.booleans()):
            pass  # leave it out: the default applies
        else:
            kwargs[name] = x
        y = x
        if draw(st.booleans()):
            y = draw(values[name])
            kwargs[f"{name}_y"] = y
        axes[name] = (x, y)
    ceil_mode = draw(st.booleans())
    if not ceil_mode or draw(st.booleans()):
        kwargs["ceil_mode"] = ceil_mode
    kwargs["pool_type"] = draw(st.sampled_from([None, MaxPooling(), AvgPooling(), "max", "avg"]))
    return channels, height, width, ceil_mode, axes, kwargs


def image(channels: int, height: int, width: int):
    return data_layer(name="img", size=channels * height * width, height=height, width=width)


def assert_round_trips(config) -> None:
    text = to_yaml(config)
    again = from_yaml(text)
    assert again == config
    assert to_yaml(again) == text


# ---------------------------------------------------------------------------------------------
# img_conv_layer


@given(conv_cases())
def test_img_conv_layer_matches_spec_formulas(case):
    channels, height, width, groups, trans, axes, kwargs = case
    (fx, fy), (sx, sy) = axes["filter_size"], axes["stride"]
    (px, py), (dx, dy) = axes["padding"], axes["dilation"]
    num_filters = kwargs["num_filters"]
    note(f"C={channels} HxW={height}x{width} kwargs={kwargs}")

    if trans:
        # the input is the conv's output; the layer produces the image
        out_x, out_y = width, height
        img_x = convt_img(out_x, fx, px, sx, dx)
        img_y = convt_img(out_y, fy, py, sy, dy)
        geometry_ok = img_x >= 1 and img_y >= 1
    else:
        img_x, img_y = width, height
        out_x = conv_out(img_x, fx, px, sx, dx)
        out_y = conv_out(img_y, fy, py, sy, dy)
        geometry_ok = out_x >= 1 and out_y >= 1
    groups_ok = channels % groups == 0 and num_filters % groups == 0

    def net():
        img_conv_layer(input=image(channels, height, width), name="conv", **kwargs)

    event(f"trans={trans}, geometry ok={geometry_ok}, groups ok={groups_ok}")
    if not (geometry_ok and groups_ok):
        with pytest.raises(ConfigError, match=r"img_conv_layer 'conv': "):
            parse_config(net)
        return

    config = parse_config(net)
    layer = config.model_config.layers[1]
    conv = layer.inputs[0].conv_conf
    assert layer.type == ("exconvt" if trans else "exconv")
    assert (conv.filter_size, conv.filter_size_y) == (fx, fy)
    assert (conv.stride, conv.stride_y) == (sx, sy)
    assert (conv.padding, conv.padding_y) == (px, py)
    assert (conv.dilation, conv.dilation_y) == (dx, dy)
    assert (conv.channels, conv.groups, conv.caffe_mode) == (channels, groups, True)
    assert (conv.img_size, conv.img_size_y) == (img_x, img_y)
    assert (conv.output_x, conv.output_y) == (out_x, out_y)
    if trans:
        assert conv.filter_channels == num_filters // groups
        assert layer.size == img_x * img_y * num_filters
        assert (layer.width, layer.height) == (img_x, img_y)
        weight_size = channels * (num_filters // groups) * fx * fy
    else:
        assert conv.filter_channels == channels // groups
        assert layer.size == out_x * out_y * num_filters
        assert (layer.width, layer.height) == (out_x, out_y)
        weight_size = num_filters * (channels // groups) * fx * fy
    assert layer.num_filters == num_filters
    params = {p.name: p for p in config.model_config.parameters}
    assert params["_conv.w0"].size == weight_size
    assert params["_conv.wbias"].size == num_filters   # shared biases by default
    assert_round_trips(config)


@given(conv_cases(), st.integers(1, 3))
def test_img_conv_layer_chained_sizes(case, repeat):
    """Feeding a conv's output into further convs: each one reads the previous layer's
    width/height and num_filters (no num_channels) and follows the same formulas."""
    channels, height, width, groups, trans, axes, kwargs = case
    kwargs = {k: v for k, v in kwargs.items() if k != "groups"}
    (fx, fy), (sx, sy) = axes["filter_size"], axes["stride"]
    (px, py), (dx, dy) = axes["padding"], axes["dilation"]
    sizes = [(width, height)]
    for _ in range(repeat):
        w, h = sizes[-1]
        if trans:
            sizes.append((convt_img(w, fx, px, sx, dx), convt_img(h, fy, py, sy, dy)))
        else:
            sizes.append((conv_out(w, fx, px, sx, dx), conv_out(h, fy, py, sy, dy)))
        if min(sizes[-1]) < 1:
            break

    def net():
        x = image(channels, height, width)
        for i in range(repeat):
            x = img_conv_layer(input=x, name=f"c{i}", **kwargs)

    if min(sizes[-1]) < 1:
        with pytest.raises(ConfigError, match=rf"img_conv_layer 'c{len(sizes) - 2}': "):
            parse_config(net)
        return
    layers = parse_config(net).model_config.layers
    for i, layer in enumerate(layers[1:], start=1):
        w, h = sizes[i]
        assert (layer.width, layer.height, layer.size) == (w, h, w * h * kwargs["num_filters"])
        conv = layer.inputs[0].conv_conf
        assert conv.channels == (channels if i == 1 else kwargs["num_filters"])


# ---------------------------------------------------------------------------------------------
# img_pool_layer


@given(pool_cases())
def test_img_pool_layer_matches_spec_formulas(case):
    channels, height, width, ceil_mode, axes, kwargs = case
    (kx, ky), (sx, sy), (px, py) = axes["pool_size"], axes["stride"], axes["padding"]
    note(f"C={channels} HxW={height}x{width} ceil={ceil_mode} kwargs={kwargs}")
    out_x = pool_out(width, kx, px, sx, ceil_mode)
    out_y = pool_out(height, ky, py, sy, ceil_mode)
    ok = (out_x >= 1 and out_y >= 1
          and not padding_only_windows(width, kx, px, sx, out_x)
          and not padding_only_windows(height, ky, py, sy, out_y))

    event(f"ceil_mode={ceil_mode}, accepted={ok}")

    def net():
        img_pool_layer(input=image(channels, height, width), name="pool", **kwargs)

    if not ok:
        with pytest.raises(ConfigError, match=r"img_pool_layer 'pool': "):
            parse_config(net)
        return

    config = parse_config(net)
    layer = config.model_config.layers[1]
    pool = layer.inputs[0].pool_conf
    expected_type = {None: "max-projection", "max": "max-projection",
                     "avg": "avg-projection"}
    pool_type = kwargs["pool_type"]
    key = pool_type if isinstance(pool_type, (str, type(None))) else pool_type.name
    assert pool.pool_type == expected_type[key]
    assert pool.channels == channels
    assert (pool.size_x, pool.size_y) == (kx, ky)
    assert (pool.stride, pool.stride_y) == (sx, sy)
    assert (pool.padding, pool.padding_y) == (px, py)
    assert (pool.img_size, pool.img_size_y) == (width, height)
    assert (pool.output_x, pool.output_y) == (out_x, out_y)
    assert pool.start is None
    assert layer.type == "pool"
    assert layer.size == channels * out_x * out_y
    assert (layer.width, layer.height) == (out_x, out_y)
    # what was emitted has no window lying wholly in padding, along either axis
    assert not padding_only_windows(pool.img_size, pool.size_x, pool.padding, pool.stride,
                                    pool.output_x)
    assert not padding_only_windows(pool.img_size_y, pool.size_y, pool.padding_y,
                                    pool.stride_y, pool.output_y)
    assert_round_trips(config)


@given(st.integers(1, 12), st.integers(1, 5), st.integers(1, 4), st.integers(0, 3))
def test_floor_mode_never_has_padding_only_windows_when_padding_is_below_window(
        img, k, s, p):
    """With ceil_mode=False and padding < window, every window touches the image: the
    floor-mode layer is accepted exactly when at least one window fits."""
    out = pool_out(img, k, p, s, ceil_mode=False)
    expected_ok = out >= 1 and p < k

    def net():
        img_pool_layer(input=image(1, img, img), pool_size=k, stride=s, padding=p,
                       ceil_mode=False, name="pool")

    if expected_ok:
        assert not padding_only_windows(img, k, p, s, out)
        pool = parse_config(net).model_config.layers[1].inputs[0].pool_conf
        assert (pool.output_x, pool.output_y) == (out, out)
    else:
        with pytest.raises(ConfigError, match=r"img_pool_layer 'pool': "):
            parse_config(net)
