"""Classifiers: a class per output neuron (softmax or sigmoid), one output for yes/no, or one per label.

* :class:`Classifier` — K classes, labels 0..K−1, targets one-hot rows
  (label 3 of 10 becomes (0,0,0,1,0,0,0,0,0,0)); the predicted class is the most active
  output neuron.  The book's networks.
* :class:`BinaryClassifier` — one sigmoid output a = P(y = 1 | x), targets 0 or 1,
  trained with the cross-entropy C = −[y ln a + (1 − y) ln(1 − a)]; the prediction is
  a > ½.
* :class:`MultiLabelClassifier` — K independent sigmoid outputs, each label present
  (1) or not (0), any number at once; each output is a binary classifier of its own.
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device
from nndl.errors import NndlError
from nndl.metrics import BinaryAccuracy, LogLoss
from nndl.models.base import Model, finite_numbers


class Classifier(Model):
    """K classes as K outputs; targets are class indices 0..K−1, one-hot encoded for the cost."""

    task = "classification"
    default_metrics = ("accuracy",)

    def check_targets(self, y, what):
        if y is None:
            raise NndlError(f"{what}: a classifier needs labels")
        y = numpy.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iu":
            hint = " (real-valued targets: use a Regressor, --task regression)" if y.dtype.kind == "f" else ""
            raise NndlError(f"{what}: labels must be a 1-D array of class indices, got shape {y.shape} "
                            f"of {y.dtype}{hint}")
        classes = self.network.num_classes
        if y.min() < 0 or y.max() >= classes:
            raise NndlError(f"{what}: labels range over {y.min()}..{y.max()} but the network has "
                            f"{classes} outputs")
        return y

    def targets(self, x, labels):
        return self.network.one_hot(labels)


def _zero_one(y, what: str) -> numpy.ndarray:
    """``y`` as float32 of 0s and 1s; a one-line NndlError for anything else."""
    y = finite_numbers(y, what)
    bad = (y != 0) & (y != 1)
    if bad.any():
        index = tuple(int(i) for i in numpy.argwhere(bad)[0])
        raise NndlError(f"{what}: binary targets must be 0 or 1, got {y[index]} at index {index}")
    return y.astype(numpy.float32, copy=False)


class BinaryClassifier(Model):
    """One sigmoid output a = P(y = 1 | x); targets 0 or 1 (shape (N,) or (N, 1)).

    Under a margin cost (hinge, logistic: :class:`nndl.costs.MarginCost`) the output is a
    linear score instead, the class is 1 where it is above the cost's ``decision_threshold``
    (0), targets may be given as ±1, and the log-loss (of a probability) is not reported.
    """

    task = "binary"
    default_metrics = ("accuracy", "log_loss")

    def __init__(self, network, *args, **kwargs):
        if tuple(network.output_shape) != (1,):
            raise NndlError(f"a binary classifier has one output neuron, this network has "
                            f"{network.num_classes}")
        self.threshold = float(getattr(network.cost, "decision_threshold", 0.5))
        self.metric_names = {"accuracy": lambda: BinaryAccuracy(self.threshold)}
        if self.threshold != 0.5 and kwargs.get("metrics") is None and len(args) < 4:
            kwargs["metrics"] = ("accuracy",)
        super().__init__(network, *args, **kwargs)

    def check_targets(self, y, what):
        if y is None:
            raise NndlError(f"{what}: a binary classifier needs 0/1 targets")
        y = numpy.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise NndlError(f"{what}: binary targets must be one 0 or 1 per example, got shape {y.shape}")
        return _zero_one(y, what)

    def targets(self, x, y):
        return to_device(y, self.network.dtype).reshape(len(y), 1)

    def predict_classes(self, x, preprocessed: bool = False):
        """1 where the output is above ½ (a margin cost's score: above 0), else 0."""
        return (self.predict(x, preprocessed=preprocessed)[:, 0] > self.threshold).astype(numpy.int64)


class MultiLabelClassifier(Model):
    """K independent sigmoid outputs; targets (N, K) of 0s and 1s (any number of labels per example)."""

    task = "multilabel"
    default_metrics = ("accuracy", "log_loss")
    metric_names = {"accuracy": BinaryAccuracy, "log_loss": lambda: LogLoss(binary=True)}

    def check_targets(self, y, what):
        if y is None:
            raise NndlError(f"{what}: a multi-label classifier needs 0/1 targets")
        y = numpy.asarray(y)
        k = self.network.num_classes
        if y.ndim != 2 or y.shape[1] != k:
            raise NndlError(f"{what}: multi-label targets must have shape (N, {k}) for the network's {k} "
                            f"outputs, got {y.shape}")
        return _zero_one(y, what)

    def targets(self, x, y):
        return to_device(y, self.network.dtype)
