"""``nndl export MODEL --onnx out.onnx``: write a saved model as an ONNX file.

The file holds the whole path from raw examples to outputs (the stored preprocessing as
graph nodes, then every layer), is checked with ``onnx.checker`` (full check) before it is
written, and is written atomically.  A layer that cannot be exported is one line naming it.
"""
from __future__ import annotations

from nndl import io
from nndl.cli.common import print_json
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a saved model as an ONNX file",
                              description="Export a model saved by nndl train to ONNX (opset 17), preprocessing "
                                          "included; input 'input' (N, features) float32 ((N, T, D) for sequences, (N, T) int64 "
                                          "token ids after an embedding), output 'output'.")
    p.add_argument("model", help="a model saved by nndl train (.npz)")
    p.add_argument("--onnx", required=True, metavar="OUT", help="the ONNX file to write")
    p.add_argument("--check", action="store_true",
                   help="run the file with onnxruntime on random inputs and compare with nndl (needs onnxruntime)")
    p.add_argument("--json", action="store_true", help="print what was written as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from nndl.export.onnx import export_onnx, parity

    network = io.load(args.model)
    if str(args.onnx).endswith(".npz"):
        raise NndlError(f"--onnx {args.onnx}: give an .onnx file name (a .npz is an nndl model)")
    path = export_onnx(network, args.onnx)
    report = {"model": str(args.model), "onnx": str(path), "bytes": path.stat().st_size}
    if args.check:
        report.update(parity(network, path))
    if args.json:
        print_json(report)
    else:
        extra = f", max |onnxruntime − nndl| = {report['max_abs_diff']:.2e} on {report['examples']} random inputs" \
            if args.check else ""
        print(f"wrote {path} ({report['bytes']} bytes){extra}")
    return 0
