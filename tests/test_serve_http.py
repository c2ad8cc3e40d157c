"""``nndl serve``'s server over HTTP: what it serves, its error cases (one JSON line each, and it keeps
serving), and the command's one-line errors (a port in use, a model the page cannot take, a corrupt ONNX file)."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from oracles import oracle

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "docs" / "results" / "onnx" / "book-784-30-10.npz"


def nndl(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([sys.executable, "-m", "nndl", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    oracle("flask")
    oracle("onnx")
    from nndl.cli.serve_cmd import model_for_page
    from nndl.serve.app import create_app
    from nndl.serve.runlog import RunLog

    log = tmp_path_factory.mktemp("serve") / "run.jsonl"
    log.write_text('{"epoch": 1, "validation_accuracy": 0.9}\n')
    data, info = model_for_page(MODEL)
    return create_app(data, info, RunLog(log)).test_client()


def _png(size, colour=255):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_pages_model_and_runtime_are_served(client):
    import onnx

    for path in ("/", "/live", "/static/draw.js", "/static/preprocess.js", "/static/ort/ort.wasm.min.js"):
        assert client.get(path).status_code == 200, path
    wasm = client.get("/static/ort/ort-wasm-simd-threaded.wasm")
    assert wasm.status_code == 200 and wasm.mimetype == "application/wasm" and wasm.data[:4] == b"\0asm"
    assert client.get("/static/ort/ort-wasm-simd-threaded.mjs").mimetype == "text/javascript"
    model = onnx.load_from_string(client.get("/model.onnx").data)
    onnx.checker.check_model(model, full_check=True)
    info = client.get("/api/info").get_json()
    assert info["classes"] == [str(i) for i in range(10)] and info["features"] == 784 and info["watching"]
    page = client.get("/")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]   # nothing from elsewhere
    assert client.get("/api/run").get_json()["epochs"] == [{"epoch": 1, "validation_accuracy": 0.9}]


def test_a_photo_is_prepared_like_nndl_predict(client, tmp_path):
    import numpy as np
    from PIL import Image, ImageDraw

    from nndl.data.images import load_digit_image

    path = tmp_path / "one.png"
    image = Image.new("L", (300, 200), 230)
    ImageDraw.Draw(image).line([(150, 30), (140, 170)], fill=20, width=14)
    image.save(path)
    reply = client.post("/api/digit", data=path.read_bytes())
    assert reply.status_code == 200
    assert np.abs(np.array(reply.get_json()["pixels"]) - load_digit_image(path)).max() < 1e-6


@pytest.mark.parametrize("body, status, message", [
    (b"", 400, "no image in the request"),
    (b"just some text", 400, "not an image nndl reads"),
    ("blank", 400, "no digit found, the image is blank"),
    ("huge-pixels", 400, "pixels; nndl reads images of 1 to"),
    ("huge-bytes", 413, "the upload is larger than 16 MB"),
], ids=["empty", "not-an-image", "blank", "too-many-pixels", "too-many-bytes"])
def test_bad_uploads_are_one_line_and_the_server_goes_on(client, body, status, message):
    if body == "blank":
        body = _png((50, 50))
    elif body == "huge-pixels":
        body = _png((5000, 4000))                 # a 20 kB PNG that claims 20 million pixels
    elif body == "huge-bytes":
        body = b"\0" * (17 << 20)
    reply = client.post("/api/digit", data=body)
    assert reply.status_code == status
    error = reply.get_json()["error"]
    assert message in error and "\n" not in error
    assert client.get("/api/info").status_code == 200


@pytest.mark.parametrize("method, path, status", [
    ("get", "/nothing/here", 404), ("post", "/", 405), ("put", "/api/digit", 405), ("delete", "/model.onnx", 405),
    ("post", "/api/run", 405), ("get", "/static/../../../etc/passwd", 404), ("get", "/api/digit", 405),
])
def test_no_other_endpoint_and_nothing_writes(client, method, path, status):
    reply = getattr(client, method)(path)
    assert reply.status_code == status
    assert reply.get_json()["error"]


def test_without_a_watched_run_or_a_model(tmp_path):
    oracle("flask")
    from nndl.serve.app import create_app

    client = create_app(None, {}, None).test_client()
    assert client.get("/live").status_code == 404
    assert client.get("/api/run").status_code == 404
    assert client.get("/model.onnx").status_code == 404
    assert "--watch" in client.get("/api/snapshot").get_json()["error"]


def test_a_port_in_use_is_one_line():
    oracle("flask")
    oracle("onnx")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = nndl("serve", MODEL, "--port", port)
    assert r.returncode == 2
    assert r.stderr == f"nndl serve: error: port {port} on 127.0.0.1 is in use; pick another with --port\n"


@pytest.mark.parametrize("case", ["missing", "corrupt-onnx", "not-mnist", "nothing", "checkpoint-alone"])
def test_serve_command_errors_are_one_line(case, tmp_path):
    oracle("flask")
    oracle("onnx")
    if case == "missing":
        args, message = [tmp_path / "none.npz"], "does not exist"
    elif case == "corrupt-onnx":
        bad = tmp_path / "bad.onnx"
        bad.write_bytes(b"\x0a\xff\xff\xff garbage")
        args, message = [bad], "is not a valid ONNX model"
    elif case == "not-mnist":
        args, message = [REPO / "tests" / "data" / "iris-model.npz"], "the draw page feeds 28x28 MNIST digits"
        if not args[0].exists():
            from nndl import io
            from nndl.network import Network
            from nndl.spec import parse_spec

            io.save(Network(parse_spec("dense(5) softmax(3)", (4,)), (4,)), tmp_path / "iris.npz")
            args = [tmp_path / "iris.npz"]
    elif case == "nothing":
        args, message = [], "give a MODEL"
    else:
        args, message = [MODEL, "--checkpoint", MODEL], "--checkpoint goes with --watch"
    r = nndl("serve", *args, "--port", "0")
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


def test_serve_listens_on_loopback_by_default():
    import argparse

    from nndl.cli import serve_cmd

    parser = argparse.ArgumentParser()
    serve_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["serve", str(MODEL)])
    assert args.host == "127.0.0.1" and args.port == 8000


def test_an_exported_onnx_file_is_served_with_its_class_names(tmp_path):
    oracle("flask")
    oracle("onnx")
    from nndl import io
    from nndl.cli.serve_cmd import model_for_page
    from nndl.export.onnx import export_onnx

    network = io.load(MODEL)
    network.class_names = ["zero, nought"] + [f"digit {i}" for i in range(1, 10)]
    path = export_onnx(network, tmp_path / "named.onnx")
    data, info = model_for_page(path)
    assert info["classes"] == network.class_names and info["features"] == 784 and data == path.read_bytes()


def test_photos_beyond_the_concurrent_limit_wait_then_get_503(monkeypatch):
    oracle("flask")
    from nndl.serve import app as serve_app

    monkeypatch.setattr(serve_app, "UPLOADS_AT_ONCE", 1)
    monkeypatch.setattr(serve_app, "UPLOAD_WAIT", 0.05)
    gate, inside = serve_app.threading.Event(), serve_app.threading.Event()

    def slow(data, name):
        inside.set()
        gate.wait(10)
        raise serve_app.NndlError(f"{name}: no digit found, the image is blank")

    import nndl.data.images
    monkeypatch.setattr(nndl.data.images, "load_digit_bytes", slow)
    client = serve_app.create_app(None, {}, None).test_client()
    first = serve_app.threading.Thread(target=lambda: client.post("/api/digit", data=b"x"))
    first.start()
    assert inside.wait(10)
    busy = client.post("/api/digit", data=b"x")
    gate.set()
    first.join(10)
    assert busy.status_code == 503 and "being prepared" in busy.get_json()["error"]
    assert client.post("/api/digit", data=b"x").status_code == 400          # free again
