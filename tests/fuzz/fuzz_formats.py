"""Seed files and format-aware mutators for the fuzz suite: IDX, CSV, images, .npz archives.

Each ``*_seeds()`` returns a few small good files as bytes; each ``crafted_*`` function
is a mutator ``(data, rng) -> bytes`` (see ``fuzz_harness.py``) that builds an input
aimed at one format's weak points: header fields with boundary values (0, 1, 2**31,
2**32 - 1, ...), sizes that lie, compression bombs, malformed text.  Big pieces that are
slow to make (zlib streams of many zeros, an archive with thousands of members) are
made once and cached.
"""
from __future__ import annotations

import functools
import gzip
import io
import json
import math
import random
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

MiB = 1 << 20
#: Sizes that sit on a boundary of some integer type or cap.
BOUNDARY_SIZES = (0, 1, 2, 3, 28, 255, 256, 4095, 4096, 4097, 65535, 65536, 2**24, 2**31 - 1, 2**31,
                  2**32 - 1)


def boundary_or_small(rng: random.Random, small: int = 6, p: float = 0.3) -> int:
    """A boundary size with probability ``p``, else a small one (0..``small``)."""
    return rng.choice(BOUNDARY_SIZES) if rng.random() < p else rng.randint(0, small)


@functools.lru_cache(maxsize=16)
def gzip_of_zeros(n: int) -> bytes:
    """One gzip member holding ``n`` zero bytes (compresses about 1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block, parts = bytes(MiB), []
    for start in range(0, n, MiB):
        parts.append(compressor.compress(block[:min(MiB, n - start)]))
    parts.append(compressor.flush())
    return b"".join(parts)


@functools.lru_cache(maxsize=16)
def zlib_of_zeros(n: int) -> bytes:
    """A zlib stream of ``n`` zero bytes."""
    compressor = zlib.compressobj(9)
    block, parts = bytes(MiB), []
    for start in range(0, n, MiB):
        parts.append(compressor.compress(block[:min(MiB, n - start)]))
    parts.append(compressor.flush())
    return b"".join(parts)


# -- IDX -------------------------------------------------------------------------------------
IDX_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """An uncompressed IDX file holding ``array`` with element type ``code``."""
    array = np.asarray(array)
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(IDX_CODES[code]).tobytes()


def idx_seeds(data_root: Path | None = None) -> list[bytes]:
    """Small IDX files of every element type, raw and gzipped; MNIST's test labels if present."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(4, 5, 5))
    arrays = [(images, 0x08), (images[:, :, 0] % 10, 0x08), (images - 128, 0x09), (images * 100, 0x0B),
              (images.reshape(4, 25) * 10**6, 0x0C), (images / 7, 0x0D), (images / 3, 0x0E),
              (np.zeros((0, 5, 5)), 0x08)]
    seeds = [idx_bytes(a, code) for a, code in arrays]
    seeds += [gzip.compress(s, mtime=0) for s in seeds[:4]]
    labels = Path(data_root or "/nonexistent") / "mnist" / "t10k-labels-idx1-ubyte.gz"
    if labels.is_file():
        seeds.append(labels.read_bytes())
    return seeds


def crafted_idx(data: bytes, rng: random.Random) -> bytes:
    """An IDX header with a random type code, dimension count and sizes, a payload of about
    the size it promises (or not), gzipped half of the time."""
    code = rng.choice(list(IDX_CODES)) if rng.random() < 0.85 else rng.randrange(256)
    ndim = rng.choice((0, 1, 2, 3, 3, 4, rng.randrange(256)))
    dims = [boundary_or_small(rng) for _ in range(ndim)]
    itemsize = np.dtype(IDX_CODES.get(code, ">u1")).itemsize
    need = math.prod(dims) * itemsize
    size = rng.choice((need, need + 1, max(need - 1, 0), rng.randint(0, 64), 0))
    size = min(size, MiB)  # a file claiming more than 1 MB of data gets a short payload
    magic = bytes([0, 0, code, ndim]) if rng.random() < 0.95 else rng.randbytes(4)
    body = magic + b"".join(d.to_bytes(4, "big") for d in dims) + rng.randbytes(size)
    return gzip.compress(body, compresslevel=1, mtime=0) if rng.random() < 0.5 else body


def gzip_bomb_idx(data: bytes, rng: random.Random) -> bytes:
    """A gzipped IDX header promising a lot, then up to 16 MB of zeros (from a few kB)."""
    dims = rng.choice(([60000, 28, 28], [2**20, 28, 28], [2**32 - 1], [16 * MiB], [4 * MiB, 2, 2],
                       [10**6, 28, 28], [2**31, 2]))
    header = bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    zeros = gzip_of_zeros(rng.choice((MiB, 4 * MiB, 16 * MiB)))
    return gzip.compress(header, mtime=0) + zeros  # two gzip members: a valid multi-member file


def gzip_tricks(data: bytes, rng: random.Random) -> bytes:
    """A good IDX file (raw) gzipped with a twist: split in several members, trailing garbage or
    zeros, a cut stream, a broken CRC, or header flags with garbage fields."""
    raw = data if data[:2] != b"\x1f\x8b" else gzip.decompress(data)
    trick = rng.choice(("members", "garbage", "zeros", "cut", "crc", "flags", "double"))
    packed = gzip.compress(raw, mtime=0)
    if trick == "members":
        cut = rng.randint(0, len(raw))
        return gzip.compress(raw[:cut], mtime=0) + gzip.compress(raw[cut:], mtime=0)
    if trick == "garbage":
        return packed + rng.randbytes(rng.randint(1, 32))
    if trick == "zeros":
        return packed + bytes(rng.randint(1, 32))
    if trick == "cut":
        return packed[:rng.randint(10, max(10, len(packed) - 1))]
    if trick == "crc":
        return packed[:-8] + rng.randbytes(4) + packed[-4:]
    if trick == "flags":  # FEXTRA | FNAME | FCOMMENT with random bytes where the fields are
        return packed[:3] + bytes([rng.randrange(32)]) + packed[4:10] + rng.randbytes(rng.randint(0, 40)) + packed[10:]
    return gzip.compress(packed, mtime=0)  # gzipped twice


def idx_mutators() -> list:
    return [crafted_idx, gzip_bomb_idx, gzip_tricks]


def crafted_labels(count: int):
    """A mutator making 1-D IDX label files for a folder whose images number ``count``:
    wrong counts, element types, and values (negative, 10**9, 65536, ...)."""
    def labels(data: bytes, rng: random.Random) -> bytes:
        n = rng.choice((count, count, count, count + 1, count - 1, 0))
        code = rng.choice((0x08, 0x08, 0x09, 0x0B, 0x0C, 0x0C, 0x0D))
        values = np.array([rng.randrange(10) for _ in range(max(n, 0))], dtype=np.int64)
        if n and rng.random() < 0.7:
            values[rng.randrange(n)] = rng.choice((-1, 10, 255, 65535, 65536, 10**6, 10**9, 2**31 - 1))
        info = np.iinfo(IDX_CODES[code]) if code != 0x0D else None
        if info is not None:
            values = np.clip(values, info.min, info.max)
        body = idx_bytes(values, code)
        return gzip.compress(body, mtime=0) if rng.random() < 0.5 else body
    return labels


def crafted_images(count: int):
    """A mutator making 3-D IDX image files for a folder whose labels number ``count``: wrong
    counts, element types, and sizes (0, 1, 5, 6, 28 pixels, or a boundary value)."""
    def images(data: bytes, rng: random.Random) -> bytes:
        n = rng.choice((count, count, count + 1, count - 1, 0))
        code = rng.choice((0x08, 0x08, 0x08, 0x09, 0x0D))
        height, width = (rng.choice((5, 5, 0, 1, 6, 28)) for _ in range(2))
        if rng.random() < 0.1:
            header = bytes([0, 0, code, 3]) + b"".join(d.to_bytes(4, "big") for d in
                                                         (n, boundary_or_small(rng, p=1), boundary_or_small(rng, p=1)))
            return header + rng.randbytes(rng.randint(0, 100))
        body = idx_bytes(np.array([rng.randrange(256) for _ in range(n * height * width)],
                                  dtype=np.int64).reshape(n, height, width) % 100, code)
        return gzip.compress(body, mtime=0) if rng.random() < 0.5 else body
    return images


# -- CSV -------------------------------------------------------------------------------------
def csv_seeds(data_root: Path | None = None) -> list[bytes]:
    """Small tables with text and integer labels; iris and the head of digits if present."""
    rows = "".join(f"{i},{i * i % 7},{'xy'[i % 2]}\n" for i in range(20))
    seeds = [("a,b,kind\n" + rows).encode(),
             ("f1,f2,label\n" + "".join(f"{i}.5,{-i}e-3,{i % 4}\n" for i in range(24))).encode(),
             ("Target,f\r\n" + "".join(f"{i % 3},{i}\r\n" for i in range(30))).encode()]
    root = Path(data_root or "/nonexistent")
    for name, lines in (("iris/iris.csv", 200), ("digits/digits.csv", 40)):
        if (root / name).is_file():
            seeds.append(b"".join((root / name).read_bytes().splitlines(keepends=True)[:lines]))
    return seeds


def _csv_cell(rng: random.Random, wide: bool = False) -> str:
    """One cell: mostly numbers, sometimes something nasty (no very long ones in ``wide`` tables)."""
    kind = rng.random()
    if kind < 0.6 or (wide and kind < 0.99):
        return rng.choice((str(rng.randint(-5, 5)), f"{rng.uniform(-10, 10):.3f}", "0", "1e-5"))
    return rng.choice((
        "", " ", "nan", "inf", "-inf", "1e999", "1" + "0" * rng.randint(9, 40), str(10**30), "-1",
        "65536", "1_000", "0x10", '"1,5"', '"unclosed', 'a"b', "\x00", "1\x00", "é", "\u2028",
        "x" * rng.choice((100, 5000, 200_000)), "\t3", "+7", "--1", "1e", ".", "true",
        "\ufeff1", "１２",  # full-width digits
    ))


def crafted_csv(data: bytes, rng: random.Random) -> bytes:
    """A table of random shape whose cells, labels, header, encoding and line ends are mostly
    sane but sometimes not: huge class indices, NUL bytes, quotes, ragged rows, long fields."""
    ncols = rng.choice((1, 2, 3, 5, rng.randint(1, 30))) if rng.random() < 0.94 else rng.choice((2000, 100_001))
    nrows = rng.randint(0, 30) if ncols < 100 else rng.randint(0, 3)
    header = [f"f{j}" for j in range(ncols)]
    if rng.random() < 0.5:
        header[-1] = rng.choice(("label", "class", "species", "target", "Label"))
    if rng.random() < 0.1 and ncols > 1:
        header[0] = header[1]  # a repeated name
    if rng.random() < 0.1:
        header[rng.randrange(ncols)] = rng.choice(("", '"two\nlines"', "a\x00b", " "))
    label_kind = rng.choice(("small", "text", "huge", "cell"))
    lines = [",".join(header)]
    for _ in range(nrows):
        row = [_csv_cell(rng, ncols > 100) if rng.random() < 0.3 else str(rng.randint(0, 9)) for _ in range(ncols)]
        if label_kind == "small":
            row[-1] = str(rng.randint(0, 3))
        elif label_kind == "text":
            row[-1] = rng.choice(("cat", "dog", "", "é", "a b"))
        elif label_kind == "huge":
            row[-1] = rng.choice(("0", "1", str(10**9), str(10**30), str(2**63), "65536", "-3"))
        if rng.random() < 0.05:
            row = row[:-1] if rng.random() < 0.5 else row + ["9"]  # ragged
        lines.append(",".join(row))
    end = rng.choice(("\n", "\n", "\r\n", "\r"))
    text = end.join(lines) + (end if rng.random() < 0.8 else "")
    raw = text.encode("utf-8") if rng.random() < 0.9 else text.encode("utf-16")
    if rng.random() < 0.1:
        raw = b"\xef\xbb\xbf" + raw  # byte order mark
    if rng.random() < 0.1:
        i = rng.randint(0, len(raw))
        raw = raw[:i] + rng.choice((b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80")) + raw[i:]  # bad UTF-8
    return raw


def csv_mutators() -> list:
    return [crafted_csv, crafted_csv]


# -- images ----------------------------------------------------------------------------------
def _digit_image(mode: str = "L", size=(30, 40)):
    from PIL import Image, ImageDraw

    paper = {"L": 255, "1": 1, "RGB": (250, 250, 240), "RGBA": (0, 0, 0, 0), "LA": (255, 0),
             "I;16": 65535, "P": 0, "CMYK": (0, 0, 0, 0)}[mode]
    ink = {"L": 0, "1": 0, "RGB": (10, 10, 90), "RGBA": (0, 0, 0, 255), "LA": (0, 255),
           "I;16": 0, "P": 1, "CMYK": (0, 0, 0, 255)}[mode]
    image = Image.new(mode, size, paper)
    if mode == "P":
        image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    if mode == "I;16":
        image = Image.new("I", size, paper)
        ImageDraw.Draw(image).line([(4, 5), (20, 5), (10, 35)], fill=ink, width=4)
        return image.convert("I;16")
    ImageDraw.Draw(image).line([(4, 5), (20, 5), (10, 35)], fill=ink, width=4)
    return image


def image_seeds() -> list[bytes]:
    """A hand-drawn 7 in several modes and formats: PNG, GIF, BMP, JPEG, TIFF, PPM, WebP, ICO."""
    seeds = []
    for mode, fmt, options in (("L", "PNG", {}), ("RGB", "PNG", {}), ("RGBA", "PNG", {}),
                               ("P", "PNG", {"transparency": 0}), ("1", "PNG", {}), ("I;16", "PNG", {}),
                               ("LA", "PNG", {}), ("P", "GIF", {}), ("L", "BMP", {}), ("RGB", "BMP", {}),
                               ("RGB", "JPEG", {"quality": 90}), ("L", "TIFF", {}), ("CMYK", "TIFF", {}),
                               ("L", "PPM", {}), ("RGB", "WEBP", {}), ("RGBA", "ICO", {})):
        buffer = io.BytesIO()
        try:
            _digit_image(mode).save(buffer, fmt, **options)
        except (KeyError, OSError, ValueError):  # a format this Pillow cannot write
            continue
        seeds.append(buffer.getvalue())
    return seeds


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_size(data: bytes, rng: random.Random) -> bytes:
    """A PNG seed whose IHDR width and height are replaced by boundary values (CRC fixed)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return data
    width = rng.choice((0, 1, 4096, 4097, 65535, 2**31 - 1, 2**31, 2**32 - 1, rng.randint(1, 100)))
    height = rng.choice((0, 1, 4096, 4097, 65535, 2**31 - 1, 2**31, 2**32 - 1, rng.randint(1, 100)))
    body = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + _png_chunk(b"IHDR", body) + data[33:]


@functools.lru_cache(maxsize=8)
def png_of_zeros(width: int, height: int, mode: str) -> bytes:
    """A valid PNG of ``width`` x ``height`` black pixels (mode L or RGBA), or, when its pixels
    would take more than 64 MB, one with a cut-off (but well-formed) 16 MB pixel stream."""
    depth, colour, channels = {"L": (8, 0, 1), "RGBA": (8, 6, 4), "I;16": (16, 0, 2)}[mode]
    raw = height * (1 + width * channels)
    stream = zlib_of_zeros(raw if raw <= 64 * MiB else 16 * MiB)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", stream) + _png_chunk(b"IEND", b"")


def png_bomb(data: bytes, rng: random.Random) -> bytes:
    """A small PNG whose pixels, decoded, take from 16 MB to many GB."""
    width, height = rng.choice(((4096, 4096), (4096, 4097), (8192, 8192), (20000, 20000), (65535, 65535),
                                (2**31 - 1, 1), (1, 2**20), (4000, 3000)))
    return png_of_zeros(width, height, rng.choice(("L", "RGBA", "I;16")))


def gif_with_size(data: bytes, rng: random.Random) -> bytes:
    """A GIF seed with boundary values for the screen and first image's width and height."""
    if not data.startswith(b"GIF8"):
        return data
    out = bytearray(data)
    sizes = (0, 1, 4096, 4097, 65535, rng.randint(1, 100))
    out[6:10] = struct.pack("<HH", rng.choice(sizes), rng.choice(sizes))
    start = out.find(b"\x2c", 13)  # image descriptor
    if start > 0 and start + 9 <= len(out):
        out[start + 5:start + 9] = struct.pack("<HH", rng.choice(sizes), rng.choice(sizes))
    return bytes(out)


def bmp_with_size(data: bytes, rng: random.Random) -> bytes:
    """A BMP seed with boundary values in width, height (negative: top-down), bits per pixel,
    compression and the pixel data offset."""
    if not data.startswith(b"BM") or len(data) < 34:
        return data
    out = bytearray(data)
    field = rng.choice(("size", "size", "bits", "compression", "offset"))
    if field == "size":
        values = (0, 1, -1, 4096, 65535, 2**31 - 1, -2**31, rng.randint(-100, 100))
        out[18:26] = struct.pack("<ii", rng.choice(values), rng.choice(values))
    elif field == "bits":
        out[28:30] = struct.pack("<H", rng.choice((0, 1, 2, 4, 8, 15, 16, 24, 32, 64, 65535)))
    elif field == "compression":
        out[30:34] = struct.pack("<I", rng.choice((0, 1, 2, 3, 4, 5, 6, 11, 2**32 - 1)))
    else:
        out[10:14] = struct.pack("<I", rng.choice((0, 14, 54, len(data), 2**32 - 1)))
    return bytes(out)


def jpeg_with_size(data: bytes, rng: random.Random) -> bytes:
    """A JPEG seed whose frame header (SOF0) claims boundary values for height and width."""
    start = data.find(b"\xff\xc0")
    if not data.startswith(b"\xff\xd8") or start < 0 or start + 9 > len(data):
        return data
    sizes = (0, 1, 4096, 4097, 65000, 65535, rng.randint(1, 100))
    return data[:start + 5] + struct.pack(">HH", rng.choice(sizes), rng.choice(sizes)) + data[start + 9:]


def image_mutators() -> list:
    return [png_with_size, png_bomb, gif_with_size, bmp_with_size, jpeg_with_size]


# -- .npz archives ---------------------------------------------------------------------------
def npy_bytes(header: str, payload: bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    """A ``.npy`` file from a header dict written as text (as numpy does) and raw data."""
    text = header.encode("latin1")
    length_field = 2 if version[0] == 1 else 4
    pad = -(10 + length_field - 2 + len(text) + 1) % 64
    text = text + b" " * pad + b"\n"
    size = struct.pack("<H" if length_field == 2 else "<I", len(text))
    return b"\x93NUMPY" + bytes(version) + size + text + payload


def npy_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def zip_of(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip archive of ``(name, bytes)`` members, duplicates allowed."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(buffer, "w", compression) as z:
            for name, body in members:
                z.writestr(name, body)
    return buffer.getvalue()


def config_json(**extra) -> bytes:
    """The nndl.json member: a model-like config as a uint8 .npy array."""
    config = {"format": "nndl-model", "version": 1, "network": {"sizes": [4, 3, 2]}, **extra}
    return npy_of(np.frombuffer(json.dumps(config).encode(), dtype=np.uint8))


def npz_seeds() -> list[bytes]:
    """Model-like archives: a JSON member and a few float arrays, stored and deflated."""
    rng = np.random.default_rng(0)
    members = [("nndl.json.npy", config_json()), ("param/0/w.npy", npy_of(rng.normal(size=(3, 4)))),
               ("param/0/b.npy", npy_of(np.zeros(3))),
               ("param/1/w.npy", npy_of(rng.normal(size=(2, 3)).astype(np.float32))),
               ("buffer/0/n.npy", npy_of(np.arange(5, dtype=np.int64)))]
    return [zip_of(members), zip_of(members, zipfile.ZIP_DEFLATED), zip_of(members[:1])]


NPY_DESCRS = ("'<f8'", "'<f4'", "'|u1'", "'>i4'", "'|b1'", "'|O'", "'<U10'", "'|V8'", "'<c16'", "'<M8[s]'",
              "[('a', '<f8')]", "('<f8', (2,))", "'garbage'", "3", "'<f2'", "'<f16'")
#: Shapes as a .npy header writes them, with the element count each needs (3 where it has none).
NPY_SHAPES = (("()", 1), ("(0,)", 0), ("(3,)", 3), ("(3, 4)", 12), ("(-1,)", 3), ("(2**62,)", 3),
              ("(4611686018427387904,)", 2**62), ("(1000000, 1000000)", 10**12), ("(3.0,)", 3), ("('a',)", 3),
              ("[3]", 3), ("None", 3), ("(True,)", 1), ("(" + "1, " * 40 + ")", 1), ("(16777216,)", 2**24))


def crafted_npy(rng: random.Random) -> bytes:
    """A .npy member with a random dtype, shape and order, and about the data they need (or not)."""
    descr, (shape, count) = rng.choice(NPY_DESCRS), rng.choice(NPY_SHAPES)
    order = rng.choice(("False", "False", "True", "'x'"))
    keys = [f"'descr': {descr}", f"'fortran_order': {order}", f"'shape': {shape}"]
    if rng.random() < 0.1:
        keys.pop(rng.randrange(3))
    if rng.random() < 0.05:
        keys.append("'extra': 1")
    header = "{" + ", ".join(keys) + ", }"
    if rng.random() < 0.05:
        header = rng.choice(("{" * 500, "[" + "(" * 300 + ")" * 300 + "]", "__import__('os')", "x" * 20000))
    need = count * 8
    size = rng.choice((min(need, MiB), min(need, MiB) + 1, max(min(need, MiB) - 1, 0), 0, rng.randint(0, 64)))
    version = rng.choice(((1, 0), (1, 0), (2, 0), (3, 0), (0, 9)))
    return npy_bytes(header, rng.randbytes(size), version)


def crafted_json_member(rng: random.Random) -> bytes:
    """The nndl.json member with nasty JSON: deep, huge, NaN, duplicate keys, bad UTF-8, not an object."""
    kind = rng.choice(("deep", "huge", "nan", "infinity", "dup", "utf8", "list", "bigint", "bigfloat",
                       "ok", "notuint8", "2d"))
    text = {
        "deep": "[" * rng.choice((50, 1000, 100_000)) + "]" * rng.choice((0, 50, 1000)),
        "huge": '{"format": "nndl-model", "pad": "' + "x" * rng.choice((MiB, 20 * MiB)) + '"}',
        "nan": '{"format": "nndl-model", "version": NaN}',
        "infinity": '{"format": "nndl-model", "lr": -Infinity}',
        "dup": '{"format": "nndl-model", "format": "other"}',
        "utf8": '{"format": "\xff\xfe"}',
        "list": "[1, 2, 3]",
        "bigint": '{"version": ' + "9" * 5000 + "}",
        "bigfloat": '{"version": 1e999}',
        "ok": '{"format": "nndl-model", "version": 1}',
        "notuint8": None, "2d": None,
    }[kind]
    if kind == "notuint8":
        return npy_of(np.arange(10, dtype=np.float64))
    if kind == "2d":
        return npy_of(np.frombuffer(b'{"a": 1}', dtype=np.uint8).reshape(2, 4))
    raw = text.encode("latin1") if kind == "utf8" else text.encode()
    return npy_of(np.frombuffer(raw, dtype=np.uint8))


@functools.lru_cache(maxsize=1)
def many_members_zip(count: int = 12_000) -> bytes:
    """An archive of ``count`` tiny members (more than a model has)."""
    small = npy_of(np.zeros(1))
    return zip_of([(f"m{i}.npy", small) for i in range(count)])


@functools.lru_cache(maxsize=4)
def zip_bomb_member(n_bytes: int) -> bytes:
    """An archive whose one array member is ``n_bytes`` of float64 zeros, deflated (about 1000:1)."""
    header = npy_bytes(f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({n_bytes // 8},), }}", b"")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("param/0/w.npy", "w", force_zip64=True) as member:
            member.write(header)
            block = bytes(MiB)
            for start in range(0, n_bytes, MiB):
                member.write(block[:min(MiB, n_bytes - start)])
        z.writestr("nndl.json.npy", config_json())
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def many_small_bombs() -> bytes:
    """400 members of 64 kB of zeros each, deflated: each within its own slack, 25 MB in all."""
    return zip_of([(f"m{i}.npy", bytes(64000)) for i in range(400)], zipfile.ZIP_DEFLATED)


def _patch_offset(archive: bytes, rng: random.Random) -> bytes:
    """Point one central-directory entry's local header elsewhere (another member's, or anywhere):
    overlapping members, the trick of non-recursive zip bombs."""
    out = bytearray(archive)
    central = [i for i in range(len(out) - 4) if out[i:i + 4] == b"PK\x01\x02"]
    local = [i for i in range(len(out) - 4) if out[i:i + 4] == b"PK\x03\x04"]
    if not central:
        return archive
    value = rng.choice(local) if local and rng.random() < 0.8 else rng.randrange(max(len(out), 1))
    i = rng.choice(central)
    out[i + 42:i + 46] = struct.pack("<I", value)
    return bytes(out)


def _patch_sizes(archive: bytes, rng: random.Random) -> bytes:
    """Change the declared uncompressed size (or compressed size) of one member in the central
    directory and its local header: a lying zip."""
    out = bytearray(archive)
    central = [i for i in range(len(out) - 4) if out[i:i + 4] == b"PK\x01\x02"]
    if not central:
        return archive
    i = rng.choice(central)
    offset = 24 if rng.random() < 0.7 else 20  # uncompressed size, or compressed size
    value = rng.choice((0, 1, 7, 2**31, 2**32 - 1, rng.randint(0, 4096)))
    out[i + offset:i + offset + 4] = struct.pack("<I", value)
    local = struct.unpack("<I", out[i + 42:i + 46])[0]
    if local + 26 <= len(out) and out[local:local + 4] == b"PK\x03\x04":
        out[local + offset - 2:local + offset + 2] = struct.pack("<I", value)
    return bytes(out)


def crafted_npz(data: bytes, rng: random.Random) -> bytes:
    """An archive with crafted members: lying .npy headers, odd dtypes, duplicates, foreign or
    compressed-with-other-codecs members, zip bombs (one member, many small ones, overlapping
    members), thousands of members, nasty JSON, lying sizes and offsets."""
    kind = rng.choice(("npy", "npy", "npy", "json", "json", "duplicate", "foreign", "codec", "bomb",
                       "many", "lie", "lie", "empty", "names", "overlap", "small-bombs"))
    base = [("nndl.json.npy", config_json()), ("param/0/w.npy", npy_of(np.ones((2, 2))))]
    if kind == "npy":
        return zip_of(base + [(f"param/{i}/x.npy", crafted_npy(rng)) for i in range(rng.randint(1, 3))],
                      rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)))
    if kind == "json":
        return zip_of([("nndl.json.npy", crafted_json_member(rng))] + base[1:], zipfile.ZIP_DEFLATED)
    if kind == "duplicate":
        return zip_of(base + [rng.choice(base)])
    if kind == "foreign":
        return zip_of(base + [(rng.choice(("notes.txt", "param/0/w", "x.npy/", "../evil.npy")), b"hello")])
    if kind == "codec":
        codec = rng.choice((zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA))
        return zip_of(base + [("param/1/w.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, "
                                                           "'shape': (262144,), }", bytes(2 * MiB)))], codec)
    if kind == "bomb":
        return zip_bomb_member(rng.choice((16 * MiB, 64 * MiB)))
    if kind == "many":
        return many_members_zip()
    if kind == "lie":
        return _patch_sizes(zip_of(base, rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))), rng)
    if kind == "empty":
        return zip_of([])
    if kind == "overlap":
        return _patch_offset(zip_of(base * 2 if rng.random() < 0.3 else base + [("x.npy", npy_of(np.zeros(9)))],
                                    rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))), rng)
    if kind == "small-bombs":
        return many_small_bombs()
    name = rng.choice((".npy", "dir/", "a" * 300 + ".npy", "é.npy", "nndl.json.npy\x00x"))
    return zip_of([(name, npy_of(np.zeros(2)))] + base)


def npz_mutators() -> list:
    return [crafted_npz, crafted_npz]


# -- nndl model files and checkpoints ------------------------------------------------------------
def _saved(write) -> bytes:
    """The bytes of a file that ``write(path)`` writes."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        write(path)
        return path.read_bytes()


def model_seeds() -> list[bytes]:
    """Real model files of every kind nndl writes: dense with a preprocessor and class names,
    conv + pooling + batch norm + dropout, tied and shared weights inside a nested network,
    a regressor with its target scaling."""
    from nndl import io as nndl_io
    from nndl.layers import Dense, TiedDense
    from nndl.network import Network
    from nndl.preprocessing import PCA, Standardize
    from nndl.spec import parse_spec

    rng = np.random.default_rng(0)
    dense = Network.from_sizes([6, 5, 3], seed=1)
    dense.preprocessor = Standardize().fit(rng.normal(size=(20, 6)))
    dense.class_names = ["a", "b", "c"]
    conv = Network(parse_spec("conv(3,3,pad=same) bn relu pool(2) dropout(0.2) dense(4) tanh softmax(2)", (1, 6, 6)),
                   (1, 6, 6), cost="log_likelihood", seed=2)
    encoder, shared = Dense(3, activation="tanh"), Dense(6, activation="tanh")
    inner = Network([shared, shared, encoder, TiedDense(encoder, activation="linear")], (6,), cost="quadratic")
    nested = Network([inner, Dense(2, activation="linear")], (6,), cost="quadratic", seed=3)
    regressor = Network.from_sizes([4, 3, 1], output_activation="linear", cost="quadratic")
    regressor.preprocessor = PCA(4).fit(rng.normal(size=(30, 4)))
    regressor.target_preprocessor = Standardize().fit(rng.normal(size=(30, 1)))
    return [_saved(lambda p, n=n: nndl_io.save(n, p, {"settings": {"task": "classification"}}))
            for n in (dense, conv, nested, regressor)]


def checkpoint_seeds() -> list[bytes]:
    """Checkpoints of short runs with state in every part (momentum or Adam, L2, the plateau
    schedule, early stopping's best weights, dropout's generator)."""
    from nndl.callbacks import Checkpoint, EarlyStopping, LearningRateSchedule
    from nndl.models import Classifier
    from nndl.network import Network
    from nndl.optim import L2, Adam, HalveOnPlateau, Momentum
    from nndl.trainer import Trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    seeds = []
    for optimizer in (Momentum(0.1, 0.5), Adam(0.01)):
        def write(path, optimizer=optimizer):
            callbacks = [EarlyStopping("validation_accuracy", patience=5), LearningRateSchedule(HalveOnPlateau(2)),
                         Checkpoint(path)]
            Trainer(8, callbacks, verbose=False).fit(Classifier(Network.from_sizes([5, 4, 2], dropout=0.2),
                                                                optimizer, [L2(0.1)]), (x, y), 2, validation_data=(x, y))
        seeds.append(_saved(write))
    return seeds


def _members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def _json_nodes(value, path=()):
    """(path, value) of every node of a parsed JSON value."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_nodes(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_nodes(item, path + (i,))


#: Values a crafted config may hold in any place: wrong types, huge or negative numbers,
#: deep or wide structures, names of other things.
CONFIG_VALUES = (None, True, False, 0, -1, 1, 2, 3.5, -0.0, 1e308, -1e308, 10 ** 9, 10 ** 12, 2 ** 63, 2 ** 64 + 1,
                 "", "x", "dense", "network", "conv", "nope", "valid", "relu", "softmax", "../../etc/passwd",
                 "x" * 5000, [], [1], [0], [-1], [10 ** 9, 10 ** 9], [1, 2, 3, 4, 5, 6, 7, 8, 9], [[[]]], {}, {"type": "dense"},
                 {"type": "network", "layers": [], "input_shape": [1], "cost": "quadratic"},
                 {"shared": 0}, {"shared": 10 ** 9}, {"__array__": "state/nope"}, {"__array__": 3})


def crafted_config(data: bytes, rng: random.Random) -> bytes:
    """The archive with its nndl.json changed in one to three places: a value replaced (by a
    wrong type, a huge number, a deep structure), a key removed or added, a list item repeated."""
    members = _members(data)
    index = next((i for i, (name, _) in enumerate(members) if name == "nndl.json.npy"), None)
    if index is None:
        return data
    array = np.load(io.BytesIO(members[index][1]), allow_pickle=False)
    config = json.loads(array.tobytes())
    for _ in range(rng.randint(1, 3)):
        path, _ = rng.choice(list(_json_nodes(config))[1:] or [((), None)])
        if not path:
            break
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        key, action = path[-1], rng.random()
        if action < 0.7:
            parent[key] = rng.choice(CONFIG_VALUES)
        elif action < 0.85:
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(key, parent[key])
        else:
            parent[rng.choice(("extra", "units", "type", "tied_to", "shared", "padding"))] = rng.choice(CONFIG_VALUES)
    members[index] = ("nndl.json.npy", npy_of(np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)))
    return zip_of(members, rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)))


def crafted_weights(data: bytes, rng: random.Random) -> bytes:
    """The archive with one array member replaced: another shape, another dtype, NaN or infinity,
    zero-sized, or removed."""
    members = _members(data)
    arrays = [i for i, (name, _) in enumerate(members) if name != "nndl.json.npy"]
    if not arrays:
        return data
    i = rng.choice(arrays)
    old = np.load(io.BytesIO(members[i][1]), allow_pickle=False)
    kind = rng.choice(("shape", "dtype", "nan", "inf", "empty", "remove", "scalar", "bigger"))
    if kind == "remove":
        del members[i]
        return zip_of(members)
    new = {"shape": lambda: np.zeros(tuple(d + 1 for d in old.shape) or (2,), old.dtype),
           "dtype": lambda: old.astype(rng.choice((np.int64, np.uint8, np.bool_, np.float16, np.complex64))),
           "nan": lambda: np.full(old.shape, np.nan, np.float32),
           "inf": lambda: np.full(old.shape, -np.inf),
           "empty": lambda: np.zeros((0,) + old.shape[1:], old.dtype),
           "scalar": lambda: np.float64(3.0),
           "bigger": lambda: np.zeros((1000,) + old.shape, np.float32) if old.size < 1000 else old}[kind]()
    members[i] = (members[i][0], npy_of(np.asarray(new)))
    return zip_of(members)


def model_mutators() -> list:
    return [crafted_config] * 3 + [crafted_weights] * 2 + [crafted_npz]


def command_model_seeds(data_root: Path) -> list[bytes]:
    """Models as ``nndl train`` saves them for the shared tables, whose settings name those
    tables (so ``nndl evaluate MODEL`` reads them): a classifier on iris, a regressor on diabetes."""
    from nndl import io as nndl_io
    from nndl.data.csv_table import load_csv
    from nndl.network import Network

    seeds = []
    for table, task, sizes, out in (("iris/iris.csv", "classification", [4, 5, 3], "softmax"),
                                    ("diabetes/diabetes.csv", "regression", [10, 4, 1], "linear")):
        splits, pre = load_csv(data_root / table)
        net = Network.from_sizes(sizes, output_activation=out, cost="log_likelihood" if out == "softmax" else
                                 "quadratic")
        net.preprocessor, net.target_preprocessor = pre, splits.target_preprocessor
        net.class_names = splits.train.class_names
        settings = {"data": str(data_root / table), "task": task, "seed": 0, "label": None, "epochs": 1}
        seeds.append(_saved(lambda p, n=net, s=settings: nndl_io.save(n, p, {"settings": s})))
    return seeds
