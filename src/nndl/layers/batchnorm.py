"""Batch normalization (Ioffe & Szegedy, 2015): normalize each feature over the mini-batch.

For each feature (a neuron after a dense layer, or a channel after a conv layer) and
a mini-batch of m values x₁ ... x_m of it (m = N examples after a dense layer, and
m = N·H·W after a conv layer: every position of the channel counts):

    μ_B  = (1/m) Σᵢ xᵢ
    σ²_B = (1/m) Σᵢ (xᵢ − μ_B)²
    x̂ᵢ   = (xᵢ − μ_B) / √(σ²_B + ε)
    yᵢ   = γ x̂ᵢ + β

γ (initially 1) and β (initially 0) are learned, so the layer can undo the
normalization if that is best; β makes the bias of the layer before redundant
(``Dense(..., use_bias=False)``).

Backward, with sums over the same m values and s = √(σ²_B + ε):

    ∂C/∂β = Σᵢ ∂C/∂yᵢ
    ∂C/∂γ = Σᵢ ∂C/∂yᵢ · x̂ᵢ
    ∂C/∂xᵢ = (γ / (m s)) · (m ∂C/∂yᵢ − ∂C/∂β − x̂ᵢ ∂C/∂γ)

(the compact form of the chain rule through μ_B and σ²_B, which depend on every xᵢ).

Inference (``training=False``) uses running averages instead of the batch statistics,
so one example's output does not depend on the others:

    y = γ (x − μ_run) / √(σ²_run + ε) + β.

They are updated at every training forward pass as exponential moving averages,

    μ_run  ← momentum · μ_run  + (1 − momentum) · μ_B
    σ²_run ← momentum · σ²_run + (1 − momentum) · (m / (m − 1)) σ²_B

— the Keras convention for ``momentum`` (PyTorch's ``momentum`` is 1 minus this) and,
as in the paper and PyTorch, the *unbiased* batch variance for the running estimate.
They start at μ_run = 0, σ²_run = 1.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, to_device, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, register_layer, spend


@register_layer
class BatchNorm(Layer):
    """Batch normalization of (N, F) or (N, C, H, W) input (per channel; any (N, C, ...)).

    Parameters
    ----------
    momentum : float
        Weight of the old running averages, in [0, 1) (0.9: about the last 10 batches;
        0 keeps only the last batch).
    eps : float
        ε > 0 added to the variance.

    Attributes
    ----------
    gamma, beta : Parameter
        Scale γ and shift β, shape (F,) or (C,); not regularized.
    buffers : dict
        ``{"running_mean": array, "running_var": array}``, the running averages (the
        live arrays, updated in place).  :meth:`state_arrays` returns copies and
        :meth:`load_state_arrays` writes them back, for saving with the model.
    """

    type = "batchnorm"
    spec_names = ("bn", "batchnorm")

    def __init__(self, momentum: float = 0.9, eps: float = 1e-5):
        super().__init__()
        self.momentum = validation.number("batch norm momentum", momentum, 0.0, 1.0, high_open=True)
        self.eps = validation.number("batch norm eps", eps, 0.0, low_open=True)
        self.gamma = self.beta = None
        self._buffers: dict = {}

    def build(self, input_shape, rng, dtype=FLOAT):
        input_shape = tuple(int(d) for d in input_shape)
        if len(input_shape) < 1:
            raise NndlError("batch norm needs input with a feature or channel axis, got a scalar per example")
        self.input_shape = self.output_shape = input_shape
        self.dtype = dtype
        features = input_shape[0]
        # The statistics are taken over the batch axis and every axis after the channel axis.
        self.axes = (0,) + tuple(range(2, len(input_shape) + 1))
        self.stat_shape = (1, features) + (1,) * (len(input_shape) - 1)   # broadcasts against x
        self.gamma = self.add_param("gamma", (features,), lambda s: xp.ones(s, dtype=dtype))
        self.beta = self.add_param("beta", (features,), lambda s: xp.zeros(s, dtype=dtype))
        spend((2, features), "batchnorm running averages")
        self._buffers = {"running_mean": xp.zeros(features, dtype=dtype),
                         "running_var": xp.ones(features, dtype=dtype)}
        return self.output_shape

    @property
    def params(self):
        return [self.gamma, self.beta]

    @property
    def buffers(self) -> dict:
        """The running averages, ``{"running_mean": μ_run, "running_var": σ²_run}`` (live arrays)."""
        return self._buffers

    @property
    def running_mean(self):
        return self.buffers["running_mean"]

    @property
    def running_var(self):
        return self.buffers["running_var"]

    # -- passes -----------------------------------------------------------------------
    def forward(self, x, training=False):
        """Training: normalize with the batch statistics (and update the running ones);
        inference: with the running statistics."""
        shape = self.stat_shape
        gamma = self.gamma.value.reshape(shape)
        if not training:
            inv_std = 1.0 / xp.sqrt(self.running_var + self.eps)
            scale = gamma * inv_std.reshape(shape)                          # γ / √(σ²_run + ε)
            shift = self.beta.value.reshape(shape) - self.running_mean.reshape(shape) * scale
            self.save(batch_stats=False, x=x, inv_std=inv_std)
            return x * scale + shift
        n = x.shape[0]
        if n < 2:
            raise NndlError(f"batch norm needs at least 2 examples per mini-batch in training, got {n}")
        m = x.size // x.shape[1]                                            # values per feature
        mu = x.mean(axis=self.axes, keepdims=True)                          # μ_B
        xhat = x - mu
        var = xp.mean(xhat * xhat, axis=self.axes, keepdims=True)           # σ²_B
        inv_std = 1.0 / xp.sqrt(var + self.eps)                             # 1/s
        xhat *= inv_std                                                     # x̂ = (x − μ_B)/s
        a = self.momentum
        rm, rv = self.running_mean, self.running_var
        rm *= a
        rm += (1.0 - a) * mu.reshape(rm.shape)
        rv *= a
        rv += ((1.0 - a) * m / (m - 1)) * var.reshape(rv.shape)             # unbiased variance
        self.save(batch_stats=True, xhat=xhat, inv_std=inv_std.reshape(-1))
        y = xhat * gamma
        y += self.beta.value.reshape(shape)
        return y

    def backward(self, grad):
        """∂C/∂β = Σ dy, ∂C/∂γ = Σ dy·x̂, ∂C/∂x = (γ/(m s))(m dy − Σ dy − x̂ Σ dy·x̂)."""
        shape = self.stat_shape
        kept = self.saved()
        if not kept["batch_stats"]:
            return self._backward_inference(grad, kept)
        xhat = kept["xhat"]
        dbeta = grad.sum(axis=self.axes)
        dgamma = (grad * xhat).sum(axis=self.axes)
        self.beta.add_grad(dbeta)
        self.gamma.add_grad(dgamma)
        if not self.needs_input_grad:
            return None
        m = grad.size // grad.shape[1]
        dx = grad * m
        dx -= dbeta.reshape(shape)
        dx -= xhat * dgamma.reshape(shape)
        dx *= (self.gamma.value * kept["inv_std"] * (1.0 / m)).reshape(shape)
        return dx

    def _backward_inference(self, grad, kept):
        """After an inference forward y = γ(x − μ_run)/s_run + β the statistics are constants."""
        shape = self.stat_shape
        inv_std = kept["inv_std"].reshape(shape)
        xhat = (kept["x"] - self.running_mean.reshape(shape)) * inv_std
        self.beta.add_grad(grad.sum(axis=self.axes))
        self.gamma.add_grad((grad * xhat).sum(axis=self.axes))
        if not self.needs_input_grad:
            return None
        return grad * (self.gamma.value.reshape(shape) * inv_std)

    # -- saving -----------------------------------------------------------------------
    def state_arrays(self) -> dict:
        """Copies of the running averages: ``{"running_mean": ..., "running_var": ...}``."""
        return {name: a.copy() for name, a in self.buffers.items()}

    def load_state_arrays(self, arrays: dict) -> None:
        """Write saved running averages back (in place, in this layer's dtype)."""
        if set(arrays) != set(self.buffers):
            raise NndlError(f"batch norm state needs {', '.join(sorted(self.buffers))}, "
                            f"got {', '.join(sorted(arrays)) or 'nothing'}")
        for name, value in arrays.items():
            target = self.buffers[name]
            if tuple(value.shape) != tuple(target.shape):
                raise NndlError(f"batch norm {name} has shape {tuple(target.shape)}, got {tuple(value.shape)}")
            target[...] = to_device(value, target.dtype)

    def config(self):
        return {"type": self.type, "momentum": self.momentum, "eps": self.eps}
