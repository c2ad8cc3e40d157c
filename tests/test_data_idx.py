"""IDX reading/writing and loading folders of IDX files in MNIST's layout."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from nndl.data import load_data, load_idx_folder, read_idx, write_idx
from nndl.errors import NndlError


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", "<i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, rng, dtype, name):
    a = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    path = write_idx(tmp_path / name, a)
    b = read_idx(path)
    assert b.shape == a.shape
    assert b.dtype.kind == np.dtype(dtype).kind and b.dtype.itemsize == np.dtype(dtype).itemsize
    assert b.dtype.isnative
    np.testing.assert_array_equal(b, a)
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_compression_is_detected_by_content_not_name(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw_named_gz = write_idx(tmp_path / "raw.gz", a, compress=False)
    gz_named_raw = write_idx(tmp_path / "gz.idx", a, compress=True)
    np.testing.assert_array_equal(read_idx(raw_named_gz), a)
    np.testing.assert_array_equal(read_idx(gz_named_raw), a)


def test_header_layout_is_big_endian(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])


def _idx_bytes(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    return header + a.astype(np.uint8).tobytes()


@pytest.mark.parametrize("content, words", [
    (b"", "not an IDX file"),
    (b"\x00\x00", "not an IDX file"),
    (b"PK\x03\x04" + bytes(20), "magic number"),
    (bytes([0, 1, 8, 1, 0, 0, 0, 1, 5]), "magic number"),
    (bytes([0, 0, 7, 1, 0, 0, 0, 1, 5]), "magic number"),       # unknown type code
    (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated IDX header"),
])
def test_bad_header(tmp_path, content, words):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(NndlError, match=words) as err:
        read_idx(path)
    assert "bad-idx3-ubyte" in str(err.value) and "\n" not in str(err.value)


def test_truncated_payload(tmp_path):
    path = tmp_path / "t.idx"
    path.write_bytes(_idx_bytes(np.zeros((2, 3, 3)))[:-1])
    with pytest.raises(NndlError, match=r"t\.idx: truncated: .* needs 18 bytes .* has 17"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "t.idx.gz"
    path.write_bytes(gzip.compress(_idx_bytes(np.zeros((2, 3, 3))) + b"\x00\x00"))
    with pytest.raises(NndlError, match=r"t\.idx\.gz: trailing bytes: .* needs 18 bytes .* has 20"):
        read_idx(path)


def test_wrong_dimension_count(tmp_path):
    path = write_idx(tmp_path / "labels.idx", np.zeros(5, dtype=np.uint8))
    assert read_idx(path, ndim=1).shape == (5,)
    with pytest.raises(NndlError, match=r"labels\.idx: expected an IDX file with 3 dimension\(s\), this one has 1"):
        read_idx(path, ndim=3)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_gzip(tmp_path, rng, damage):
    good = gzip.compress(_idx_bytes(rng.integers(0, 256, size=(20, 28, 28))))
    bad = bytearray(good)
    if damage == "truncate":
        bad = bad[: len(bad) // 2]
    else:
        bad[len(bad) // 2] ^= 0xFF
        bad[len(bad) // 2 + 1] ^= 0xFF
    path = tmp_path / "images.gz"
    path.write_bytes(bytes(bad))
    with pytest.raises(NndlError, match=r"images\.gz: corrupt gzip"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(NndlError, match="nothere.idx: no such file"):
        read_idx(tmp_path / "nothere.idx")


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(NndlError, match="cannot write"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.complex64))


# -- folders of IDX files in MNIST's layout -------------------------------------------------------
def make_idx_folder(folder, rng, n_train=30, n_test=10, size=(5, 5), classes=3, gz=True,
                    n_train_labels=None, test_size=None):
    """Write a tiny fake MNIST-layout folder; return the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    tr_x = rng.integers(0, 256, size=(n_train, *size), dtype=np.uint8)
    te_x = rng.integers(0, 256, size=(n_test, *(test_size or size)), dtype=np.uint8)
    tr_y = (np.arange(n_train_labels or n_train) % classes).astype(np.uint8)
    te_y = (np.arange(n_test) % classes).astype(np.uint8)
    write_idx(folder / f"train-images-idx3-ubyte{ext}", tr_x)
    write_idx(folder / f"train-labels-idx1-ubyte{ext}", tr_y)
    write_idx(folder / f"t10k-images-idx3-ubyte{ext}", te_x)
    write_idx(folder / f"t10k-labels-idx1-ubyte{ext}", te_y)
    return tr_x, tr_y, te_x, te_y


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_folder(tmp_path, rng, gz):
    tr_x, tr_y, te_x, te_y = make_idx_folder(tmp_path / "fake", rng, gz=gz)
    train, test = load_idx_folder(tmp_path / "fake")
    assert (len(train), len(test)) == (30, 10)
    assert train.x.shape == (30, 25) and train.x.dtype == np.float32
    assert train.image_shape == test.image_shape == (1, 5, 5)
    assert train.num_classes == test.num_classes == 3
    np.testing.assert_array_equal(train.x, tr_x.reshape(30, 25) / np.float32(255))
    np.testing.assert_array_equal(test.y, te_y)
    assert train.y.dtype == np.int64
    assert train.name == "fake (training)" and test.name == "fake (test)"
    assert not train.x.flags.writeable and not train.y.flags.writeable
    assert load_idx_folder(tmp_path / "fake", num_classes=10)[0].num_classes == 10


def test_load_data_directory_uses_book_style_split(tmp_path, rng):
    tr_x, tr_y, _, _ = make_idx_folder(tmp_path / "fake", rng)
    splits = load_data(tmp_path / "fake")
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (25, 5, 10)
    np.testing.assert_array_equal(splits.validation.y, tr_y[25:])
    assert splits.train.x.base is not None and splits.validation.x.base is splits.train.x.base  # views
    standard = load_data(str(tmp_path / "fake"), split="standard")
    assert standard.validation is None and len(standard.train) == 30


def test_mismatched_counts(tmp_path, rng):
    make_idx_folder(tmp_path / "fake", rng, n_train_labels=29)
    with pytest.raises(NndlError, match=r"train-labels-idx1-ubyte\.gz: 29 labels but "
                                        r"train-images-idx3-ubyte\.gz has 30"):
        load_idx_folder(tmp_path / "fake")


def test_train_and_test_image_sizes_must_match(tmp_path, rng):
    make_idx_folder(tmp_path / "fake", rng, test_size=(6, 5))
    with pytest.raises(NndlError, match="training images are 5x5 but test images are 6x5"):
        load_idx_folder(tmp_path / "fake")


def test_images_must_be_3d_bytes(tmp_path, rng):
    folder = tmp_path / "fake"
    make_idx_folder(folder, rng)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((10, 5, 5), dtype=np.float32))
    with pytest.raises(NndlError, match=r"t10k-images-idx3-ubyte\.gz: expected images"):
        load_idx_folder(folder)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((10, 25), dtype=np.uint8))
    with pytest.raises(NndlError, match=r"t10k-images-idx3-ubyte\.gz: expected images"):
        load_idx_folder(folder)


def test_labels_must_be_1d(tmp_path, rng):
    folder = tmp_path / "fake"
    make_idx_folder(folder, rng)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros((10, 1), dtype=np.uint8))
    with pytest.raises(NndlError, match=r"t10k-labels-idx1-ubyte\.gz: expected labels"):
        load_idx_folder(folder)


def test_missing_file_in_folder(tmp_path, rng):
    folder = tmp_path / "fake"
    make_idx_folder(folder, rng)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(NndlError, match="missing t10k-labels-idx1-ubyte"):
        load_idx_folder(folder)
    with pytest.raises(NndlError, match="no such folder"):
        load_idx_folder(tmp_path / "elsewhere")


def test_changed_file_is_decoded_again(tmp_path, rng):
    folder = tmp_path / "fake"
    make_idx_folder(folder, rng, classes=3)
    assert load_idx_folder(folder)[0].num_classes == 3
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(30, 4, dtype=np.uint8))
    assert load_idx_folder(folder)[0].num_classes == 5


def test_load_data_rejects_unknown_specs(tmp_path):
    with pytest.raises(NndlError, match="no such file or folder"):
        load_data(tmp_path / "missing")
    other = tmp_path / "data.txt"
    other.write_text("1,2\n")
    with pytest.raises(NndlError, match="not 'mnist', a folder of IDX files or a .csv file"):
        load_data(other)


# -- bounds: nothing is allocated for what a header merely claims ------------------------------
def _header(code, dims):
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def test_more_dimensions_than_numpy_allows(tmp_path):
    path = tmp_path / "deep.idx"
    path.write_bytes(_header(8, [1] * 65) + b"\x07")
    with pytest.raises(NndlError, match=r"deep\.idx: the IDX header claims 65 dimensions; .* at most 64"):
        read_idx(path)


@pytest.mark.parametrize("dims", [[2**32 - 1, 2**32 - 1], [0, 2**32 - 1, 2**32 - 1], [2**31, 28, 28]])
def test_header_claiming_too_much_is_refused_before_reading(tmp_path, dims):
    path = tmp_path / "huge.idx"
    path.write_bytes(_header(8, dims) + bytes(10))
    with pytest.raises(NndlError, match=r"huge\.idx: the IDX header claims shape .* more than the \d+ bytes"):
        read_idx(path)


def test_gzip_cannot_hold_what_the_header_claims(tmp_path):
    """A few hundred gzipped bytes cannot hold 47 MB: refused from the header, nothing decompressed."""
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(_header(8, [60000, 28, 28]) + bytes(1000)))
    with pytest.raises(NndlError, match=r"bomb\.gz: the IDX header claims shape \(60000, 28, 28\), 47040000 "
                                        r"bytes of data, but \d+ gzipped bytes hold at most \d+"):
        read_idx(path)


def test_gzip_stream_longer_than_promised_is_cut_off(tmp_path):
    """A plausible header followed by far more data (a second gzip member of zeros) than it promised."""
    import tracemalloc

    zeros = gzip.compress(bytes(64 << 20), compresslevel=1)  # 64 MB of zeros in a few hundred kB
    path = tmp_path / "long.gz"
    path.write_bytes(gzip.compress(_header(8, [1000, 28, 28])) + zeros)
    tracemalloc.start()
    try:
        with pytest.raises(NndlError, match=r"long\.gz: trailing bytes: shape \(1000, 28, 28\) needs 784000 "
                                            r"bytes .* the file has more than"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # read at most a chunk past the promised 784 kB, never the 64 MB


def test_gzip_stream_shorter_than_promised(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(_header(8, [10, 28, 28]) + bytes(5000)))
    with pytest.raises(NndlError, match=r"short\.gz: truncated: shape \(10, 28, 28\) needs 7840 bytes .* has 5000"):
        read_idx(path)


def test_gzip_garbage_after_the_stream(tmp_path):
    path = tmp_path / "junk.gz"
    path.write_bytes(gzip.compress(_idx_bytes(np.zeros((2, 3)))) + b"junk!")
    with pytest.raises(NndlError, match=r"junk\.gz: corrupt gzip data \(") as err:
        read_idx(path)
    assert "\n" not in str(err.value)


def test_multi_member_gzip_is_one_stream(tmp_path):
    raw = _idx_bytes(np.arange(24).reshape(2, 3, 4))
    path = tmp_path / "two.gz"
    path.write_bytes(gzip.compress(raw[:10]) + gzip.compress(raw[10:]))
    np.testing.assert_array_equal(read_idx(path), np.arange(24).reshape(2, 3, 4))


@pytest.mark.parametrize("label", [65536, 10**9, 2**31 - 1])
def test_label_beyond_the_class_cap(tmp_path, rng, label):
    folder = tmp_path / "fake"
    make_idx_folder(folder, rng)
    labels = (np.arange(30) % 3).astype(np.int32)
    labels[7] = label
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(NndlError, match=rf"train-labels-idx1-ubyte\.gz: label number 8 is {label}, not a "
                                        rf"class index below 65536"):
        load_idx_folder(folder)


def test_largest_allowed_label(tmp_path, rng):
    folder = tmp_path / "fake"
    make_idx_folder(folder, rng)
    labels = (np.arange(30) % 3).astype(np.int32)
    labels[0] = 65535
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    assert load_idx_folder(folder)[0].num_classes == 65536


def test_images_without_pixels(tmp_path, rng):
    folder = tmp_path / "fake"
    make_idx_folder(folder, rng)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((10, 0, 5), dtype=np.uint8))
    with pytest.raises(NndlError, match=r"t10k-images-idx3-ubyte\.gz: the images are 0x5 pixels: empty"):
        load_idx_folder(folder)


def test_gzip_claim_is_paid_for_only_as_data_arrive(tmp_path, rng):
    """1 MB of gzipped random bytes may hold up to 100 MB, so a claim of 96 MB passes the header
    check; the stream ends after 1 MB, and that is all the memory it costs."""
    import tracemalloc

    noise = rng.integers(0, 256, size=1 << 20, dtype=np.uint8).tobytes()
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(_header(8, [1536, 65536]) + noise, compresslevel=1))
    tracemalloc.start()
    try:
        with pytest.raises(NndlError, match=r"short\.gz: truncated: shape \(1536, 65536\) needs 100663296 "
                                            r"bytes .* the file has 1048576"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_gzip_bomb_beyond_the_floor_is_refused(tmp_path):
    """128 MB of zeros gzip to about 125 kB (1000:1, which deflate can do): beyond 64 MB, more
    than 100:1 is a bomb, not data; 32 MB of zeros (below the floor) still load."""
    import zlib

    def gzip_of(header, zeros):
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        parts = [packer.compress(header)] + [packer.compress(bytes(1 << 20)) for _ in range(zeros >> 20)]
        return b"".join(parts + [packer.flush()])

    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip_of(_header(8, [128 << 20]), 128 << 20))
    with pytest.raises(NndlError, match=r"bomb\.gz: the IDX header claims shape \(134217728,\), .* hold at "
                                        r"most 67108864 \(deflate cannot pass 1032:1, and data beyond 64 MB"):
        read_idx(path)
    path.write_bytes(gzip_of(_header(8, [32 << 20]), 32 << 20))
    assert read_idx(path).shape == (32 << 20,)
