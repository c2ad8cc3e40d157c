"""``nndl robustness MODEL [MODEL ...] --out DIR``: accuracy against the size of a perturbation.

For each model: FGSM and PGD ε, Gaussian noise σ, rotation angle and stroke thickness (see
:mod:`nndl.adversarial.robustness`), on the first ``--examples`` test examples (the same for every
model); writes ``DIR/robustness.jsonl`` (one line per model and point) and ``DIR/robustness.png``
(one panel per perturbation, one line per model).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from nndl import io
from nndl.cli.common import say
from nndl.errors import NndlError


def register(subparsers) -> None:
    from nndl.adversarial.robustness import DEFAULTS, KINDS

    p = subparsers.add_parser("robustness", help="robustness curves: accuracy against attack ε, noise, rotation, "
                                                 "stroke thickness",
                              description="Accuracy of one or several saved classifiers as perturbations grow, "
                                          "on one figure.")
    p.add_argument("models", nargs="+", help="classifiers saved by nndl train (.npz), taking the same data")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"which curves (default {','.join(KINDS)})")
    for kind in KINDS:
        p.add_argument(f"--{kind}", help=f"the values of the {kind} curve, comma-separated (default "
                                         f"{','.join(f'{v:g}' for v in DEFAULTS[kind])})")
    p.add_argument("--pgd-steps", type=int, default=40, help="PGD steps K (default 40; α = 2.5 ε / K)")
    p.add_argument("--examples", type=int, default=1000, help="test examples per point (default 1000)")
    p.add_argument("--data", help="'mnist', an IDX folder or a CSV file (default: the first model's data)")
    p.add_argument("--split", default="test", choices=["test", "validation", "train"], help="default test")
    p.add_argument("--seed", type=int, default=0, help="seeds the noise and PGD's random starts")
    p.add_argument("--out", required=True, help="folder for robustness.jsonl and robustness.png (made if missing)")
    p.set_defaults(func=run, low=0.0, high=1.0)


def _values(text, kind):
    from nndl.adversarial.robustness import DEFAULTS

    if text is None:
        return list(DEFAULTS[kind])
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise NndlError(f"--{kind} {text!r}: write numbers separated by commas, like 0,0.1,0.2") from None
    if not values:
        raise NndlError(f"--{kind} {text!r} holds no values")
    if kind in ("fgsm", "pgd", "noise") and min(values) < 0:
        raise NndlError(f"--{kind} {text!r}: sizes must be ≥ 0")
    if kind in ("fgsm", "pgd") and max(values) > 1:
        raise NndlError(f"--{kind} {text!r}: ε={max(values):g} is larger than the pixel range [0, 1]")
    return values


def kinds_need_images(kinds) -> bool:
    return any(k in ("rotate", "thickness") for k in kinds)


def run(args) -> int:
    from nndl.adversarial.pixels import check_classifier
    from nndl.adversarial.robustness import KINDS, curve, plot
    from nndl.cli.attack_cmd import out_folder, pixels_of
    from nndl.files import atomic_write

    kinds = [k.strip().lower() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise NndlError(f"--kinds {args.kinds!r}: choose from {', '.join(KINDS)}")
    values = {k: _values(getattr(args, k), k) for k in kinds}
    if args.pgd_steps < 1:
        raise NndlError(f"--pgd-steps must be at least 1, got {args.pgd_steps}")
    networks = []
    for path in args.models:
        net = io.load(path)
        check_classifier(net, path)
        networks.append((path, net))
    out = out_folder(args.out)
    results, lines = {}, []
    for path, net in networks:
        model, part, x, y = pixels_of(net, args, path)
        shape = getattr(part, "image_shape", None) or net.input_shape
        if kinds_need_images(kinds) and len(tuple(shape)) not in (2, 3):
            raise NndlError(f"{part.name} holds examples of shape {tuple(shape)}, not images; rotate and thickness "
                            f"need images (leave them out with --kinds fgsm,pgd,noise)")
        stem = Path(path).stem
        name = f"{Path(path).parent.name}/{stem}" if stem.startswith("seed") else stem
        name = name if name not in results else path
        start = time.perf_counter()
        points = []
        for kind in kinds:
            points += curve(kind, values[kind], model, x, y, shape, args.seed, args.pgd_steps)
        seconds = time.perf_counter() - start
        results[name] = points
        for p in points:
            lines.append({"model": path, "examples": len(y), **p})
        say(f"{path}: " + "; ".join(f"{k} " + " ".join(f"{p['value']:g}:{100 * p['accuracy']:.1f}%"
                                                         for p in points if p["kind"] == k) for k in kinds)
            + f" ({seconds:.0f} s)")
    with atomic_write(out / "robustness.jsonl", mode="w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    plot(out / "robustness.png", results, kinds, f"accuracy under perturbation ({len(lines) and lines[0]['examples']} "
                                                 f"test examples)")
    say(f"wrote {out}/robustness.jsonl, robustness.png")
    return 0
