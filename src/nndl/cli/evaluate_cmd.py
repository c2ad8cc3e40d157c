"""``nndl evaluate MODEL``: how well a saved model does on a data split.

For a classifier: accuracy, per-class accuracy and the confusion matrix; for any other
task (regression, binary, multi-label, reconstruction): the cost and the metrics of its
model kind (mean squared and absolute error and R², accuracy and log-loss, ...).  For a
character model (``nndl train --data FILE.txt``): the cross-entropy per character in nats
and bits, and the perplexity, on the last 10% of its text (``--split validation``, the
default) or the first 90% (``--split train``), read as the training read it.
"""
from __future__ import annotations

import numpy

from nndl import io
from nndl.cli.common import data_setting, print_json, stored_settings
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="accuracy and confusion matrix of a saved model",
                              description="Evaluate a saved model on a data split (by default the data it was "
                                          "trained on, test split).")
    p.add_argument("model", help="a model saved by nndl train (.npz)")
    p.add_argument("--data", help="'mnist', an IDX folder or a CSV file (default: the model's training data)")
    p.add_argument("--label", help="CSV: the label column (default: as in training)")
    p.add_argument("--split", default=None, choices=["test", "validation", "train"],
                   help="which part of the data (split as in training): test (default), validation or train; "
                        "a character model's text has train and validation (default) parts")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def confusion_matrix(labels, predictions, classes: int) -> numpy.ndarray:
    """C[i, j] = number of examples of class i predicted as class j."""
    return numpy.bincount(labels * classes + predictions, minlength=classes * classes).reshape(classes, classes)


def load_eval_split(network, data, label, split, path="the model"):
    """The raw examples of ``split`` with the model's own preprocessing applied (to the
    inputs, and for a regressor to the targets)."""
    from nndl.data import load_data

    settings = stored_settings(network, path)
    spec = data or settings.get("data", "mnist")
    same_data = data is None or data_setting(data) == data_setting(settings.get("data", "mnist"))
    task = settings.get("task")
    if str(spec).strip().lower() == "mnist" and int(numpy.prod(network.input_shape)) != 784:
        raise NndlError(f"{path} takes inputs of shape {network.input_shape}, MNIST's images have 784 pixels; "
                        f"name the model's data with --data")
    splits = load_data(spec, label=label or (settings.get("label") if same_data else None),
                       seed=settings.get("seed", 0) if same_data else 0, standardize=False,
                       task=None if task in (None, "reconstruction") else task, standardize_targets=False)
    part = getattr(splits, split)
    if part is None:
        raise NndlError(f"{spec} has no {split} split")
    x = part.x if network.preprocessor is None else network.preprocessor.transform(part.x)
    network.check_input(x, f"{spec} ({split})")
    if getattr(network, "target_preprocessor", None) is not None:
        part = part.with_y(network.target_preprocessor.transform(part.y))
    return part, x


def evaluate_text(args, network) -> int:
    """Cross-entropy per character of a character model on a part of its text (or of ``--data``)."""
    import math

    from nndl.cli.sample_cmd import vocabulary_of
    from nndl.cli.text_train import validation_data
    from nndl.data.text import CharCorpus
    from nndl.models import SequenceClassifier

    vocabulary = vocabulary_of(network, args.model)
    text = network.metadata["text"]
    split = args.split or "validation"
    if split == "test":
        raise NndlError("a character model's text has a train and a validation part (the last 10%), no test part; "
                        "use --split validation or --split train")
    if args.label:
        raise NndlError("--label is for CSV tables, not a character model")
    source = args.data or text.get("source")
    if not source:
        raise NndlError(f"{args.model} does not say which text it was trained on; name it with --data")
    corpus = CharCorpus(source, int(network.input_shape[0]), vocabulary=vocabulary)
    model = SequenceClassifier(network)
    if split == "validation":
        data, model.eval_streams = validation_data(corpus)
    else:
        data = corpus.training(1)
    nats = float(model.evaluate(*data)["cost"])
    result = {"model": args.model, "data": str(corpus.path), "split": split, "characters": int(data[1].size),
              "nats_per_character": nats, "bits_per_character": nats / math.log(2), "perplexity": math.exp(nats)}
    if args.json:
        print_json(result)
    else:
        print(f"{args.model} on {corpus.path.name} ({split}, {result['characters']} characters): "
              f"{nats:.4f} nats per character ({result['bits_per_character']:.4f} bits), perplexity "
              f"{result['perplexity']:.2f}")
    return 0


def run(args) -> int:
    network = io.load(args.model)
    if isinstance(getattr(network, "metadata", {}).get("text"), dict):
        return evaluate_text(args, network)
    args.split = args.split or "test"
    part, x = load_eval_split(network, args.data, args.label, args.split, args.model)
    task = stored_settings(network, args.model).get("task") or "classification"
    if task != "classification":
        return report_figures(args, network, task, part, x)
    classes = network.num_classes
    if part.y.max() >= classes:
        raise NndlError(f"{part.name} has labels up to {part.y.max()} but the model has {classes} outputs")
    predictions = network.predict(x, preprocessed=True)
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


def report_figures(args, network, task, part, x) -> int:
    """The cost and metrics of the model's task, as a line or one JSON object."""
    from nndl.models import model_for_task

    model = model_for_task(task)(network)
    _, y = model.check_data(x, None if task == "reconstruction" else part.y, part.name)
    figures = model.evaluate(x, y)
    if args.json:
        print_json({"model": args.model, "data": part.name, "split": args.split, "task": task,
                    "examples": len(x), **figures})
        return 0
    shown = ", ".join(f"{k} {100 * v:.2f}%" if k.endswith("accuracy") else f"{k} {v:.4g}" for k, v in figures.items())
    print(f"{args.model} ({task}) on {part.name}, {len(x)} examples: {shown}")
    return 0
