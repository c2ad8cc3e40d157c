"""Atomic file writes: a file is either its old self or completely new, never half written.

Everything nndl writes (models, checkpoints, IDX files, downloads, figures, JSON) goes
through :func:`atomic_write`: the data go to a temporary file in the same folder, which
is renamed over the target only when the ``with`` block finishes without an error.  A
crash, an interrupted download or a failed checksum leaves the old file untouched.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from nndl.errors import NndlError


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", suffix: str = ".tmp"):
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    ``mode`` is ``"wb"`` or ``"w"`` (UTF-8 text).  If the block raises, the temporary file
    is removed and the exception goes on unchanged.  The new file keeps the old one's
    permissions, or gets the usual rw-r--r--.  Failing to create or rename the file is an
    :class:`NndlError` naming it.
    """
    path = Path(path)
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=suffix)
    except OSError as exc:
        raise NndlError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
            os.replace(tmp, path)
        except OSError as exc:
            raise NndlError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
