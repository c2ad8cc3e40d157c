"""What a model file shows of a network in training: its first layer's filters and some digits it gets wrong.

The live view reads the run's checkpoint (``nndl train --checkpoint``), rewritten after every
epoch, or the model the run saved at its end.  It is read again only when the file changes
(files are written atomically, so it is never half written).

* filters: conv weights W[f, 0] (the first input channel), or a dense layer's rows as 28×28
  images when it reads 784 pixels; each scaled to [0, 1] on its own (min to 0, max to 1);
* misclassified: the first :data:`SHOWN` of the first :data:`EXAMPLES` MNIST test digits that
  the network gets wrong, with their label and the network's answer.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy

from nndl.errors import NndlError

MAX_FILTERS = 32
SHOWN = 8
EXAMPLES = 1000


def _scaled(images: numpy.ndarray) -> list:
    lo = images.min(axis=(1, 2), keepdims=True)
    span = images.max(axis=(1, 2), keepdims=True) - lo
    span[span == 0] = 1
    return numpy.round((images - lo) / span, 4).tolist()


def first_filters(network) -> dict | None:
    """``{"layer", "shape", "images"}`` of the first layer with weights, or None."""
    from nndl.backend import to_numpy

    for where, layer in network.leaves():
        w = getattr(layer, "W", None)
        if w is None:
            continue
        w = to_numpy(w.value).astype(numpy.float64)
        if layer.type in ("conv", "convpool"):
            images = w[:MAX_FILTERS, 0]
        elif w.ndim == 2 and w.shape[1] == 784:
            images = w[:MAX_FILTERS].reshape(-1, 28, 28)
        else:
            return None
        number = int(str(where).split("/")[0]) + 1            # as in the run's gradient_norms: "1:conv"
        return {"layer": f"{number}:{layer.type}", "shape": list(images.shape[1:]), "images": _scaled(images)}
    return None


_DIGITS: list = []


def test_digits():
    """The first :data:`EXAMPLES` MNIST test digits and labels (read once, from the data root)."""
    if not _DIGITS:
        from nndl.data import load_mnist

        test = load_mnist(split="book", download=False).test
        _DIGITS.append((numpy.asarray(test.x[:EXAMPLES], dtype=numpy.float32).reshape(-1, 784),
                        numpy.asarray(test.y[:EXAMPLES])))
    return _DIGITS[0]


def describe(network, source: str) -> dict:
    """``{"file", "filters", "misclassified", "note"}`` of a network (``source``: where it came from)."""
    from nndl.export.onnx import input_features

    value = {"file": source, "filters": first_filters(network), "misclassified": [], "note": None}
    if input_features(network) != 784:
        return {**value, "note": "the model does not read 28x28 digits: no misclassified digits to show"}
    try:
        x, y = test_digits()
    except NndlError as exc:
        return {**value, "note": f"no MNIST test digits to show ({exc})"}
    predicted = network.predict_proba(x).reshape(len(x), -1).argmax(axis=1)
    wrong = numpy.flatnonzero(predicted != y)
    value["misclassified"] = [{"index": int(i), "label": int(y[i]), "predicted": int(predicted[i]),
                               "pixels": numpy.round(x[i], 3).tolist()} for i in wrong[:SHOWN]]
    value["note"] = f"{len(wrong)} of the first {len(x)} test digits wrong"
    return value


class Snapshot:
    """Filters and misclassified digits of the model file ``path``, recomputed when the file changes."""

    def __init__(self, path):
        self.path = Path(path)
        self.lock = threading.Lock()
        self.key = None
        self.value = {"file": str(self.path), "filters": None, "misclassified": [], "note": "not read yet"}

    def get(self) -> dict:
        with self.lock:
            try:
                stat = self.path.stat()
            except OSError:
                return {**self.value, "note": f"{self.path} does not exist (yet)"}
            key = (stat.st_mtime_ns, stat.st_size)
            if key != self.key:
                self.key = key
                self.value = self._compute()
            return self.value

    def _compute(self) -> dict:
        from nndl import io

        try:
            network = io.load(self.path)
        except NndlError as exc:
            return {"file": str(self.path), "filters": None, "misclassified": [], "note": str(exc)}
        return describe(network, str(self.path))
