"""The book's chapter 6 ``network3.py``: convolutional networks, described layer by layer.

    >>> from nndl.book import network3
    >>> from nndl.book.network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer
    >>> training_data, validation_data, test_data = network3.load_data_shared()
    >>> mini_batch_size = 10
    >>> net = Network([
    ...     ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
    ...                   filter_shape=(20, 1, 5, 5), poolsize=(2, 2)),
    ...     FullyConnectedLayer(n_in=20*12*12, n_out=100),
    ...     SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    >>> net.SGD(training_data, 60, mini_batch_size, 0.1, validation_data, test_data)

prints the book's lines (the figures here only show the format)::

    Training mini-batch number 0
    Training mini-batch number 1000
    ...
    Epoch 0: validation accuracy 93.50%
    This is the best validation accuracy to date.
    The corresponding test accuracy is 93.10%
    ...
    Finished training network.
    Best validation accuracy of 98.80% obtained at iteration 284999
    Corresponding test accuracy of 98.70%

The book's version compiled each layer into a Theano graph and let Theano take the
gradient.  Here the layer classes only *describe* the architecture: :class:`Network`
translates them into nndl layers, checks that their declared shapes chain, and builds
an :class:`nndl.network.Network` (log-likelihood cost, softmax output); ``SGD`` is an
:class:`nndl.trainer.Trainer` with plain :class:`nndl.optim.SGD`.  So backpropagation
is nndl's one implementation (:meth:`nndl.network.Network.backprop`), the same the
command line and :mod:`nndl.book.network` use.

The translation, layer by layer
-------------------------------
``ConvPoolLayer(filter_shape=(F, C, kh, kw), image_shape=(m, C, H, W), poolsize=(ph, pw), activation_fn=σ)``
    → ``Conv2D(F, (kh, kw), activation=σ)``, ``MaxPool2D((ph, pw))``.
    The book computes σ(maxpool(w ∗ x) + b): pooling first, then the bias and σ.
    nndl's conv layer adds the bias and applies σ before pooling: σ(maxpool(w ∗ x + b))
    … which is the same function.  The bias is one constant per feature map, so
    max(z + b) = max(z) + b; and a non-decreasing σ (sigmoid, tanh, ReLU, linear)
    commutes with max, max σ(z) = σ(max z).  The gradient reaches the same arg-max
    position either way.  (σ is evaluated on four times as many values; that is all.)
    Like the book's ``ignore_border=True``, a ragged edge that the pooling windows do
    not cover is dropped.  The mini-batch size in ``image_shape`` is not needed by nndl
    and is ignored.
``FullyConnectedLayer(n_in, n_out, activation_fn=σ, p_dropout=p)``
    → [``Flatten()``] [``Dropout(p)``] ``Dense(n_out, activation=σ)``.
``SoftmaxLayer(n_in, n_out, p_dropout=p)``
    → [``Flatten()``] [``Dropout(p)``] ``Dense(n_out, activation="softmax")``;
    it must be the last layer (the book takes the cost from the last layer, and only
    the softmax layer has one: the log-likelihood −ln a_y).

A ``Flatten`` (or a ``Reshape``) goes wherever the book's layer reshapes its input
(``inpt.reshape((mini_batch_size, n_in))``, ``inpt.reshape(image_shape)``).  Each
layer's declared input size must equal what the layer before it puts out, as the
book's reshapes require; otherwise :class:`Network` raises an :class:`NndlError`
naming the layer and both shapes.

Differences from the book
-------------------------
* **Data.**  :func:`load_data_shared` returns ``(x, y)`` NumPy pairs read from the
  original IDX files by :func:`nndl.data.load_mnist` (no pickle, no Theano shared
  variables); ``x`` is float32 (N, 784) and ``y`` int64 (N,).  The expanded training
  set is a batch source (:class:`nndl.augment.ShiftExpanded`) that shifts the images
  as the mini-batches are drawn, instead of a 250,000-image file.
* **Initial weights.**  The book's ``ConvPoolLayer`` and ``FullyConnectedLayer`` draw
  weights from N(0, 1/n_out) — a known slip (n_out = F·kh·kw/(ph·pw) for the conv
  layer); here they are nndl's ``"default"``: N(0, 1/n_in) (n_in = C·kh·kw for the
  conv layer), which keeps the weighted inputs from saturating.  Biases are N(0, 1)
  and the ``SoftmaxLayer``'s weights and biases start at zero, both as in the book.
* **Dropout** is nndl's inverted dropout: during training the kept inputs are scaled
  by 1/(1 − p), and at test time nothing is scaled; the book leaves training inputs
  unscaled and multiplies by (1 − p) at test time.  The same network in expectation,
  a different parametrization of it.
* **L2 regularization.**  The book's cost is C = C₀ + ½·lmbda·Σw² / num_training_batches
  (num_training_batches = n // m), so its gradient adds lmbda·w / (n // m) to every
  weight's.  :class:`nndl.optim.L2` (λ′) adds (λ′/n)·w, so ``SGD`` trains with
  λ′ = lmbda · n / (n // m) — λ′ = lmbda·m when m divides n — which gives the book's
  update exactly.  (This is *not* chapter 3's scaling: network3's lmbda = 0.1 with
  m = 10 is network2's λ = 1.0.)  See :func:`nndl_lmbda`.
* **Order of the examples.**  The book visits the mini-batches in the same order every
  epoch and drops a last, incomplete one; nndl's trainer reshuffles every epoch (from
  the network's seed) and trains on the incomplete batch too.  Validation and test
  accuracies are over every example, not averaged over whole mini-batches.
* Parameters are float32 and the random numbers come from a seeded generator
  (``seed=0`` unless you pass another), so runs repeat exactly.
"""
from __future__ import annotations

import math
import os

import numpy

from nndl import validation as _validation
from nndl.activations import Activation, get_activation, relu
from nndl.activations import sigmoid as _nndl_sigmoid
from nndl.backend import xp
from nndl.book.network import DEFAULT_SEED, _as_arrays
from nndl.errors import NndlError
from nndl.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, Reshape
from nndl.network import Network as _NndlNetwork
from nndl.optim import L2
from nndl.callbacks import LambdaCallback
from nndl.models import Classifier
from nndl.optim import SGD as _SGD
from nndl.trainer import Trainer

__all__ = ["Network", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer", "load_data_shared", "size",
           "nndl_lmbda", "sigmoid", "tanh", "ReLU", "linear"]

#: How often ``SGD`` prints "Training mini-batch number ...", as the book does.
REPORT_EVERY = 1000


# --------------------------------------------------------------------------- activation functions
sigmoid = _nndl_sigmoid   # σ(z) = 1/(1 + e^{−z}), nndl's function itself


def tanh(z):
    """tanh(z): the book's ``theano.tensor.tanh``."""
    return xp.tanh(z)


def ReLU(z):
    """max(0, z): the rectified linear unit."""
    return relu(z)


def linear(z):
    """The identity, z."""
    return z


#: The book's activation functions and the nndl activations they stand for.  Layers are
#: given the function; nndl needs its derivative too, so the function is looked up here.
ACTIVATIONS = {sigmoid: "sigmoid", tanh: "tanh", ReLU: "relu", linear: "linear",
               relu: "relu", numpy.tanh: "tanh"}


def _activation(fn, what) -> Activation:
    """The nndl activation for the book's ``activation_fn``: one of this module's functions, an nndl
    :class:`~nndl.activations.Activation`, or an nndl activation name."""
    if isinstance(fn, (Activation, str)):
        return get_activation(fn)
    try:
        name = ACTIVATIONS.get(fn)
    except TypeError:                       # unhashable
        name = None
    if name is None:
        raise NndlError(f"{what}: activation_fn must be network3.sigmoid, tanh, ReLU or linear (or an nndl "
                        f"activation name such as 'relu'), got {fn!r}; backpropagation needs its derivative, "
                        f"so an arbitrary function cannot be used")
    return get_activation(name)


def _fn_name(activation: Activation) -> str:
    return {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "linear": "linear"}.get(
        activation.name, repr(activation))


def _ints(value, n, what):
    """``value`` as a tuple of ``n`` positive ints, or a one-line NndlError."""
    try:
        t = tuple(value)
        out = tuple(int(v) for v in t)
        ok = len(out) == n and all(o == v and o > 0 for o, v in zip(out, t))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise NndlError(f"{what} must be {n} positive integers, got {value!r}")
    return out


def _positive_int(value, what):
    """A whole number ≥ 1 (3.0 is not one: the book's mini-batch size is a count)."""
    return _validation.whole(what, value, low=1)


def _probability(value, what):
    try:
        p = float(value)
    except (TypeError, ValueError):
        p = -1.0
    if not 0.0 <= p < 1.0:
        raise NndlError(f"{what} must be in [0, 1), got {value!r}")
    return p


def _shape_text(shape) -> str:
    n = math.prod(shape)
    return f"{n} values" if len(shape) == 1 else f"{'×'.join(map(str, shape))} = {n} values, shape {tuple(shape)}"


# --------------------------------------------------------------------------- layers
class _BookLayer:
    """What the three layer descriptions share: the nndl layers they became, and the book's ``w``, ``b``."""

    def __init__(self):
        self._nndl = None            # the nndl layer holding w and b, once a Network is built

    def _in_size(self) -> int:
        raise NotImplementedError

    def _in_shape(self) -> tuple:
        """The shape this layer reshapes its input to (the network's input shape if it comes first)."""
        raise NotImplementedError

    def _translate(self) -> tuple:
        """``(nndl layers, the one holding w and b)``, without a Flatten/Reshape in front (the Network adds those)."""
        raise NotImplementedError

    def _out_shape(self) -> tuple:
        raise NotImplementedError

    def _param_layer(self):
        if self._nndl is None:
            raise NndlError(f"{self!r} has no weights until it is part of a network3.Network")
        return self._nndl

    @property
    def b(self):
        """The biases, shape (n_out,) — or (F,) for a conv layer: the network's own array."""
        return self._param_layer().b.value

    @property
    def params(self) -> list:
        """``[w, b]``, as in the book."""
        return [self.w, self.b]


class ConvPoolLayer(_BookLayer):
    """A convolutional layer followed by max-pooling: F feature maps from shared kh × kw filters.

    Parameters (the book's)
    -----------------------
    filter_shape : (F, C, kh, kw)
        Number of filters, input feature maps, filter height and width.
    image_shape : (m, C, H, W)
        Mini-batch size (ignored), input feature maps, image height and width.
    poolsize : (ph, pw)
        The max-pooling window (default (2, 2)).
    activation_fn : sigmoid, tanh, ReLU or linear
        Default :func:`sigmoid`.

    Becomes ``Conv2D(F, (kh, kw), activation=σ)`` and ``MaxPool2D((ph, pw))``: σ and the
    bias before pooling instead of after, which for max-pooling and a non-decreasing σ
    is the same function (see the module docstring).  Output: F maps of
    ((H − kh + 1) // ph) × ((W − kw + 1) // pw).  Weights N(0, 1/(C·kh·kw)) — the book
    used 1/n_out — biases N(0, 1).

    After the layer is part of a :class:`Network`, ``w`` (F, C, kh, kw) and ``b`` (F,)
    are the network's own arrays.
    """

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid):
        super().__init__()
        self.filter_shape = _ints(filter_shape, 4, "ConvPoolLayer filter_shape (filters, input maps, height, width)")
        self.image_shape = _ints(image_shape, 4,
                                 "ConvPoolLayer image_shape (mini-batch size, input maps, height, width)")
        self.poolsize = _ints(poolsize, 2, "ConvPoolLayer poolsize")
        self.activation_fn = activation_fn
        self.activation = _activation(activation_fn, "ConvPoolLayer")
        f, c, kh, kw = self.filter_shape
        _, ci, h, w = self.image_shape
        if c != ci:
            raise NndlError(f"{self!r}: the filters have {c} input maps (filter_shape[1]) but the images "
                            f"{ci} (image_shape[1])")
        if kh > h or kw > w:
            raise NndlError(f"{self!r}: the {kh}×{kw} filters are larger than the {h}×{w} images")
        ph, pw = self.poolsize
        if ph > h - kh + 1 or pw > w - kw + 1:
            raise NndlError(f"{self!r}: the {ph}×{pw} pooling window is larger than the "
                            f"{h - kh + 1}×{w - kw + 1} feature maps")

    def _in_shape(self):
        return self.image_shape[1:]

    def _in_size(self):
        return math.prod(self.image_shape[1:])

    def _out_shape(self):
        f, _, kh, kw = self.filter_shape
        _, _, h, w = self.image_shape
        ph, pw = self.poolsize
        return (f, (h - kh + 1) // ph, (w - kw + 1) // pw)

    def _translate(self):
        f, _, kh, kw = self.filter_shape
        conv = Conv2D(f, (kh, kw), activation=self.activation, init="default")
        return [conv, MaxPool2D(self.poolsize)], conv

    @property
    def w(self):
        """The filters, shape (F, C, kh, kw): the network's own array."""
        return self._param_layer().W.value

    def __repr__(self):
        return (f"ConvPoolLayer(filter_shape={self.filter_shape}, image_shape={self.image_shape}, "
                f"poolsize={self.poolsize}, activation_fn={_fn_name(self.activation)})")


class _DenseBookLayer(_BookLayer):
    _name = "layer"

    def __init__(self, n_in, n_out, p_dropout):
        super().__init__()
        self.n_in = _positive_int(n_in, f"{self._name} n_in")
        self.n_out = _positive_int(n_out, f"{self._name} n_out")
        self.p_dropout = _probability(p_dropout, f"{self._name} p_dropout")

    def _in_shape(self):
        return (self.n_in,)

    def _in_size(self):
        return self.n_in

    def _out_shape(self):
        return (self.n_out,)

    def _translate(self):
        dense = Dense(self.n_out, activation=self.activation, init="default")
        return ([Dropout(self.p_dropout)] if self.p_dropout > 0 else []) + [dense], dense

    @property
    def w(self):
        """The weights, shape (n_in, n_out) as in the book: a transposed view of the network's own
        (n_out, n_in) array, so writing into it changes the network."""
        return self._param_layer().W.value.T


class FullyConnectedLayer(_DenseBookLayer):
    """``n_out`` neurons, each connected to all ``n_in`` inputs.

    Parameters (the book's)
    -----------------------
    n_in, n_out : int
    activation_fn : sigmoid, tanh, ReLU or linear
        Default :func:`sigmoid`.
    p_dropout : float
        Probability of dropping each *input* of the layer during training (default 0).

    Becomes [``Dropout(p_dropout)``] ``Dense(n_out, activation=σ)``, with a ``Flatten``
    in front when the layer before is a conv layer.  Weights N(0, 1/n_in) — the book
    used 1/n_out — biases N(0, 1).
    """

    _name = "FullyConnectedLayer"

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        super().__init__(n_in, n_out, p_dropout)
        self.activation_fn = activation_fn
        self.activation = _activation(activation_fn, "FullyConnectedLayer")

    def __repr__(self):
        return (f"FullyConnectedLayer(n_in={self.n_in}, n_out={self.n_out}, "
                f"activation_fn={_fn_name(self.activation)}, p_dropout={self.p_dropout})")


class SoftmaxLayer(_DenseBookLayer):
    """The output layer: ``n_out`` softmax neurons, trained with the log-likelihood cost −ln a_y.

    Parameters (the book's)
    -----------------------
    n_in, n_out : int
    p_dropout : float
        Probability of dropping each *input* during training (default 0).

    Becomes [``Dropout(p_dropout)``] ``Dense(n_out, activation="softmax")``; its weights
    and biases start at zero, as in the book.
    """

    _name = "SoftmaxLayer"

    def __init__(self, n_in, n_out, p_dropout=0.0):
        super().__init__(n_in, n_out, p_dropout)
        self.activation = get_activation("softmax")

    def __repr__(self):
        return f"SoftmaxLayer(n_in={self.n_in}, n_out={self.n_out}, p_dropout={self.p_dropout})"


_LAYER_TYPES = (ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer)


# --------------------------------------------------------------------------- data
def load_data_shared(filename="../data/mnist.pkl.gz", expanded=None, root=None):
    """Return ``[training_data, validation_data, test_data]``, each an ``(x, y)`` pair of arrays.

    ``x`` is float32 (N, 784), one image per row with intensities in [0, 1]; ``y`` int64
    (N,), the digits.  N = 50,000, 10,000 and 10,000 — the book's split, read from the
    original IDX files by :func:`nndl.data.load_mnist` (data root ``root``, else
    ``NNDL_DATA``).  The arrays are read-only views of one copy of MNIST.

    ``filename`` is accepted for the book's calls and otherwise ignored (nothing is
    unpickled) — except that the book's ``"../data/mnist_expanded.pkl.gz"`` (any name
    containing ``mnist_expanded``) means ``expanded=True``:

    ``expanded=True`` makes ``training_data`` the book's expanded training set, a batch
    source of 250,000 examples (:class:`nndl.augment.ShiftExpanded`: each image and its
    shifts by one pixel down, up, right and left), which :meth:`Network.SGD` accepts in
    place of a pair.  For random augmentation instead, build a source with
    :func:`nndl.augment.make_source` (or :class:`nndl.augment.Augmented`) from the
    ``Dataset`` of :func:`nndl.data.load_mnist` and pass that as ``training_data``.
    """
    from nndl.data import load_mnist  # here, so the network classes work without the data package

    if expanded is None:
        expanded = filename is not None and "mnist_expanded" in os.path.basename(os.fspath(filename))
    splits = load_mnist(root=root, split="book")
    parts = [(ds.x, ds.y) for ds in (splits.train, splits.validation, splits.test)]
    if expanded:
        from nndl.augment import ShiftExpanded

        train = splits.train
        parts[0] = ShiftExpanded(train.x, train.y, train.image_shape or (1, 28, 28))
    return parts


def size(data) -> int:
    """The number of examples in ``data`` (an ``(x, y)`` pair, a Dataset or a batch source), as the book's ``size``."""
    if hasattr(data, "batch") or hasattr(data, "x"):
        return len(data)
    try:
        return len(data[0])
    except (TypeError, IndexError, KeyError):
        raise NndlError(f"cannot tell the size of {type(data).__name__}; expected an (x, y) pair") from None


def nndl_lmbda(lmbda, n, mini_batch_size) -> float:
    """The λ′ of :class:`nndl.optim.L2` that gives network3's regularization with ``lmbda``.

    The book's cost has ½·lmbda·Σw² / num_training_batches, num_training_batches = n // m,
    so its gradient adds lmbda·w / (n // m); L2(λ′) adds (λ′/n)·w.  Equal for
    λ′ = lmbda·n / (n // m), which is lmbda·m when m divides n.  (With fewer than m
    examples there is one mini-batch: λ′ = lmbda·n.)
    """
    n, m = int(n), int(mini_batch_size)
    return float(lmbda) * n / max(1, n // m)


class _Inputs:
    """A batch source whose inputs are reshaped (and cast) for the network, as ``Network.as_input`` does."""

    def __init__(self, source, net):
        self.source, self.net = source, net

    def __len__(self):
        return len(self.source)

    def batch(self, idx, rng=None):
        x, y = self.source.batch(idx, rng)
        return self.net.as_input(x), y


# --------------------------------------------------------------------------- the network
class Network:
    """A network of ``ConvPoolLayer``, ``FullyConnectedLayer`` and ``SoftmaxLayer`` descriptions.

    Parameters
    ----------
    layers : list
        The layers in order; the last must be a :class:`SoftmaxLayer`.  Each layer's
        declared input (``image_shape`` or ``n_in``) must hold as many values as the
        layer before it puts out.
    mini_batch_size : int
        As in the book; ``SGD``'s own ``mini_batch_size`` is the one used for training.
    seed : int or None
        Seeds the initial weights, the dropout masks and the shuffling of every ``SGD``
        call (default ``0``; ``None`` draws a fresh seed).

    Attributes
    ----------
    layers, mini_batch_size
        As given.
    params
        The weights and biases of every layer, ``[w, b, w, b, ...]``, as in the book.
    nndl_network
        The :class:`nndl.network.Network` that does the work.
    history
        The :class:`nndl.history.History` of the last ``SGD`` call.
    """

    def __init__(self, layers, mini_batch_size, seed=DEFAULT_SEED):
        try:
            layers = list(layers)
        except TypeError:
            raise NndlError(f"layers must be a list of network3 layers, got {type(layers).__name__}") from None
        if not layers:
            raise NndlError("a network needs at least one layer")
        for i, layer in enumerate(layers, start=1):
            if not isinstance(layer, _LAYER_TYPES):
                raise NndlError(f"layer {i} is {layer!r}; expected a ConvPoolLayer, FullyConnectedLayer or "
                                f"SoftmaxLayer")
        if not isinstance(layers[-1], SoftmaxLayer):
            raise NndlError(f"the last layer must be a SoftmaxLayer (it defines the log-likelihood cost), "
                            f"got layer {len(layers)}, {layers[-1]!r}")
        self.layers = layers
        self.mini_batch_size = _positive_int(mini_batch_size, "mini_batch_size")
        if seed is None:
            seed = int(numpy.random.SeedSequence().entropy % 2**32)
        self.seed = int(seed)

        input_shape = layers[0]._in_shape()
        nndl_layers, owners = [], []
        shape = input_shape
        for i, layer in enumerate(layers, start=1):
            want = layer._in_shape()
            if math.prod(shape) != layer._in_size():      # (never for the first layer: it sets the input)
                if isinstance(layer, ConvPoolLayer):
                    declared = "image_shape"
                    fix = (f"image_shape=(mini_batch_size, {', '.join(map(str, shape))})" if len(shape) == 3
                           else "an image_shape of as many values")
                else:
                    declared, fix = "n_in", f"n_in={math.prod(shape)}"
                raise NndlError(f"layer {i}, {layer!r}, does not fit: its {declared} says {_shape_text(want)}, "
                                f"but layer {i - 1}, {layers[i - 2]!r}, outputs {_shape_text(shape)}; "
                                f"use {fix}")
            if shape != want:
                nndl_layers.append(Flatten() if len(want) == 1 else Reshape(want))
            translated, owner = layer._translate()
            nndl_layers += translated
            owners.append((owner, translated[-1]))
            shape = layer._out_shape()
        self._net = _NndlNetwork(nndl_layers, input_shape, cost="log_likelihood", seed=self.seed)
        for layer, (owner, last) in zip(layers, owners):
            # nndl's own shape arithmetic agrees with the book's declarations checked above.
            if owner.input_shape != layer._in_shape() or last.output_shape != layer._out_shape():
                raise NndlError(f"internal error: {layer!r} became nndl layers {owner.input_shape} -> "
                                f"{last.output_shape}")
            layer._nndl = owner
            if isinstance(layer, SoftmaxLayer):       # the book starts the softmax layer at zero
                owner.W.value[...] = 0
                owner.b.value[...] = 0
        self._sgd_calls = 0
        self.history = None
        self.best_validation_accuracy = None
        self.best_iteration = None
        self.test_accuracy = None

    @property
    def nndl_network(self) -> _NndlNetwork:
        """The :class:`nndl.network.Network` these layers became (for nndl's tools: io, gradcheck, CLI)."""
        return self._net

    @property
    def params(self) -> list:
        """``[w, b]`` of every layer in order: the network's own arrays (``w`` of a dense layer transposed)."""
        return [p for layer in self.layers for p in layer.params]

    # -- data -----------------------------------------------------------------------------
    def _arrays(self, data, what):
        """``data`` as (x (N, n_in) float32, labels (N,) int64), checked against the network."""
        if data is None:
            raise NndlError(f"{what} are missing")
        if (isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], numpy.ndarray)
                and data[0].ndim > 2):
            data = (data[0].reshape(len(data[0]), -1), data[1])
        n_in = math.prod(self._net.input_shape)
        return _as_arrays(data, n_in, self._net.num_classes, what)

    def _training_source(self, data):
        if hasattr(data, "batch") and hasattr(data, "__len__"):
            if len(data) == 0:
                raise NndlError("the training data are empty")
            return _Inputs(data, self._net)
        return self._arrays(data, "training data")

    def accuracy(self, data) -> float:
        """The fraction of ``data`` (an ``(x, y)`` pair) that the network classifies correctly."""
        x, y = self._arrays(data, "data")
        return float(self._net.evaluate(x, y)[1])

    # -- training -------------------------------------------------------------------------
    def SGD(self, training_data, epochs, mini_batch_size, eta, validation_data, test_data=None, lmbda=0.0):
        """Train by mini-batch stochastic gradient descent, printing the book's lines.

        ``training_data`` is an ``(x, y)`` pair (as from :func:`load_data_shared`), a
        Dataset, or a batch source such as the expanded training set;
        ``validation_data`` and ``test_data`` are ``(x, y)`` pairs.  Each step is
        w → w − η (∇C₀ + lmbda·w / (n // m)) with C₀ the mean log-likelihood of the
        mini-batch: :class:`nndl.optim.SGD` (η) and :class:`nndl.optim.L2` with
        λ′ = :func:`nndl_lmbda` (lmbda, n, m).

        Prints "Training mini-batch number i" every 1000 mini-batches, and after each
        epoch "Epoch e: validation accuracy 97.12%"; when that is the best so far (or
        equal to it, as in the book) "This is the best validation accuracy to date."
        and "The corresponding test accuracy is 96.99%".  At the end "Finished
        training network.", the best validation accuracy with the iteration (the
        number of the last mini-batch of that epoch, counting from 0) and its test
        accuracy.  These are also kept in ``best_validation_accuracy``,
        ``best_iteration`` and ``test_accuracy``; ``history`` holds nndl's record.
        """
        epochs = _validation.whole("epochs", epochs, low=0)
        m = _positive_int(mini_batch_size, "mini_batch_size")
        source = self._training_source(training_data)
        validation = self._arrays(validation_data, "validation data")
        test = None if _absent(test_data) else self._arrays(test_data, "test data")
        n = len(source) if isinstance(source, _Inputs) else len(source[1])
        lmbda = float(lmbda)
        if not lmbda >= 0.0:
            raise NndlError(f"lmbda must be ≥ 0, got {lmbda}")
        regularizers = [L2(nndl_lmbda(lmbda, n, m))] if lmbda > 0 else []

        state = {"iteration": 0, "best": None, "best_iteration": None, "test": None}

        def each_batch(trainer, k, logs):
            if state["iteration"] % REPORT_EVERY == 0:
                print(f"Training mini-batch number {state['iteration']}")
            state["iteration"] += 1

        def each_epoch(trainer, epoch, record):
            accuracy = record["validation_accuracy"]
            print(f"Epoch {epoch - 1}: validation accuracy {accuracy:.2%}")
            if state["best"] is None or accuracy >= state["best"]:
                print("This is the best validation accuracy to date.")
                state["best"], state["best_iteration"] = accuracy, state["iteration"] - 1
                if test is not None:
                    state["test"] = float(self._net.evaluate(*test)[1])
                    print(f"The corresponding test accuracy is {state['test']:.2%}")

        # Each call shuffles differently, reproducibly: the first with the network's seed.
        seed = self.seed if self._sgd_calls == 0 else (self.seed, self._sgd_calls)
        self._sgd_calls += 1
        trainer = Trainer(m, [LambdaCallback(on_batch_end=each_batch, on_epoch_end=each_epoch)], seed=seed,
                          verbose=False)
        self.history = trainer.fit(Classifier(self._net, _SGD(eta), regularizers), source, epochs,
                                   validation_data=validation)
        self.best_validation_accuracy = state["best"]
        self.best_iteration = state["best_iteration"]
        self.test_accuracy = state["test"]
        print("Finished training network.")
        if state["best"] is not None:
            print(f"Best validation accuracy of {state['best']:.2%} obtained at iteration {state['best_iteration']}")
            if state["test"] is not None:
                print(f"Corresponding test accuracy of {state['test']:.2%}")

    def __repr__(self):
        return f"network3.Network({len(self.layers)} layers, mini_batch_size={self.mini_batch_size})"


def _absent(data) -> bool:
    """The book's ``if test_data:`` — None and empty lists mean "no data", without asking an array's truth."""
    return data is None or (isinstance(data, (list, tuple)) and len(data) == 0)
