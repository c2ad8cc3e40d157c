"""A dense layer with tied weights: the transpose of another dense layer's weights.

An autoencoder's decoder often reuses its encoder's weights, W* = Wᵀ (the course
notes' "tied weights"), halving the parameters.  With the encoder's W of shape
(n_hidden, n_in), this layer maps n_hidden values back to n_in:

    z = x (Wᵀ)ᵀ + b = x W + b,        a = σ(z)

Backward, given δ = ∂C/∂z:

    ∂C/∂W += (δᵀ x)ᵀ = xᵀ δ           (added to the *encoder's* W gradient: the sum of both uses)
    ∂C/∂b  = Σ_x δ
    ∂C/∂x  = δ Wᵀ

W stays the encoder's parameter (it is listed, saved and updated there once); this
layer owns only its bias.  In a saved config ``tied_to`` is the position of the
source layer in the same network.
"""
from __future__ import annotations

from nndl import validation
from nndl.activations import get_activation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, Parameter, register_layer


@register_layer
class TiedDense(Layer):
    """σ(x W + b) with W the weights of the dense layer ``tied_to`` (a layer, or its index in a config)."""

    type = "tied_dense"
    splits_over_batch = True

    def __init__(self, tied_to, activation="sigmoid", use_bias: bool = True):
        super().__init__()
        self.tied_to = tied_to
        self.activation = get_activation(activation)
        self.use_bias = validation.boolean("tied dense use_bias", use_bias)
        self.b = None

    def build(self, input_shape, rng, dtype=FLOAT):
        source = self.tied_to
        if not isinstance(source, Layer) or not hasattr(source, "W") or source.W is None:
            raise NndlError("tied_dense needs a built dense layer to take its weights from (tied_to)")
        n_hidden, n_out = source.W.shape
        if tuple(input_shape) != (n_hidden,):
            raise NndlError(f"tied_dense: the tied weights map {n_hidden} values back to {n_out}, "
                            f"but the input has shape {tuple(input_shape)}")
        self.input_shape, self.output_shape, self.dtype = (n_hidden,), (n_out,), dtype
        if self.use_bias:
            self.b = self.add_param("b", (n_out,), lambda s: xp.zeros(s, dtype=dtype))
        return self.output_shape

    @property
    def W(self) -> Parameter:
        """The source layer's weight parameter (shared, not a copy)."""
        return self.tied_to.W

    @property
    def params(self):
        return [self.b] if self.use_bias else []

    def forward(self, x, training=False):
        """a = σ(x W + b)."""
        z = x @ self.W.value
        if self.use_bias:
            z += self.b.value
        a = self.activation.forward(z)
        self.save(x=x, z=z, a=a)
        return a

    def backward(self, grad_a):
        kept = self.peek()
        return self.backward_delta(self.activation.backward(kept["z"], kept["a"], grad_a))

    def backward_delta(self, delta):
        """Given δ = ∂C/∂z: ∂C/∂W += xᵀ δ (into the shared W), ∂C/∂b = Σ δ; returns δ Wᵀ."""
        x = self.saved()["x"]
        self.W.add_grad(x.T @ delta)
        if self.use_bias:
            self.b.add_grad(delta.sum(axis=0))
        if not self.needs_input_grad:
            return None
        return delta @ self.W.value.T

    def config(self):
        cfg = {"type": self.type, "tied_to": self.tied_to if isinstance(self.tied_to, int) else None,
               "activation": self.activation.config()}
        if not self.use_bias:
            cfg["use_bias"] = False
        return cfg

    def forward_flops(self, batch_size):
        return 2.0 * batch_size * self.W.value.size
