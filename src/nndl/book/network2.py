"""The book's chapter 3 ``network2.py``: cross-entropy, L2 regularization, better weights, monitoring.

    >>> from nndl.book import mnist_loader, network2
    >>> training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    >>> net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    >>> net.SGD(training_data, 30, 10, 0.5, lmbda=5.0, evaluation_data=validation_data,
    ...         monitor_evaluation_accuracy=True)
    Epoch 0 training complete
    Accuracy on evaluation data: 9280 / 10000
    ...

As with :mod:`nndl.book.network`, this is an adapter: the network is an
:class:`nndl.network.Network` (sigmoid dense layers, weights N(0, 1/n_in) and biases
N(0, 1) — ``init="default"``), training is an :class:`nndl.trainer.Trainer` with
:class:`nndl.optim.SGD` and, for ``lmbda`` > 0, :class:`nndl.optim.L2` — the book's
weight decay w → (1 − ηλ/n) w − (η/m) Σ ∇C_x with n = ``len(training_data)``.  The
costs' ``fn`` and ``delta`` call :mod:`nndl.costs`.

Saved networks use the book's JSON format ``{"sizes", "weights", "biases", "cost"}``,
so files written by the book's ``network2.save`` load here and vice versa; ``load``
looks the cost name up in a table instead of evaluating anything from the file.
"""
from __future__ import annotations

import json
import os

import numpy

from nndl.activations import Sigmoid, sigmoid, sigmoid_prime
from nndl.schema import parse_json
from nndl.book.mnist_loader import vectorized_result
from nndl.book.network import DEFAULT_SEED, _as_rows, _BookNetwork, _given
from nndl.costs import CrossEntropyCost as _NndlCrossEntropy
from nndl.costs import QuadraticCost as _NndlQuadratic
from nndl.errors import NndlError
from nndl.files import atomic_write
from nndl.initializers import get_initializer
from nndl.optim import L2

__all__ = ["QuadraticCost", "CrossEntropyCost", "Network", "load", "vectorized_result", "sigmoid",
           "sigmoid_prime"]


# --------------------------------------------------------------------------- costs
def _cost_fn(cost, a, y) -> float:
    """The book's ``fn`` through an nndl cost: the cost of the column(s) ``a`` against ``y``, summed over columns."""
    a_rows = _as_rows(a, numpy.shape(a)[0], "a")
    y_rows = _as_rows(y, numpy.shape(a)[0], "y")
    return cost.fn(a_rows, y_rows) * len(a_rows)


def _cost_delta(cost, z, a, y):
    """The book's ``delta`` through an nndl cost: δᴸ for the column(s) z, a = σ(z), y, as columns."""
    n = numpy.shape(a)[0]
    rows = [_as_rows(v, n, name) for v, name in ((z, "z"), (a, "a"), (y, "y"))]
    delta = cost.delta(*rows, Sigmoid())
    return delta.reshape(numpy.shape(a)) if numpy.ndim(a) == 1 else delta.T


class QuadraticCost:
    """C_x = ½ ‖a − y‖²; its output error δᴸ = (a − y) ⊙ σ'(zᴸ) learns slowly when σ saturates."""

    nndl_cost = _NndlQuadratic()

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` (a column) when the desired output is ``y``."""
        return _cost_fn(QuadraticCost.nndl_cost, a, y)

    @staticmethod
    def delta(z, a, y):
        """The output error δᴸ = (a − y) ⊙ σ'(z)."""
        return _cost_delta(QuadraticCost.nndl_cost, z, a, y)


class CrossEntropyCost:
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]; with sigmoid outputs δᴸ = a − y (no slowdown)."""

    nndl_cost = _NndlCrossEntropy()

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` (a column) when the desired output is ``y``; 0·ln 0 is taken as 0."""
        return _cost_fn(CrossEntropyCost.nndl_cost, a, y)

    @staticmethod
    def delta(z, a, y):
        """The output error δᴸ = a − y (the σ'(z) of the quadratic cost cancels; ``z`` is unused)."""
        return _cost_delta(CrossEntropyCost.nndl_cost, z, a, y)


COSTS = {"QuadraticCost": QuadraticCost, "CrossEntropyCost": CrossEntropyCost}
#: Largest network file read, in bytes: a [784, 30000, 10] network; parsing takes about twice this.
MAX_FILE_BYTES = 256 << 20
#: Deepest JSON nesting of a network file: the object, the list of layers, rows, columns.
MAX_FILE_DEPTH = 8


def _cost_class(cost):
    if isinstance(cost, (QuadraticCost, CrossEntropyCost)):
        cost = type(cost)
    if cost not in (QuadraticCost, CrossEntropyCost):
        raise NndlError(f"cost must be network2.QuadraticCost or network2.CrossEntropyCost, got {cost!r}")
    return cost


# --------------------------------------------------------------------------- the network
class Network(_BookNetwork):
    """The chapter 3 network: sigmoid neurons, a choice of cost, weights N(0, 1/n_in).

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first: ``[784, 30, 10]``.
    cost : QuadraticCost or CrossEntropyCost
        Default :class:`CrossEntropyCost`.  ``net.cost`` may be reassigned later.
    seed : int or None
        Seeds the initial weights, the re-initializers and the shuffling of every
        ``SGD`` call (default ``0``; ``None`` draws a fresh seed).

    The weights start as :meth:`default_weight_initializer` would set them (the book's
    constructor calls it); call :meth:`large_weight_initializer` for chapter 1's.
    """

    def __init__(self, sizes, cost=CrossEntropyCost, seed=DEFAULT_SEED):
        cost = _cost_class(cost)
        super().__init__(sizes, cost=cost.nndl_cost.name, init="default", seed=seed)
        self._cost = cost

    @property
    def cost(self):
        """The cost class; assigning another switches the cost the network is trained with."""
        return self._cost

    @cost.setter
    def cost(self, cost):
        cost = _cost_class(cost)
        self._cost = cost
        self._net.cost = type(cost.nndl_cost)()

    # -- initialization ----------------------------------------------------------------
    def default_weight_initializer(self):
        """Weights N(0, 1/n_in) — σ = 1/√n_in, so weighted inputs z do not saturate — and biases N(0, 1)."""
        self._initialize("default")

    def large_weight_initializer(self):
        """Weights and biases N(0, 1), as in chapter 1 (for comparison; prone to saturation)."""
        self._initialize("large")

    def _initialize(self, name):
        """Draw new parameters from nndl's initializer ``name`` and the network's seeded generator."""
        net, init = self._net, get_initializer(name)
        for layer in self._dense:
            n_out, n_in = layer.W.value.shape
            layer.init = init
            layer.W.value[...] = init.weights((n_out, n_in), n_in, n_out, net.rng, net.dtype)
            layer.b.value[...] = init.biases((n_out,), net.rng, net.dtype)

    # -- training ----------------------------------------------------------------------
    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
            monitor_training_cost=False, monitor_training_accuracy=False, early_stopping_n=0):
        """Train by mini-batch stochastic gradient descent with L2 regularization ``lmbda``.

        ``training_data`` is a list of pairs (input column, one-hot target column);
        ``evaluation_data`` (validation or test data) pairs of input column and integer
        label.  After each epoch the book's lines are printed for what the
        ``monitor_*`` flags ask for, followed by an empty line.

        Returns the book's four per-epoch lists ``(evaluation_cost, evaluation_accuracy,
        training_cost, training_accuracy)``; accuracies are numbers of correctly
        classified examples and costs include the L2 term (λ/2n) Σ w², where — as in
        the book's ``total_cost`` — n is the size of the data set being measured.

        ``early_stopping_n`` > 0 (from the book's later version) stops when the accuracy
        on ``evaluation_data`` has not improved for that many epochs; the weights are
        left as they are after the last epoch, as in the book.
        """
        x, y = self._arrays(training_data, "training data")
        n = len(y)
        ev = self._arrays(evaluation_data, "evaluation data") if _given(evaluation_data) else None
        if ev is None and (monitor_evaluation_cost or monitor_evaluation_accuracy):
            raise NndlError("monitoring the evaluation cost or accuracy needs evaluation_data")
        early_stopping_n = int(early_stopping_n)
        if early_stopping_n < 0:
            raise NndlError(f"early_stopping_n must be ≥ 0, got {early_stopping_n}")
        if early_stopping_n and ev is None:
            raise NndlError("early stopping (early_stopping_n > 0) needs evaluation_data")
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []

        def report(trainer, epoch, record):
            print(f"Epoch {epoch - 1} training complete")
            if monitor_training_cost or monitor_training_accuracy:
                cost, correct = self._cost_and_correct(x, y, lmbda)
                if monitor_training_cost:
                    training_cost.append(cost)
                    print(f"Cost on training data: {cost}")
                if monitor_training_accuracy:
                    training_accuracy.append(correct)
                    print(f"Accuracy on training data: {correct} / {n}")
            if monitor_evaluation_cost or monitor_evaluation_accuracy:
                cost, correct = self._cost_and_correct(*ev, lmbda)
                if monitor_evaluation_cost:
                    evaluation_cost.append(cost)
                    print(f"Cost on evaluation data: {cost}")
                if monitor_evaluation_accuracy:
                    evaluation_accuracy.append(correct)
                    print(f"Accuracy on evaluation data: {correct} / {len(ev[1])}")
            print()

        regularizers = [L2(lmbda)] if lmbda != 0 else []
        self._train((x, y), epochs, mini_batch_size, eta, report, regularizers, early_stopping_n,
                    evaluation=ev if early_stopping_n else None)
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    # -- measuring ---------------------------------------------------------------------
    def _cost_and_correct(self, x, labels, lmbda):
        """The book's ``total_cost`` and ``accuracy`` on one data set, from one pass of nndl's evaluate."""
        mean_cost, fraction = self._net.evaluate(x, labels)
        if lmbda:
            mean_cost += L2(lmbda).cost(self._net.params, len(labels))
        return float(mean_cost), int(round(fraction * len(labels)))

    def accuracy(self, data, convert=False) -> int:
        """The number of inputs in ``data`` the network classifies correctly.

        ``convert`` is accepted for the book's calls (``True`` for training data with
        one-hot targets); the format is recognized either way.
        """
        return self._correct(*self._arrays(data, "data"))

    def total_cost(self, data, lmbda, convert=False) -> float:
        """The mean cost over ``data`` plus the L2 term (λ/2n) Σ w², n = ``len(data)`` as in the book."""
        return self._cost_and_correct(*self._arrays(data, "data"), lmbda)[0]

    # -- saving ------------------------------------------------------------------------
    def save(self, filename):
        """Save the network to ``filename`` in the book's JSON format.

        ``{"sizes": [...], "weights": [...], "biases": [...], "cost": "CrossEntropyCost"}``,
        with the weights as nested lists (n_out × n_in) and the biases as (n × 1).  The
        file is written to a temporary file beside it and renamed over it, so an
        interrupted save never leaves half a file.
        """
        data = {"sizes": self.sizes,
                "weights": [w.tolist() for w in self.weights],
                "biases": [b.tolist() for b in self.biases],
                "cost": self.cost.__name__}
        try:
            with atomic_write(filename, "w") as f:
                json.dump(data, f)
        except OSError as exc:
            raise NndlError(f"cannot write {os.fspath(filename)}: {exc.strerror}") from None


def load(filename) -> Network:
    """Load a network saved by :meth:`Network.save` (or by the book's ``network2.py``).

    The cost is looked up by name in ``{"QuadraticCost", "CrossEntropyCost"}``; a file
    that is not such a network raises a one-line :class:`NndlError`.  The JSON is parsed
    with bounds (:func:`nndl.schema.parse_json`: size, nesting depth, no NaN or Infinity).
    """
    path = os.fspath(filename)
    try:
        with open(path, "rb") as f:
            raw = f.read(min(os.fstat(f.fileno()).st_size, MAX_FILE_BYTES) + 1)
    except OSError as exc:
        raise NndlError(f"cannot read {path}: {exc.strerror}") from None
    what = f"{path} is not a network saved by network2"
    if len(raw) > MAX_FILE_BYTES:
        raise NndlError(f"{what} (more than {MAX_FILE_BYTES} bytes)")
    data = parse_json(raw, what, max_bytes=MAX_FILE_BYTES, max_depth=MAX_FILE_DEPTH)
    if not isinstance(data, dict):
        raise NndlError(f"{what} (expected a JSON object)")
    missing = [k for k in ("sizes", "weights", "biases", "cost") if k not in data]
    if missing:
        raise NndlError(f"{what} (missing {', '.join(missing)})")
    cost = COSTS.get(data["cost"]) if isinstance(data["cost"], str) else None
    if cost is None:
        raise NndlError(f"{what}: unknown cost {data['cost']!r}; expected one of {', '.join(COSTS)}")
    sizes = data["sizes"]
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)):
        raise NndlError(f"{what}: sizes must be a list of at least two positive integers")
    weights = _arrays_of_shapes(data["weights"], [(m, n) for n, m in zip(sizes[:-1], sizes[1:])], "weights", what)
    biases = _arrays_of_shapes(data["biases"], [(m, 1) for m in sizes[1:]], "biases", what)
    net = Network(sizes, cost=cost)      # built only now that the file's arrays match its sizes
    net.weights = weights
    net.biases = biases
    return net


def _arrays_of_shapes(values, shapes, name, what):
    """The file's list ``values`` as float arrays of the given shapes, or a one-line NndlError."""
    if not isinstance(values, list) or len(values) != len(shapes):
        raise NndlError(f"{what}: {name} must be a list of {len(shapes)} arrays")
    arrays = []
    for i, (v, shape) in enumerate(zip(values, shapes)):
        try:
            a = numpy.asarray(v, dtype=numpy.float64)
        except (TypeError, ValueError):
            raise NndlError(f"{what}: {name}[{i}] is not a rectangular array of numbers") from None
        if a.shape != shape:
            raise NndlError(f"{what}: {name}[{i}] has shape {a.shape}, but sizes say {shape}")
        arrays.append(a)
    return arrays
