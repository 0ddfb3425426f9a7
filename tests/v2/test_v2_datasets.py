"""paddle.dataset: Paddle's cache layout and formats (files written by the tests), scaling,
the fallbacks, opt-in downloads (from file:// URLs: no test touches the network)."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import warnings

import numpy as np
import pytest

from minipaddle.config import ConfigError
from minipaddle.train.datasets import load_dataset, write_idx
from minipaddle.v2.dataset import cifar, common, mnist, uci_housing

from v2_support import DATA


def test_mnist_reads_paddles_cache_scaled_to_minus_one_one(data_home):
    folder = data_home / "mnist"
    folder.mkdir(parents=True)
    images = np.array([[[0, 255], [51, 102]], [[255, 0], [0, 0]]], dtype=np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.array([7, 1], dtype=np.uint8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples = list(mnist.train()())
    # our small files are not Paddle's: each md5 differs, one warning per file, used as is
    assert len(caught) == 2 and "differs from Paddle's" in str(caught[0].message)
    assert [label for _, label in samples] == [7, 1]
    assert samples[0][0].dtype == np.float32 and samples[0][0].tolist() == pytest.approx(
        [-1.0, 1.0, 51 / 255 * 2 - 1, 102 / 255 * 2 - 1])


def test_mnist_falls_back_to_the_embedded_subset(data_home):
    mnist._warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = mnist.test()
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "embedded in minipaddle (4,000 train / 1,000 test digits)" in text
    assert str(data_home / "mnist") in text and "MINIPADDLE_DOWNLOAD=1" in text
    samples = list(reader())
    expected = load_dataset("mnist5k")[1]
    assert len(samples) == 1000
    assert samples[0][0].shape == (784,) and samples[0][0].dtype == np.float32
    np.testing.assert_array_equal(samples[5][0], expected.images[5].ravel() * 2 - 1)
    assert samples[5][1] == int(expected.labels[5])
    assert min(s[0].min() for s in samples) == -1.0 and max(s[0].max() for s in samples) == 1.0


def _cifar_archive(path, batches):
    with tarfile.open(path, "w:gz") as archive:
        for name, data, labels in batches:
            blob = pickle.dumps({b"data": data, b"labels": labels, b"batch_label": b"x"})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            archive.addfile(info, io.BytesIO(blob))


def test_cifar_reads_members_in_archive_order_chw_rgb_in_zero_one(data_home):
    folder = data_home / "cifar"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    b2 = rng.integers(0, 256, size=(2, 3072), dtype=np.uint8)
    b1 = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    _cifar_archive(folder / "cifar-10-python.tar.gz",
                   [("data_batch_2", b2, [5, 6]), ("test_batch", b1[:1], [9]),
                    ("data_batch_1", b1, [1, 2, 3])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = list(cifar.train10()())
        test = list(cifar.test10()())
    assert [label for _, label in train] == [5, 6, 1, 2, 3] and [t[1] for t in test] == [9]
    np.testing.assert_array_equal(train[0][0], (b2[0] / 255.0).astype(np.float32))
    assert train[0][0].dtype == np.float32 and train[0][0].shape == (3072,)


def test_cifar_and_flowers_without_files_fail_with_one_line(data_home):
    from minipaddle.v2.dataset import flowers

    with pytest.raises(ConfigError) as err:
        cifar.train10()
    text = str(err.value)
    assert "\n" not in text and str(data_home / "cifar" / "cifar-10-python.tar.gz") in text
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in text
    with pytest.raises(ConfigError, match=r"flowers/102flowers\.tgz not found"):
        flowers.train()


def test_embedded_uci_housing_is_ucis_file_byte_for_byte():
    assert hashlib.md5(uci_housing.embedded_text()).hexdigest() == uci_housing.MD5


def test_uci_housing_is_normalised_over_all_rows_and_split_404_102(data_home, monkeypatch):
    monkeypatch.setattr(uci_housing, "UCI_TRAIN_DATA", None)
    monkeypatch.setattr(uci_housing, "UCI_TEST_DATA", None)
    train, test = list(uci_housing.train()()), list(uci_housing.test()())
    assert len(train) == 404 and len(test) == 102
    x, y = train[0]
    assert x.shape == (13,) and y.shape == (1,) and x.dtype == np.float64
    # independently: the first row of UCI's file is 0.00632 18.00 2.310 ... 24.00
    rows = np.loadtxt(io.StringIO(uci_housing.embedded_text().decode()))
    col = rows[:, 0]
    assert x[0] == pytest.approx((0.00632 - col.mean()) / (col.max() - col.min()))
    assert y[0] == 24.0 and test[-1][1][0] == rows[-1, 13]


def test_fit_a_line_model_from_the_cache_or_a_clear_error(data_home):
    with pytest.raises(ConfigError, match=r"fit_a_line\.tar/fit_a_line\.tar not found"):
        uci_housing.model()
    folder = data_home / "fit_a_line.tar"
    folder.mkdir(parents=True)
    (folder / "fit_a_line.tar").write_bytes((DATA / "fit_a_line.tar").read_bytes())
    assert uci_housing.model().keys() == ["___fc_layer_0__.w0", "___fc_layer_0__.wbias"]


def test_download_only_when_opted_in(data_home, tmp_path, monkeypatch):
    source = tmp_path / "somewhere" / "file.bin"
    source.parent.mkdir()
    source.write_bytes(b"payload")
    url = source.as_uri()
    md5 = hashlib.md5(b"payload").hexdigest()
    with pytest.raises(common.DatasetMissing, match="set MINIPADDLE_DOWNLOAD=1"):
        common.download(url, "mod", md5)
    monkeypatch.setenv("MINIPADDLE_DOWNLOAD", "1")
    path = common.download(url, "mod", md5)
    assert path == str(data_home / "mod" / "file.bin")
    assert (data_home / "mod" / "file.bin").read_bytes() == b"payload"
    with pytest.raises(common.DatasetMissing, match="downloading .* failed"):
        common.download(url + ".missing", "mod", md5)
    assert sorted(p.name for p in (data_home / "mod").iterdir()) == ["file.bin"]
