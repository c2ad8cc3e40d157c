"""k-max pooling (Kalchbrenner, Grefenstette & Blunsom, 2014): keep the k largest values, in order.

For each example (and each channel of a feature map), over the positions p of its values
x_p (a flat vector, or a channel's map read row by row):

    top   = the k positions with the largest x_p, sorted by position (not by value)
    a_i   = x_{top_i},      i = 1..k
    ∂C/∂x_p = ∂C/∂a_i if p = top_i, else 0

Unlike max-pooling it keeps *how many* strong features there are and their order, with an
output of fixed size k whatever the input's length.  Ties go to the earlier position.
"""
from __future__ import annotations

import numpy

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, register_layer


@register_layer
class KMaxPool(Layer):
    """The ``k`` largest values of each example (of each channel), in their original order.

    Input (n,) gives (k,); input (C, H, W) or (C, L) gives (C, k).
    """

    type = "kmaxpool"
    spec_names = ("kmaxpool", "kmax")
    splits_over_batch = True

    def __init__(self, k: int):
        super().__init__()
        self.k = validation.whole("kmaxpool k", k, low=1)

    def build(self, input_shape, rng, dtype=FLOAT):
        shape = tuple(int(d) for d in input_shape)
        positions = int(numpy.prod(shape if len(shape) == 1 else shape[1:]))
        if self.k > positions:
            raise NndlError(f"kmaxpool({self.k}) keeps more values than the {positions} of each "
                            f"{'example' if len(shape) == 1 else 'channel'}")
        self.input_shape, self.dtype = shape, dtype
        self.output_shape = (self.k,) if len(shape) == 1 else (shape[0], self.k)
        return self.output_shape

    def _rows(self, x):
        """x as (N, rows, positions): one row per example (flat input) or per channel."""
        return x.reshape(len(x), 1 if len(self.input_shape) == 1 else self.input_shape[0], -1)

    def forward(self, x, training=False):
        rows = self._rows(x)
        # stable sort of −x: the k largest, ties to the earlier position; then back into position order
        top = xp.sort(xp.argsort(-rows, axis=2, kind="stable")[..., :self.k], axis=2)
        a = xp.take_along_axis(rows, top, axis=2)
        self.save(top=top)
        return a.reshape((len(x),) + self.output_shape)

    def backward(self, grad):
        top = self.saved()["top"]
        if not self.needs_input_grad:
            return None
        n = len(grad)
        out = xp.zeros((n, top.shape[1], int(numpy.prod(self.input_shape)) // top.shape[1]), dtype=grad.dtype)
        xp.put_along_axis(out, top, grad.reshape(top.shape), axis=2)
        return out.reshape((n,) + self.input_shape)

    def spec_args(self):
        return [self.k], {}

    def config(self):
        return {"type": self.type, "k": self.k}
