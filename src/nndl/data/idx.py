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


def _read_bytes(path: Path) -> bytes:
    """Return the content of ``path``, gunzipped if it starts with the gzip magic bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NndlError(f"{path}: no such file") from None
    except OSError as exc:
        raise NndlError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise NndlError(f"{path}: corrupt gzip data ({exc or type(exc).__name__}); "
                        f"delete the file and fetch it again") from None


def read_idx(path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into an array.

    Parameters
    ----------
    path : str or Path
        The file.
    ndim : int, optional
        If given, the number of dimensions the file must have (3 for images, 1 for labels).

    Returns
    -------
    numpy.ndarray
        Shape from the header, native byte order.  Byte arrays are read-only views of
        the file's bytes (no copy).

    Raises
    ------
    NndlError
        Naming the file: unreadable or corrupt gzip, a bad magic number, an unknown type
        code, the wrong number of dimensions, or a payload whose length is not the
        product of the dimensions times the element size (truncated or trailing bytes).
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise NndlError(f"{path}: not an IDX file (only {len(data)} bytes)")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise NndlError(f"{path}: not an IDX file (magic number {data[:4].hex(' ')}; expected "
                        f"00 00 <type 08/09/0b/0c/0d/0e> <dims>)")
    dtype, dims_count = IDX_TYPES[data[2]], data[3]
    if ndim is not None and dims_count != ndim:
        raise NndlError(f"{path}: expected an IDX file with {ndim} dimension(s), "
                        f"this one has {dims_count}")
    header = 4 + 4 * dims_count
    if len(data) < header:
        raise NndlError(f"{path}: truncated IDX header ({len(data)} bytes, the {dims_count} "
                        f"dimension sizes need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=dims_count, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes"
        raise NndlError(f"{path}: {what}: shape {shape} needs {expected} bytes of data "
                        f"after the header, the file has {actual}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
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
