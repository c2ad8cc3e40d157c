"""What every layer is: a forward pass, a backward pass, and its parameters.

The contract (batch-major: the first axis of every array is the mini-batch):

``build(input_shape, rng, dtype) -> output_shape``
    Called once with the shape of one example (no batch axis).  Allocates the
    parameters; ``rng`` is the network's seeded generator.  A layer that is already
    built (one network reused inside another, a layer used twice) is not built again.
``forward(x, training=False) -> a``
    Computes the output.  What ``backward`` will need is kept with :meth:`Layer.save`,
    once per call, on a stack: a layer may run forward several times before its
    backward passes (a shared layer; a discriminator on real and then on fake data),
    and each ``backward`` takes the most recent forward pass not yet used (last in,
    first out, the order of the chain rule).  ``training`` switches on dropout, batch
    statistics and the like.
``backward(grad) -> grad_in``
    Given ∂C/∂(output) of the matching forward pass, **adds** ∂C/∂θ into each
    parameter's gradient (:meth:`Parameter.add_grad`) and returns ∂C/∂(input) — or
    ``None`` when ``needs_input_grad`` is False (the network's first layer, unless
    someone asked for ∂C/∂x).  Gradients add up over calls until ``zero_grad``.
``params``, ``buffers``
    The :class:`Parameter` objects an optimizer updates; non-trainable state saved
    with the model (batch norm's running averages), name → array.
``config() -> dict``
    The JSON-able constructor arguments, with ``"type"``, so a saved model can be rebuilt.

What a layer declares about itself, as class attributes, in one place:

``type``               its name in saved configs;
``spec_names``         the words of the ``--net`` language that make it (the first is
                       written back); ``from_spec`` takes a spec word's arguments,
                       ``spec_aliases`` maps other option names to them, and
                       ``spec_args`` writes the layer back;
``fuses_activation``   an activation word right after it becomes its own σ (dense, conv);
``needs_flat_input``   the spec language flattens its input first (dense);
``splits_over_batch``  each example's output depends on that example alone, so a
                       mini-batch may be cut into parts that run at the same time
                       (:mod:`nndl.parallel`); batch normalization is the exception;
``parallel_gain``      much of its work is NumPy outside the matrix products, so those
                       parts pay off (convolution);
``input_kind``         ``"float"``, or ``"int"`` for layers that read token ids.

A new layer subclasses :class:`Layer`, implements these, and registers itself with
:func:`register_layer`; nothing in the network, trainer, spec language or
optimizers changes.

Forward passes are kept only while gradients are being recorded, which is the
default; inference (``Network.predict``, evaluation) runs inside :func:`no_grad`.
"""
from __future__ import annotations

import inspect
import threading

from nndl.backend import FLOAT
from nndl.errors import NndlError

LAYER_TYPES: dict[str, type] = {}
#: Spec word (``"conv"``, ``"pool"``, ...) → layer class, filled by :func:`register_layer`.
SPEC_NAMES: dict[str, type] = {}

#: More forward passes than this waiting for their backward is a leak, not a network.
MAX_PENDING_PASSES = 100_000


def register_layer(cls):
    """Class decorator: make a layer known by its ``type`` (configs) and its ``spec_names`` (``--net``)."""
    LAYER_TYPES[cls.type] = cls
    for name in cls.spec_names:
        SPEC_NAMES[name] = cls
    return cls


# --------------------------------------------------------------------------- recording
class _Mode(threading.local):
    """Whether forward passes keep what backward needs, per thread (on unless in :func:`no_grad`)."""

    record = True


_mode = _Mode()


def recording() -> bool:
    """True unless inside :func:`no_grad` (in this thread)."""
    return _mode.record


class no_grad:
    """``with no_grad():`` — forward passes inside the block keep nothing for backward (inference)."""

    def __enter__(self):
        self.before, _mode.record = _mode.record, False

    def __exit__(self, *exc):
        _mode.record = self.before


# --------------------------------------------------------------------------- allocation budget
class _Budget(threading.local):
    """How many more parameter and buffer values may be allocated (None: no limit)."""

    left = None


_budget = _Budget()


class allocation_budget:
    """``with allocation_budget(n):`` — layers built inside may allocate at most ``n`` parameter and
    buffer values in all.  A model file holds its weights; a config that asks for more than the
    file holds (a crafted ``units: 10**9``) is refused before anything that size is allocated."""

    def __init__(self, values: int):
        self.values = int(values)

    def __enter__(self):
        self.before, _budget.left = _budget.left, self.values

    def __exit__(self, *exc):
        _budget.left = self.before


def spend(shape, what: str) -> None:
    """Count an allocation of ``shape`` against the budget; a one-line NndlError if it is over."""
    if _budget.left is None:
        return
    n = 1
    for d in shape:
        n *= int(d)
    if n > _budget.left:
        raise NndlError(f"{what} of shape {tuple(shape)} needs {n} values, more than the file holds")
    _budget.left -= n


# --------------------------------------------------------------------------- parameters
class Parameter:
    """A trainable tensor ``value`` and ``grad``, the gradient ∂C/∂value accumulated so far.

    ``grad`` is None until a backward pass adds to it (and after :meth:`zero_grad`): a
    parameter no pass reached this step has no gradient, and optimizers leave it alone.
    ``regularize`` says whether weight penalties (L1, L2, max-norm) apply: true for
    weights, false for biases and batch-norm scales/shifts, as in the book.
    ``trainable = False`` freezes it: it gets no gradient and no update.
    """

    __slots__ = ("name", "value", "grad", "regularize", "trainable")

    def __init__(self, name: str, value, regularize: bool = False, trainable: bool = True):
        self.name = name
        self.value = value
        self.grad = None
        self.regularize = regularize
        self.trainable = trainable

    def add_grad(self, g) -> None:
        """∂C/∂θ += g.  The first contribution after :meth:`zero_grad` is kept as it is (no
        copy), so ``g`` must be an array its layer does not write to again."""
        if not self.trainable:
            return
        if self.grad is None:
            self.grad = g
        else:
            self.grad += g

    def zero_grad(self) -> None:
        self.grad = None

    @property
    def shape(self):
        return self.value.shape

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={tuple(self.value.shape)})"


# --------------------------------------------------------------------------- layers
class Layer:
    """Base class of all layers (see the module docstring for the contract)."""

    type = "layer"
    spec_names: tuple = ()
    spec_aliases: dict = {}
    fuses_activation = False
    needs_flat_input = False
    splits_over_batch = False
    parallel_gain = False
    input_kind = "float"

    def __init__(self):
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self.needs_input_grad = True
        self.dtype = FLOAT
        self.name = self.type
        self._tape: list = []
        self._scratches: list[dict] = []

    # -- building ---------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self.output_shape is not None

    def build(self, input_shape: tuple, rng, dtype=FLOAT) -> tuple:
        """Default for layers without parameters whose output has the input's shape."""
        self.input_shape = tuple(input_shape)
        self.output_shape = tuple(input_shape)
        self.dtype = dtype
        return self.output_shape

    def add_param(self, name: str, shape, make, regularize: bool = False) -> Parameter:
        """A new parameter of ``shape`` with the values ``make(shape)`` (an initializer's draw),
        counted against the :class:`allocation_budget` first."""
        spend(shape, f"{self.type} {name}")
        return Parameter(name, make(tuple(shape)), regularize)

    @property
    def params(self) -> list[Parameter]:
        return []

    @property
    def buffers(self) -> dict:
        """Non-trainable arrays saved with the model (batch norm's running averages); name → array."""
        return {}

    @property
    def trainable(self) -> bool:
        """False when every parameter is frozen; setting it freezes or unfreezes them all."""
        return any(p.trainable for p in self.params)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for p in self.params:
            p.trainable = bool(value)

    # -- what a forward pass keeps for its backward -------------------------------------
    def save(self, **arrays) -> None:
        """Keep ``arrays`` for the backward pass of this forward pass (unless in :func:`no_grad`)."""
        if not _mode.record:
            return
        if len(self._tape) >= MAX_PENDING_PASSES:
            raise NndlError(f"{self.name}: {len(self._tape)} forward passes wait for their backward; for "
                            f"inference use Network.predict or feedforward (or nndl.layers.no_grad)")
        self._tape.append(arrays)

    def saved(self) -> dict:
        """What the latest forward pass not yet backpropagated kept, name → array (and forget it)."""
        if not self._tape:
            self._no_pass()
        return self._tape.pop()

    def peek(self) -> dict:
        """What the latest forward pass kept, without forgetting it."""
        if not self._tape:
            self._no_pass()
        return self._tape[-1]

    def _no_pass(self):
        raise NndlError(f"{self.name}: backward without a forward pass to match (a forward pass to "
                        f"backpropagate runs outside no_grad)")

    @property
    def pending(self) -> int:
        """The number of forward passes waiting for their backward (also: which scratch buffers are free)."""
        return len(self._tape)

    def forget(self) -> None:
        """Drop every forward pass still waiting for its backward."""
        self._tape.clear()

    @property
    def scratch(self) -> dict:
        """Buffers a layer keeps between calls to save allocations (conv's cols, say).

        One set per forward pass that may wait for its backward at the same time: set k
        serves the pass made while k others are pending — in ``forward`` before it is
        saved, in ``backward`` after it is taken back.  Usually only set 0 exists.
        """
        depth = len(self._tape)
        while len(self._scratches) <= depth:
            self._scratches.append({})
        return self._scratches[depth]

    # -- passes -----------------------------------------------------------------------
    def forward(self, x, training: bool = False):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    # -- description ------------------------------------------------------------------
    def config(self) -> dict:
        return {"type": self.type}

    @classmethod
    def from_spec(cls, *args, **kwargs) -> "Layer":
        """The layer of a spec word's arguments (default: the constructor's)."""
        return cls(*args, **kwargs)

    def spec_args(self) -> tuple[list, dict]:
        """Arguments that write this layer back as a spec word: the config's non-default values."""
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        options = {k: v for k, v in self.config().items() if k != "type" and defaults.get(k, object()) != v}
        return [], options

    def forward_flops(self, batch_size: int) -> float:
        """Floating-point operations of the largest matrix product in ``forward`` (0 if none)."""
        return 0.0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


def layer_from_config(config: dict, dtype=None) -> Layer:
    """Rebuild an (unbuilt) layer from its :meth:`Layer.config`; a nested network is rebuilt and built."""
    if not isinstance(config, dict):
        raise NndlError(f"a layer config must be a JSON object, got {type(config).__name__}")
    config = dict(config)
    kind = config.pop("type", None)
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise NndlError(f"unknown layer type {kind!r} in model config; known: {', '.join(sorted(LAYER_TYPES))}")
    cls = LAYER_TYPES[kind]
    if hasattr(cls, "from_config"):
        return cls.from_config({"type": kind, **config}, **({} if dtype is None else {"dtype": dtype}))
    from nndl.registry import call_with

    return call_with(cls, [], config, f"layer {kind!r} in model config")
