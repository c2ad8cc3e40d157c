"""Read ``.npz`` archives (models, checkpoints) without trusting anything in them.

A model file is shared and downloaded, so reading one must not crash, hang or allocate
without bound, whatever its bytes.  ``numpy.load`` believes what an archive says; this
module checks it first, in four steps, each before any work that depends on it:

1. **The zip's central directory**: at most ``max_members`` members, each named
   ``NAME.npy`` once, stored or deflated (the only methods NumPy writes), not encrypted,
   inside the file and not overlapping, declaring at most ``max_total_bytes`` in all, and
   no member (nor all together) expanding more than ``max_ratio`` times its compressed
   size (plus :data:`RATIO_SLACK` a member and :data:`TOTAL_RATIO_SLACK` in all, so small
   arrays of zeros pass).  Deflate itself cannot go past about 1032:1; float weights
   compress to about 1.1:1.
2. **Each wanted member's .npy header**, read into memory (at most
   :data:`MAX_HEADER_BYTES`) and parsed by NumPy's own header reader, which evaluates
   nothing: format 1.0 or 2.0, a numeric dtype (bool, integer or float; no objects,
   strings, records or sub-arrays), a shape of at most 64 non-negative integers, and
   ``elements * itemsize`` equal to the member's declared size minus the header.
3. **The data**, read in chunks into an array of exactly that size: a stream that ends
   early or goes on is refused, and ``zipfile`` checks the CRC.  Members that are not
   wanted are never read.
4. **JSON** (the ``nndl.json`` member, UTF-8 bytes in a uint8 array): at most
   ``max_json_bytes``, nested at most ``max_json_depth`` deep, no NaN or Infinity (not
   JSON), no number out of float range, no key twice (:mod:`nndl.schema`, whose
   :func:`~nndl.schema.check_schema` then checks the keys and types of the parsed object).

Every failure is one :class:`~nndl.errors.NndlError` line naming the file and the member.
Nothing here unpickles or evaluates anything.

>>> config, arrays = read_npz("model.npz")                      # doctest: +SKIP
>>> with NpzArchive("model.npz") as archive:                    # doctest: +SKIP
...     config = archive.read_json("nndl.json")
...     w = archive.read_array("param/0/w", shape=(30, 784))
"""
from __future__ import annotations

import io
import math
import struct
import tokenize
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from numpy.lib import format as npy_format

from nndl.errors import NndlError
from nndl.schema import MAX_JSON_BYTES, MAX_JSON_DEPTH, parse_json

#: Most members: a checkpoint stores about five arrays per parameter (weights, two optimizer
#: moments, the best weights), and nndl's deepest nets have well under a hundred parameters.
MAX_MEMBERS = 10_000
#: Most bytes all members may declare, uncompressed: 500 million float32 weights, about a
#: hundred times nndl's biggest nets.
MAX_TOTAL_BYTES = 2 << 30
#: Most a member may expand beyond its compressed size: NumPy stores members (1:1) and
#: deflated weights shrink to about 1.1:1; only large constant arrays compress further.
MAX_RATIO = 100
#: Bytes a member may expand beyond ``max_ratio`` times its compressed size, so that small
#: arrays of zeros (fresh biases, optimizer moments at step 0) are never refused.
RATIO_SLACK = 1 << 16
#: Bytes all members together may expand beyond ``max_ratio`` times their compressed sizes
#: (per-member slack adds up: 10,000 members of 64 kB of zeros would be 640 MB).
TOTAL_RATIO_SLACK = 16 << 20
#: Longest .npy header: NumPy's own limit for reading headers safely.
MAX_HEADER_BYTES = 10_000
#: Most dimensions of an array: NumPy's limit.
MAX_DIMS = 64
#: dtype kinds an array member may have: bool, signed and unsigned integers, floats.
NUMERIC_KINDS = "biuf"
_KIND_NAMES = {"b": "bool", "i": "signed integers", "u": "unsigned integers", "f": "floats",
               "c": "complex"}
CHUNK = 1 << 20  # bytes read at a time

# What zipfile and zlib raise for broken archives and members: BadZipFile, LargeZipFile,
# zlib.error, a file cut short (EOFError, struct.error), compression methods or encryption it
# does not handle (NotImplementedError, RuntimeError), odd names or sizes (ValueError, ...).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, struct.error,
               NotImplementedError, RuntimeError, ValueError, OverflowError, IndexError, KeyError)
# What parsing a .npy header can raise besides ValueError: odd descriptors (TypeError), a header
# that is not a literal (SyntaxError; TokenError from NumPy's fix-up of Python 2 headers),
# nesting beyond the parser (RecursionError, MemoryError).
_HEADER_ERRORS = (ValueError, TypeError, SyntaxError, tokenize.TokenError, RecursionError, MemoryError,
                  KeyError, OverflowError, UnicodeDecodeError, AttributeError)


def _reason(exc: BaseException, most: int = 200) -> str:
    """An exception's message on one line, at most ``most`` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= most else text[:most] + "..."


def _name(member: str) -> str:
    """A member's name as messages show it: quoted, escaped, at most 80 characters."""
    return repr(member if len(member) <= 80 else member[:80] + "...")


# -- 1. the central directory -------------------------------------------------------------------
#: The zip's end-of-central-directory record: signature, two disk numbers, entries on this disk,
#: entries in all, directory size and offset, comment length.
_END_RECORD = struct.Struct("<4s4H2LH")


#: Most bytes of central directory per member allowed: NumPy's entries take about 100 (46 fixed,
#: the name, a zip64 field); ``zipfile`` parses the directory to its declared size.
MAX_ENTRY_BYTES = 1024


def _end_record(path: Path) -> tuple[int, int] | None:
    """(members, directory bytes) as the end-of-central-directory record declares them, or
    None if there is no such record.  A count of 0xFFFF means "see the zip64 record", that
    is, at least 65535.  Read before ``zipfile`` parses the directory, which takes time in
    proportion to its size."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, io.SEEK_END)
            f.seek(max(0, size - _END_RECORD.size - 0xFFFF))  # the record, then a comment of < 64 kB
            tail = f.read()
    except OSError:
        return None  # _open_zip says what is wrong
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _END_RECORD.size > len(tail):
        return None
    fields = _END_RECORD.unpack_from(tail, at)
    return fields[4], fields[5]


def _check_end_record(path: Path, max_members: int) -> None:
    """Refuse an archive whose end record declares more members, or a bigger directory, than allowed."""
    declared = _end_record(path)
    if declared is None:
        return
    members, directory = declared
    if members > max_members:
        raise NndlError(f"{path}: {members} members{' or more' if members == 0xFFFF else ''}; "
                        f"nndl reads archives of at most {max_members}")
    if directory > max_members * MAX_ENTRY_BYTES:
        raise NndlError(f"{path}: a central directory of {directory} bytes; {max_members} members "
                        f"need at most {max_members * MAX_ENTRY_BYTES}")


def _open_zip(path: Path) -> zipfile.ZipFile:
    """Open ``path`` as a zip archive (reads only its central directory); NndlError if it is not one."""
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise NndlError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NndlError(f"{path}: is a folder, not a .npz archive") from None
    except PermissionError as exc:
        raise NndlError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except _ZIP_ERRORS as exc:
        raise NndlError(f"{path}: not a .npz archive ({_reason(exc)})") from None


def _check_member(path: Path, info: zipfile.ZipInfo, file_size: int, max_ratio: float) -> str:
    """Check one central-directory entry; return the member's array name (without ``.npy``)."""
    where = f"{path}: member {_name(info.filename)}"
    if not info.filename.endswith(".npy") or info.is_dir():
        raise NndlError(f"{where} is not an array (.npy); an .npz archive holds only arrays")
    if info.flag_bits & 0x1:
        raise NndlError(f"{where} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise NndlError(f"{where} uses compression method {info.compress_type}; NumPy writes only "
                        f"stored ({zipfile.ZIP_STORED}) or deflated ({zipfile.ZIP_DEFLATED}) members")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise NndlError(f"{where} is stored uncompressed but declares {info.compress_size} bytes "
                        f"stored and {info.file_size} bytes of data")
    if info.file_size > max_ratio * info.compress_size + RATIO_SLACK:
        raise NndlError(f"{where} expands {info.compress_size} bytes to {info.file_size}, more than "
                        f"{max_ratio:g} times (a compression bomb, or sizes that lie)")
    if info.header_offset + info.compress_size > file_size:
        raise NndlError(f"{where} ends past the end of the file ({file_size} bytes); truncated archive?")
    return info.filename[:-len(".npy")]


def _check_directory(path: Path, archive: zipfile.ZipFile, max_members: int, max_total_bytes: int,
                     max_ratio: float) -> dict[str, zipfile.ZipInfo]:
    """Check the whole central directory (see the module docstring); return name -> entry."""
    infos = archive.infolist()
    if len(infos) > max_members:
        raise NndlError(f"{path}: {len(infos)} members; nndl reads archives of at most {max_members}")
    file_size = path.stat().st_size
    members = {}
    for info in infos:
        name = _check_member(path, info, file_size, max_ratio)
        if name in members:
            raise NndlError(f"{path}: member {_name(info.filename)} appears twice")
        members[name] = info
    _check_no_overlap(path, infos)
    total, packed = sum(i.file_size for i in infos), sum(i.compress_size for i in infos)
    if total > max_total_bytes:
        raise NndlError(f"{path}: the members declare {total} bytes of data; nndl reads at most "
                        f"{max_total_bytes} from one archive")
    if total > max_ratio * packed + TOTAL_RATIO_SLACK:
        raise NndlError(f"{path}: the members expand {packed} bytes to {total} in all, more than "
                        f"{max_ratio:g} times (a compression bomb, or sizes that lie)")
    return members


def _check_no_overlap(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse members whose stored bytes overlap: the trick of zip bombs that let many entries
    expand one compressed kernel.  Each member's data start after its own header, so a member
    must end (offset + compressed size) before the next one's header starts."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for a, b in zip(ordered, ordered[1:]):
        if a.header_offset + a.compress_size > b.header_offset:
            raise NndlError(f"{path}: members {_name(a.filename)} and {_name(b.filename)} overlap in the file "
                            f"(a zip bomb, or a corrupt directory)")


# -- 2. .npy headers -------------------------------------------------------------------------
@dataclass(frozen=True)
class NpyHeader:
    """What a member's .npy header says: shape, dtype, order, and where the data start."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    data_offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _read_exactly(stream, n: int, where: str, what: str) -> bytes:
    """``n`` bytes from ``stream`` (``n`` is small here), or NndlError if it ends first."""
    data = stream.read(n)
    if len(data) != n:
        raise NndlError(f"{where}: truncated {what} ({len(data)} of {n} bytes)")
    return data


def _parse_npy_header(stream, where: str) -> NpyHeader:
    """Read and parse a .npy header from ``stream``; no data are read.

    The magic string, version and header length are read here (so that a header claiming
    4 GB is refused unread); the header text, at most :data:`MAX_HEADER_BYTES`, goes to
    NumPy's parser (``ast.literal_eval``: literals only, nothing is evaluated).
    """
    magic = _read_exactly(stream, npy_format.MAGIC_LEN, where, ".npy magic string")
    if magic[:6] != npy_format.MAGIC_PREFIX:
        raise NndlError(f"{where}: not a .npy array (starts with {magic[:6]!r})")
    version = (magic[6], magic[7])
    if version not in ((1, 0), (2, 0)):
        raise NndlError(f"{where}: .npy format version {version[0]}.{version[1]}; nndl reads 1.0 and 2.0")
    length_field = _read_exactly(stream, 2 if version == (1, 0) else 4, where, ".npy header length")
    length = int.from_bytes(length_field, "little")
    if length > MAX_HEADER_BYTES:
        raise NndlError(f"{where}: a .npy header of {length} bytes; at most {MAX_HEADER_BYTES}")
    text = _read_exactly(stream, length, where, ".npy header")
    reader = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy warns about headers written by Python 2
            shape, fortran_order, dtype = reader(io.BytesIO(length_field + text),
                                                 max_header_size=MAX_HEADER_BYTES)
    except _HEADER_ERRORS as exc:
        raise NndlError(f"{where}: corrupt .npy header ({_reason(exc)})") from None
    offset = len(magic) + len(length_field) + length
    return NpyHeader(tuple(int(d) for d in shape), dtype, bool(fortran_order), offset)


def _check_header(header: NpyHeader, info: zipfile.ZipInfo, where: str, kinds: str,
                  max_bytes: int) -> None:
    """A numeric dtype, a sane shape, and exactly the member's declared size."""
    dtype, shape = header.dtype, header.shape
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None \
            or dtype.kind not in kinds or dtype.itemsize == 0:
        shown = dtype.str if dtype.fields is None else _reason(dtype.descr, most=80)
        allowed = ", ".join(_KIND_NAMES.get(k, k) for k in kinds)
        raise NndlError(f"{where}: dtype {shown} is not a plain numeric type ({allowed})")
    if len(shape) > MAX_DIMS or any(d < 0 for d in shape):
        raise NndlError(f"{where}: shape {shape[:8]}{'...' if len(shape) > 8 else ''} is not an array shape")
    if math.prod(d or 1 for d in shape) * dtype.itemsize > max_bytes:  # NumPy needs this even for a size 0
        raise NndlError(f"{where}: shape {shape} of {dtype.str} is more than the {max_bytes} bytes allowed")
    if header.data_offset + header.nbytes != info.file_size:
        raise NndlError(f"{where}: the header says shape {shape} of {dtype.str}, {header.nbytes} bytes, "
                        f"but the member holds {info.file_size - header.data_offset} bytes of data")



# -- 3. the data -----------------------------------------------------------------------------
def _read_data(stream, header: NpyHeader, where: str) -> np.ndarray:
    """Exactly ``header.nbytes`` bytes, read in chunks, as a new array; refuse a stream that ends
    early or goes on after them.  The buffer grows with the data that actually arrive, so a
    deflated stream that stops short costs only what it held."""
    data = bytearray()
    while len(data) < header.nbytes:
        block = stream.read(min(CHUNK, header.nbytes - len(data)))
        if not block:
            raise NndlError(f"{where}: truncated data ({len(data)} of {header.nbytes} bytes)")
        data += block
    if stream.read(1):
        raise NndlError(f"{where}: more data than its header says ({len(data)} bytes)")
    array = np.frombuffer(data, dtype=header.dtype)
    if header.fortran_order:
        return array.reshape(header.shape[::-1]).transpose()
    return array.reshape(header.shape)


# -- the archive -----------------------------------------------------------------------------
class NpzArchive:
    """An ``.npz`` archive whose central directory has been checked; members are read on demand.

    Parameters
    ----------
    path : str or Path
        The archive.
    max_members, max_total_bytes, max_ratio
        Bounds on the central directory (see the module docstring).

    Use it as a context manager, or call :meth:`close`.  :meth:`read_array`,
    :meth:`read_json` and :meth:`header` name members without the ``.npy`` suffix, as
    ``numpy.load`` does.
    """

    def __init__(self, path, *, max_members: int = MAX_MEMBERS, max_total_bytes: int = MAX_TOTAL_BYTES,
                 max_ratio: float = MAX_RATIO):
        self.path = Path(path)
        self.max_total_bytes = max_total_bytes
        _check_end_record(self.path, max_members)
        self._zip = _open_zip(self.path)
        try:
            self._members = _check_directory(self.path, self._zip, max_members, max_total_bytes, max_ratio)
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def names(self) -> list[str]:
        """The members' names, without ``.npy``, in archive order."""
        return list(self._members)

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def _where(self, name: str) -> str:
        return f"{self.path}: member {_name(name + '.npy')}"

    def _info(self, name: str) -> zipfile.ZipInfo:
        if name not in self._members:
            raise NndlError(f"{self.path}: no member {_name(name + '.npy')}")
        return self._members[name]

    def _read(self, name: str, read: Callable):
        """Open member ``name`` and return ``read(stream)``, turning zip errors into one line."""
        info = self._info(name)
        try:
            with self._zip.open(info) as stream:
                return read(stream)
        except NndlError:
            raise
        except _ZIP_ERRORS as exc:
            raise NndlError(f"{self._where(name)}: cannot read ({_reason(exc)})") from None

    def header(self, name: str, kinds: str = NUMERIC_KINDS) -> NpyHeader:
        """The checked .npy header of member ``name`` (no data are read)."""
        def read(stream):
            header = _parse_npy_header(stream, self._where(name))
            _check_header(header, self._members[name], self._where(name), kinds, self.max_total_bytes)
            return header
        return self._read(name, read)

    def read_array(self, name: str, *, shape: tuple[int, ...] | None = None,
                   kinds: str = NUMERIC_KINDS) -> np.ndarray:
        """Read member ``name`` as an array, after checking its header.

        ``shape``, if given, is the shape the caller needs: another is refused before any
        data are read.  ``kinds`` are the dtype kinds allowed (default bool, int, float).
        """
        where = self._where(name)

        def read(stream):
            header = _parse_npy_header(stream, where)
            _check_header(header, self._members[name], where, kinds, self.max_total_bytes)
            if shape is not None and header.shape != tuple(shape):
                raise NndlError(f"{where}: shape {header.shape}, but {tuple(shape)} is needed")
            return _read_data(stream, header, where)
        return self._read(name, read)

    def read_json(self, name: str = "nndl.json", *, max_bytes: int = MAX_JSON_BYTES,
                  max_depth: int = MAX_JSON_DEPTH) -> dict:
        """Read member ``name``, UTF-8 JSON bytes in a 1-D uint8 array, as a JSON object (dict).

        The array's length is checked against ``max_bytes`` from its header, before reading.
        """
        where = self._where(name)

        def read(stream):
            header = _parse_npy_header(stream, where)
            _check_header(header, self._members[name], where, "u", self.max_total_bytes)
            if header.dtype.itemsize != 1 or len(header.shape) != 1:
                raise NndlError(f"{where}: JSON must be a 1-D array of bytes, not shape {header.shape} "
                                f"of {header.dtype.str}")
            if header.nbytes > max_bytes:
                raise NndlError(f"{where}: {header.nbytes} bytes of JSON; at most {max_bytes}")
            return _read_data(stream, header, where)
        value = parse_json(self._read(name, read).tobytes(), where, max_bytes=max_bytes, max_depth=max_depth)
        if not isinstance(value, dict):
            raise NndlError(f"{where}: the JSON is a {type(value).__name__}, not an object")
        return value


def _wanted_names(archive: NpzArchive, wanted, json_member: str | None) -> list[str]:
    """The array members to read: all but the JSON member, a given collection (each must exist),
    or those a predicate accepts."""
    arrays = [name for name in archive.names() if name != json_member]
    if wanted is None:
        return arrays
    if callable(wanted):
        return [name for name in arrays if wanted(name)]
    wanted = list(wanted)
    for name in wanted:
        archive._info(name)  # NndlError naming a missing member
    return wanted


def read_npz(path, *, max_members: int = MAX_MEMBERS, max_total_bytes: int = MAX_TOTAL_BYTES,
             max_ratio: float = MAX_RATIO, max_json_bytes: int = MAX_JSON_BYTES,
             max_json_depth: int = MAX_JSON_DEPTH, json_member: str | None = "nndl.json",
             wanted: Iterable[str] | Callable[[str], bool] | None = None) -> tuple[dict | None, dict]:
    """Read an ``.npz`` archive with every bound checked (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The archive.
    max_members, max_total_bytes, max_ratio
        Bounds on the central directory.
    max_json_bytes, max_json_depth
        Bounds on the JSON member.
    json_member : str or None
        The member holding the JSON config (name without ``.npy``); None if there is none.
    wanted : collection of names, or a function name -> bool, optional
        The array members to read (names without ``.npy``); default all.  Others are
        never read (their directory entries are still checked).

    Returns
    -------
    (dict or None, dict)
        The JSON object (None if ``json_member`` is None or absent) and name -> array.

    Raises
    ------
    NndlError
        One line naming the file and the member, for any broken bound or malformed byte.
    """
    with NpzArchive(path, max_members=max_members, max_total_bytes=max_total_bytes,
                    max_ratio=max_ratio) as archive:
        config = None
        if json_member is not None and json_member in archive:
            config = archive.read_json(json_member, max_bytes=max_json_bytes, max_depth=max_json_depth)
        arrays = {name: archive.read_array(name) for name in _wanted_names(archive, wanted, json_member)}
    return config, arrays
