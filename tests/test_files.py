"""atomic_write: old file or new file, never half of one; left-overs of killed writers cleaned up."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from nndl import files
from nndl.errors import NndlError
from nndl.files import STALE_AFTER, atomic_write, remove_stale_temp_files


def age(path, seconds):
    """Set ``path``'s modification time ``seconds`` into the past."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def temp_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def killed_writer(target):
    """Start a process that opens atomic_write(target), writes, and is killed with SIGKILL."""
    code = textwrap.dedent(f"""
        import os, signal
        from nndl.files import atomic_write
        with atomic_write({str(target)!r}) as f:
            f.write(b"half a model")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], env=env)
    assert result.returncode == -signal.SIGKILL


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_left_over_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    killed_writer(target)
    [left] = temp_files(tmp_path)
    assert left.startswith(".model.npz.") and left.endswith(".tmp")
    assert target.read_bytes() == b"old"
    age(tmp_path / left, STALE_AFTER + 5)
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"
    assert temp_files(tmp_path) == []


def test_fresh_temp_files_are_kept(tmp_path):
    """Within the grace period a temporary file may belong to a writer that has not locked it yet."""
    target = tmp_path / "model.npz"
    fresh = tmp_path / ".model.npz.abcd1234.tmp"
    fresh.write_bytes(b"x")
    assert remove_stale_temp_files(target) == []
    age(fresh, STALE_AFTER + 5)
    assert remove_stale_temp_files(target) == [fresh]
    assert not fresh.exists()


def test_a_live_writers_temp_file_is_kept(tmp_path):
    target = tmp_path / "model.npz"
    with atomic_write(target) as outer:
        outer.write(b"slow writer")
        [name] = temp_files(tmp_path)
        age(tmp_path / name, STALE_AFTER + 5)        # old, but still locked by this writer
        with atomic_write(target) as inner:
            inner.write(b"other writer")
        assert (tmp_path / name).exists()
    assert target.read_bytes() == b"slow writer"
    assert temp_files(tmp_path) == []


def test_only_this_targets_temp_files_are_touched(tmp_path):
    target = tmp_path / "model.npz"
    others = [".model.npz.backup.tmp", ".other.npz.abcd1234.tmp", "model.npz.abcd1234.tmp",
              ".model.npz.abcd1234.part", ".model.npz.abcd12345.tmp"]
    for name in others:
        (tmp_path / name).write_bytes(b"keep me")
        age(tmp_path / name, STALE_AFTER + 5)
    with atomic_write(target) as f:
        f.write(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others + ["model.npz"])


def test_without_locks_only_age_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "fcntl", None)
    target = tmp_path / "model.npz"
    temp = tmp_path / ".model.npz.abcd1234.tmp"
    temp.write_bytes(b"x")
    age(temp, STALE_AFTER + 5)
    assert remove_stale_temp_files(target) == []
    age(temp, files.STALE_AFTER_WITHOUT_LOCKS + 5)
    assert remove_stale_temp_files(target) == [temp]


def test_full_disk_in_the_block_is_one_line_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    with pytest.raises(NndlError) as err:
        with atomic_write(target) as f:
            f.write(b"part of it")
            raise OSError(errno.ENOSPC, "No space left on device")
    message = str(err.value)
    assert message.startswith(f"cannot write {target}: No space left on device") and "\n" not in message
    assert target.read_bytes() == b"old"
    assert temp_files(tmp_path) == []


def test_full_disk_at_fsync(tmp_path, monkeypatch):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(NndlError, match="model.npz: No space left on device"):
        with atomic_write(target) as f:
            f.write(b"new")
    assert target.read_bytes() == b"old"
    assert temp_files(tmp_path) == []


def test_other_errors_of_the_block_go_on_unchanged(tmp_path):
    target = tmp_path / "model.npz"
    with pytest.raises(ConnectionResetError):
        with atomic_write(target) as f:
            f.write(b"x")
            raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    assert not target.exists() and temp_files(tmp_path) == []


def test_unwritable_folder(tmp_path):
    with pytest.raises(NndlError, match="cannot write .*nowhere"):
        with atomic_write(tmp_path / "missing" / "nowhere") as f:
            f.write(b"x")
