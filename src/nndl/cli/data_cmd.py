"""``nndl data``: download, verify and inspect the data.

``nndl data download``  fetch the four MNIST files into ``<root>/mnist`` (checked)
``nndl data verify``    check the SHA-256 of the MNIST files; exit 1 if any is bad or missing
``nndl data show``      where a data set is and its parts' sizes, shapes and class counts

``--root DIR`` overrides ``NNDL_DATA`` (the data root; MNIST is in ``DIR/mnist``);
``--json`` prints one JSON object instead of text.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers) -> None:
    """Add the ``data`` command and its actions to ``subparsers``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR",
                        help="data root (default: $NNDL_DATA, else ~/.cache/nndl); MNIST is in DIR/mnist")
    common.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    parser = subparsers.add_parser("data", help="download, verify and inspect data sets",
                                   description="Download, verify and inspect data sets.")
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION")

    p = actions.add_parser("download", parents=[common], help="download MNIST into the data root",
                           description="Download the four MNIST files (checking their SHA-256) "
                                       "into DIR/mnist; files already there are verified, not fetched. "
                                       "Downloads even if NNDL_OFFLINE is set.")
    p.add_argument("--timeout", type=float, default=30, help="seconds per connection attempt (default 30)")
    p.set_defaults(func=run_download)

    p = actions.add_parser("verify", parents=[common], help="check the MNIST files' SHA-256",
                           description="Check the SHA-256 of the four MNIST files; exit status 1 "
                                       "if any is wrong or missing.")
    p.set_defaults(func=run_verify)

    p = actions.add_parser("show", parents=[common], help="where the data are, sizes and class counts",
                           description="Show where a data set is and the size, shape and class "
                                       "counts of its parts.")
    p.add_argument("--data", default="mnist", help="'mnist' (default), a folder of IDX files, or a CSV file")
    p.add_argument("--split", choices=["book", "standard"], default="book",
                   help="MNIST/IDX split: book = 50k/10k/10k (default), standard = 60k/-/10k")
    p.add_argument("--label", help="label column of a CSV file (default: label/class/species/target, else the last)")
    p.set_defaults(func=run_show)

    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 1


def run_download(args) -> int:
    """Download (or find and verify) MNIST; print where it is."""
    from nndl.data.mnist import MNIST_FILES, ensure_mnist, find_file

    folder = ensure_mnist(args.root, download=True, timeout=args.timeout)
    files = [find_file(folder, canonical) for canonical, _ in MNIST_FILES.values()]
    if args.json:
        print(json.dumps({"folder": str(folder.resolve()),
                          "files": [{"file": f.name, "bytes": f.stat().st_size} for f in files]}))
        return 0
    for f in files:
        print(f"ok  {f.name}  {f.stat().st_size} bytes")
    print(f"MNIST is in {folder.resolve()}")
    return 0


def _verify_one(folder: Path, key: str, canonical: str, sha: str) -> dict:
    """Check one MNIST file: status ok / bad / missing / size-ok (decompressed copy)."""
    from nndl.data.download import sha256_file
    from nndl.data.mnist import MNIST_RAW_SIZES, find_file

    path = find_file(folder, canonical)
    if path is None:
        return {"file": canonical, "status": "missing", "detail": f"not in {folder}"}
    if path.name == canonical:
        got = sha256_file(path)
        if got == sha:
            return {"file": path.name, "status": "ok", "sha256": got}
        return {"file": path.name, "status": "bad", "sha256": got,
                "detail": f"SHA-256 {got} instead of {sha}"}
    if path.name.endswith(".gz"):
        return {"file": path.name, "status": "unchecked",
                "detail": "not the canonical name, so no checksum to compare with"}
    size, expected = path.stat().st_size, MNIST_RAW_SIZES[key]
    if size == expected:
        return {"file": path.name, "status": "ok",
                "detail": f"decompressed copy, {size} bytes as expected (SHA-256 is known for the .gz only)"}
    return {"file": path.name, "status": "bad", "detail": f"{size} bytes instead of {expected}"}


def run_verify(args) -> int:
    """Print one line per MNIST file; exit status 1 if any is bad or missing."""
    from nndl.data.mnist import MNIST_FILES, mnist_dir

    folder = mnist_dir(args.root).resolve()
    results = [_verify_one(folder, key, canonical, sha) for key, (canonical, sha) in MNIST_FILES.items()]
    ok = all(r["status"] in ("ok", "unchecked") for r in results)
    if args.json:
        print(json.dumps({"folder": str(folder), "ok": ok, "files": results}))
        return 0 if ok else 1
    for r in results:
        detail = r.get("detail") or f"sha256 {r['sha256']}"
        print(f"{r['status']:<9} {r['file']}  {detail}")
    if ok:
        print(f"MNIST in {folder}: all four files are good")
    else:
        bad = sum(r["status"] not in ("ok", "unchecked") for r in results)
        print(f"MNIST in {folder}: {bad} of 4 files bad or missing; run `nndl data download` "
              f"(after deleting bad files) or put the original files there")
    return 0 if ok else 1


def _location(spec: str, root) -> str:
    from nndl.data.mnist import mnist_dir

    if spec.strip().lower() == "mnist":
        return str(mnist_dir(root).resolve())
    return str(Path(spec).expanduser().resolve())


def _describe(part) -> dict:
    counts = part.class_counts().tolist()
    names = part.class_names or [str(k) for k in range(part.num_classes)]
    return {"name": part.name, "examples": len(part), "shape": list(part.x.shape), "dtype": str(part.x.dtype),
            "image_shape": list(part.image_shape) if part.image_shape else None,
            "num_classes": part.num_classes, "class_counts": dict(zip(names, counts))}


def run_show(args) -> int:
    """Load the data named by ``--data`` and describe each part."""
    from nndl.data.mnist import load_data

    splits = load_data(args.data, root=args.root, split=args.split, label=args.label)
    parts = {key: _describe(part) for key, part in splits.parts()}
    pre = splits.preprocessor
    report = {"data": args.data, "location": _location(args.data, args.root), "parts": parts,
              "preprocessing": None if pre is None else pre.config()["name"]}
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"data: {args.data}  ({report['location']})")
    for key, d in parts.items():
        image = "x".join(map(str, d["image_shape"])) if d["image_shape"] else "-"
        print(f"{key:<11}{d['examples']:>7} examples  x {tuple(d['shape'])} {d['dtype']}  image {image}  "
              f"{d['num_classes']} classes")
        print("           class counts: " + " ".join(f"{name}:{n}" for name, n in d["class_counts"].items()))
    if pre is not None:
        print(f"preprocessing: {report['preprocessing']} (fitted on the training part, applied to all)")
    return 0
