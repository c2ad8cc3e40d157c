"""``nndl cv``: k-fold cross-validation of the network ``nndl train`` would train.

    nndl cv --data iris.csv --layers 4,10,3 --epochs 100 --folds 5 --json

Takes every option of ``nndl train`` that says what to train and how (data, network,
training); instead of one split it cuts the examples into ``--folds`` k folds — stratified
for classes, from a shuffle seeded by ``--seed`` — and trains a fresh network k times, each
on k − 1 folds (less a ``--validation`` fraction held out for early stopping and the kept
weights) and tested on the fold left out (:mod:`nndl.crossval`).  It prints one line per
fold and a last one with the mean ± std over the folds of every test figure, the monitored
one first; with ``--json`` each is a JSON object.  No model is saved.

A CSV table is cross-validated over all its rows; MNIST or a folder of IDX files over its
training and validation images (the test images stay unseen).
"""
from __future__ import annotations

import time

import numpy

from nndl.cli import train_cmd
from nndl.cli.common import info, print_json, say
from nndl.errors import NndlError

DEFAULT_FOLDS, DEFAULT_VALIDATION = 5, 0.15


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cv", help="k-fold cross-validation of a network (mean ± std over the folds)",
        description="k-fold cross-validation: train the network of the nndl train options k times, each time "
                    "testing on the fold left out; print each fold and the mean ± std of the test figures.")
    c = p.add_argument_group("cross-validation")
    c.add_argument("--folds", type=int, default=DEFAULT_FOLDS, metavar="K",
                   help=f"number of folds k (default {DEFAULT_FOLDS}); stratified for classes, seeded by --seed")
    c.add_argument("--validation", type=float, default=DEFAULT_VALIDATION, metavar="F",
                   help=f"fraction of each fold's training examples held out for early stopping and the kept "
                        f"weights (default {DEFAULT_VALIDATION}; 0: none, the last epoch's weights)")
    c.add_argument("--json", action="store_true", help="one JSON object per fold, and a last one")
    c.add_argument("--quiet", action="store_true", help="only the last line")
    train_cmd.add_arguments(p, output=False)
    p.set_defaults(func=run)


def run(args) -> int:
    from nndl import crossval

    if not 0 <= args.validation < 1:
        raise NndlError(f"--validation must be a fraction in [0, 1), got {args.validation}")
    s = train_cmd.resolve_settings(args)
    train_cmd._check_settings(s)
    if s["train_size"] is not None:
        raise NndlError("nndl cv uses every example; leave out --train-size")
    if s["expand"] or s["augment"]:
        raise NndlError("nndl cv does not take --expand or --augment")
    data, standardize, note = load_pooled(s)
    folds = crossval.kfold(data.y, crossval.check_folds(args.folds, len(data), data.name), s["seed"])
    if note and not args.quiet and not args.json:
        info(note)
    if data.num_classes is not None and data.task == "classification":
        smallest = int(data.class_counts().min())
        if smallest < len(folds):
            info(f"nndl cv: note: the smallest class has {smallest} examples, fewer than the {len(folds)} folds; "
                 f"some test folds lack it")
    from nndl.transfer import Transfer, freeze

    start, results, monitor = time.perf_counter(), [], None
    for j, test_idx in enumerate(folds, start=1):
        train_idx = _others(folds, j - 1)
        splits, pre = crossval.fold_splits(data, train_idx, test_idx, args.validation, s["seed"] + j, standardize,
                                           s["preprocess"])
        fold_s = dict(s)
        network = train_cmd.new_network(fold_s, splits, pre, Transfer.from_settings(fold_s))
        freeze(network, fold_s.get("freeze") or 0)
        model = train_cmd.build_model(fold_s, network)
        _check_monitor(fold_s, model)
        trainer = train_cmd.build_trainer(fold_s, model, True, (), splits)
        monitor = train_cmd.monitored(fold_s, model)
        began = time.perf_counter()
        history = trainer.fit(model, splits.train, fold_s["epochs"], validation_data=splits.validation,
                              test_data=splits.test)
        final = history.final
        line = {"fold": j, "folds": len(folds), "train": len(splits.train),
                "validation": len(splits.validation) if splits.validation else 0, "test": len(test_idx),
                **{k: v for k, v in final.items() if k.startswith(("test_", "best_"))},
                "epochs": len(history), "stop_reason": final.get("stop_reason"),
                "seconds": time.perf_counter() - began}
        results.append(line)
        if args.json:
            print_json(line)
        elif not args.quiet:
            say(f"fold {j}/{len(folds)}: " + ", ".join(train_cmd._figure(k[5:], line[k]) for k in line
                                                        if k.startswith("test_") and k != "test_cost"))
    figures = [k for k in results[0] if k.startswith("test_")]
    headline = _headline(monitor, figures)
    last = {"final": True, "folds": len(folds), "examples": len(data), "data": str(s["data"]), "metric": headline,
            "mean": None, "std": None, "seed": s["seed"], "validation_fraction": args.validation,
            "seconds_total": time.perf_counter() - start}
    for k in figures:
        stats = crossval.summary(r[k] for r in results)
        last[f"{k}_mean"], last[f"{k}_std"], last[f"{k}_folds"] = stats["mean"], stats["std"], stats["values"]
    last["mean"], last["std"] = last[f"{headline}_mean"], last[f"{headline}_std"]
    if args.json:
        print_json(last)
    else:
        say(f"{len(folds)}-fold cross-validation on {len(data)} examples: {_mean_std(headline[5:], last['mean'], last['std'])}"
            + "".join(f"; {_mean_std(k[5:], last[f'{k}_mean'], last[f'{k}_std'])}" for k in figures
                      if k not in (headline, "test_cost")))
    return 0


def load_pooled(s: dict):
    """(every example as one Dataset, whether to standardize as a table, the loader's note)."""
    from pathlib import Path

    from nndl import crossval
    from nndl.data import load_data
    from nndl.data.csv_table import load_csv

    data_task = None if s["task"] in (None, "reconstruction") else s["task"]
    if s["task"] == "reconstruction":
        raise NndlError("nndl cv cross-validates classifiers and regressors, not --task reconstruction")
    path = Path(str(s["data"]))
    if path.suffix.lower() == ".csv":
        splits, _ = load_csv(path, label=s["label"], split=(1.0, 0.0, 0.0), seed=s["seed"], standardize=False,
                             task=data_task, standardize_targets=False)
        standardize = s["preprocess"] is None
    else:
        splits = load_data(s["data"], task=data_task)
        splits.test = None
        standardize = False
    if s["task"] is None:
        s["task"] = splits.task
    name = splits.train.name.replace(" (training)", "")
    return crossval.pooled(splits, name), standardize, splits.note


def _check_monitor(s: dict, model) -> None:
    """A one-line NndlError if ``--monitor`` names no figure of the model's (even when no validation part
    is held out, it chooses the figure reported first)."""
    names = ["validation_cost"] + [f"validation_{m.name}" for m in model.metrics]
    if s["monitor"] and s["monitor"] not in names:
        raise NndlError(f"--monitor {s['monitor']!r}: nndl cv reports the test fold's {', '.join(n[11:] for n in names)}; "
                        f"choose one of {', '.join(names)}")


def _others(folds, j: int):
    return numpy.sort(numpy.concatenate([f for i, f in enumerate(folds) if i != j]))


def _headline(monitor: str | None, figures: list[str]) -> str:
    """The test figure of the monitored one (``validation_accuracy`` → ``test_accuracy``), else the first metric."""
    if monitor and monitor.startswith("validation_") and f"test_{monitor[11:]}" in figures:
        return f"test_{monitor[11:]}"
    return next((k for k in figures if k != "test_cost"), figures[0])


def _mean_std(name: str, mean: float, std: float) -> str:
    """``accuracy 97.54% ± 1.20%`` or ``r2 0.4821 ± 0.0712``."""
    label = name.replace("_", " ")
    if name.endswith("accuracy"):
        return f"{label} {100 * mean:.2f}% ± {100 * std:.2f}%"
    return f"{label} {mean:.4g} ± {std:.2g}"
