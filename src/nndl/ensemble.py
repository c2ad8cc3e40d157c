"""Ensembles: several trained networks voting together (chapter 6's 99.67%).

Given the output activations ``P[k, n, c]`` of model k for example n and class c:

* **plurality** (the book's): each model votes for its most active class; the class with
  most votes wins.  Ties are broken by the summed outputs of the models, so the result
  never depends on the order of the models.
* **mean**: average the (normalized) outputs over the models and take the most probable
  class, ``argmax_c (1/K) Σ_k P[k, n, c]``.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError

VOTES = ("plurality", "mean")


def _check(outputs) -> numpy.ndarray:
    outputs = numpy.asarray(outputs, dtype=numpy.float64)
    if outputs.ndim != 3 or outputs.shape[0] < 1:
        raise NndlError(f"ensemble outputs must have shape (models, examples, classes), got {outputs.shape}")
    return outputs


def normalize(outputs) -> numpy.ndarray:
    """Each row scaled to sum to 1 (softmax outputs are unchanged; sigmoid outputs become comparable)."""
    outputs = numpy.clip(numpy.asarray(outputs, dtype=numpy.float64), 0.0, None)
    total = outputs.sum(axis=-1, keepdims=True)
    return numpy.divide(outputs, total, out=numpy.full_like(outputs, 1.0 / outputs.shape[-1]), where=total > 0)


def plurality_vote(outputs) -> numpy.ndarray:
    """The class most models pick, per example (ties: the larger summed output)."""
    outputs = _check(outputs)
    k, n, classes = outputs.shape
    picks = outputs.argmax(axis=2)                                   # (K, N)
    votes = numpy.zeros((n, classes))
    numpy.add.at(votes, (numpy.broadcast_to(numpy.arange(n), (k, n)), picks), 1.0)
    tie_break = normalize(outputs).sum(axis=0) / (k + 1.0)          # < 1: only decides among equal vote counts
    return (votes + tie_break).argmax(axis=1)


def mean_vote(outputs) -> numpy.ndarray:
    """argmax of the mean normalized output over the models, per example."""
    return normalize(_check(outputs)).mean(axis=0).argmax(axis=1)


def vote(outputs, method: str = "plurality") -> numpy.ndarray:
    if method == "plurality":
        return plurality_vote(outputs)
    if method == "mean":
        return mean_vote(outputs)
    raise NndlError(f"unknown vote {method!r}; choose one of {', '.join(VOTES)}")
