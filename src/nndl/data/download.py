"""Download a file from a list of mirrors and check its SHA-256.

Each mirror is tried in order.  The body is streamed into a temporary file in the
destination's folder while it is hashed; only a file whose SHA-256 matches is renamed
into place (atomically), so a failed or corrupt download never leaves a file behind.
The body is read a chunk at a time and never beyond a size cap: the expected size when
the caller knows it, else :data:`MAX_DOWNLOAD_BYTES`; a mirror announcing or sending
more counts as failed.
"""
from __future__ import annotations

import hashlib
import http.client
import sys
import urllib.error
import urllib.request
from pathlib import Path

from nndl.errors import NndlError
from nndl.files import atomic_write

CHUNK = 1 << 20  # bytes read at a time
#: Most bytes read from a mirror when the expected size is not known: a hundred times
#: MNIST's biggest file (9.9 MB), and it still fits on any disk nndl runs from.
MAX_DOWNLOAD_BYTES = 1 << 30


class _ChecksumMismatch(Exception):
    """A mirror sent a file whose SHA-256 is not the expected one."""


class _TooBig(Exception):
    """A mirror announced or sent more bytes than the cap."""


def sha256_file(path) -> str:
    """Return the SHA-256 of the file at ``path`` as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                digest.update(block)
    except OSError as exc:
        raise NndlError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    """A short, one-line description of why a mirror failed."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return str(getattr(reason, "strerror", None) or reason)
    return " ".join(str(exc).split()) or type(exc).__name__


def _progress_bar(total: int | None, name: str, enabled: bool | None):
    """A tqdm bar on stderr when ``enabled`` (default: stderr is a terminal), else None."""
    if enabled is None:
        enabled = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024,
                leave=False, file=sys.stderr)


def _announced_size(response) -> int | None:
    """The Content-Length of ``response`` as an int, or None if it has none (or a malformed one)."""
    length = response.headers.get("Content-Length", "").strip()
    return int(length) if length.isdigit() else None


def _fetch(url: str, tmp_file, timeout: float, name: str, progress: bool | None, cap: int) -> tuple[str, int]:
    """Stream ``url`` into the open file ``tmp_file``; return the SHA-256 of the body and its size.

    At most ``cap`` bytes are accepted: a larger Content-Length is refused before reading,
    and reading stops as soon as the body goes past ``cap`` (whatever the header said).
    """
    digest, total = hashlib.sha256(), 0
    request = urllib.request.Request(url, headers={"User-Agent": "nndl"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        announced = _announced_size(response)
        if announced is not None and announced > cap:
            raise _TooBig(f"{url}: announces {announced} bytes, more than the {cap} expected")
        bar = _progress_bar(announced, name, progress)
        try:
            while block := response.read(min(CHUNK, cap + 1 - total)):
                total += len(block)
                if total > cap:
                    raise _TooBig(f"{url}: sent more than the {cap} bytes expected; stopped")
                digest.update(block)
                tmp_file.write(block)
                if bar is not None:
                    bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
    return digest.hexdigest(), total


def download(urls: list[str], dest, sha256: str, timeout: float = 30,
             progress: bool | None = None, size: int | None = None) -> Path:
    """Download one file, trying each mirror URL in order, and verify its SHA-256.

    Parameters
    ----------
    urls : list of str
        Mirror URLs of the same file, tried in order until one gives the right bytes.
    dest : str or Path
        Where the file goes; its folder is created if needed.
    sha256 : str
        Expected SHA-256 (hex).  A mirror serving other bytes is skipped.
    timeout : float
        Seconds to wait for each connection or read.
    progress : bool, optional
        Show a progress bar on stderr; by default when stderr is a terminal.
    size : int, optional
        The file's size in bytes, if known: a mirror announcing or sending more is skipped
        as soon as that shows.  Without it the cap is :data:`MAX_DOWNLOAD_BYTES`.

    Returns
    -------
    Path
        ``dest``, holding the verified file.

    Raises
    ------
    NndlError
        If no mirror gives the file: the message names each mirror and why it failed,
        and where to put the file by hand.
    """
    dest = Path(dest)
    expected = sha256.strip().lower()
    if not urls:
        raise NndlError(f"no download address for {dest.name}; put the file at {dest} by hand")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NndlError(f"cannot create the folder {dest.parent}: {exc.strerror or exc}") from None
    cap = MAX_DOWNLOAD_BYTES if size is None else int(size)
    failures = []
    for url in urls:
        try:
            with atomic_write(dest, suffix=".part") as f:     # renamed into place only if verified
                got, total = _fetch(url, f, timeout, dest.name, progress, cap)
                if got != expected:
                    short = f"sent {total} of {size} bytes, " if size is not None and total != size else ""
                    raise _ChecksumMismatch(f"{url}: {short}checksum mismatch (SHA-256 {got[:12]}..., "
                                            f"expected {expected[:12]}...)")
            return dest
        except NndlError:
            raise
        except (_ChecksumMismatch, _TooBig) as exc:
            failures.append(str(exc))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # URLError, HTTPError, timeouts and refused connections are OSErrors;
            # ValueError is a malformed URL.
            failures.append(f"{url}: {_reason(exc)}")
    raise NndlError(f"could not download {dest.name}: " + "; ".join(failures)
                    + f"; download it by hand and put it at {dest}")
