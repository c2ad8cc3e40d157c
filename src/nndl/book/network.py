"""The book's chapter 1 ``network.py``: ``Network(sizes)`` trained by ``SGD``, backed by nndl.

    >>> from nndl.book import mnist_loader, network
    >>> training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    >>> net = network.Network([784, 30, 10])
    >>> net.SGD(training_data, 30, 10, 3.0, test_data=test_data)
    Epoch 0: 9129 / 10000
    ...

The class keeps the book's attributes and methods, but nothing here multiplies a
matrix: the network is an :class:`nndl.network.Network` of sigmoid dense layers with
the quadratic cost and the book's N(0, 1) initialization (``init="large"``), and
``SGD`` is an :class:`nndl.trainer.Trainer` training a :class:`nndl.models.Classifier` with
plain :class:`nndl.optim.SGD`.  So
the backpropagation that trains this network is nndl's one implementation
(:meth:`nndl.network.Network.backprop`), the same that the command line uses.

``weights`` and ``biases`` are live: ``net.weights[0]`` *is* the first layer's weight
array (shape (n_out, n_in), the book's w[j, k]), ``net.biases[0]`` a (n, 1) view of
its biases; writing into them changes the network, and after ``SGD`` they hold the
trained values.  Assigning new lists (``net.weights = [...]``) copies the values in.

The module also re-exports :func:`sigmoid` and :func:`sigmoid_prime` from
:mod:`nndl.activations`.
"""
from __future__ import annotations

import numpy

from nndl import validation
from nndl.activations import sigmoid, sigmoid_prime
from nndl.backend import to_numpy
from nndl.costs import QuadraticCost as _Quadratic
from nndl.errors import NndlError
from nndl.layers import Dense
from nndl.network import Network as _NndlNetwork
from nndl.callbacks import EarlyStopping, LambdaCallback
from nndl.models import Classifier
from nndl.optim import SGD as _SGD
from nndl.trainer import Trainer

__all__ = ["Network", "sigmoid", "sigmoid_prime"]

DEFAULT_SEED = 0


# --------------------------------------------------------------------------- data format
def _given(data) -> bool:
    """The book's ``if test_data:`` — None and empty lists mean "no data", without asking an array's truth."""
    if data is None:
        return False
    if isinstance(data, (list, tuple)) and len(data) == 0:
        return False
    return True


def _as_arrays(data, n_in: int, n_out: int, what: str):
    """Convert data in the book's format to ``(x, labels)``: x (N, n_in) float32, labels (N,) int64.

    Accepted, so the book's code and nndl's data both work:

    * the book's list (or any iterable) of pairs ``(x, y)``: ``x`` a column (n_in, 1)
      (or a flat (n_in,) vector), ``y`` a one-hot column (n_out, 1) — training data —
      or an integer label — validation and test data;
    * an ``(x, y)`` pair of arrays, as from :func:`nndl.book.mnist_loader.load_data`;
    * an :class:`nndl.data.Dataset` (anything with ``.x`` and ``.y``).

    One-hot targets become labels with argmax; anything else raises a one-line
    :class:`NndlError`.
    """
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = numpy.asarray(data.x), numpy.asarray(data.y)
    elif (isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], numpy.ndarray)
          and data[0].ndim == 2 and isinstance(data[1], numpy.ndarray) and len(data[0]) == len(data[1])):
        x, y = data
    else:
        try:
            pairs = data if isinstance(data, list) else list(data)
        except TypeError:
            raise NndlError(f"{what} must be a list of (x, y) pairs, got {type(data).__name__}") from None
        if not pairs:
            raise NndlError(f"{what} are empty")
        try:
            xs = [p[0] for p in pairs]
            ys = [p[1] for p in pairs]
            bad = next((p for p in pairs if len(p) != 2), None)
        except (TypeError, IndexError, KeyError):
            bad = True
        if bad is not None:
            raise NndlError(f"{what} must be a list of (x, y) pairs")
        try:
            x = numpy.asarray(xs, dtype=numpy.float32)
            y = numpy.asarray(ys)
        except (ValueError, TypeError):
            raise NndlError(f"{what}: the x (or the y) of the pairs do not all have the same shape") from None
    return _checked_x(x, n_in, what), _labels(y, len(x), n_out, what)


def _checked_x(x, n_in: int, what: str):
    x = numpy.asarray(x)
    if x.ndim == 3 and x.shape[2] == 1:          # a stack of (n_in, 1) columns
        x = x.reshape(x.shape[0], x.shape[1])
    if x.ndim != 2 or x.shape[1] != n_in:
        shape = x.shape[1:] if x.ndim > 1 else x.shape
        raise NndlError(f"{what}: inputs x have shape {shape} but the network's input layer has {n_in} neurons; "
                        f"expected ({n_in}, 1) columns")
    if x.dtype.kind not in "fiub":
        raise NndlError(f"{what}: inputs x must be numbers, got {x.dtype}")
    return numpy.ascontiguousarray(x, dtype=numpy.float32)


def _labels(y, n: int, n_out: int, what: str):
    """Integer labels (n,) from labels or from one-hot targets (n, n_out[, 1])."""
    y = numpy.asarray(y)
    if len(y) != n:
        raise NndlError(f"{what}: {n} inputs but {len(y)} targets")
    if y.ndim > 1:
        y = y.reshape(n, -1)
        if y.shape[1] != n_out:
            raise NndlError(f"{what}: targets y have {y.shape[1]} entries but the network has {n_out} outputs")
        if not (((y == 0) | (y == 1)).all() and (y.sum(axis=1) == 1).all()):
            raise NndlError(f"{what}: targets y must be one-hot columns ({n_out}, 1) or integer labels")
        return y.argmax(axis=1).astype(numpy.int64)
    if y.dtype.kind not in "iu":
        raise NndlError(f"{what}: labels must be integers 0..{n_out - 1} or one-hot columns, got {y.dtype}")
    if y.min() < 0 or y.max() >= n_out:
        raise NndlError(f"{what}: labels range over {y.min()}..{y.max()} but the network has {n_out} outputs")
    return y.astype(numpy.int64)


def _as_rows(a, n: int, what: str):
    """Column vectors (n, 1), or n × N matrices of columns, as rows (N, n); a flat (n,) as one row."""
    a = numpy.asarray(a)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    elif a.ndim == 2:
        a = a.T
    else:
        raise NndlError(f"{what} must be a column vector ({n}, 1), got shape {a.shape}")
    if a.shape[1] != n:
        raise NndlError(f"{what} must be a column vector ({n}, 1), got shape {a.T.shape}")
    return a


# --------------------------------------------------------------------------- the network
class _BookNetwork:
    """What ``network.Network`` and ``network2.Network`` share: an nndl network seen the book's way."""

    def __init__(self, sizes, cost, init, seed):
        try:
            sizes = [int(s) for s in sizes]
        except (TypeError, ValueError):
            raise NndlError(f"sizes must be a list of layer sizes like [784, 30, 10], got {sizes!r}") from None
        if seed is None:
            seed = int(numpy.random.SeedSequence().entropy % 2**32)
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.seed = int(seed)
        self._net = _NndlNetwork.from_sizes(sizes, activation="sigmoid", cost=cost, init=init, seed=self.seed)
        self._sgd_calls = 0
        self.history = None          # the nndl History of the last SGD call

    # -- the book's attributes, as live views of nndl's parameters ---------------------
    @property
    def nndl_network(self) -> _NndlNetwork:
        """The :class:`nndl.network.Network` that does the work (for nndl's tools: io, gradcheck, CLI)."""
        return self._net

    @property
    def _dense(self):
        return [layer for layer in self._net.layers if isinstance(layer, Dense)]

    @property
    def weights(self) -> list:
        """The weight matrices, layer by layer: ``weights[l][j, k]`` joins neuron k to neuron j of the next layer.

        These are the network's own arrays (shape (n_out, n_in)), not copies.
        """
        return [layer.W.value for layer in self._dense]

    @weights.setter
    def weights(self, values):
        self._assign("weights", values, [layer.W.value for layer in self._dense])

    @property
    def biases(self) -> list:
        """The bias columns (n, 1), layer by layer, from the first hidden layer on: views of the network's biases."""
        return [layer.b.value.reshape(-1, 1) for layer in self._dense]

    @biases.setter
    def biases(self, values):
        self._assign("biases", values, self.biases)

    @staticmethod
    def _assign(name, values, targets):
        try:
            values = list(values)
        except TypeError:
            raise NndlError(f"{name} must be a list of arrays, one per layer after the input") from None
        if len(values) != len(targets):
            raise NndlError(f"expected {len(targets)} {name} arrays (one per layer after the input), got {len(values)}")
        arrays = []
        for i, (v, t) in enumerate(zip(values, targets)):
            try:
                v = numpy.asarray(v, dtype=numpy.float64)
            except (TypeError, ValueError):
                raise NndlError(f"{name}[{i}] is not an array of numbers") from None
            if v.shape != t.shape and not (name == "biases" and v.shape == t.shape[:1]):
                raise NndlError(f"{name}[{i}] must have shape {t.shape}, got {v.shape}")
            arrays.append(v.reshape(t.shape))
        for v, t in zip(arrays, targets):   # all checked first: a bad list changes nothing
            t[...] = v

    # -- passes ------------------------------------------------------------------------
    def feedforward(self, a):
        """Return the output of the network for input ``a``: a' = σ(w a + b), layer by layer.

        ``a`` is a column vector (n_in, 1) and the result a column (n_out, 1), as in the
        book; a matrix of N columns (n_in, N) gives (n_out, N).
        """
        rows = _as_rows(a, self.sizes[0], "the input a")
        out = to_numpy(self._net.feedforward(self._net.as_input(rows)))
        return out.reshape(-1) if numpy.ndim(a) == 1 else out.T

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of the cost C_x for one example, in the book's shapes.

        ``x`` is an input column (n_in, 1), ``y`` the target column (n_out, 1); for N
        columns at once the gradient is of the mean cost.  This calls nndl's
        :meth:`~nndl.network.Network.backprop` — the one implementation of
        backpropagation — and reads the gradients it leaves in the parameters.
        """
        xs = _as_rows(x, self.sizes[0], "x")
        ys = _as_rows(y, self.sizes[-1], "y")
        if len(xs) != len(ys):
            raise NndlError(f"{len(xs)} input columns but {len(ys)} target columns")
        net = self._net
        net.backprop(net.as_input(xs), net.as_input(ys))
        dense = self._dense
        nabla_b = [to_numpy(layer.b.grad).reshape(-1, 1).copy() for layer in dense]
        nabla_w = [to_numpy(layer.W.grad).copy() for layer in dense]
        return nabla_b, nabla_w

    # -- training ----------------------------------------------------------------------
    def _arrays(self, data, what):
        return _as_arrays(data, self.sizes[0], self.sizes[-1], what)

    def _train(self, data, epochs, mini_batch_size, eta, report, regularizers=(), early_stopping_n=0,
               evaluation=None):
        """One ``SGD`` call: plain SGD, one reshuffle per epoch, ``report(trainer, epoch, record)``
        after each epoch (the book prints its own lines), the record kept in ``self.history``."""
        # Each call shuffles differently, reproducibly: the first with the network's seed.
        seed = self.seed if self._sgd_calls == 0 else (self.seed, self._sgd_calls)
        self._sgd_calls += 1
        callbacks = [EarlyStopping("validation_accuracy", patience=early_stopping_n, restore_best=False)] \
            if early_stopping_n else []
        epochs = validation.whole("epochs", epochs, low=0)
        mini_batch_size = validation.whole("mini_batch_size", mini_batch_size, low=1)
        trainer = Trainer(mini_batch_size, callbacks + [LambdaCallback(on_epoch_end=report)], seed=seed,
                          verbose=False)
        model = Classifier(self._net, _SGD(eta), regularizers)
        self.history = trainer.fit(model, data, epochs, validation_data=evaluation)

    def _correct(self, x, labels) -> int:
        """How many rows of ``x`` the network classifies as ``labels`` (the most active output neuron)."""
        return int((self._net.predict(x) == labels).sum())


class Network(_BookNetwork):
    """The chapter 1 network: sigmoid neurons, quadratic cost, N(0, 1) weights and biases.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first: ``[784, 30, 10]``.
    seed : int or None
        Seeds the initial weights and the shuffling of every ``SGD`` call (default
        ``0``, so runs repeat exactly; ``None`` draws a fresh seed like the book's
        unseeded ``np.random``).

    Attributes
    ----------
    num_layers, sizes, weights, biases
        As in the book; ``weights`` and ``biases`` are live views of the parameters.
    """

    def __init__(self, sizes, seed=DEFAULT_SEED):
        super().__init__(sizes, cost="quadratic", init="large", seed=seed)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Train by mini-batch stochastic gradient descent.

        ``training_data`` is a list of pairs ``(x, y)`` (input column, one-hot target
        column); each epoch shuffles it and takes a step w → w − (η/m) Σ ∇C_x for every
        mini-batch of ``mini_batch_size`` = m examples.  With ``test_data`` (pairs of
        input column and integer label) the network is evaluated after every epoch
        and the book's ``Epoch 0: 9129 / 10000`` printed; otherwise ``Epoch 0 complete``.

        The data are converted once to arrays; your lists are not changed.  The
        record of the run is kept in ``self.history`` (an :class:`nndl.history.History`).
        """
        x, y = self._arrays(training_data, "training data")
        test = self._arrays(test_data, "test data") if _given(test_data) else None

        def report(trainer, epoch, record):
            if test is not None:
                print(f"Epoch {epoch - 1}: {self._correct(*test)} / {len(test[1])}")
            else:
                print(f"Epoch {epoch - 1} complete")

        self._train((x, y), epochs, mini_batch_size, eta, report)

    def evaluate(self, test_data) -> int:
        """The number of test inputs for which the network's most active output neuron is the right digit."""
        return self._correct(*self._arrays(test_data, "test data"))

    def cost_derivative(self, output_activations, y):
        """∂C_x/∂a for the quadratic cost: the vector a − y (nndl's :class:`~nndl.costs.QuadraticCost`)."""
        return _Quadratic().derivative(numpy.asarray(output_activations), numpy.asarray(y))
