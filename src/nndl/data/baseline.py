"""Chapter 1's baseline: guess the digit from how dark the image is.

A 1 has little ink, an 8 a lot.  :class:`AverageDarkness` learns the mean total
darkness (sum of pixel values) of each digit in the training data and classifies an
image as the digit whose mean darkness is nearest to its own.  Trained on the 50,000
images of the book split it gets 2,225 of the 10,000 test images right (22.25%):
better than chance (10%), far worse than any trained network.
"""
from __future__ import annotations

import numpy as np

from nndl.data.dataset import Dataset
from nndl.errors import NndlError


class AverageDarkness:
    """Nearest-mean-darkness classifier.

    Attributes
    ----------
    averages : numpy.ndarray
        Mean darkness of each class, shape ``(num_classes,)``; NaN for a class with no
        training examples (never predicted).
    """

    def __init__(self):
        self.averages: np.ndarray | None = None

    def fit(self, train: Dataset) -> "AverageDarkness":
        """Compute each class's mean total darkness over ``train``; return ``self``."""
        darkness = self.darkness(train.x)
        counts = np.bincount(train.y, minlength=train.num_classes)
        totals = np.bincount(train.y, weights=darkness, minlength=train.num_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.averages = totals / counts
        return self

    @staticmethod
    def darkness(x) -> np.ndarray:
        """Total darkness of each example: the sum of its pixel values, float64 (N,)."""
        x = np.asarray(x)
        return x.reshape(len(x), -1).sum(axis=1, dtype=np.float64)

    def predict(self, x) -> np.ndarray:
        """Class index (int64) whose mean darkness is nearest to each example's darkness."""
        if self.averages is None:
            raise NndlError("AverageDarkness is not fitted; call fit(training_data) first")
        distance = np.abs(self.darkness(x)[:, None] - self.averages[None, :])
        distance[:, np.isnan(self.averages)] = np.inf
        return distance.argmin(axis=1).astype(np.int64)

    def correct(self, data: Dataset) -> int:
        """Number of examples of ``data`` classified correctly."""
        return int((self.predict(data.x) == data.y).sum())

    def accuracy(self, data: Dataset) -> float:
        """Fraction of ``data`` classified correctly."""
        return self.correct(data) / len(data)
