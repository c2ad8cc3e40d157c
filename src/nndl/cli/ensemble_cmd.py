"""``nndl ensemble MODEL...``: evaluate saved models voting together (``--from-study STUDY --top K``: the
models of a sweep's best trials)."""
from __future__ import annotations

import os

import numpy

from nndl import io
from nndl.cli.common import print_json, stored_settings
from nndl.cli.evaluate_cmd import load_eval_split
from nndl.ensemble import VOTES, vote
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("ensemble", help="evaluate several saved models voting together",
                              description="Accuracy of an ensemble of saved models (the book's plurality vote, "
                                          "or averaged probabilities) and of each model alone.")
    p.add_argument("models", nargs="*", help="models saved by nndl train (.npz)")
    p.add_argument("--from-study", metavar="STUDY", help="take the models of the best trials of an nndl sweep study")
    p.add_argument("--top", type=int, default=5, help="with --from-study: how many of the best trials (default 5)")
    p.add_argument("--storage", default=os.environ.get("NNDL_SWEEP_STORAGE") or None,
                   help="with --from-study: the sweep's storage (default: $NNDL_SWEEP_STORAGE, else "
                        "SWEEP_DIR/journal.log)")
    p.add_argument("--sweep-dir", default="sweeps", help="with --from-study: the sweep's folder (default sweeps/)")
    p.add_argument("--vote", default="plurality", choices=VOTES)
    p.add_argument("--data", help="'mnist', an IDX folder or a CSV file (default: the first model's data)")
    p.add_argument("--split", default="test", choices=["test", "validation", "train"],
                   help="which part of the data (split as in training): test (default), validation or train")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.from_study:
        from nndl.sweep.show import study_models

        args.models = list(args.models) + study_models(args.from_study, args.top, args.storage, args.sweep_dir)
    if not args.models:
        raise NndlError("name the models to ensemble, or --from-study STUDY")
    networks = [io.load(path) for path in args.models]
    classes = {net.num_classes for net in networks}
    if len(classes) != 1:
        raise NndlError(f"the models have different numbers of outputs: {sorted(classes)}")
    outputs, labels, name = [], None, None
    for path, net in zip(args.models, networks):
        part, x = load_eval_split(net, args.data or stored_settings(networks[0], args.models[0]).get("data"),
                                  None, args.split)
        if labels is not None and len(part.y) != len(labels):
            raise NndlError(f"{path} sees {len(part.y)} {args.split} examples, the others {len(labels)}")
        labels, name = numpy.asarray(part.y), part.name
        outputs.append(net.predict_proba(x, preprocessed=True))
    outputs = numpy.stack(outputs)
    singles = [float((o.argmax(axis=1) == labels).mean()) for o in outputs]
    accuracy = float((vote(outputs, args.vote) == labels).mean())
    if args.json:
        print_json({"models": args.models, "vote": args.vote, "data": name, "split": args.split,
                    "examples": len(labels), "accuracy": accuracy, "model_accuracies": singles})
        return 0
    for path, acc in zip(args.models, singles):
        print(f"{path}: {100 * acc:.2f}%")
    print(f"ensemble of {len(networks)} ({args.vote} vote) on {name}: {100 * accuracy:.2f}% "
          f"({int(round(accuracy * len(labels)))} / {len(labels)})")
    return 0
