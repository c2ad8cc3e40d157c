"""Services the tests start themselves: a throw-away PostgreSQL server on 127.0.0.1.

:func:`postgres_server` initializes a cluster in a temporary folder and starts it on a free
port, as the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as
root), with password authentication (so the tests can check that no message prints the
password); it stops the server and removes the folder at the end.  When it cannot start,
the tests that need it are skipped, saying why — unless ``NNDL_REQUIRE_SERVICES=1`` or
``NNDL_REQUIRE_ORACLES=1`` (as in CI), where they fail.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PASSWORD = "nndl-test-s3cret"


def required() -> bool:
    return "1" in (os.environ.get("NNDL_REQUIRE_SERVICES"), os.environ.get("NNDL_REQUIRE_ORACLES"))


def unavailable(message: str):
    if required():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin_dir() -> Path | None:
    if os.environ.get("NNDL_PG_BIN"):
        return Path(os.environ["NNDL_PG_BIN"])
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextlib.contextmanager
def postgres_server():
    """Yield the URL ``postgresql://postgres:PASSWORD@127.0.0.1:PORT/nndl`` of a fresh server."""
    bindir = _bin_dir()
    if bindir is None:
        unavailable("PostgreSQL's initdb was not found (apt-get install postgresql, or set NNDL_PG_BIN)")
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    top = Path(tempfile.mkdtemp(prefix="nndl-pg-"))
    data, run, port = top / "data", top / "run", free_port()
    started = False
    try:
        os.chmod(top, 0o755)
        data.mkdir()
        run.mkdir()
        pwfile = run / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if as_root:
            for path in (data, run, pwfile):
                shutil.chown(path, "postgres", "postgres")

        def call(*argv):
            done = subprocess.run(run_as + [str(a) for a in argv], capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                log = (run / "log").read_text(errors="replace") if (run / "log").exists() else ""
                last = (log or done.stderr or done.stdout).strip().splitlines()[-1:]
                unavailable(f"PostgreSQL: {Path(str(argv[0])).name} failed: {' '.join(last)}")
        call(bindir / "initdb", "-D", data, "-U", "postgres", "-A", "scram-sha-256", "--pwfile", pwfile,
             "--no-sync", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {run} -c fsync=off -c max_connections=50"
        call(bindir / "pg_ctl", "-D", data, "-o", options, "-l", run / "log", "-w", "-t", "60", "start")
        started = True
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres password={PASSWORD} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE nndl")
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/nndl"
    finally:
        if started:
            subprocess.run(run_as + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(top, ignore_errors=True)
