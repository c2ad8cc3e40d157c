"""download(): mirrors tried in order, checksums verified, no bad or temporary files left.

A local http.server on 127.0.0.1 plays the mirrors; nothing leaves the machine.
"""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading

import pytest

from nndl.data import download as download_module
from nndl.data.download import download, sha256_file
from nndl.errors import NndlError

GOOD = bytes(range(256)) * 400  # 100 kB
BAD = GOOD[:-1] + b"\x00"
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {"/corrupt/file.gz": BAD, "/good/file.gz": GOOD, "/short/file.gz": GOOD[:1000],
             "/big/file.gz": GOOD * 3, "/unannounced/file.gz": GOOD * 3, "/liar/file.gz": GOOD * 3}

    def do_GET(self):  # noqa: N802 - http.server's name
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        if self.path.startswith("/liar/"):
            self.send_header("Content-Length", str(len(GOOD)))  # and then sends three times that
        elif not self.path.startswith("/unannounced/"):  # HTTP/1.0: the body ends when the connection closes
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
            pass

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Talk to 127.0.0.1 directly even where a proxy is configured."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (a port just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.gz"


def test_corrupt_mirror_is_skipped(server, tmp_path):
    dest = tmp_path / "data" / "file.gz"
    got = download([f"{server}/corrupt/file.gz", f"{server}/good/file.gz"], dest, GOOD_SHA,
                   timeout=5, progress=False)
    assert got == dest
    assert dest.read_bytes() == GOOD
    assert sha256_file(dest) == GOOD_SHA
    assert [p.name for p in dest.parent.iterdir()] == ["file.gz"]  # no temporary files


def test_all_mirrors_bad(server, tmp_path, closed_port_url):
    dest = tmp_path / "file.gz"
    urls = [f"{server}/corrupt/file.gz", f"{server}/missing/file.gz", f"{server}/short/file.gz",
            closed_port_url]
    with pytest.raises(NndlError) as err:
        download(urls, dest, GOOD_SHA, timeout=5, progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("could not download file.gz: ")
    assert f"{server}/corrupt/file.gz: checksum mismatch" in message
    assert f"{server}/missing/file.gz: HTTP 404" in message
    assert f"{server}/short/file.gz: checksum mismatch" in message
    assert closed_port_url in message
    assert f"put it at {dest}" in message
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_failed_download(server, tmp_path):
    dest = tmp_path / "file.gz"
    dest.write_bytes(b"old")
    with pytest.raises(NndlError):
        download([f"{server}/corrupt/file.gz"], dest, GOOD_SHA, timeout=5, progress=False)
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.gz"]


def test_unreachable_mirror_is_skipped(server, tmp_path, closed_port_url):
    dest = tmp_path / "file.gz"
    download([closed_port_url, f"{server}/good/file.gz"], dest, GOOD_SHA.upper(), timeout=5, progress=False)
    assert dest.read_bytes() == GOOD


def test_malformed_url_is_a_failed_mirror(server, tmp_path):
    dest = tmp_path / "file.gz"
    download(["not a url", f"{server}/good/file.gz"], dest, GOOD_SHA, timeout=5, progress=False)
    assert dest.read_bytes() == GOOD


def test_no_urls(tmp_path):
    with pytest.raises(NndlError, match="no download address"):
        download([], tmp_path / "f", GOOD_SHA)


def test_progress_bar_does_not_change_the_result(server, tmp_path, capsys):
    dest = tmp_path / "file.gz"
    download([f"{server}/good/file.gz"], dest, GOOD_SHA, timeout=5, progress=True)
    assert dest.read_bytes() == GOOD
    assert "file.gz" in capsys.readouterr().err


def test_sha256_file(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(NndlError, match="nothere: cannot read"):
        sha256_file(tmp_path / "nothere")


def test_mirror_announcing_more_than_the_expected_size_is_skipped(server, tmp_path):
    dest = tmp_path / "file.gz"
    with pytest.raises(NndlError) as err:
        download([f"{server}/big/file.gz"], dest, GOOD_SHA, timeout=5, progress=False, size=len(GOOD))
    assert f"{server}/big/file.gz: announces {3 * len(GOOD)} bytes, more than the {len(GOOD)} expected" in str(err.value)
    assert list(tmp_path.iterdir()) == []
    download([f"{server}/big/file.gz", f"{server}/good/file.gz"], dest, GOOD_SHA, timeout=5,
             progress=False, size=len(GOOD))
    assert dest.read_bytes() == GOOD


def test_reading_stops_past_the_cap(server, tmp_path, monkeypatch):
    """No Content-Length: reading stops as soon as the body goes past the cap."""
    monkeypatch.setattr(download_module, "MAX_DOWNLOAD_BYTES", len(GOOD))  # the cap without a size
    monkeypatch.setattr(download_module, "CHUNK", 4096)
    dest = tmp_path / "file.gz"
    with pytest.raises(NndlError, match=rf"unannounced/file\.gz: sent more than the {len(GOOD)} bytes "
                                        rf"expected; stopped") as err:
        download([f"{server}/unannounced/file.gz"], dest, GOOD_SHA, timeout=5, progress=False)
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_content_length_that_lies_low_bounds_the_read(server, tmp_path):
    """The server announces 100 kB and sends 300 kB: only the announced bytes are read."""
    dest = tmp_path / "file.gz"
    download([f"{server}/liar/file.gz"], dest, GOOD_SHA, timeout=5, progress=False, size=len(GOOD))
    assert dest.read_bytes() == GOOD


def test_short_body_of_known_size(server, tmp_path):
    with pytest.raises(NndlError, match=r"short/file\.gz: sent 1000 of 102400 bytes, checksum mismatch"):
        download([f"{server}/short/file.gz"], tmp_path / "file.gz", GOOD_SHA, timeout=5, progress=False,
                 size=len(GOOD))
