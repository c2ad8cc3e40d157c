"""Containers for labelled data: :class:`Dataset` (one part) and :class:`DataSplits`.

A :class:`Dataset` holds host NumPy arrays: inputs ``x`` (float32, one example per
row, images flattened to 784 columns with their shape kept in ``image_shape``) and
targets ``y``: class indices (int64) for classification, else real numbers (float32,
one column per target: regression, or 0/1 per label for multi-label data).  It checks itself when built, so a trainer handed a
Dataset can trust its shapes, labels and values.  Slicing (:meth:`Dataset.subset`,
:meth:`Dataset.slice`) returns views, never copies, so the 60,000 MNIST images are
decoded into memory once and shared by every split.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nndl.errors import NndlError


@dataclass(repr=False)
class Dataset:
    """Labelled examples of one data set part.

    Parameters
    ----------
    x : numpy.ndarray
        Inputs, float32, shape ``(N, features)`` (or ``(N, ...)``, at least 2-D).
    y : numpy.ndarray
        With ``num_classes``: class indices, int64, shape ``(N,)``, each in
        ``[0, num_classes)``.  Without: targets, finite real numbers, ``(N,)`` or ``(N, K)``.
    num_classes : int or None
        Number of classes K, or None when ``y`` holds real-valued targets.
    class_names : list of str or None
        Names of classes ``0..K-1`` (e.g. ``["setosa", ...]``), or of the target
        columns; None for plain digits.
    name : str
        Shown in messages, e.g. ``"mnist (training)"`` or ``"iris.csv (test)"``.
    image_shape : tuple of int or None
        Shape of one example as an image, ``(channels, height, width)``, e.g.
        ``(1, 28, 28)``; None for tables.
    task : str
        What the targets are for: ``"classification"`` (the default with ``num_classes``),
        ``"binary"``, ``"multilabel"`` or ``"regression"``.

    Raises
    ------
    NndlError
        If ``x`` is not at least 2-D or holds NaN/inf, if it is empty, if ``x`` and
        ``y`` disagree in length, or if a label is outside ``[0, num_classes)``.
    """

    x: np.ndarray
    y: np.ndarray
    num_classes: int | None = None
    class_names: list[str] | None = None
    name: str = "data"
    image_shape: tuple[int, ...] | None = field(default=None)
    task: str | None = None

    def __post_init__(self):
        self.x = self._checked_x(self.x)
        if self.task is None:
            self.task = "classification" if self.num_classes is not None else "regression"
        if len(self.x) != len(self.y):
            raise NndlError(f"{self.name}: {len(self.x)} examples but {len(self.y)} labels")
        if len(self.y) == 0:
            raise NndlError(f"{self.name}: the data set is empty")
        if self.class_names is not None:
            self.class_names = [str(c) for c in self.class_names]
        if self.num_classes is None:
            self.y = self._checked_targets(self.y)
        else:
            self.y = self._checked_y(self.y)
            self._check_classes()
        self._check_image_shape()

    def _check_classes(self) -> None:
        self.num_classes = int(self.num_classes)
        if self.num_classes < 1:
            raise NndlError(f"{self.name}: num_classes must be at least 1, got {self.num_classes}")
        low, high = int(self.y.min()), int(self.y.max())
        if low < 0 or high >= self.num_classes:
            raise NndlError(f"{self.name}: labels range over {low}..{high} but there are "
                            f"{self.num_classes} classes (0..{self.num_classes - 1})")
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise NndlError(f"{self.name}: {len(self.class_names)} class names for {self.num_classes} classes")

    def _check_image_shape(self) -> None:
        if self.image_shape is not None:
            self.image_shape = tuple(int(d) for d in self.image_shape)
            if int(np.prod(self.image_shape)) != int(np.prod(self.x.shape[1:])):
                raise NndlError(f"{self.name}: image shape {self.image_shape} does not match "
                                f"examples of shape {self.x.shape[1:]}")

    def _checked_x(self, x) -> np.ndarray:
        """Return ``x`` as a float32 array (no copy if it already is one), checked."""
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise NndlError(f"{self.name}: inputs must be numbers, got an array of {x.dtype}")
        if x.ndim < 2:
            raise NndlError(f"{self.name}: inputs must be at least 2-D (examples x features), "
                            f"got shape {x.shape}")
        if x.dtype != np.float32:
            x = x.astype(np.float32)
        # NaN propagates through min and max, so two reductions find any NaN or inf
        # without a temporary array; only on failure look for the culprit.
        if x.size and not (np.isfinite(x.min()) and np.isfinite(x.max())):
            bad = np.argwhere(~np.isfinite(x))[0]
            raise NndlError(f"{self.name}: inputs hold NaN or infinity, e.g. {x[tuple(bad)]} at "
                            f"index {tuple(int(i) for i in bad)}")
        return x

    def _checked_targets(self, y) -> np.ndarray:
        """Real-valued targets as float32 (N,) or (N, K), checked finite."""
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise NndlError(f"{self.name}: targets must be numbers, got an array of {y.dtype}")
        if y.ndim not in (1, 2):
            raise NndlError(f"{self.name}: targets must be (N,) or (N, K), got shape {y.shape}")
        y = y.astype(np.float32, copy=False)
        if not np.isfinite(y).all():
            raise NndlError(f"{self.name}: targets hold NaN or infinity")
        return y

    def _checked_y(self, y) -> np.ndarray:
        """Return ``y`` as a 1-D int64 array, checked."""
        y = np.asarray(y)
        if y.ndim != 1:
            raise NndlError(f"{self.name}: labels must be 1-D class indices, got shape {y.shape}")
        if y.dtype.kind not in "iub" and y.size:  # (an empty list becomes float64: let it through)
            raise NndlError(f"{self.name}: labels must be integer class indices, got {y.dtype}")
        return y if y.dtype == np.int64 else y.astype(np.int64)

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        image = f", image_shape={self.image_shape}" if self.image_shape else ""
        return (f"Dataset({self.name!r}, x={self.x.shape} {self.x.dtype}, "
                f"{self.num_classes} classes{image})")

    @property
    def num_features(self) -> int:
        """Number of input values per example (784 for MNIST)."""
        return int(np.prod(self.x.shape[1:]))

    def slice(self, start: int, stop: int, name: str | None = None) -> "Dataset":
        """Return examples ``start:stop`` as a new Dataset whose arrays are views of these."""
        if not 0 <= start < stop <= len(self):
            raise NndlError(f"{self.name}: cannot take examples {start}:{stop} of {len(self)}")
        # A slice of checked arrays is checked: skip __post_init__'s passes over the data.
        part = object.__new__(Dataset)
        part.x, part.y = self.x[start:stop], self.y[start:stop]
        part.num_classes, part.class_names = self.num_classes, self.class_names
        part.name, part.image_shape, part.task = name or self.name, self.image_shape, self.task
        return part

    def subset(self, n: int) -> "Dataset":
        """Return the first ``n`` examples (views, not copies)."""
        n = int(n)
        if not 0 < n <= len(self):
            raise NndlError(f"{self.name}: cannot take the first {n} of {len(self)} examples")
        return self.slice(0, n)

    def with_x(self, x) -> "Dataset":
        """Return a Dataset with the same labels and new inputs ``x`` (e.g. preprocessed).

        ``image_shape`` is kept if ``x`` still has that many features per example
        (standardize, ZCA), else dropped (PCA).
        """
        x = np.asarray(x)
        keep = self.image_shape is not None and x.ndim >= 2 and \
            int(np.prod(x.shape[1:])) == int(np.prod(self.image_shape))
        return Dataset(x, self.y, self.num_classes, self.class_names, self.name,
                       self.image_shape if keep else None, self.task)

    def with_y(self, y) -> "Dataset":
        """Return a Dataset with the same inputs and new targets ``y`` (e.g. rescaled)."""
        return Dataset(self.x, y, self.num_classes, self.class_names, self.name, self.image_shape, self.task)

    def class_counts(self) -> np.ndarray:
        """Return the number of examples of each class, shape ``(num_classes,)``."""
        return np.bincount(self.y, minlength=self.num_classes)

    def one_hot(self, dtype=np.float32) -> np.ndarray:
        """Return the labels as one-hot rows, shape ``(N, num_classes)``."""
        out = np.zeros((len(self.y), self.num_classes), dtype=dtype)
        out[np.arange(len(self.y)), self.y] = 1
        return out

    def images(self) -> np.ndarray:
        """Return ``x`` reshaped to ``(N, *image_shape)`` (a view); error for tables."""
        if self.image_shape is None:
            raise NndlError(f"{self.name}: the examples are not images")
        return self.x.reshape((len(self),) + self.image_shape)


@dataclass
class DataSplits:
    """The parts of a data set: training, validation (optional) and test (optional).

    ``preprocessor`` is the input preprocessing the loader fitted on the training part
    and already applied to all parts (e.g. the CSV loader's standardization), or None;
    it belongs with a model trained on these data.
    """

    train: Dataset
    validation: Dataset | None = None
    test: Dataset | None = None
    preprocessor: object | None = None
    #: For regression: the standardization of the targets fitted on the training part
    #: (the parts hold standardized targets), or None.
    target_preprocessor: object | None = None
    #: What the loader inferred about the task, to tell the user (or None).
    note: str | None = None

    @property
    def task(self) -> str:
        return self.train.task

    def parts(self) -> list[tuple[str, Dataset]]:
        """Return ``[(part_name, dataset), ...]`` for the parts that are present."""
        named = [("train", self.train), ("validation", self.validation), ("test", self.test)]
        return [(key, part) for key, part in named if part is not None]
