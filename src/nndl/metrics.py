"""Metrics: figures of merit over a whole data set, gathered batch by batch.

A metric sees the network's outputs ``a`` and the targets ``y`` (in the form the cost
sees them: one-hot rows for a classifier, 0/1 columns for binary and multi-label nets,
real values for a regressor), one mini-batch at a time:

    metric.reset();  for each batch: metric.update(a, y);  metric.result()

Sums are kept in float64, so the result does not depend on how the data were cut into
batches.  ``mode`` says which way is better (``"max"`` for accuracy, ``"min"`` for
errors), the default direction for early stopping on it.

=================  =====================================================================
``accuracy``       fraction of examples whose most active output is the target class
``binary_accuracy`` fraction of outputs on the right side of ½ (per label, for multi-label)
``top_k(k)``       fraction of examples whose target class is among the k most active
``mse``            mean squared error   (1/(N·K)) Σ (a − y)²
``mae``            mean absolute error  (1/(N·K)) Σ |a − y|
``r2``             coefficient of determination 1 − Σ(y − a)² / Σ(y − ȳ)², per output, averaged
``log_loss``       −(1/N) Σ ln a_y (classes), or the mean Bernoulli −[y ln a + (1 − y) ln(1 − a)]
=================  =====================================================================
"""
from __future__ import annotations

import math

import numpy

from nndl import validation
from nndl.backend import to_numpy
from nndl.registry import create_from_text


def _host(a) -> numpy.ndarray:
    return numpy.asarray(to_numpy(a), dtype=numpy.float64).reshape(len(a), -1)


class Metric:
    """Base class: ``reset``, ``update(a, y)`` per batch, ``result()``."""

    name = "metric"
    mode = "max"

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, a, y) -> None:
        raise NotImplementedError

    def result(self) -> float:
        return self.total / self.count if self.count else math.nan

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Accuracy(Metric):
    """Fraction of examples whose most active output neuron is the target class."""

    name = "accuracy"

    def update(self, a, y):
        self.total += int((a.argmax(axis=1) == y.argmax(axis=1)).sum())
        self.count += len(a)


class BinaryAccuracy(Metric):
    """Fraction of outputs on the right side of ½: aⱼ > ½ exactly when yⱼ = 1 (each label counts)."""

    name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5):
        self.threshold = float(threshold)          # 0 for the score of a margin cost (hinge, logistic)
        super().__init__()

    def update(self, a, y):
        self.total += int(((a > self.threshold) == (y > 0.5)).sum())
        self.count += a.size


class TopK(Metric):
    """Fraction of examples whose target class is among the k most active outputs."""

    name = "top_k"

    def __init__(self, k: int = 5):
        self.k = validation.whole("top_k k", k, low=1)
        self.name = f"top_{self.k}_accuracy"
        super().__init__()

    def update(self, a, y):
        a, labels = to_numpy(a), to_numpy(y).argmax(axis=1)
        k = min(self.k, a.shape[1])
        top = numpy.argpartition(-a, k - 1, axis=1)[:, :k]
        self.total += int((top == labels[:, None]).any(axis=1).sum())
        self.count += len(a)

    def __repr__(self):
        return f"TopK({self.k})"


class MeanSquaredError(Metric):
    """(1/(N·K)) Σ (a − y)² over all N examples and K outputs."""

    name = "mse"
    mode = "min"

    def update(self, a, y):
        d = _host(a) - _host(y)
        self.total += float((d * d).sum())
        self.count += d.size


class MeanAbsoluteError(Metric):
    """(1/(N·K)) Σ |a − y|."""

    name = "mae"
    mode = "min"

    def update(self, a, y):
        self.total += float(numpy.abs(_host(a) - _host(y)).sum())
        self.count += int(numpy.prod(a.shape))


class R2(Metric):
    """R² = 1 − SS_res / SS_tot for each output, then the mean over outputs (scikit-learn's
    ``r2_score`` with ``multioutput="uniform_average"``), where

        SS_res = Σ (y − a)²,   SS_tot = Σ (y − ȳ)² = Σ y² − (Σ y)² / N.

    1 is a perfect fit; 0 is no better than always predicting the mean ȳ of the data.
    """

    name = "r2"

    def reset(self):
        self.n, self.sum_y, self.sum_y2, self.ss_res = 0, 0.0, 0.0, 0.0

    def update(self, a, y):
        a, y = _host(a), _host(y)
        self.n += len(y)
        self.sum_y = self.sum_y + y.sum(axis=0)
        self.sum_y2 = self.sum_y2 + (y * y).sum(axis=0)
        self.ss_res = self.ss_res + ((y - a) ** 2).sum(axis=0)

    def result(self):
        if not self.n:
            return math.nan
        ss_tot = self.sum_y2 - self.sum_y ** 2 / self.n
        with numpy.errstate(divide="ignore", invalid="ignore"):
            r2 = numpy.where(ss_tot > 0, 1.0 - self.ss_res / numpy.where(ss_tot > 0, ss_tot, 1.0), 0.0)
        return float(numpy.mean(r2))


class LogLoss(Metric):
    """−(1/N) Σ_x ln a_y(x) for one-hot targets over several classes; the mean Bernoulli
    −[y ln a + (1 − y) ln(1 − a)] for a single output or ``binary=True`` (multi-label).
    Probabilities are clipped to [1e-15, 1 − 1e-15], as scikit-learn's ``log_loss``."""

    name = "log_loss"
    mode = "min"

    def __init__(self, binary: bool | None = None):
        self.binary = binary
        super().__init__()

    def update(self, a, y):
        a, y = numpy.clip(_host(a), 1e-15, 1 - 1e-15), _host(y)
        if self.binary or (self.binary is None and a.shape[1] == 1):
            self.total += float(-(y * numpy.log(a) + (1 - y) * numpy.log(1 - a)).sum())
            self.count += a.size
        else:
            self.total += float(-(y * numpy.log(a)).sum())
            self.count += len(a)


METRICS: dict[str, type] = {cls.name: cls for cls in (Accuracy, BinaryAccuracy, TopK, MeanSquaredError,
                                                       MeanAbsoluteError, R2, LogLoss)}
_ALIASES = {"acc": "accuracy", "top_5": "top_k", "mean_squared_error": "mse", "mean_absolute_error": "mae",
            "r_squared": "r2", "logloss": "log_loss"}


def get_metric(spec) -> Metric:
    """A metric from a name (``"accuracy"``, ``"top_k(5)"``, ``"r2"``) or a :class:`Metric` object."""
    if isinstance(spec, Metric):
        return spec
    return create_from_text(METRICS, spec, "metric", _ALIASES)
