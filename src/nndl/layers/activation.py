"""An activation on its own, for places where no dense or conv layer carries one.

Dense and conv layers apply their own σ (so the dense layer shows all four backprop
equations).  A standalone ``Activation`` layer is for an activation that follows
something else, e.g. pooling:  a = σ(x),  ∂C/∂x = ∂C/∂a ⊙ σ'(x).
"""
from __future__ import annotations

from nndl.activations import get_activation
from nndl.layers.base import Layer, register_layer


@register_layer
class ActivationLayer(Layer):
    """a = σ(x), elementwise (softmax: over the last axis)."""

    type = "activation"
    splits_over_batch = True

    def __init__(self, activation="relu"):
        super().__init__()
        self.activation = get_activation(activation)

    def forward(self, x, training=False):
        a = self.activation.forward(x)
        self.save(z=x, a=a)
        return a

    def backward(self, grad):
        kept = self.saved()
        if not self.needs_input_grad:
            return None
        return self.activation.backward(kept["z"], kept["a"], grad)

    def backward_delta(self, delta):
        """Given δ = ∂C/∂x (the cost's output error, when this is the output layer): hand it down."""
        self.saved()
        return delta if self.needs_input_grad else None

    def config(self):
        return {"type": self.type, "activation": self.activation.config()}
