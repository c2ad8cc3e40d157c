"""``nndl evaluate MODEL``: accuracy, per-class accuracy and the confusion matrix of a saved model."""
from __future__ import annotations

import numpy

from nndl import io
from nndl.cli.common import print_json
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="accuracy and confusion matrix of a saved model",
                              description="Evaluate a saved model on a data split (by default the data it was "
                                          "trained on, test split).")
    p.add_argument("model", help="a model saved by nndl train (.npz)")
    p.add_argument("--data", help="'mnist', an IDX folder or a CSV file (default: the model's training data)")
    p.add_argument("--label", help="CSV: the label column (default: as in training)")
    p.add_argument("--split", default="test", choices=["test", "validation", "train"])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def confusion_matrix(labels, predictions, classes: int) -> numpy.ndarray:
    """C[i, j] = number of examples of class i predicted as class j."""
    return numpy.bincount(labels * classes + predictions, minlength=classes * classes).reshape(classes, classes)


def load_eval_split(network, data, label, split):
    """The raw examples of ``split`` with the model's own preprocessing applied."""
    from nndl.data import load_data

    settings = getattr(network, "metadata", {}).get("settings", {})
    spec = data or settings.get("data", "mnist")
    same_data = data is None or data == settings.get("data")
    splits = load_data(spec, label=label or (settings.get("label") if same_data else None),
                          seed=settings.get("seed", 0) if same_data else 0, standardize=False)
    part = getattr(splits, split)
    if part is None:
        raise NndlError(f"{spec} has no {split} split")
    x = part.x if network.preprocessor is None else network.preprocessor.transform(part.x)
    network.check_input(x, f"{spec} ({split})")
    return part, x


def run(args) -> int:
    network = io.load(args.model)
    part, x = load_eval_split(network, args.data, args.label, args.split)
    classes = network.num_classes
    if part.y.max() >= classes:
        raise NndlError(f"{part.name} has labels up to {part.y.max()} but the model has {classes} outputs")
    predictions = network.predict(x)
    labels = numpy.asarray(part.y)
    cm = confusion_matrix(labels, predictions, classes)
    support = cm.sum(axis=1)
    per_class = numpy.divide(numpy.diag(cm), support, out=numpy.zeros(classes), where=support > 0)
    accuracy = float(numpy.trace(cm) / len(labels))
    names = network.class_names or [str(i) for i in range(classes)]
    if args.json:
        print_json({"model": args.model, "data": part.name, "split": args.split, "examples": len(labels),
                    "accuracy": accuracy, "per_class_accuracy": dict(zip(names, per_class.tolist())),
                    "confusion_matrix": cm.tolist(), "class_names": names})
        return 0
    print(f"{args.model} on {part.name}, {len(labels)} examples: "
          f"accuracy {100 * accuracy:.2f}% ({int(numpy.trace(cm))} / {len(labels)})")
    print("per-class accuracy:")
    for name, acc, n in zip(names, per_class, support):
        print(f"  {name:>12}: {100 * acc:6.2f}%  of {n}")
    width = max(5, max(len(n) for n in names) + 1)
    print("confusion matrix (rows: true class, columns: predicted):")
    print(" " * width + "".join(f"{n[:width - 1]:>{width}}" for n in names))
    for name, row in zip(names, cm):
        print(f"{name[:width - 1]:>{width}}" + "".join(f"{v:>{width}}" for v in row))
    return 0
