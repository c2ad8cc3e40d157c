"""nndl.archive: .npz archives read with every claim checked first; JSON parsed with bounds; the schema check."""
from __future__ import annotations

import io
import json
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from nndl.archive import MAX_RATIO, NpzArchive, read_npz
from nndl.schema import Field, check_schema, parse_json
from nndl.errors import NndlError

MiB = 1 << 20


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_with_header(header: str, payload: bytes) -> bytes:
    """A version 1.0 .npy member with a hand-written header dict."""
    text = header.encode("latin1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


def json_member(obj_or_text) -> bytes:
    text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
    return npy(np.frombuffer(text.encode("utf-8"), dtype=np.uint8))


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    """Write (name, bytes) members, duplicates allowed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name
        with zipfile.ZipFile(path, "w", compression) as z:
            for name, body in members:
                z.writestr(name, body)
    return path


CONFIG = {"format": "nndl-model", "version": 1, "network": {"sizes": [4, 3]}}


def one_line_error(call, *words):
    """Call and expect one NndlError line containing every word."""
    with pytest.raises(NndlError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


# -- good archives: the same arrays numpy.load gives ----------------------------------------------
@pytest.mark.parametrize("compressed", [False, True])
def test_reads_what_numpy_saves(tmp_path, compressed):
    rng = np.random.default_rng(0)
    arrays = {"nndl.json": np.frombuffer(json.dumps(CONFIG).encode(), dtype=np.uint8),
              "param/0/w": rng.normal(size=(3, 4)), "param/0/b": np.zeros(3, dtype=np.float32),
              "fortran": np.asfortranarray(rng.normal(size=(5, 2))), "scalar": np.float64(2.5),
              "empty": np.zeros((0, 7)), "flags": np.array([True, False]), "big_endian": np.arange(4, dtype=">i4"),
              "counts": np.arange(6, dtype=np.uint16).reshape(2, 3)}
    path = tmp_path / "model.npz"
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    config, got = read_npz(path)
    assert config == CONFIG
    with np.load(path, allow_pickle=False) as expected:
        assert sorted(got) == sorted(k for k in expected.files if k != "nndl.json")
        for name, array in got.items():
            assert array.dtype == expected[name].dtype and array.shape == expected[name].shape
            np.testing.assert_array_equal(array, expected[name])
    assert got["fortran"].flags.f_contiguous
    got["param/0/w"][0, 0] = 1.0  # the arrays are the caller's to change


def test_wanted_members_only_are_read(tmp_path):
    """An unwanted member is never read: here its data are corrupt (a CRC error if read)."""
    path = tmp_path / "model.npz"
    write_zip(path, [("nndl.json.npy", json_member(CONFIG)), ("param/0/w.npy", npy(np.ones(3))),
                     ("opt/0/m.npy", npy(np.arange(1000.0)))])
    data = bytearray(path.read_bytes())
    at = data.index(npy(np.arange(1000.0))[-800:])
    data[at:at + 8] = b"XXXXXXXX"
    path.write_bytes(bytes(data))
    config, arrays = read_npz(path, wanted={"param/0/w"})
    assert list(arrays) == ["param/0/w"] and config == CONFIG
    _, arrays = read_npz(path, wanted=lambda name: name.startswith("param/"))
    assert list(arrays) == ["param/0/w"]
    one_line_error(lambda: read_npz(path), "model.npz", "'opt/0/m.npy'", "cannot read", "CRC")
    one_line_error(lambda: read_npz(path, wanted=["param/9/w"]), "model.npz: no member 'param/9/w.npy'")


def test_archive_object_api(tmp_path):
    path = write_zip(tmp_path / "m.npz", [("nndl.json.npy", json_member(CONFIG)), ("w.npy", npy(np.ones((2, 3))))])
    with NpzArchive(path) as archive:
        assert archive.names() == ["nndl.json", "w"] and "w" in archive
        header = archive.header("w")
        assert header.shape == (2, 3) and header.dtype == np.float64 and header.nbytes == 48
        assert archive.read_array("w", shape=(2, 3)).sum() == 6
        one_line_error(lambda: archive.read_array("w", shape=(3, 2)), "'w.npy'", "shape (2, 3), but (3, 2) is needed")
        assert archive.read_json()["version"] == 1
    _, arrays = read_npz(path, json_member=None)
    assert sorted(arrays) == ["nndl.json", "w"]


# -- the central directory -----------------------------------------------------------------------
def test_zip_bomb_member_is_refused_unread(tmp_path):
    """64 MB of zeros deflated to 64 kB (1000:1): refused from the directory, even when not wanted."""
    path = tmp_path / "bomb.npz"
    header = npy_with_header(f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({8 * MiB},), }}", b"")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("nndl.json.npy", json_member(CONFIG))
        with z.open("opt/0/m.npy", "w", force_zip64=True) as member:
            member.write(header)
            for _ in range(64):
                member.write(bytes(MiB))
    assert path.stat().st_size < MiB
    tracemalloc.start()
    try:
        one_line_error(lambda: read_npz(path, wanted=[]), "bomb.npz: member 'opt/0/m.npy' expands",
                       f"more than {MAX_RATIO} times")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB
    # With a looser ratio it passes the directory, and the total cap still holds.
    one_line_error(lambda: read_npz(path, max_ratio=2000, max_total_bytes=16 * MiB),
                   "bomb.npz: the members declare", "at most 16777216")


def test_overlapping_members_are_refused(tmp_path):
    """Entries sharing one compressed kernel (the non-recursive zip bomb's trick)."""
    path = write_zip(tmp_path / "overlap.npz", [("a.npy", npy(np.ones(100))), ("b.npy", npy(np.ones(100)))],
                     zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    data[second + 42:second + 46] = struct.pack("<I", 0)   # b's data "start" where a's do
    path.write_bytes(bytes(data))
    one_line_error(lambda: read_npz(path, json_member=None), "overlap.npz: members 'a.npy' and 'b.npy' overlap")


def test_many_small_bombs_add_up(tmp_path):
    """Each 64 kB member of zeros passes on its own slack; 400 of them (25 MB from 40 kB) do not."""
    path = write_zip(tmp_path / "many.npz", [(f"m{i}.npy", bytes(64000)) for i in range(400)], zipfile.ZIP_DEFLATED)
    one_line_error(lambda: read_npz(path, json_member=None), "many.npz: the members expand", "25600000 in all")


def test_small_zero_arrays_compress_well_and_pass(tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, b=np.zeros(4000))  # 32 kB to about 100 bytes
    assert read_npz(path, json_member=None)[1]["b"].shape == (4000,)


def patch_central_directory(path, offset, value, fmt="<I", local_offset=None):
    """Overwrite a field of the first central-directory entry (and of its local header)."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    data[entry + offset:entry + offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    if local_offset is not None:
        data[local_offset:local_offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("declared", [100, 2**31])
def test_declared_size_that_lies(tmp_path, declared):
    """A deflated member declaring fewer (or far more) bytes than its stream holds."""
    path = write_zip(tmp_path / "liar.npz", [("w.npy", npy(np.arange(100.0)))], zipfile.ZIP_DEFLATED)
    patch_central_directory(path, 24, declared, local_offset=22)
    one_line_error(lambda: read_npz(path, json_member=None), "liar.npz: member 'w.npy'")


def test_stored_member_whose_sizes_disagree(tmp_path):
    path = write_zip(tmp_path / "liar.npz", [("w.npy", npy(np.arange(100.0)))])
    patch_central_directory(path, 24, 10**6)
    one_line_error(lambda: read_npz(path, json_member=None), "member 'w.npy' is stored uncompressed but declares")


def test_member_past_the_end_of_the_file(tmp_path):
    path = write_zip(tmp_path / "cut.npz", [("w.npy", npy(np.arange(100.0)))])
    patch_central_directory(path, 20, 10**6)   # compressed size
    patch_central_directory(path, 24, 10**6)
    one_line_error(lambda: read_npz(path, json_member=None), "member 'w.npy' ends past the end of the file")


def test_encrypted_member(tmp_path):
    path = write_zip(tmp_path / "secret.npz", [("w.npy", npy(np.ones(3)))])
    patch_central_directory(path, 8, 0x1, fmt="<H")  # general purpose flag: encrypted
    one_line_error(lambda: read_npz(path, json_member=None), "secret.npz: member 'w.npy' is encrypted")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_other_compression_methods(tmp_path, method):
    path = write_zip(tmp_path / "odd.npz", [("w.npy", npy(np.ones(3)))], method)
    one_line_error(lambda: read_npz(path, json_member=None), f"uses compression method {method}")


def test_duplicate_members(tmp_path):
    path = write_zip(tmp_path / "twice.npz", [("w.npy", npy(np.ones(3))), ("w.npy", npy(np.zeros(3)))])
    one_line_error(lambda: read_npz(path), "twice.npz: member 'w.npy' appears twice")


@pytest.mark.parametrize("name", ["notes.txt", "folder/", "w"])
def test_members_that_are_not_arrays(tmp_path, name):
    path = write_zip(tmp_path / "odd.npz", [("w.npy", npy(np.ones(3))), (name, b"hello")])
    one_line_error(lambda: read_npz(path), f"member {name!r} is not an array (.npy)")


def test_too_many_members(tmp_path):
    path = write_zip(tmp_path / "many.npz", [(f"m{i}.npy", npy(np.zeros(1))) for i in range(30)])
    one_line_error(lambda: read_npz(path, max_members=20), "many.npz: 30 members; nndl reads archives of at most 20")


def test_directory_bigger_than_its_members_need(tmp_path):
    """The end record may lie about the count; zipfile parses the directory to its declared size."""
    path = write_zip(tmp_path / "many.npz", [(f"m{i}.npy", npy(np.zeros(1))) for i in range(30)])
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    data[end + 8:end + 12] = struct.pack("<HH", 1, 1)   # "one member"
    path.write_bytes(bytes(data))
    one_line_error(lambda: read_npz(path, max_members=1), "many.npz: a central directory of",
                   "1 members need at most 1024")


@pytest.mark.parametrize("content", [b"", b"not a zip at all\n", b"\x89PNG\r\n\x1a\n" + bytes(100),
                                     b"PK\x05\x06" + bytes(18)])
def test_not_a_zip(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    if content.startswith(b"PK\x05\x06"):  # an empty archive: a zip, but no members
        assert read_npz(path) == (None, {})
        return
    one_line_error(lambda: read_npz(path), "model.npz: not a .npz archive")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated_zip(tmp_path, keep):
    good = tmp_path / "good.npz"
    np.savez(good, w=np.arange(1000.0), b=np.ones(10))
    data = good.read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(data[:int(len(data) * keep)])
    one_line_error(lambda: read_npz(path, json_member=None), "cut.npz")


def test_missing_file_and_folder(tmp_path):
    one_line_error(lambda: read_npz(tmp_path / "gone.npz"), "gone.npz: no such file")
    one_line_error(lambda: read_npz(tmp_path), "is a folder")


# -- .npy headers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("descr", ["'|O'", "'<U10'", "'|S4'", "'|V8'", "[('a', '<f8')]", "('<f8', (2,))",
                                   "'<c16'", "'<M8[s]'"])
def test_non_numeric_dtypes_are_refused_before_reading(tmp_path, descr):
    """Object arrays would need pickle; strings, records, dates and complex numbers are not weights."""
    member = npy_with_header(f"{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}", bytes(32))
    path = write_zip(tmp_path / "odd.npz", [("w.npy", member)])
    one_line_error(lambda: read_npz(path, json_member=None), "odd.npz: member 'w.npy'", "not a plain numeric type")


@pytest.mark.parametrize("shape, words", [
    ("(1000,)", "the header says shape (1000,) of <f8, 8000 bytes, but the member holds 80 bytes"),
    ("(2, 3)", "the header says shape (2, 3) of <f8, 48 bytes, but the member holds 80 bytes"),
    ("(4611686018427387904,)", "is more than the"),
    ("(0, 4611686018427387904, 4611686018427387904)", "is more than the"),
    ("(-1,)", "is not an array shape"),
    ("(" + "1, " * 65 + ")", "is not an array shape"),
    ("(3.0,)", "corrupt .npy header"),
    ("None", "corrupt .npy header"),
])
def test_lying_or_impossible_shapes(tmp_path, shape, words):
    member = npy_with_header(f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}", bytes(80))
    path = write_zip(tmp_path / "liar.npz", [("w.npy", member)])
    one_line_error(lambda: read_npz(path, json_member=None), "liar.npz: member 'w.npy'", words)


@pytest.mark.parametrize("member, words", [
    (b"\x93NUMPY\x03\x00" + bytes(60), "format version 3.0"),
    (b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{", "a .npy header of 2147483648 bytes"),
    (b"\x93NUMPY\x01", "truncated .npy magic string"),
    (b"PK\x03\x04 not npy", "not a .npy array"),
    (npy_with_header("__import__('os').system('echo hi')", b""), "corrupt .npy header"),
    (npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1, }", bytes(16)),
     "corrupt .npy header"),
    (npy_with_header("{" * 500, b""), "corrupt .npy header"),
])
def test_broken_npy_headers(tmp_path, member, words):
    path = write_zip(tmp_path / "bad.npz", [("w.npy", member)])
    one_line_error(lambda: read_npz(path, json_member=None), "bad.npz: member 'w.npy'", words)


# -- JSON --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, words", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[" * 40 + "]" * 40, "JSON nested 40 levels deep; at most 32"),
    ('{"version": NaN}', "NaN is not a JSON number"),
    ('{"eta": -Infinity}', "-Infinity is not a JSON number"),
    ('{"eta": 1e999}', "number 1e999 is out of range"),
    ('{"a": 1, "a": 2}', "key 'a' appears twice"),
    ('{"version": ' + "9" * 5000 + "}", "not valid JSON"),
    ("[1, 2, 3]", "the JSON is a list, not an object"),
    ("{'format': 1}", "not valid JSON"),
    ("", "not valid JSON"),
], ids=["deep", "depth-40", "nan", "infinity", "1e999", "duplicate-key", "5000-digits", "list", "quotes",
        "empty"])
def test_bad_json(tmp_path, text, words):
    path = write_zip(tmp_path / "model.npz", [("nndl.json.npy", json_member(text))])
    one_line_error(lambda: read_npz(path), "model.npz: member 'nndl.json.npy'", words)


def test_huge_json_is_refused_from_its_header(tmp_path):
    """5 MB of JSON, stored (deflated, 5 MB of one letter would be refused as a bomb already)."""
    text = '{"pad": "' + "x" * (5 * MiB) + '"}'
    path = write_zip(tmp_path / "model.npz", [("nndl.json.npy", json_member(text))])
    tracemalloc.start()
    try:
        one_line_error(lambda: read_npz(path), "member 'nndl.json.npy'", "bytes of JSON; at most 4194304")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MiB


@pytest.mark.parametrize("member, words", [
    (npy(np.arange(10.0)), "not a plain numeric type (unsigned integers)"),
    (npy(np.frombuffer(b'{"a": 1}', dtype=np.uint8).reshape(2, 4)), "JSON must be a 1-D array of bytes"),
    (npy(np.frombuffer(b'{"a": "\xff"}', dtype=np.uint8)), "not UTF-8 text"),
])
def test_json_member_of_the_wrong_kind(tmp_path, member, words):
    path = write_zip(tmp_path / "model.npz", [("nndl.json.npy", member)])
    one_line_error(lambda: read_npz(path), "member 'nndl.json.npy'", words)


def test_parse_json_alone():
    assert parse_json(b'{"a": [1, 2.5, null, true, "x"]}', "x.json") == {"a": [1, 2.5, None, True, "x"]}
    one_line_error(lambda: parse_json(b"[]" * 10, "x.json", max_bytes=8), "x.json: 20 bytes of JSON; at most 8")


# -- the schema check ----------------------------------------------------------------------------------
SCHEMA = {
    "format": Field(str, choices=("nndl-model",)),
    "version": Field(int, low=1, high=1),
    "eta": Field(float, required=False, low=0),
    "class_names": Field((list, type(None)), required=False, items=Field(str, max_len=100)),
    "network": Field(dict, fields={"sizes": Field(list, items=Field(int, low=1), max_len=1000)}),
}
WHERE = "model.npz: member 'nndl.json.npy'"


def test_schema_accepts_a_good_config():
    config = {"format": "nndl-model", "version": 1, "eta": 3, "class_names": None,
              "network": {"sizes": [784, 30, 10]}, "metadata": {"anything": True}}
    assert check_schema(config, SCHEMA, WHERE) is config


@pytest.mark.parametrize("change, words", [
    ({"format": "other"}, "format is \"other\"; it must be one of \"nndl-model\""),
    ({"version": "1"}, "version must be an integer, not \"1\""),
    ({"version": True}, "version must be an integer, not true"),
    ({"version": 2}, "version is 2; it must be in [1, 1]"),
    ({"eta": -0.5}, "eta is -0.5; it must be in [0, None]"),
    ({"class_names": ["a", 3]}, "class_names[1] must be a string, not 3"),
    ({"class_names": "abc"}, "class_names must be a list or null, not \"abc\""),
    ({"network": {"sizes": [784, 0]}}, "network.sizes[1] is 0; it must be in [1, None]"),
    ({"network": {"sizes": [1.5]}}, "network.sizes[0] must be an integer, not 1.5"),
    ({"network": {}}, "network.sizes is missing"),
    ({"network": [1]}, "network must be an object, not list"),
])
def test_schema_refuses_with_the_key_path(change, words):
    config = {"format": "nndl-model", "version": 1, "network": {"sizes": [784, 30, 10]}, **change}
    message = one_line_error(lambda: check_schema(config, SCHEMA, WHERE), WHERE, words)
    assert message.startswith(WHERE + ": ")


def test_schema_missing_and_unknown_keys():
    one_line_error(lambda: check_schema({"version": 1}, SCHEMA, WHERE), "format is missing")
    config = {"format": "nndl-model", "version": 1, "network": {"sizes": [1], "extra": 0}}
    one_line_error(lambda: check_schema(config, SCHEMA, WHERE, extra_keys=False),
                   "unknown key(s) \"extra\" in network")
    one_line_error(lambda: check_schema([1], SCHEMA, WHERE), "the JSON must be an object, not list")
