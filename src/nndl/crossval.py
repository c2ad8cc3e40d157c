"""k-fold cross-validation: every example is tested once, by a network that never trained on it.

The examples are cut into k folds of (nearly) equal size — for classes *stratified*, each
fold holding every class in about its share of the whole — from a seeded shuffle.  For
fold j = 1..k a fresh network is trained on the other k − 1 folds and tested on fold j:

* inside the k − 1 training folds a ``validation`` fraction (stratified again) is held
  out for early stopping and for the kept weights (the best epoch by the monitored
  figure), so the test fold never chooses anything;
* the preprocessing (a table's standardization, ``--preprocess``, a regressor's target
  scaling) is fitted on the training part of the fold alone.

The figure reported is the mean over the k test folds, and the standard deviation of the k
values (ddof = 0, as ``numpy.std`` and scikit-learn's ``cross_val_score(...).std()``).
"""
from __future__ import annotations

import math

import numpy

from nndl import validation
from nndl.data.dataset import DataSplits, Dataset
from nndl.errors import NndlError


def stratified_order(y, rng) -> numpy.ndarray:
    """A random order of the examples in which every stretch holds each class in proportion (labels ``y``),
    or a plain permutation for real-valued targets (``y`` of floats)."""
    from nndl.data.csv_table import _stratified_order

    y = numpy.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "iu":
        return _stratified_order(y, rng)
    return rng.permutation(len(y))


def kfold(y, k: int, seed: int = 0) -> list[numpy.ndarray]:
    """The test indices of each of ``k`` folds over the examples with targets ``y``: disjoint, together every
    example once, sizes differing by at most one, stratified for class labels, from a shuffle seeded by
    ``seed``.

    The examples are shuffled, then (for class labels) grouped class by class keeping that shuffle, and
    dealt to the folds in turn like cards: each class of c examples gives every fold ⌊c/k⌋ or ⌈c/k⌉ of
    them, and the dealing goes on across the classes, so the folds' sizes differ by at most one."""
    y = numpy.asarray(y)
    n = len(y)
    k = check_folds(k, n)
    order = numpy.random.default_rng(validation.seed("seed", seed)).permutation(n)
    if y.ndim == 1 and y.dtype.kind in "iu":
        order = order[numpy.argsort(y[order], kind="stable")]
    return [numpy.sort(order[j::k]) for j in range(k)]


def check_folds(k, n: int, where: str = "the data") -> int:
    """``k`` as a whole number of folds for ``n`` examples; a one-line NndlError for k < 2 or k > n."""
    if isinstance(k, bool) or not isinstance(k, (int, numpy.integer)):
        raise NndlError(f"--folds {k!r}: give a whole number of folds, at least 2")
    k = int(k)
    if k < 2:
        raise NndlError(f"--folds {k}: k-fold cross-validation needs at least 2 folds")
    if k > n:
        raise NndlError(f"--folds {k}: more folds than the {n} examples of {where}; at most {n} (leave-one-out)")
    return k


def split_off(indices, y, fraction: float, rng) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(kept, held out): ``fraction`` of ``indices`` held out, stratified by ``y[indices]`` for classes."""
    if fraction <= 0:
        return numpy.asarray(indices), numpy.zeros(0, dtype=numpy.int64)
    order = numpy.asarray(indices)[stratified_order(numpy.asarray(y)[indices], rng)]
    held = max(1, int(round(fraction * len(order))))
    if held >= len(order):
        raise NndlError(f"a validation fraction of {fraction} leaves no training examples out of {len(order)}")
    return numpy.sort(order[held:]), numpy.sort(order[:held])


def fold_splits(data: Dataset, train_idx, test_idx, validation_fraction: float, seed: int,
                standardize: bool, preprocess: str | None = None):
    """The DataSplits of one fold — training and validation from ``train_idx``, test ``test_idx`` — with the
    preprocessing fitted on the training part: (splits, input preprocessor or None)."""
    from nndl.preprocessing import PREPROCESSORS, Standardize
    from nndl.registry import create_from_text

    rng = numpy.random.default_rng(seed)
    fit_idx, val_idx = split_off(train_idx, data.y, validation_fraction, rng)
    if preprocess:
        pre = create_from_text(PREPROCESSORS, preprocess, "preprocessing").fit(data.x[fit_idx])
    else:
        pre = Standardize().fit(data.x[fit_idx]) if standardize else None
    target_pre = Standardize().fit(data.y[fit_idx]) if standardize and data.task == "regression" else None

    def part(idx, name):
        if len(idx) == 0:
            return None
        x = data.x[idx] if pre is None else pre.transform(data.x[idx])
        y = data.y[idx] if target_pre is None else target_pre.transform(data.y[idx])
        image = data.image_shape if int(numpy.prod(x.shape[1:])) == data.num_features else None
        return Dataset(x, y, data.num_classes, data.class_names, f"{data.name} ({name})", image, data.task)

    splits = DataSplits(part(fit_idx, "training"), part(val_idx, "validation"), part(test_idx, "test"),
                        preprocessor=pre, target_preprocessor=target_pre)
    return splits, pre


def pooled(splits: DataSplits, name: str) -> Dataset:
    """Every example of ``splits`` (training, validation and test parts) as one Dataset."""
    parts = [part for _, part in splits.parts()]
    first = parts[0]
    x = numpy.concatenate([p.x for p in parts]) if len(parts) > 1 else first.x
    y = numpy.concatenate([p.y for p in parts]) if len(parts) > 1 else first.y
    return Dataset(x, y, first.num_classes, first.class_names, name, first.image_shape, first.task)


def summary(values) -> dict:
    """``{"mean": m, "std": s, "values": [...]}`` of the figures of the folds (std with ddof = 0)."""
    values = [float(v) for v in values]
    finite = [v for v in values if math.isfinite(v)]
    mean = float(numpy.mean(finite)) if finite else float("nan")
    std = float(numpy.std(finite)) if finite else float("nan")
    return {"mean": mean, "std": std, "values": values}
