"""Read and write IDX files, the format of the MNIST database.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (``TT`` the element type code,
``NN`` the number of dimensions), then ``NN`` big-endian uint32 dimension sizes, then
the elements in C order, big-endian.  Type codes::

    0x08 unsigned byte   0x09 signed byte   0x0B int16
    0x0C int32           0x0D float32       0x0E float64

Files may be gzip-compressed; compression is recognised by the gzip magic bytes
``1f 8b``, not by the file name.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from nndl.errors import NndlError
from nndl.files import atomic_write

#: IDX element type code -> big-endian NumPy dtype.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in IDX_TYPES.items()}
GZIP_MAGIC = b"\x1f\x8b"

#: Largest payload read, in bytes: EMNIST ByClass, the biggest IDX data set in use, has 547 MB of images.
MAX_IDX_BYTES = 1 << 30
#: deflate cannot do better than about 1032:1 (a 258-byte match costs at least 2 bits), so a
#: gzipped file can hold at most this many times its own size.
GZIP_MAX_RATIO = 1032
#: Beyond :data:`GZIP_BOMB_FLOOR` bytes a gzipped file may hold at most this many times its
#: size: real IDX data compress 2:1 to 5:1 (MNIST's images 4.7:1), so a claim of 1 GB from
#: 1 MB of zeros is a decompression bomb, not data.
GZIP_PLAUSIBLE_RATIO = 100
#: Payloads up to this size (bytes) are allowed any ratio deflate can reach.
GZIP_BOMB_FLOOR = 64 << 20
#: NumPy's limit on the number of dimensions of an array.
MAX_IDX_DIMS = 64
CHUNK = 1 << 20  # bytes decompressed at a time


def _reason(exc: BaseException) -> str:
    """An exception's message on one line (or its type's name if it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _corrupt_gzip(path: Path, exc: BaseException) -> NndlError:
    return NndlError(f"{path}: corrupt gzip data ({_reason(exc)}); delete the file and fetch it again")


def _read_header(stream, path: Path, ndim: int | None) -> tuple[np.dtype, tuple[int, ...], int]:
    """Read and check the magic number and dimension sizes; return (dtype, shape, header bytes)."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise NndlError(f"{path}: not an IDX file (only {len(magic)} bytes)")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES:
        raise NndlError(f"{path}: not an IDX file (magic number {magic.hex(' ')}; expected "
                        f"00 00 <type 08/09/0b/0c/0d/0e> <dims>)")
    dtype, dims_count = IDX_TYPES[magic[2]], magic[3]
    if ndim is not None and dims_count != ndim:
        raise NndlError(f"{path}: expected an IDX file with {ndim} dimension(s), "
                        f"this one has {dims_count}")
    if dims_count > MAX_IDX_DIMS:
        raise NndlError(f"{path}: the IDX header claims {dims_count} dimensions; NumPy arrays have "
                        f"at most {MAX_IDX_DIMS}")
    header = 4 + 4 * dims_count
    sizes = stream.read(4 * dims_count)
    if len(sizes) < 4 * dims_count:
        raise NndlError(f"{path}: truncated IDX header ({4 + len(sizes)} bytes, the {dims_count} "
                        f"dimension sizes need {header})")
    shape = tuple(int.from_bytes(sizes[i:i + 4], "big") for i in range(0, len(sizes), 4))
    return dtype, shape, header


def _check_claim(path: Path, shape: tuple[int, ...], itemsize: int, file_size: int, header: int,
                 compressed: bool) -> int:
    """Return the payload's size in bytes, ``prod(shape) * itemsize``, after refusing a header
    whose promised payload is too big to read or to be in this file.

    Uncompressed, the payload must be exactly the file's size minus the header.  Gzipped,
    header + payload must be at most ``min(GZIP_MAX_RATIO * size, max(GZIP_BOMB_FLOOR,
    GZIP_PLAUSIBLE_RATIO * size))`` for a file of ``size`` bytes.  Either way it must be at
    most :data:`MAX_IDX_BYTES`.
    """
    expected = math.prod(shape) * itemsize  # Python integers: no overflow
    if math.prod(d or 1 for d in shape) * itemsize > MAX_IDX_BYTES:  # NumPy needs this even if a size is 0
        raise NndlError(f"{path}: the IDX header claims shape {shape}, more than the {MAX_IDX_BYTES} "
                        f"bytes of data nndl reads from one IDX file")
    if not compressed:
        actual = file_size - header
        if actual != expected:
            what = "truncated" if actual < expected else "trailing bytes"
            raise NndlError(f"{path}: {what}: shape {shape} needs {expected} bytes of data "
                            f"after the header, the file has {actual}")
    elif header + expected > _gzip_capacity(file_size):
        raise NndlError(f"{path}: the IDX header claims shape {shape}, {expected} bytes of data, "
                        f"but {file_size} gzipped bytes hold at most {_gzip_capacity(file_size)} "
                        f"(deflate cannot pass {GZIP_MAX_RATIO}:1, and data beyond "
                        f"{GZIP_BOMB_FLOOR >> 20} MB never compress {GZIP_PLAUSIBLE_RATIO}:1)")
    return expected


def _gzip_capacity(file_size: int) -> int:
    """The most bytes a gzipped IDX file of ``file_size`` bytes is believed to hold."""
    return min(GZIP_MAX_RATIO * file_size, max(GZIP_BOMB_FLOOR, GZIP_PLAUSIBLE_RATIO * file_size))


def _read_payload(stream, path: Path, shape: tuple[int, ...], expected: int) -> bytearray:
    """Read exactly ``expected`` bytes in chunks of at most :data:`CHUNK`; refuse a stream that
    ends early or goes on after them (looking at most one more chunk ahead).

    The buffer grows with the data that actually arrive, so a gzip stream that promises
    1 GB and holds 1 MB costs 1 MB.
    """
    data = bytearray()
    while len(data) < expected:
        block = stream.read(min(CHUNK, expected - len(data)))
        if not block:
            raise NndlError(f"{path}: truncated: shape {shape} needs {expected} bytes of data "
                            f"after the header, the file has {len(data)}")
        data += block
    extra = len(stream.read(CHUNK))
    if extra:
        more = f"{expected + extra}" if extra < CHUNK else f"more than {expected + extra - 1}"
        raise NndlError(f"{path}: trailing bytes: shape {shape} needs {expected} bytes of data "
                        f"after the header, the file has {more}")
    return data


def _read_idx_stream(stream, path: Path, file_size: int, compressed: bool,
                     ndim: int | None) -> tuple[np.dtype, tuple[int, ...], bytearray]:
    """Header, checks, payload: (dtype, shape, data) from an open raw or gzip stream."""
    dtype, shape, header = _read_header(stream, path, ndim)
    expected = _check_claim(path, shape, dtype.itemsize, file_size, header, compressed)
    return dtype, shape, _read_payload(stream, path, shape, expected)


def read_idx(path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into an array.

    Nothing is allocated before the header is checked: the payload it promises must be
    at most :data:`MAX_IDX_BYTES`, exactly the rest of an uncompressed file, and no more
    than a gzipped file can plausibly hold (see :func:`_check_claim`).  A gzip stream is
    decompressed in chunks and reading stops as soon as it gives more than promised.

    Parameters
    ----------
    path : str or Path
        The file.
    ndim : int, optional
        If given, the number of dimensions the file must have (3 for images, 1 for labels).

    Returns
    -------
    numpy.ndarray
        Shape from the header, native byte order.

    Raises
    ------
    NndlError
        Naming the file: unreadable or corrupt gzip, a bad magic number, an unknown type
        code, the wrong number of dimensions, a header promising too much, or a payload
        whose length is not the product of the dimensions times the element size
        (truncated or trailing bytes).
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            file_size = os.fstat(f.fileno()).st_size
            compressed = f.read(2) == GZIP_MAGIC
            f.seek(0)
            if not compressed:
                dtype, shape, data = _read_idx_stream(f, path, file_size, False, ndim)
            else:
                try:
                    with gzip.GzipFile(fileobj=f) as stream:
                        dtype, shape, data = _read_idx_stream(stream, path, file_size, True, ndim)
                except (OSError, EOFError, zlib.error, struct.error) as exc:  # BadGzipFile is an OSError
                    raise _corrupt_gzip(path, exc) from None
    except FileNotFoundError:
        raise NndlError(f"{path}: no such file") from None
    except OSError as exc:
        raise NndlError(f"{path}: cannot read: {exc.strerror or _reason(exc)}") from None
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return array


def write_idx(path, array, compress: bool | None = None) -> Path:
    """Write ``array`` to ``path`` as an IDX file, atomically.

    Parameters
    ----------
    path : str or Path
        Destination; written to a temporary file in the same folder, then renamed.
    array : array_like
        uint8, int8, int16, int32, float32 or float64; at least 1-D.
    compress : bool, optional
        gzip the file; by default, when the name ends in ``.gz``.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.ndim < 1 or array.ndim > 255:
        raise NndlError(f"{path}: cannot write an array of {array.dtype} with shape "
                        f"{array.shape} as IDX")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if compress if compress is not None else path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    try:
        with atomic_write(path) as f:
            f.write(payload)
    except OSError as exc:
        raise NndlError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path
