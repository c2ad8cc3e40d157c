"""``nndl predict MODEL IMAGE...`` or ``nndl predict MODEL rows.csv``: predict with a saved model.

Images: each goes through MNIST's own preprocessing (ink white on black, cropped, fitted
in 20×20 keeping its aspect ratio, centred by centre of mass in 28×28) and then through
the model's stored preprocessing, if any; the top classes are printed.

A CSV file of rows (for a model trained on a table): the columns the model was trained
on are taken by name (others, such as the label column, are left aside; a model saved
before nndl stored the names takes every column, in order), the stored preprocessing is
applied, and one prediction is printed per row: the class name for a classifier (with
the top probabilities), the class name and p for a yes/no classifier (p is the
probability of the second class name, the one the output neuron stands for), the
labels above ½ for a multi-label one, the value(s) in the targets' units for a
regressor.  ``--json``: one object per image or row.

An image that cannot be read (not an image, blank, too big) does not stop the others:
it gets one ``nndl predict: error: ...`` line on stderr and the rest are classified.
Exit status: 0 if every image was classified; 1 if some could not be read (the others
were classified); 2 if none could be read, or the model, the table or an option is bad.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy

from nndl import io
from nndl.cli.common import print_json, stored_settings
from nndl.ensemble import normalize
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="predict digit images, or the rows of a CSV table, with a saved model",
                              description="Print the prediction for each digit image (with the top-3 probabilities) "
                                          "or for each row of a CSV file (a model trained on a table).")
    p.add_argument("model", help="a model saved by nndl train (.npz)")
    p.add_argument("inputs", nargs="+", metavar="FILE",
                   help="PNG or JPEG files, one digit each; or one CSV file of rows with the model's feature columns")
    p.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object per image or row")
    p.set_defaults(func=run)


def run(args) -> int:
    tables = [path for path in args.inputs if Path(path).suffix.lower() == ".csv"]
    if tables and (len(tables) > 1 or len(args.inputs) > 1):
        raise NndlError("give one CSV file of rows, or image files, not both or several tables")
    network = io.load(args.model)
    if tables:
        return predict_rows(args, network, tables[0])
    return predict_images(args, network)


# -- images ---------------------------------------------------------------------------------------
def predict_images(args, network) -> int:
    features = network.preprocessor.num_features if network.preprocessor is not None else \
        int(numpy.prod(network.input_shape))
    if features != 784:
        raise NndlError(f"{args.model} expects inputs of shape {network.input_shape}, but images are "
                        f"preprocessed to 28x28 MNIST digits")
    paths, inputs = _read_images(args.inputs)
    if not paths:
        return 2
    probs = normalize(network.predict_proba(numpy.stack(inputs)))   # softmax as it is; sigmoids scaled to sum to 1
    names = network.class_names or [str(i) for i in range(network.num_classes)]
    for path, p in zip(paths, probs):
        _print_classes(args, {"image": path}, f"{path}:", p, names)
    return 0 if len(paths) == len(args.inputs) else 1


def _read_images(paths) -> tuple[list, list]:
    """Prepare each image file; return (the paths that worked, their inputs), and print one line
    on stderr for each that did not."""
    from nndl.data.images import load_digit_image

    good, inputs = [], []
    for path in paths:
        try:
            inputs.append(load_digit_image(path))
        except NndlError as exc:
            print(f"nndl predict: error: {exc}", file=sys.stderr)
            continue
        good.append(path)
    return good, inputs


def _print_classes(args, where: dict, label: str, p, names) -> None:
    """The most probable class and the top ``--top`` with their probabilities, as a line or JSON."""
    top = max(1, min(args.top, len(names)))
    order = numpy.argsort(-p, kind="stable")[:top]
    if args.json:
        print_json({**where, "prediction": names[order[0]],
                    "top": [{"class": names[i], "probability": float(p[i])} for i in order]})
    else:
        shown = ", ".join(f"{names[i]}: {100 * p[i]:.1f}%" for i in order)
        print(f"{label} {names[order[0]]}  ({shown})")


# -- rows of a table ----------------------------------------------------------------------------------
def predict_rows(args, network, table: str) -> int:
    """One prediction per row of the CSV file ``table``."""
    settings = stored_settings(network, args.model)
    task = settings.get("task") or "classification"
    if task == "reconstruction":
        raise NndlError(f"{args.model} is an autoencoder; it reconstructs its inputs and predicts nothing")
    x, lines = read_rows(Path(table), network, settings.get("features"))
    names = network.class_names or [str(i) for i in range(network.num_classes)]
    if task == "regression":
        from nndl.models import Regressor

        values = Regressor(network).predict(x).reshape(len(x), -1)
        for line, row in zip(lines, values):
            _print_values(args, line, dict(zip(names, map(float, row))))
        return 0
    p = network.predict_proba(x).reshape(len(x), -1)
    for line, row in zip(lines, p):
        if task == "binary":
            _print_binary(args, line, float(row[0]), names, getattr(network.cost, "decision_threshold", 0.5))
        elif task == "multilabel":
            _print_labels(args, line, row, names)
        else:
            _print_classes(args, {"line": line}, f"line {line}:", normalize(row[None])[0], names)
    return 0


def read_rows(path: Path, network, features):
    """The feature columns of ``path`` as an (N, D) float array (as they are: the network preprocesses),
    and each row's line number; one-line errors naming the file, line and column."""
    from nndl.data.csv_table import _parse_features, _read_rows

    header, rows, lines = _read_rows(path)
    if features:
        missing = [name for name in features if name not in header]
        if missing:
            raise NndlError(f"{path}: no column {missing[0]!r}; the model was trained on the columns "
                            f"{', '.join(features)}")
        columns = [header.index(name) for name in features]
    else:
        expected = network.preprocessor.num_features if network.preprocessor is not None else \
            int(numpy.prod(network.input_shape))
        if len(header) != expected:
            raise NndlError(f"{path} has {len(header)} columns, the model takes {expected} features (it does not "
                            f"name them: give exactly its feature columns, in training order)")
        columns = list(range(len(header)))
    return _parse_features(path, header, rows, lines, columns), lines


def _print_values(args, line: int, values: dict) -> None:
    if args.json:
        print_json({"line": line, "prediction": values})
    else:
        print(f"line {line}: " + ", ".join(f"{name} {value:.6g}" for name, value in values.items()))


def _print_binary(args, line: int, p: float, names, threshold: float = 0.5) -> None:
    """The class name of p > ½ and p, the probability of the second class (what the output neuron says);
    under a margin cost (hinge, logistic) the output is a score, and the class is that of score > 0."""
    prediction, positive = names[int(p > threshold)], names[1] if len(names) > 1 else "1"
    if threshold != 0.5:
        if args.json:
            print_json({"line": line, "prediction": prediction, "score": p, "of": positive})
        else:
            print(f"line {line}: {prediction}  (score {p:.3f}; above {threshold:g} means {positive})")
        return
    if args.json:
        print_json({"line": line, "prediction": prediction, "probability": p, "of": positive})
    else:
        print(f"line {line}: {prediction}  (p({positive}) = {p:.3f})")


def _print_labels(args, line: int, p, names) -> None:
    """The labels whose output is above ½, and every label's probability."""
    present = [name for name, value in zip(names, p) if value > 0.5]
    if args.json:
        print_json({"line": line, "labels": present, "probabilities": dict(zip(names, map(float, p)))})
    else:
        shown = ", ".join(f"{name} {value:.3f}" for name, value in zip(names, p))
        print(f"line {line}: {', '.join(present) or '(none)'}  ({shown})")
