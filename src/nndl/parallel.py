"""Data parallelism on one machine: a mini-batch split between threads.

The gradient of the mini-batch mean cost is a weighted mean of the gradients of its
parts: for a batch of m examples cut into parts of m₁ + m₂ + ... = m,

    ∇C = (1/m) Σ_x ∇C_x = Σ_k (m_k / m) · ∇C_(part k),     ∇C_(part k) = (1/m_k) Σ_(x in part k) ∇C_x.

So ``workers`` copies of the network (replicas: their own layers and caches, the
*same* weight arrays) can each backpropagate one part at the same time, and the
weighted sum of their gradients is the gradient of the whole batch — up to the order
of floating-point additions.

Why it is faster: only BLAS runs on several cores by itself.  The rest of a step
(im2col copies, pooling, activations: about half the time of a conv net's step) is
NumPy code on one core.  NumPy releases the GIL inside those operations, so two
Python threads, each with its half of the batch and a one-thread BLAS, keep both
cores busy all the time (``bench/bench_conv.py --workers 1`` against ``--workers 2``
measures the gain; the README has the figures).  Dense networks are the opposite case:
their step is almost all BLAS, which already uses both cores, and handing parts to
threads only adds overhead — so by default only networks with a layer that gains from
it (``Layer.parallel_gain``: convolution) are split (:func:`worth_splitting`).

Which networks can split: a layer whose output for an example depends on that example
alone (``Layer.splits_over_batch``).  Batch normalization does not (its statistics
are over the whole batch), so a network with it trains in one piece.  Dropout masks
are drawn per part: part 0 from the network's generator, part k from a generator the
network's generator seeds afresh every step — so a run is reproducible for a given
number of workers, and a checkpoint (which saves the network's generator) resumes it
exactly.
"""
from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy

from nndl.backend import xp


def can_split(network) -> bool:
    """True if every layer of ``network`` computes each example on its own (see the module docstring)."""
    return network.splits_over_batch


def worth_splitting(network) -> bool:
    """True if ``network`` can split and has a layer that gains from it (``Layer.parallel_gain``: much
    of its work outside BLAS, like convolution)."""
    return can_split(network) and network.parallel_gain


class DataParallel:
    """``network.backprop`` of a mini-batch in ``workers`` parts, at the same time, on replicas.

    Parameters
    ----------
    network : Network
        Its parameters receive the gradient of the whole batch; replica 0 is the network itself.
    workers : int
        Number of parts (and threads) ≥ 2.

    Call :meth:`close` (or use ``with``) to stop the worker threads.
    """

    def __init__(self, network, workers: int):
        from nndl.network import Network

        self.network = network
        self.workers = int(workers)
        config = network.config()
        self.replicas = [network] + [Network.from_config(config, dtype=network.dtype)
                                     for _ in range(self.workers - 1)]
        self.pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix="nndl-part")

    def backprop(self, x, y):
        """Gradients of the batch mean cost in ``network``'s ``p.grad``; returns the output activations.

        Part k is examples [lo_k, hi_k) with lo_k = ⌊k m / parts⌋; every part gets at least
        two examples (fewer parts than workers for tiny batches, one piece below four).
        """
        parts, bounds = self._parts(len(x))
        if parts < 2:
            return self.network.backprop(x, y)
        net, m = self.network, len(x)
        self._share_weights(parts)
        for replica in self.replicas[1:parts]:
            seed = int(net.rng.integers(2 ** 63))                  # dropout masks of this part
            replica.rng.bit_generator.state = numpy.random.PCG64(seed).state
        outputs = self._run(parts, bounds, "backprop", x, y)
        weights = [(hi - lo) / m for lo, hi in pairwise(bounds)]
        for p, *theirs in zip(net.params, *(replica.params for replica in self.replicas[1:parts])):
            if p.grad is None:                                     # frozen: no gradient in any part
                continue
            grad = p.grad * p.grad.dtype.type(weights[0])          # ∇C = Σ_k (m_k / m) ∇C_(part k)
            for q, w in zip(theirs, weights[1:]):
                grad += q.grad * grad.dtype.type(w)
            p.grad = grad
        return xp.concatenate(outputs)

    def feedforward(self, x):
        """The network's outputs aᴸ for the batch ``x`` (inference: nothing kept), its parts at once."""
        parts, bounds = self._parts(len(x))
        if parts < 2:
            return self.network.feedforward(x)
        self._share_weights(parts)
        return xp.concatenate(self._run(parts, bounds, "feedforward", x))

    def _parts(self, m: int):
        """The number of parts for a batch of ``m`` and their bounds lo_k = ⌊k m / parts⌋."""
        parts = min(self.workers, m // 2) if m >= 4 else 1
        return parts, [m * k // parts for k in range(parts + 1)]

    def _share_weights(self, parts: int) -> None:
        for replica in self.replicas[1:parts]:
            for mine, theirs in zip(replica.params, self.network.params):
                mine.value = theirs.value                          # the same weights, not a copy
                mine.trainable = theirs.trainable

    def _run(self, parts: int, bounds, method: str, *arrays) -> list:
        """``replica.method(*(a[lo:hi] for a in arrays))`` for every part, part 0 on this thread; the results.

        Each part runs in a copy of the caller's context, so a numpy.errstate around training
        (the trainer's) holds in the worker threads too."""
        futures = [self.pool.submit(contextvars.copy_context().run, getattr(replica, method),
                                    *(a[lo:hi] for a in arrays))
                   for replica, lo, hi in zip(self.replicas[1:parts], bounds[1:-1], bounds[2:])]
        first = getattr(self.network, method)(*(a[:bounds[1]] for a in arrays))
        return [first] + [f.result() for f in futures]

    def close(self) -> None:
        self.pool.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
