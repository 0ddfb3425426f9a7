"""Parameters: Paddle's model tar byte for byte, get/set/shape rules, values at SGD()."""

from __future__ import annotations

import io
import struct
import tarfile

import numpy as np
import pytest

from minipaddle.config import ConfigError, ParameterConfig
from minipaddle.config.protobin import from_protobin, to_protobin
from minipaddle.v2.parameters import Parameters, tar_member

from v2_support import DATA

FIT_A_LINE = (DATA / "fit_a_line.tar").read_bytes()


def test_real_paddle_tar_loads_and_saves_to_the_same_bytes(tmp_path):
    params = Parameters.from_tar(io.BytesIO(FIT_A_LINE))
    assert params.keys() == ["___fc_layer_0__.w0", "___fc_layer_0__.wbias"]
    assert params.get_shape("___fc_layer_0__.w0") == (13, 1)
    w = params.get("___fc_layer_0__.w0")
    # the values, read independently of minipaddle: header (0, 4, 13) then 13 float32
    raw = tarfile.open(fileobj=io.BytesIO(FIT_A_LINE)).extractfile("___fc_layer_0__.w0").read()
    assert struct.unpack("<IIQ", raw[:16]) == (0, 4, 13)
    np.testing.assert_array_equal(w.ravel(), np.frombuffer(raw[16:], dtype="<f4"))
    out = io.BytesIO()
    params.to_tar(out)
    assert out.getvalue() == FIT_A_LINE
    # the programs of the era open the file in text mode: written through its buffer
    path = tmp_path / "params.tar"
    with open(path, "w") as f:
        params.to_tar(f)
    assert path.read_bytes() == FIT_A_LINE
    with open(path, "r") as f:
        assert Parameters.from_tar(f).keys() == params.keys()


def test_set_to_default_fields_survive_the_round_trip():
    data = tarfile.open(fileobj=io.BytesIO(FIT_A_LINE)).extractfile(
        "___fc_layer_0__.wbias.protobuf").read()
    conf = from_protobin(ParameterConfig, data)
    # explicitly set to their defaults in Paddle's file: present, not None
    assert (conf.initial_mean, conf.initial_std, conf.initial_strategy,
            conf.initial_smart) == (0.0, 0.0, 0, False)
    assert conf.momentum is None and conf.learning_rate is None
    assert to_protobin(conf) == data
    # field 6 (initial_std, double) = 0.0 is on the wire: tag 0x31 + eight zero bytes
    assert b"\x31" + b"\x00" * 8 in data


def test_tar_layout_is_pythons_gnu_tar_without_end_blocks():
    member = tar_member("w", b"x" * 600)
    assert len(member) == 512 + 1024
    header = member[:512]
    assert header[257:265] == b"ustar  \x00" and header[100:108] == b"0000644\x00"
    assert header[136:148] == b"00000000000\x00"            # mtime 0
    # a name longer than 100 bytes goes into a GNU ././@LongLink member first
    long_name = "___" + "n" * 150 + ".w0"
    archive = tarfile.open(fileobj=io.BytesIO(tar_member(long_name, b"abc")))
    assert [(m.name, archive.extractfile(m).read()) for m in archive] == [(long_name, b"abc")]


@pytest.fixture
def fit_a_line(paddle):
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(13))
    y_predict = paddle.layer.fc(input=x, size=1, act=paddle.activation.Linear())
    y = paddle.layer.data(name="y", type=paddle.data_type.dense_vector(1))
    cost = paddle.layer.square_error_cost(input=y_predict, label=y)
    return cost, y_predict


def test_created_parameters_match_paddles_configs(paddle, fit_a_line):
    cost, _ = fit_a_line
    params = paddle.parameters.create(cost)
    real = Parameters.from_tar(io.BytesIO(FIT_A_LINE))
    for name in real.keys():
        assert to_protobin(params.config(name)) == to_protobin(real.config(name))
    with pytest.raises(ValueError, match="has no value yet"):
        params.get("___fc_layer_0__.w0")
    with pytest.raises(ValueError, match=r"shape \(13,\), expected \(13, 1\)"):
        params.set("___fc_layer_0__.w0", np.zeros(13))
    with pytest.raises(ValueError, match="no parameter named 'nope'"):
        params.get_shape("nope")


def test_values_set_before_sgd_override_the_random_init(paddle, fit_a_line):
    cost, y_predict = fit_a_line
    params = paddle.parameters.create(cost)
    params.init_from_tar(io.BytesIO(FIT_A_LINE), exclude_params=["___fc_layer_0__.wbias"])
    trainer = paddle.trainer.SGD(cost=cost, parameters=params,
                                 update_equation=paddle.optimizer.Momentum(momentum=0))
    real = Parameters.from_tar(io.BytesIO(FIT_A_LINE))
    w = params.get("___fc_layer_0__.w0")
    assert w.shape == (13,)                       # flat once a trainer holds it, as Paddle
    np.testing.assert_array_equal(w, real.get("___fc_layer_0__.w0").ravel())
    assert params.get("___fc_layer_0__.wbias").tolist() == [0.0]   # zero bias init, excluded
    params.set("___fc_layer_0__.wbias", np.full((1, 1), 2.5, dtype=np.float32))
    assert trainer._loop.net.parameters["___fc_layer_0__.wbias"].ravel().tolist() == [2.5]
    x = np.linspace(-1, 1, 13, dtype=np.float32)
    got = paddle.infer(output_layer=y_predict, parameters=params, input=[(x,)])
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(float(x @ w) + 2.5, rel=1e-5)


def test_serialize_and_deserialize_one_parameter(paddle):
    params = Parameters.from_tar(io.BytesIO(FIT_A_LINE))
    buf = io.BytesIO()
    params.serialize("___fc_layer_0__.wbias", buf)
    other = Parameters.from_tar(io.BytesIO(FIT_A_LINE))
    other.set("___fc_layer_0__.wbias", np.zeros((1, 1), dtype=np.float32))
    other.deserialize("___fc_layer_0__.wbias", io.BytesIO(buf.getvalue()))
    assert other.get("___fc_layer_0__.wbias").tolist() == params.get(
        "___fc_layer_0__.wbias").tolist()
    with pytest.raises(ConfigError, match="holds 2 values, expected 1"):
        other.deserialize("___fc_layer_0__.wbias",
                          io.BytesIO(struct.pack("<IIQ", 0, 4, 2) + b"\0" * 8))


def test_a_tar_without_values_is_refused():
    broken = tar_member("p.protobuf", to_protobin(ParameterConfig(name="p", size=2)))
    with pytest.raises(ConfigError, match="no member 'p'"):
        Parameters.from_tar(io.BytesIO(broken))
