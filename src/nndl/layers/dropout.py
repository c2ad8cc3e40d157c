"""Dropout (chapter 3): randomly silence neurons while training.

Inverted dropout: in training each input is kept with probability 1 − p and the kept
ones are scaled by 1/(1 − p), so the expected activation is unchanged and inference
needs no rescaling (the book halves the outgoing weights afterwards instead — the
same network in expectation):

    training:   a = x ⊙ m / (1 − p),   m_i ~ Bernoulli(1 − p)
    inference:  a = x
    backward:   ∂C/∂x = ∂C/∂a ⊙ m / (1 − p)

Vanilla dropout (:class:`VanillaDropout`, Hinton et al., 2012; Srivastava et al., 2014) keeps
the training pass unscaled and scales at test time instead, by the keep probability 1 − p
(the papers' "p", the probability of *retaining* a unit):

    training:   a = x ⊙ m,          m_i ~ Bernoulli(1 − p)
    inference:  a = (1 − p) x
    backward:   ∂C/∂x = ∂C/∂a ⊙ m   (training),  (1 − p) ∂C/∂a  (inference)

The mask is drawn from the network's seeded generator.  Setting ``fixed_mask = True``
reuses the last mask (gradient checks need the same mask for every evaluation).
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, to_device
from nndl.layers.base import Layer, register_layer


@register_layer
class Dropout(Layer):
    """Drop each input with probability ``p`` during training."""

    type = "dropout"
    spec_names = ("dropout",)
    splits_over_batch = True

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = validation.number("dropout probability p", p, 0.0, 1.0, high_open=True)
        self.mask = None                 # the last mask drawn
        self.fixed_mask = False

    def build(self, input_shape, rng, dtype=FLOAT):
        self.rng = rng
        return super().build(input_shape, rng, dtype)

    def spec_args(self):
        return [self.p], {}

    def forward(self, x, training=False):
        if not training or self.p == 0.0:
            self.save(mask=None)
            return x
        if not (self.fixed_mask and self.mask is not None and self.mask.shape == x.shape):
            keep = self.rng.random(x.shape, dtype=x.dtype if x.dtype.kind == "f" else FLOAT) >= self.p
            self.mask = to_device(keep, x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        self.save(mask=self.mask)
        return x * self.mask

    def backward(self, grad):
        mask = self.saved()["mask"]
        if not self.needs_input_grad:
            return None
        return grad if mask is None else grad * mask

    def config(self):
        return {"type": self.type, "p": self.p}


@register_layer
class VanillaDropout(Dropout):
    """Drop each input with probability ``p`` in training, unscaled; scale by 1 − p at test time."""

    type = "vanilla_dropout"
    spec_names = ("vanilla_dropout",)

    def forward(self, x, training=False):
        if not training:
            keep = x.dtype.type(1.0 - self.p)
            self.save(mask=keep)
            return x * keep if self.p else x
        if not (self.fixed_mask and self.mask is not None and self.mask.shape == x.shape):
            keep = self.rng.random(x.shape, dtype=x.dtype if x.dtype.kind == "f" else FLOAT) >= self.p
            self.mask = to_device(keep, x.dtype)
        self.save(mask=self.mask)
        return x * self.mask


def interleave_dropout(dense: list, dropout: float = 0.0, input_dropout: float = 0.0) -> list:
    """``dense`` (hidden layers, then an output layer) with a Dropout(``dropout``) after each hidden layer
    and a Dropout(``input_dropout``) before the first; a rate of 0 adds no layer.  The fine-tuning nets of
    the pretrained stacks (DBN, stacked autoencoders) are built this way, as Srivastava et al. 2014 fine-tune
    them (0.5 on the hidden units, 0.2 on the pixels)."""
    layers = [Dropout(input_dropout)] if input_dropout else []
    for layer in dense[:-1]:
        layers += [layer, Dropout(dropout)] if dropout else [layer]
    return layers + list(dense[-1:])
