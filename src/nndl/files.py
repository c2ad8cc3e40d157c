"""Atomic file writes: a file is either its old self or completely new, never half written.

Everything nndl writes (models, checkpoints, IDX files, downloads, figures, JSON) goes
through :func:`atomic_write`: the data go to a temporary file in the same folder, which
is renamed over the target only when the ``with`` block finishes without an error.  A
crash, an interrupted download, a full disk or a failed checksum leaves the old file
untouched.

Left-over temporary files
-------------------------
A writer killed between creating its temporary file ``.NAME.XXXXXXXX.tmp`` and the
rename (SIGKILL, power loss) cannot remove it.  So every write first removes such
left-overs beside its target (:func:`remove_stale_temp_files`).  To tell a left-over from
the file of a writer still at work, each writer holds an exclusive ``flock`` on its
temporary file while it writes; the operating system drops the lock when the process
ends, however it ends.  A temporary file that nobody holds locked and that was last
written more than :data:`STALE_AFTER` seconds ago is a left-over (the grace period covers
the instant between creating the file and locking it).  Where locks are not available
(no ``fcntl``, or a file system that refuses them), only age counts:
:data:`STALE_AFTER_WITHOUT_LOCKS`.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import time
from pathlib import Path

from nndl.errors import NndlError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: Seconds a temporary file must be unmodified before it may count as left over (the grace
#: period between creating a temporary file and locking it is far shorter).
STALE_AFTER = 60.0
#: Without file locks an active writer cannot be told from a dead one, so wait a day.
STALE_AFTER_WITHOUT_LOCKS = 24 * 3600.0
#: errno values that mean the disk (or the user's quota, or the file size limit) is full.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _temp_name(path: Path, suffix: str) -> re.Pattern:
    """The names ``tempfile.mkstemp`` gives temporary files of ``path``: ``.NAME.`` + 8 characters + suffix."""
    return re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}{re.escape(suffix)}")


def _try_lock(fd: int) -> bool | None:
    """Lock the open file ``fd`` without waiting: True if locked, False if another process holds it,
    None if locks are not available here."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # e.g. ENOLCK: this file system does not do locks
        return None
    return True


def _is_left_over(temp: Path, now: float) -> bool:
    """True if ``temp`` is a regular file whose writer is gone (see the module docstring)."""
    try:
        age = now - temp.lstat().st_mtime
        if age < STALE_AFTER or not temp.is_file() or temp.is_symlink():
            return False
        fd = os.open(temp, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:  # gone already, or not ours to open
        return False
    try:
        free = _try_lock(fd)
    finally:
        os.close(fd)
    return free if free is not None else age > STALE_AFTER_WITHOUT_LOCKS


def remove_stale_temp_files(path, suffix: str = ".tmp") -> list[Path]:
    """Remove temporary files left beside ``path`` by killed writers; return the ones removed.

    Only files named like :func:`atomic_write`'s temporary files of this very target
    (``.NAME.XXXXXXXX`` + ``suffix``) are considered, and only those no live writer holds
    (see the module docstring).  Errors are ignored: cleaning up never stops a write.
    """
    path = Path(path)
    pattern, now, removed = _temp_name(path, suffix), time.time(), []
    try:
        entries = [entry.name for entry in os.scandir(path.parent)]
    except OSError:
        return removed
    for name in entries:
        temp = path.parent / name
        if pattern.fullmatch(name) and _is_left_over(temp, now):
            with contextlib.suppress(OSError):
                temp.unlink()
                removed.append(temp)
    return removed


def _write_error(path: Path, exc: OSError) -> NndlError:
    """The one-line error for a failed write; a full disk says that the old file is unchanged."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in DISK_FULL:
        return NndlError(f"cannot write {path}: {reason}; the old file (if any) is unchanged")
    return NndlError(f"cannot write {path}: {reason}")


def _flush_to_disk(f, path: Path) -> None:
    """Flush ``f`` and fsync it, so that the rename publishes complete data; NndlError on failure."""
    try:
        f.flush()
        os.fsync(f.fileno())
    except OSError as exc:
        raise _write_error(path, exc) from None


def _replace(tmp: str, path: Path) -> None:
    """Give ``tmp`` the permissions of ``path`` (or rw-r--r--) and rename it over ``path``."""
    try:
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise _write_error(path, exc) from None


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", suffix: str = ".tmp"):
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    ``mode`` is ``"wb"`` or ``"w"`` (UTF-8 text).  Temporary files left beside ``path`` by
    killed writers are removed first (:func:`remove_stale_temp_files`).  If the block
    raises, the temporary file is removed and the exception goes on unchanged, except
    that a full disk (``ENOSPC``, ``EDQUOT``, ``EFBIG``) becomes an :class:`NndlError`
    naming the file.  The new file keeps the old one's permissions, or gets the usual
    rw-r--r--.  Failing to create, flush or rename the file is an :class:`NndlError`
    naming it; in every failure the old file stays as it was.
    """
    path = Path(path)
    folder = path.parent
    remove_stale_temp_files(path, suffix)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=suffix)
    except OSError as exc:
        raise NndlError(f"cannot write {path}: {exc.strerror or exc}") from None
    _try_lock(fd)  # held until the file is closed: this temporary file is in use
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            _flush_to_disk(f, path)
        _replace(tmp, path)
    except OSError as exc:  # the block's own errors go on unchanged, but a full disk is bad input
        if exc.errno in DISK_FULL:
            raise _write_error(path, exc) from None
        raise
    finally:
        Path(tmp).unlink(missing_ok=True)
