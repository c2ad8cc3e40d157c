"""The web server of ``nndl serve``: the draw-a-digit page and the live view of a training run.

Flask (the most used Python web framework, small and synchronous like the rest of nndl) with
Werkzeug's threaded server.  Every endpoint only reads; none changes anything on the machine:

==========================  ===========================================================
``GET /``                   the draw-a-digit page (or the live view when no model is served)
``GET /live``               the live view of the watched run
``GET /model.onnx``         the model, as ONNX (exported from the .npz on start)
``GET /api/info``           class names, input size, file names
``POST /api/digit``         an image file → its 784 MNIST-prepared pixels (Python's preprocessing;
                            at most :data:`MAX_UPLOAD` bytes and ``images.MAX_PIXELS`` pixels)
``GET /api/run``            the run log's epochs so far, its final line and its problems
``GET /api/snapshot``       the first layer's filters and misclassified digits of the run's model file
``GET /static/...``         the pages' scripts, and onnxruntime-web (vendored: no internet needed)
==========================  ===========================================================

Errors are JSON ``{"error": "one line"}`` with the status code (400, 404, 405, 413); a bad
request never stops the server.
"""
from __future__ import annotations

import mimetypes
import threading
from pathlib import Path

from nndl.errors import NndlError

STATIC = Path(__file__).with_name("static")
#: Largest photo accepted, in bytes (a phone photo is a few MB).
MAX_UPLOAD = 16 << 20
#: Photos prepared at the same time (each may take a few hundred MB while it is decoded); more wait
#: up to UPLOAD_WAIT seconds, then get 503.
UPLOADS_AT_ONCE = 2
UPLOAD_WAIT = 10.0

# Browsers load the runtime's .mjs module and .wasm only with these types.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/wasm", ".wasm")

#: Everything from this server and nothing else; WebAssembly compiled from it.
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")


def _flask():
    try:
        import flask
    except ImportError:
        raise NndlError("nndl serve needs Flask: pip install nndl[serve]") from None
    return flask


def create_app(model_bytes: bytes | None = None, info: dict | None = None, run_log=None, snapshot=None):
    """The Flask app serving ``model_bytes`` (an ONNX model; ``info``: its classes, name, ...) and/or
    following ``run_log`` (a :class:`~nndl.serve.runlog.RunLog`) with ``snapshot``
    (a :class:`~nndl.serve.snapshot.Snapshot` or None)."""
    flask = _flask()
    from werkzeug.exceptions import HTTPException

    app = flask.Flask("nndl.serve", root_path=str(STATIC.parent), static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD
    info = dict(info or {}, watching=run_log is not None, serving=model_bytes is not None)
    uploads = threading.BoundedSemaphore(UPLOADS_AT_ONCE)

    def error(status: int, message: str):
        return flask.jsonify(error=message), status

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if flask.request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code == 413:
            return error(413, f"the upload is larger than {MAX_UPLOAD >> 20} MB, the most nndl serve takes")
        return error(exc.code or 500, f"{exc.name}: {flask.request.method} {flask.request.path}")

    @app.get("/")
    def index():
        if model_bytes is None:
            return flask.redirect("/live")
        return flask.send_from_directory(STATIC, "draw.html")

    @app.get("/favicon.ico")
    def favicon():
        return flask.Response(status=204)

    @app.get("/live")
    def live():
        if run_log is None:
            return error(404, "no run is watched: start nndl serve with --watch RUN.jsonl")
        return flask.send_from_directory(STATIC, "live.html")

    @app.get("/model.onnx")
    def model():
        if model_bytes is None:
            return error(404, "no model is served: start nndl serve with a MODEL")
        return flask.Response(model_bytes, mimetype="application/octet-stream")

    @app.get("/api/info")
    def api_info():
        return flask.jsonify(info)

    @app.post("/api/digit")
    def digit():
        from nndl.data.images import load_digit_bytes

        data = flask.request.get_data(cache=False)
        if not data:
            return error(400, "no image in the request: POST the bytes of a PNG or JPEG file")
        if not uploads.acquire(timeout=UPLOAD_WAIT):
            return error(503, f"{UPLOADS_AT_ONCE} photos are being prepared; try again in a moment")
        try:
            pixels = load_digit_bytes(data, "the upload")
        except NndlError as exc:
            return error(400, str(exc))
        finally:
            uploads.release()
        return flask.jsonify(pixels=[round(float(v), 6) for v in pixels])

    @app.get("/api/run")
    def run():
        if run_log is None:
            return error(404, "no run is watched: start nndl serve with --watch RUN.jsonl")
        return flask.jsonify(run_log.poll())

    @app.get("/api/snapshot")
    def api_snapshot():
        if run_log is None:
            return error(404, "no run is watched: start nndl serve with --watch RUN.jsonl")
        source = snapshot
        if source is None:
            final = run_log.poll()["final"] or {}
            source = _final_model_snapshot(final.get("model"), run_log.path)
        if source is None:
            return flask.jsonify(filters=None, misclassified=[], note="give --checkpoint (the run's) to see "
                                 "its filters and mistakes while it trains")
        return flask.jsonify(source.get())

    return app


_FINAL_SNAPSHOTS: dict = {}


def _final_model_snapshot(model, log_path: Path):
    """The snapshot of the model a finished run names in its final line (relative to the log's folder too)."""
    if not isinstance(model, str) or not model:
        return None
    from nndl.serve.snapshot import Snapshot

    path = Path(model)
    if not path.is_absolute() and not path.exists():
        path = log_path.parent / path
    return _FINAL_SNAPSHOTS.setdefault(str(path), Snapshot(path))


def listening_socket(host: str, port: int, option: str = "--port"):
    """A socket bound to ``host:port`` and listening; a port in use or a bad host is one line."""
    import errno
    import socket

    if not 0 <= port <= 65535:
        raise NndlError(f"port {port} is not a port number (0 to 65535)")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise NndlError(f"cannot listen on {host}:{port} (--host: {reason})") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise NndlError(f"port {port} on {host} is in use; pick another with {option}") from None
        if exc.errno == errno.EACCES:
            raise NndlError(f"port {port} on {host} needs privileges; pick one above 1023 with {option}") from None
        raise NndlError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def make_server(app, host: str, port: int, option: str = "--port"):
    """Werkzeug's threaded server for ``app`` on ``host:port`` (0: any free port; ``server.port`` says which)."""
    from werkzeug.serving import make_server as werkzeug_server

    sock = listening_socket(host, port, option)
    try:
        return werkzeug_server(host, sock.getsockname()[1], app, threaded=True, fd=sock.fileno())
    finally:
        sock.close()
