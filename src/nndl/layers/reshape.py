"""Layers that only change the shape of each example: no parameters, no arithmetic.

``Flatten``   (N, C, H, W) -> (N, C·H·W), index (c, h, w) -> c·H·W + h·W + w, so a
              dense layer can follow a conv or pooling layer.
``Reshape``   (N, *in) -> (N, *shape), e.g. flat (N, 784) MNIST rows -> (N, 1, 28, 28).

Forward is ``x.reshape``; backward reshapes the gradient back.  Both are views when
the memory layout allows (a C-contiguous input), otherwise one copy.
"""
from __future__ import annotations

import math

from nndl.backend import FLOAT
from nndl.errors import NndlError
from nndl.layers.base import Layer, register_layer


@register_layer
class Flatten(Layer):
    """(N, d₁, d₂, ...) -> (N, d₁·d₂·...), in C order."""

    type = "flatten"
    spec_names = ("flatten",)
    splits_over_batch = True

    def build(self, input_shape, rng, dtype=FLOAT):
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = (math.prod(self.input_shape),)
        self.dtype = dtype
        return self.output_shape

    def forward(self, x, training=False):
        return x.reshape(len(x), self.output_shape[0])

    def backward(self, grad):
        if not self.needs_input_grad:
            return None
        return grad.reshape((len(grad),) + self.input_shape)


@register_layer
class Reshape(Layer):
    """(N, *input_shape) -> (N, *shape); one entry of ``shape`` may be -1 (inferred)."""

    type = "reshape"
    spec_names = ("reshape",)
    splits_over_batch = True

    def __init__(self, shape):
        super().__init__()
        try:
            self.shape = tuple(int(d) for d in (shape if isinstance(shape, (list, tuple)) else (shape,)))
        except (TypeError, ValueError):
            raise NndlError(f"reshape needs a shape of ints, got {shape!r}") from None
        if not self.shape or sum(d == -1 for d in self.shape) > 1 or any(d < 1 and d != -1 for d in self.shape):
            raise NndlError(f"reshape shape {shape!r} must be positive ints, with at most one -1")

    @classmethod
    def from_spec(cls, *dims):
        """``reshape(d1, d2, ...)``; one of them may be -1."""
        return cls(list(dims))

    def spec_args(self):
        return list(self.shape), {}

    def build(self, input_shape, rng, dtype=FLOAT):
        self.input_shape = tuple(int(d) for d in input_shape)
        size = math.prod(self.input_shape)
        known = math.prod(d for d in self.shape if d != -1)
        shape = tuple(size // known if d == -1 else d for d in self.shape)
        if math.prod(shape) != size:
            raise NndlError(f"reshape{self.shape}: cannot reshape input {self.input_shape} ({size} values) "
                            f"to {shape}")
        self.output_shape, self.dtype = shape, dtype
        return self.output_shape

    def forward(self, x, training=False):
        return x.reshape((len(x),) + self.output_shape)

    def backward(self, grad):
        if not self.needs_input_grad:
            return None
        return grad.reshape((len(grad),) + self.input_shape)

    def config(self):
        return {"type": self.type, "shape": list(self.shape)}
