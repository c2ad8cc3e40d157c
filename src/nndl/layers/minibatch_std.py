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
fake halves of a discriminator's batch as long as each half is a multiple of ``group`` rows.
The layer has no parameters; each example's output depends on its group, so it does not split
over the batch.
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

    def _groups(self, n: int) -> int:
        g = min(self.group, n)
        if n % g:
            raise NndlError(f"minibatch_std({self.group}): a batch of {n} examples is not a whole number of "
                            f"groups of {g}")
        return g

    def forward(self, x, training=False):
        n, f = x.shape
        g = self._groups(n)
        blocks = x.reshape(n // g, g, f)
        centred = blocks - blocks.mean(axis=1, keepdims=True)
        sigma = xp.sqrt((centred * centred).mean(axis=1) + x.dtype.type(self.EPSILON))      # (N/g, F)
        s = sigma.mean(axis=1)                                                              # (N/g,)
        self.save(centred=centred, sigma=sigma)
        return xp.concatenate([x, xp.repeat(s, g)[:, None]], axis=1)

    def backward(self, grad):
        saved = self.saved()
        if not self.needs_input_grad:
            return None
        centred, sigma = saved["centred"], saved["sigma"]
        groups, g, f = centred.shape
        c = grad[:, f].reshape(groups, g).sum(axis=1)                                       # c_k
        through_s = c[:, None, None] * centred / (f * g * sigma[:, None, :])
        return grad[:, :f] + through_s.reshape(groups * g, f)

    def config(self):
        return {"type": self.type, "group": self.group}
