"""The order in which an epoch visits the training examples: shuffled, fixed, or easy to hard.

The trainer asks its ``order`` for the example indices of each epoch
(``order.indices(n, rng)``) and cuts them into mini-batches in that order.

``shuffle``     a new random permutation every epoch (the default; the book's ``random.shuffle``);
``fixed``       the examples as they are stored, the same order every epoch (no shuffling: for
                data already in the order wanted, and to see what shuffling buys);
``loss:MODEL``  a curriculum (Bengio et al., 2009, "Curriculum learning"): the examples sorted
                from easy to hard by a per-example score, the same order every epoch.  The score
                is each example's cost under a trained reference network ``MODEL`` — a "teacher"
                that says how hard each example is (the transfer scoring of Hacohen & Weinshall,
                2019, "On the power of curriculum learning").  Ties keep the stored order.

:class:`ByScore` takes any score, one number per training example (lower is easier).
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError


class Shuffle:
    """A new random permutation of the n examples every epoch, from the trainer's seeded generator."""

    name = "shuffle"

    def indices(self, n: int, rng) -> numpy.ndarray:
        return rng.permutation(n)


class FixedOrder:
    """Examples 0, 1, ..., n − 1 every epoch: no shuffling."""

    name = "fixed"

    def indices(self, n: int, rng) -> numpy.ndarray:
        return numpy.arange(n)


class ByScore:
    """Easy to hard: the examples sorted by ``scores`` (one per example, lower first), every epoch."""

    name = "score"

    def __init__(self, scores):
        scores = numpy.asarray(scores, dtype=numpy.float64)
        if scores.ndim != 1 or not numpy.isfinite(scores).all():
            raise NndlError("curriculum scores must be one finite number per training example")
        self.scores = scores
        self.order = numpy.argsort(scores, kind="stable")

    def indices(self, n: int, rng) -> numpy.ndarray:
        if n != len(self.order):
            raise NndlError(f"the curriculum scores {len(self.order)} examples but an epoch has {n}")
        return self.order


def per_example_cost(network, model_kind, x, y, batch_size: int = 1000) -> numpy.ndarray:
    """The cost C_x of every example (x, y) under ``network`` (targets as ``model_kind`` makes them); inputs
    as the network takes them (already preprocessed).

    The costs give the mean over a batch; each example's own cost is the mean over a batch of one, so the
    examples of each chunk are costed one by one (once, before training: not a hot path).
    """
    model = model_kind(network)
    costs = numpy.empty(len(x))
    for start in range(0, len(x), batch_size):
        xb = network.as_input(x[start:start + batch_size])
        a = network.feedforward(xb)
        t = model.targets(xb, None if y is None else y[start:start + batch_size])
        for i in range(len(a)):
            costs[start + i] = network.cost.fn(a[i:i + 1], t[i:i + 1])
    return costs


def from_text(text, train=None, task: str | None = None, preprocessor=None):
    """The order named by ``--order``: ``shuffle``, ``fixed`` or ``loss:MODEL`` (scored on ``train``, a
    Dataset whose inputs went through ``preprocessor``, for ``task``); one-line errors otherwise."""
    word = str(text or "shuffle").strip()
    kind, _, arg = word.partition(":")
    kind = kind.strip().lower()
    if kind in ("shuffle", "fixed") and not arg:
        return Shuffle() if kind == "shuffle" else FixedOrder()
    if kind != "loss" or not arg.strip():
        raise NndlError(f"--order {word!r}: use shuffle, fixed or loss:MODEL (easy to hard by the cost under "
                        f"a trained model)")
    if train is None:
        return None
    return ByScore(reference_costs(arg.strip(), train, task, preprocessor))


def reference_costs(path: str, train, task: str, preprocessor=None) -> numpy.ndarray:
    """Each training example's cost under the trained model at ``path``, on raw inputs through that
    model's own stored preprocessing (the training inputs are first taken back through ``preprocessor``)."""
    from nndl import io
    from nndl.models import model_for_task

    x = train.x if preprocessor is None else preprocessor.inverse_transform(train.x)
    try:
        reference = io.load(path)
        x = reference.prepared(x)
        reference.check_input(x, "the training data")
        kind = model_for_task(task)
        kind(reference).check_targets(train.y, "the training data")
    except NndlError as exc:
        raise NndlError(f"--order loss:{path}: {exc}") from None
    return per_example_cost(reference, kind, x, train.y)
