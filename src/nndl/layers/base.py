"""What every layer is: a forward pass, a backward pass, and its parameters.

The contract (batch-major: the first axis of every array is the mini-batch):

``build(input_shape, rng, dtype) -> output_shape``
    Called once by the network with the shape of one example (no batch axis).
    Allocates the parameters; ``rng`` is the network's seeded generator.
``forward(x, training=False) -> a``
    Computes the output and remembers what ``backward`` needs.  ``training``
    switches on dropout, batch statistics and the like.
``backward(grad) -> grad_in``
    Given ∂C/∂(output), stores ∂C/∂θ in each parameter's ``.grad`` and returns
    ∂C/∂(input) — or ``None`` when ``needs_input_grad`` is False (the first layer:
    nobody needs the gradient with respect to the data).
``params``
    The :class:`Parameter` objects an optimizer updates.
``buffers``
    Non-trainable state saved with the model (e.g. running averages), name → array.
``config() -> dict``
    The JSON-able constructor arguments, with ``"type"``, so a saved model can be rebuilt.
``splits_over_batch``
    True if each example's output depends on that example alone (not on the rest of
    the mini-batch), so the batch may be cut into parts that run at the same time
    (:mod:`nndl.parallel`).  False by default; batch normalization is the exception
    among nndl's own layers.

A new layer subclasses :class:`Layer`, implements these, and registers itself with
:func:`register_layer`; nothing in the network, trainer or optimizers changes.
"""
from __future__ import annotations

from nndl.backend import FLOAT, xp

LAYER_TYPES: dict[str, type] = {}


def register_layer(cls):
    """Class decorator: make a layer type known to :func:`layer_from_config` by its ``type`` name."""
    LAYER_TYPES[cls.type] = cls
    return cls


class Parameter:
    """A trainable tensor ``value`` with its gradient ``grad`` of the same shape.

    ``regularize`` says whether weight penalties (L1, L2, max-norm) apply: true for
    weights, false for biases and batch-norm scales/shifts, as in the book.
    """

    __slots__ = ("name", "value", "grad", "regularize")

    def __init__(self, name: str, value, regularize: bool = False):
        self.name = name
        self.value = value
        self.grad = xp.zeros_like(value)
        self.regularize = regularize

    @property
    def shape(self):
        return self.value.shape

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={tuple(self.value.shape)})"


class Layer:
    """Base class of all layers (see the module docstring for the contract)."""

    type = "layer"
    splits_over_batch = False

    def __init__(self):
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self.needs_input_grad = True
        self.dtype = FLOAT
        self.name = self.type

    # -- building ---------------------------------------------------------------------
    def build(self, input_shape: tuple, rng, dtype=FLOAT) -> tuple:
        """Default for layers without parameters whose output has the input's shape."""
        self.input_shape = tuple(input_shape)
        self.output_shape = tuple(input_shape)
        self.dtype = dtype
        return self.output_shape

    @property
    def params(self) -> list[Parameter]:
        return []

    @property
    def buffers(self) -> dict:
        """Non-trainable arrays saved with the model (batch norm's running averages); name → array."""
        return {}

    # -- passes -----------------------------------------------------------------------
    def forward(self, x, training: bool = False):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    # -- description ------------------------------------------------------------------
    def config(self) -> dict:
        return {"type": self.type}

    def forward_flops(self, batch_size: int) -> float:
        """Floating-point operations of the largest matrix product in ``forward`` (0 if none)."""
        return 0.0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


def layer_from_config(config: dict) -> Layer:
    """Rebuild an (unbuilt) layer from its :meth:`Layer.config`."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind not in LAYER_TYPES:
        from nndl.errors import NndlError

        raise NndlError(f"unknown layer type {kind!r} in model config; known: {', '.join(sorted(LAYER_TYPES))}")
    return LAYER_TYPES[kind](**config)
