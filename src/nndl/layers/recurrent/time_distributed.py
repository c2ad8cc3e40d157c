"""A layer applied at every time step of a sequence, with the same weights at each step.

For inputs (N, T, D) and a layer that maps (M, D) → (M, K) — a dense layer, its
activation, dropout — the output is

    y[n, t] = layer(x[n, t])            shape (N, T, K),

computed as one call on the (N·T, D) block (a view, no copy), so a dense layer does one
matrix product for all steps: z = X Wᵀ + b with X the N·T rows.  Backward is the layer's
own backward on the same block, reshaped back: ∂C/∂W = Σ_{n,t} δ_{n,t} x_{n,t}ᵀ.

The spec language puts it in by itself: a dense layer after a layer whose output is a
sequence (an embedding, an LSTM with ``return_sequences``) runs per step, so
``embedding(64) lstm(256) dense(65) softmax`` predicts a character at every step.
"""
from __future__ import annotations

from nndl.backend import FLOAT
from nndl.errors import NndlError
from nndl.layers.base import Layer, layer_from_config, register_layer


@register_layer
class TimeDistributed(Layer):
    """``layer`` applied to every time step: (N, T, D) → (N, T, K)."""

    type = "time_distributed"
    sequence_output = True
    splits_over_batch = True

    def __init__(self, layer):
        super().__init__()
        if isinstance(layer, dict):
            layer = layer_from_config(layer)
        self.layer = layer
        self.spec_names = layer.spec_names                 # written back as the layer itself
        self.fuses_activation = getattr(layer, "fuses_activation", False)

    @property
    def activation(self):
        return self.layer.activation

    def build(self, input_shape, rng, dtype=FLOAT):
        if len(input_shape) != 2:
            raise NndlError(f"a per-step {self.layer.type} needs sequences (T, D), got {tuple(input_shape)}")
        steps = int(input_shape[0])
        out = self.layer.build(tuple(input_shape[1:]), rng, dtype)
        self.input_shape, self.output_shape, self.dtype = tuple(input_shape), (steps,) + tuple(out), dtype
        return self.output_shape

    @property
    def params(self):
        return self.layer.params

    @property
    def buffers(self):
        return self.layer.buffers

    def forward(self, x, training=False):
        n, steps = x.shape[:2]
        self.save(shape=(n, steps))
        y = self.layer.forward(x.reshape((n * steps,) + tuple(x.shape[2:])), training)
        return y.reshape((n, steps) + tuple(y.shape[1:]))

    def _back(self, grad, method):
        n, steps = self.saved()["shape"]
        self.layer.needs_input_grad = self.needs_input_grad
        g = getattr(self.layer, method)(grad.reshape((n * steps,) + tuple(grad.shape[2:])))
        return None if g is None else g.reshape((n, steps) + tuple(g.shape[1:]))

    def backward(self, grad):
        return self._back(grad, "backward")

    def backward_delta(self, delta):
        """Given δ = ∂C/∂z at every step (N, T, K), the layer's BP3/BP4 on the N·T rows."""
        return self._back(delta, "backward_delta")

    def peek(self):
        """The layer's latest z and a, (N, T, K) (what the cost's output error needs)."""
        n, steps = self._tape[-1]["shape"] if self._tape else self._no_pass()
        kept = self.layer.peek()
        return {k: v.reshape((n, steps) + tuple(v.shape[1:])) for k, v in kept.items() if k in ("z", "a")}

    def forget(self):
        super().forget()
        self.layer.forget()

    def config(self):
        return {"type": self.type, "layer": self.layer.config()}

    def spec_args(self):
        return self.layer.spec_args()

    def forward_flops(self, batch_size):
        return self.layer.forward_flops(batch_size * self.input_shape[0])
