"""k-means clustering (Lloyd's algorithm), vectorized: where an RBF layer's centres start.

Given examples x₁..x_N and k, find centres c₁..c_k that minimize the within-cluster sum of
squares Σ_n min_j ‖x_n − c_j‖².  Lloyd's algorithm alternates two steps until the centres
stop moving:

1. assign each example to its nearest centre, label_n = argmin_j ‖x_n − c_j‖², where
   ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖², so all N × k distances are one matrix product
   (in chunks of examples, to bound memory);
2. move each centre to the mean of its examples, c_j = (1/|S_j|) Σ_{n ∈ S_j} x_n
   (sums by sorting the labels and ``add.reduceat``: no loop over examples or clusters).

The first centres are drawn by k-means++ (Arthur & Vassilvitskii, 2007), from the seeded
generator: the first a uniformly drawn example, each next one an example drawn with
probability proportional to D(x)², its squared distance to the nearest centre so far.
Drawing the first centres uniformly instead (Forgy) puts several in a dense cluster and
none in a far one often enough to matter (iris: four of six centres on the setosa).  A
centre left with no examples is moved to the example farthest from its own centre.

It is our own (thirty lines) rather than ``scipy.cluster.vq.kmeans2``: SciPy is not a
dependency of nndl at run time, and the assignment step is the same matrix-product trick
the RBF layer itself uses.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError

#: Examples per chunk of the distance matrix.
CHUNK = 4096


def squared_distances(x, centres, centres_sq=None):
    """‖x_n − c_j‖² for every example (rows of ``x``) and centre, as an (N, k) array (≥ 0)."""
    if centres_sq is None:
        centres_sq = (centres * centres).sum(axis=1)
    d2 = (x * x).sum(axis=1)[:, None] - 2.0 * (x @ centres.T) + centres_sq[None, :]
    return numpy.maximum(d2, 0.0, out=d2)


def assign(x, centres):
    """(labels, squared distance to the nearest centre) of every example, in chunks."""
    centres_sq = (centres * centres).sum(axis=1)
    labels = numpy.empty(len(x), dtype=numpy.int64)
    nearest = numpy.empty(len(x), dtype=numpy.float64)
    for start in range(0, len(x), CHUNK):
        d2 = squared_distances(x[start:start + CHUNK], centres, centres_sq)
        labels[start:start + CHUNK] = d2.argmin(axis=1)
        nearest[start:start + CHUNK] = d2[numpy.arange(len(d2)), labels[start:start + CHUNK]]
    return labels, nearest


def kmeans_plus_plus(x, k: int, rng):
    """k first centres by k-means++: each next one an example drawn with probability ∝ D(x)²."""
    n = len(x)
    x_sq = (x * x).sum(axis=1, dtype=numpy.float64)
    centres = numpy.empty((k, x.shape[1]))
    first = int(rng.integers(n))
    centres[0] = x[first]
    nearest = numpy.maximum(x_sq - 2.0 * (x @ x[first]) + x_sq[first], 0.0)
    for j in range(1, k):
        cumulative = numpy.cumsum(nearest)
        pick = min(int(numpy.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), n - 1) \
            if cumulative[-1] > 0 else int(rng.integers(n))
        centres[j] = x[pick]
        numpy.minimum(nearest, numpy.maximum(x_sq - 2.0 * (x @ x[pick]) + x_sq[pick], 0.0), out=nearest)
    return centres


def kmeans(x, k: int, rng, iterations: int = 30, tol: float = 1e-4):
    """Lloyd's k-means on the rows of ``x``: returns (centres (k, D), labels (N,), inertia).

    Stops after ``iterations`` or when no centre moves more than ``tol`` times the data's
    overall scale.  ``rng`` is a seeded ``numpy.random.Generator``.
    """
    x = numpy.asarray(x)
    if x.ndim != 2:
        raise NndlError(f"k-means needs examples as rows of a 2-D array, got shape {x.shape}")
    n = len(x)
    k = int(k)
    if k > n:
        raise NndlError(f"k-means: {k} centres but only {n} training examples; use at most {n} centres")
    if k < 1:
        raise NndlError(f"k-means needs at least one centre, got {k}")
    work = x.astype(numpy.float32 if x.dtype == numpy.float32 else numpy.float64, copy=False)
    centres = kmeans_plus_plus(work, k, rng)
    scale = float(numpy.sqrt(((work - work.mean(axis=0)) ** 2).sum(axis=1).mean())) or 1.0
    for _ in range(iterations):
        labels, nearest = assign(work, centres.astype(work.dtype))
        order = numpy.argsort(labels, kind="stable")
        counts = numpy.bincount(labels, minlength=k)
        present = numpy.flatnonzero(counts)
        starts = numpy.concatenate(([0], numpy.cumsum(counts)[:-1]))[present]
        sums = numpy.add.reduceat(work[order].astype(numpy.float64), starts, axis=0)
        new = centres.copy()
        new[present] = sums / counts[present, None]
        empty = numpy.flatnonzero(counts == 0)
        if len(empty):                                   # re-seed empty clusters far from any centre
            far = numpy.argsort(-nearest)[:len(empty)]
            new[empty] = work[far]
        moved = float(numpy.sqrt(((new - centres) ** 2).sum(axis=1)).max())
        centres = new
        if moved <= tol * scale and not len(empty):
            break
    labels, nearest = assign(work, centres.astype(work.dtype))
    return centres, labels, float(nearest.sum())
