"""``nndl serve MODEL`` and ``nndl serve --watch RUN.jsonl``: a local web page to draw a digit, and a
live view of a training run.

``nndl serve MODEL`` (a model saved by nndl train, or an ONNX file) exports the model to ONNX
and serves a page where you draw a digit; the page prepares it as MNIST digits were prepared
and runs the network itself (onnxruntime-web, shipped with nndl; no internet needed).

``nndl serve --watch RUN.jsonl`` follows the JSON lines of ``nndl train --json > RUN.jsonl``:
cost and accuracy curves, each layer's gradient norm, and — from ``--checkpoint`` (the run's
checkpoint, rewritten after every epoch) or the model its last line names — the first layer's
filters and some test digits it gets wrong; the page updates itself every second.

The server listens on 127.0.0.1 (this machine only) unless ``--host`` says otherwise.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="a web page to draw digits for a model, or a live view of a training run",
                              description="Serve a draw-a-digit page for MODEL (the network runs in the browser) "
                                          "and/or a live view of a training run's JSON lines (--watch).")
    p.add_argument("model", nargs="?", help="a model saved by nndl train (.npz) or an ONNX file (.onnx)")
    p.add_argument("--watch", metavar="RUN.jsonl", help="the JSON lines of nndl train --json, followed as they grow")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="with --watch: the run's checkpoint (or model) file, for its filters and mistakes")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    p.set_defaults(func=run)


def model_for_page(path) -> tuple[bytes, dict]:
    """(ONNX bytes, info for the page) of a .npz model or an .onnx file; one line if it cannot be served."""
    from nndl.export.onnx import INPUT, OUTPUT, class_names, input_features, read_onnx, to_onnx

    path = Path(path)
    if path.suffix.lower() == ".onnx":
        model = read_onnx(path)
        inputs, outputs = [i.name for i in model.graph.input], [o.name for o in model.graph.output]
        if inputs != [INPUT] or OUTPUT not in outputs:
            raise NndlError(f"{path}: the page needs an input named {INPUT!r} and an output {OUTPUT!r} "
                            f"(as nndl export writes), got inputs {inputs} and outputs {outputs}")
        dims = model.graph.input[0].type.tensor_type.shape.dim
        features = dims[-1].dim_value if dims else 0
        out_dims = model.graph.output[outputs.index(OUTPUT)].type.tensor_type.shape.dim
        count = out_dims[-1].dim_value if out_dims else 0
        if not 1 <= count <= 100_000:
            raise NndlError(f"{path}: the page needs a known number of classes in the output, got {count}")
        names = class_names(model, count)
        data = model.SerializeToString()
    else:
        from nndl import io

        network = io.load(path)
        features = input_features(network)
        data = to_onnx(network).SerializeToString()
        names = network.class_names or [str(i) for i in range(network.num_classes)]
    if features != 784:
        raise NndlError(f"{path} takes {features} values per example; the draw page feeds 28x28 MNIST digits (784)")
    return data, {"model": path.name, "classes": names, "features": features, "bytes": len(data)}


def build(args):
    """The app of the arguments (everything checked before the server starts)."""
    from nndl.serve.app import create_app

    if args.model is None and args.watch is None:
        raise NndlError("give a MODEL to draw digits for, or --watch RUN.jsonl to follow a training run")
    if args.checkpoint and not args.watch:
        raise NndlError("--checkpoint goes with --watch (it is the watched run's checkpoint)")
    data, info = model_for_page(args.model) if args.model else (None, {})
    run_log = snapshot = None
    if args.watch:
        from nndl.serve.runlog import RunLog
        from nndl.serve.snapshot import Snapshot

        watch = Path(args.watch)
        if watch.exists() and not watch.is_file():
            raise NndlError(f"--watch {watch} is not a file")
        run_log = RunLog(watch)
        info["run"] = str(watch)
        snapshot = Snapshot(args.checkpoint) if args.checkpoint else None
    return create_app(data, info, run_log, snapshot)


def run(args) -> int:
    from nndl.serve.app import make_server

    app = build(args)
    server = make_server(app, args.host, args.port)
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    page = "/" if args.model else "/live"
    print(f"nndl serve: http://{shown}:{server.port}{page}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()                  # (returns on Ctrl-C)
    finally:
        server.server_close()
    print("nndl serve: stopped", file=sys.stderr)
    return 0
