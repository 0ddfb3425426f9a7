"""What real files meet that minipaddle still refuses, and how it says so: a non-square image
without height/width, and a layer whose working memory does not fit."""

from pathlib import Path

import numpy as np
import pytest

import minipaddle as mp
from minipaddle import ConfigError

CONFIGS = Path(__file__).parent / "configs"


def test_non_square_image_without_height_and_width_says_what_to_add():
    config = CONFIGS / "non_square.conf"
    with pytest.raises(ConfigError) as err:
        mp.parse_config(str(config))
    message = str(err.value)
    assert message.startswith(f"{config}:10: img_conv_layer 'a': input=layer 'data': ")
    assert ("cannot infer the image size: 48 pixels per channel (144 / 3 channels) is not a "
            "square and layer 'data' has no height/width; add height= and width= to "
            "data_layer 'data' (height x width = 48)") in message
    # with them it parses and runs
    ok = mp.parse_config(str(config), "with_size=1")
    assert ok.model_config.layer("a").inputs[0].conv_conf.img_size == 8
    net = mp.compile(ok, seed=0)
    assert net.forward({"data": np.ones((2, 144))})["sum"].shape == (2, 4, 6, 8)


def _trans_conv_bytes():
    """Counted by hand: the im2col buffer of one sample (64 maps x 32 x 32 filter rows by
    227 x 227 input pixels) and the 64 x 256 x 256 output, in float32."""
    columns = 64 * 32 * 32 * 227 * 227 * 4
    output = 64 * 256 * 256 * 4
    return columns, output


def test_transposed_conv_working_buffer_fails_at_compile(monkeypatch):
    columns, output = _trans_conv_bytes()
    assert columns == 13_508_018_176
    config = mp.parse_config(str(CONFIGS / "trans_conv_memory.py"))
    monkeypatch.setenv("MINIPADDLE_MAX_BYTES", str(8 << 30))
    with pytest.raises(ConfigError, match=rf"^layer 'up': one sample needs "
                                          rf"{columns + output:,} bytes \({output:,} for its "
                                          rf"output and {columns:,} for its im2col working "
                                          rf"buffer\), more than the {8 << 30:,} bytes"):
        mp.compile(config)


def test_transposed_conv_working_buffer_fails_before_the_step(monkeypatch):
    columns, output = _trans_conv_bytes()
    # room for one sample's buffer, not for the buffers of the samples that run at once
    monkeypatch.setenv("MINIPADDLE_MAX_BYTES", str(columns + output + 1))
    net = mp.compile(mp.parse_config(str(CONFIGS / "trans_conv_memory.py")))
    feed = {"image": np.zeros((2, 227 * 227), dtype=np.float32)}
    # both samples' columns exist at once: one chunk of two on one thread, or a chunk of one
    # on each of two threads
    need = 2 * columns + 2 * output
    with pytest.raises(ValueError, match=rf"^layer 'up': a batch of 2 needs {need:,} bytes "
                                         rf"\({2 * output:,} for its output and "
                                         rf"{2 * columns:,} for its im2col working "
                                         rf"buffer\), more than the {columns + output + 1:,} "
                                         rf"bytes available; use a smaller batch"):
        net.forward(feed)
