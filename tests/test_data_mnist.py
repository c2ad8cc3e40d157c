"""MNIST: the real files from the shared data folder, splits, the offline and checksum errors."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from nndl.data import MNIST_FILES, data_root, ensure_mnist, load_data, load_mnist, write_idx
from nndl.data import mnist as mnist_module
from nndl.errors import NndlError

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # ../shared/data/README.md
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def book(data_root):
    return load_mnist(data_root, split="book", download=False)


@pytest.fixture(scope="module")
def standard(data_root):
    return load_mnist(data_root, split="standard", download=False)


def test_book_split_shapes(book):
    assert book.train.x.shape == (50000, 784)
    assert book.validation.x.shape == (10000, 784)
    assert book.test.x.shape == (10000, 784)
    for _, part in book.parts():
        assert part.x.dtype == np.float32 and part.y.dtype == np.int64
        assert part.image_shape == (1, 28, 28) and part.num_classes == 10
    assert book.train.name == "mnist (training)" and book.validation.name == "mnist (validation)"


def test_standard_split_shapes(standard):
    assert standard.train.x.shape == (60000, 784)
    assert standard.validation is None
    assert standard.test.x.shape == (10000, 784)


def test_pixel_range(book, standard):
    for part in (standard.train, standard.test):
        assert part.x.min() == 0.0 and part.x.max() == 1.0
    # Bytes become k/255 exactly: every value times 255 is a whole number.
    sample = standard.train.x[:100] * np.float32(255)
    np.testing.assert_allclose(sample, np.round(sample), atol=1e-4)


def test_label_counts_match_the_readme(book, standard):
    assert standard.train.class_counts().tolist() == TRAIN_COUNTS
    assert book.test.class_counts().tolist() == TEST_COUNTS
    total = book.train.class_counts() + book.validation.class_counts()
    assert total.tolist() == TRAIN_COUNTS


def test_first_labels(standard):
    assert standard.train.y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert standard.test.y[:5].tolist() == [7, 2, 1, 0, 4]


def test_book_validation_is_the_last_10000_training_images(book, standard):
    np.testing.assert_array_equal(book.validation.x, standard.train.x[50000:])
    np.testing.assert_array_equal(book.validation.y, standard.train.y[50000:])
    np.testing.assert_array_equal(book.train.y, standard.train.y[:50000])
    # Views of one decoded copy, not copies.
    assert book.train.x.base is standard.train.x
    assert book.validation.x.base is standard.train.x
    assert np.shares_memory(book.validation.x, standard.train.x)


def test_arrays_are_read_only_and_cached(book, data_root):
    with pytest.raises(ValueError):
        book.train.x[0, 0] = 1.0
    with pytest.raises(ValueError):
        book.test.y[0] = 3
    again = load_mnist(data_root, download=False)
    assert again.test.x is book.test.x


def test_load_data_mnist(data_root, monkeypatch):
    monkeypatch.setenv("NNDL_DATA", str(data_root))
    splits = load_data("MNIST")
    assert len(splits.train) == 50000 and splits.preprocessor is None


def test_data_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NNDL_DATA", str(tmp_path / "d"))
    assert data_root() == tmp_path / "d"
    monkeypatch.delenv("NNDL_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_root() == tmp_path / "cache" / "nndl"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_root() == Path.home() / ".cache" / "nndl"


def _no_network(*args, **kwargs):
    raise AssertionError("tried to download while offline")


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_offline_missing_folder_gives_clear_message(tmp_path, monkeypatch, how):
    monkeypatch.setattr(mnist_module, "download_file", _no_network)
    if how == "argument":
        monkeypatch.delenv("NNDL_OFFLINE", raising=False)
        kwargs = {"download": False}
    else:
        monkeypatch.setenv("NNDL_OFFLINE", "1")
        kwargs = {}
    with pytest.raises(NndlError) as err:
        load_mnist(tmp_path, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"MNIST not found in {tmp_path / 'mnist'}")
    assert "nndl data download" in message
    for name, _ in MNIST_FILES.values():
        assert name in message


def test_offline_incomplete_folder_names_missing_files(tmp_path, data_root, monkeypatch):
    monkeypatch.setattr(mnist_module, "download_file", _no_network)
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-labels-idx1-ubyte.gz").symlink_to(data_root / "mnist" / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(NndlError, match=r"MNIST is incomplete in .*missing train-images-idx3-ubyte\.gz, "
                                        r"train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz\)"):
        ensure_mnist(tmp_path, download=False)


def test_missing_files_are_downloaded_when_online(tmp_path, monkeypatch):
    calls = []

    def fake_download(urls, dest, sha256, timeout=30, size=None):
        calls.append((urls, dest, sha256, size))
        raise NndlError(f"could not download {dest.name}: test")

    monkeypatch.setattr(mnist_module, "download_file", fake_download)
    with pytest.raises(NndlError, match="could not download train-images-idx3-ubyte.gz: test .*MNIST needs"):
        ensure_mnist(tmp_path, download=True)
    urls, dest, sha, size = calls[0]
    assert dest == tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    assert size == 9_912_422  # a mirror sending more is cut off
    assert sha == MNIST_FILES["train_images"][1]
    assert urls[0].startswith("https://") and len(urls) >= 2
    assert all(u.endswith("/train-images-idx3-ubyte.gz") for u in urls)


def test_checksum_mismatch_of_canonical_file(tmp_path, data_root, monkeypatch):
    monkeypatch.setattr(mnist_module, "download_file", _no_network)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, _ in MNIST_FILES.values():
        (folder / name).symlink_to(data_root / "mnist" / name)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(10000, dtype=np.uint8))  # valid IDX, wrong data
    with pytest.raises(NndlError, match=r"t10k-labels-idx1-ubyte\.gz is corrupt or not the MNIST file: "
                                        r"SHA-256 [0-9a-f]{64} instead of f7ae60f9") as err:
        ensure_mnist(tmp_path, download=False)
    assert "\n" not in str(err.value)
    with pytest.raises(NndlError, match="corrupt or not the MNIST file"):
        load_mnist(tmp_path, download=False)


def test_decompressed_copy_of_wrong_size(tmp_path, data_root, monkeypatch):
    monkeypatch.setattr(mnist_module, "download_file", _no_network)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, _ in MNIST_FILES.values():
        if name.startswith("t10k-labels"):
            continue
        (folder / name).symlink_to(data_root / "mnist" / name)
    write_idx(folder / "t10k-labels.idx1-ubyte", np.zeros(9000, dtype=np.uint8))  # other common spelling
    with pytest.raises(NndlError, match=r"t10k-labels\.idx1-ubyte has 9008 bytes but the decompressed MNIST "
                                        r"file has 10008"):
        ensure_mnist(tmp_path, download=False)


def test_checksums_are_not_recomputed(data_root, monkeypatch):
    ensure_mnist(data_root, download=False)

    def fail(path):
        raise AssertionError(f"re-hashed {path}")

    monkeypatch.setattr(mnist_module, "sha256_file", fail)
    ensure_mnist(data_root, download=False)


def test_unknown_split(data_root):
    with pytest.raises(NndlError, match="unknown split 'pkl'; use one of book, standard"):
        load_mnist(data_root, split="pkl")


def test_decompressed_copies_are_accepted(tmp_path, data_root, standard):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, _ in MNIST_FILES.values():
        if name.endswith("labels-idx1-ubyte.gz"):  # small enough to decompress here
            (folder / name[:-3]).write_bytes(gzip.decompress((data_root / "mnist" / name).read_bytes()))
        else:
            (folder / name).symlink_to(data_root / "mnist" / name)
    splits = load_mnist(tmp_path, split="standard", download=False)
    np.testing.assert_array_equal(splits.test.y, standard.test.y)
    np.testing.assert_array_equal(splits.train.y, standard.train.y)


def test_data_root_may_be_the_mnist_folder_itself(data_root, monkeypatch, tmp_path):
    monkeypatch.setattr(mnist_module, "download_file", _no_network)
    monkeypatch.setenv("NNDL_DATA", str(data_root / "mnist"))
    assert mnist_module.mnist_dir() == data_root / "mnist"
    assert ensure_mnist(download=False) == data_root / "mnist"
    assert len(load_data("mnist").test) == 10000
    # The usual layout still wins, and an empty folder named mnist is the MNIST folder too.
    assert mnist_module.mnist_dir(data_root) == data_root / "mnist"
    (tmp_path / "mnist").mkdir()
    assert mnist_module.mnist_dir(tmp_path / "mnist") == tmp_path / "mnist"
    assert mnist_module.mnist_dir(tmp_path / "other") == tmp_path / "other" / "mnist"
