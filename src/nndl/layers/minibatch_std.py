"""Minibatch standard deviation (Karras et al. 2018): let a discriminator see a batch's variety.

A GAN's discriminator judges one example at a time, so a generator that draws the same few
digits over and over is not caught.  This layer gives every example one more feature: how much
the examples of its small group (``group`` consecutive rows of the batch) differ from each other,
averaged over the features.  A batch of near copies has a small value, a batch of real images a
larger one, and D can tell them apart.

For the k-th group X_k, a (g, F) block of rows of the (N, F) input:

    μ_kf = (1/g) Σᵢ x_kif,          σ_kf = √((1/g) Σᵢ (x_kif − μ_kf)² + ε)
    s_k  = (1/F) Σ_f σ_kf,          a_ki = [x_ki, s_k]          (N, F + 1)

and backward, with c_k = Σᵢ ∂C/∂a_ki,F+1 (the group's gradients of its s, added up):

    ∂C/∂x_kif = ∂C/∂a_kif + c_k (x_kif − μ_kf) / (F g σ_kf)

(the μ terms of the derivative add up to zero over the group).  Groups never cross the real and
fake halves of a discriminator's batch as long as each half is a multiple of ``group`` rows (the
GAN checks that before it trains).  A batch that is not a whole number of groups ends in one
smaller group of the rows left over (a single row left over joins the group before it), so the
last mini-batch of an epoch, or one example at a time, works too.  The layer has no parameters;
each example's output depends on its group, so it does not split over the batch.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, register_layer


@register_layer
class MinibatchStd(Layer):
    """Append to each example the mean standard deviation of its group of ``group`` examples."""

    type = "minibatch_std"
    spec_names = ("minibatch_std",)
    needs_flat_input = True
    EPSILON = 1e-8

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = validation.whole("minibatch_std group", group, low=2, high=100_000)

    def spec_args(self):
        return [self.group], {}

    def build(self, input_shape, rng, dtype=FLOAT):
        if len(input_shape) != 1:
            raise NndlError(f"minibatch_std takes flat examples, got shape {tuple(input_shape)}")
        self.features = int(input_shape[0])
        self.output_shape, self.dtype = (self.features + 1,), dtype
        return self.output_shape

    def _blocks(self, x):
        """The rows of ``x`` as (k, g, F) blocks of whole groups, then at most one smaller last group."""
        n, g = len(x), self.group
        whole = n // g
        if n - whole * g == 1 and whole:               # a lone row left over joins the last group
            whole -= 1
        cut = whole * g
        blocks = [x[:cut].reshape(whole, g, -1)] if whole else []
        return blocks + ([x[cut:][None]] if cut < n else [])

    def forward(self, x, training=False):
        saved, s_rows = [], []
        for block in self._blocks(x):
            centred = block - block.mean(axis=1, keepdims=True)
            sigma = xp.sqrt((centred * centred).mean(axis=1) + x.dtype.type(self.EPSILON))   # (k, F)
            saved.append((centred, sigma))
            s_rows.append(xp.repeat(sigma.mean(axis=1), block.shape[1]))                       # s_k per row
        self.save(blocks=saved)
        return xp.concatenate([x, xp.concatenate(s_rows)[:, None]], axis=1)

    def backward(self, grad):
        saved = self.saved()
        if not self.needs_input_grad:
            return None
        f, parts, row = self.features, [], 0
        for centred, sigma in saved["blocks"]:
            groups, g, _ = centred.shape
            c = grad[row:row + groups * g, f].reshape(groups, g).sum(axis=1)                   # c_k
            through_s = c[:, None, None] * centred / (f * g * sigma[:, None, :])
            parts.append(through_s.reshape(groups * g, f))
            row += groups * g
        return grad[:, :f] + xp.concatenate(parts)

    def config(self):
        return {"type": self.type, "group": self.group}
