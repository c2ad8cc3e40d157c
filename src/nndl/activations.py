"""Activation functions σ and their derivatives σ'.

Each activation is a small object with

* ``forward(z)``          a = σ(z), applied to the weighted input z of a layer;
* ``prime(z, a)``         σ'(z), elementwise (``a = σ(z)`` is passed so sigmoid and
                          tanh can reuse it instead of recomputing exponentials);
* ``backward(z, a, grad_a)``  ∂C/∂z given ∂C/∂a.  For an elementwise σ this is
                          ``grad_a ⊙ σ'(z)``, the Hadamard product of backprop
                          equations BP1 and BP2.  Softmax overrides it, because its
                          Jacobian is not diagonal.

The plain functions (:func:`sigmoid`, :func:`sigmoid_prime`, ...) are the same
mathematics for readers who want the book's names.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import xp
from nndl.errors import NndlError
from nndl.registry import create


# --------------------------------------------------------------------------- functions
def sigmoid(z):
    """σ(z) = 1 / (1 + e^{-z}), computed as ½(1 + tanh(z/2)).

    The two are equal; the tanh form never overflows, so very negative z gives 0
    without the ``overflow in exp`` warning of the naive formula.
    """
    a = xp.tanh(z * 0.5)
    a += 1.0
    a *= 0.5
    return a


def sigmoid_prime(z):
    """σ'(z) = σ(z)(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh_prime(z):
    """tanh'(z) = 1 − tanh²(z)."""
    t = xp.tanh(z)
    return 1.0 - t * t


def relu(z):
    """ReLU(z) = max(0, z)."""
    return xp.maximum(z, 0)


def relu_prime(z):
    """ReLU'(z) = 1 if z > 0 else 0 (we take 0 at z = 0)."""
    return (z > 0).astype(z.dtype)


def softmax(z):
    """softmax(z)_j = e^{z_j} / Σ_k e^{z_k}, over the last axis.

    The row maximum is subtracted first; that changes nothing mathematically and
    keeps e^{z} from overflowing.
    """
    e = xp.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def step(z):
    """The perceptron's step function: 1 if z > 0 else 0 (chapter 1)."""
    return (z > 0).astype(z.dtype)


# --------------------------------------------------------------------------- objects
class Activation:
    """Base class: an elementwise activation σ with derivative σ'."""

    name = "activation"

    def forward(self, z):
        raise NotImplementedError

    def prime(self, z, a):
        raise NotImplementedError

    def backward(self, z, a, grad_a):
        """∂C/∂z = ∂C/∂a ⊙ σ'(z)."""
        return grad_a * self.prime(z, a)

    def config(self):
        """The name, or a dict with the name and parameters; :func:`get_activation` takes either."""
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^{-z});  σ'(z) = σ(z)(1 − σ(z))."""

    name = "sigmoid"

    def forward(self, z):
        return sigmoid(z)

    def prime(self, z, a):
        return a * (1.0 - a)


class Tanh(Activation):
    """tanh(z);  tanh'(z) = 1 − tanh²(z)."""

    name = "tanh"

    def forward(self, z):
        return xp.tanh(z)

    def prime(self, z, a):
        return 1.0 - a * a


class ReLU(Activation):
    """max(0, z);  derivative 1 for z > 0, else 0."""

    name = "relu"

    def forward(self, z):
        return xp.maximum(z, 0)

    def prime(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, z, a, grad_a):
        return grad_a * (z > 0)


class LeakyReLU(Activation):
    """z if z > 0 else αz;  derivative 1 or α."""

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01):
        self.alpha = validation.number("leaky ReLU slope alpha", alpha, 0.0, 1.0, high_open=True)

    def forward(self, z):
        return xp.where(z > 0, z, self.alpha * z).astype(z.dtype, copy=False)

    def prime(self, z, a):
        return xp.where(z > 0, 1.0, self.alpha).astype(z.dtype, copy=False)

    def config(self):
        return {"name": self.name, "alpha": self.alpha}

    def __repr__(self) -> str:
        return f"LeakyReLU(alpha={self.alpha})"


class HardTanh(Activation):
    """hardtanh(z) = max(−1, min(1, z));  derivative 1 for −1 < z < 1, else 0."""

    name = "hard_tanh"

    def forward(self, z):
        return xp.clip(z, -1, 1)

    def prime(self, z, a):
        return ((z > -1) & (z < 1)).astype(z.dtype)


class Linear(Activation):
    """The identity: a = z;  derivative 1."""

    name = "linear"

    def forward(self, z):
        return z

    def prime(self, z, a):
        return xp.ones_like(z)

    def backward(self, z, a, grad_a):
        return grad_a


class Softmax(Activation):
    """a_j = e^{z_j} / Σ_k e^{z_k} over the features of each example.

    Its Jacobian ∂a_j/∂z_k = a_j(δ_jk − a_k) is not diagonal, so instead of a
    σ' we give the product with it directly:
    ∂C/∂z_k = a_k (∂C/∂a_k − Σ_j a_j ∂C/∂a_j).
    """

    name = "softmax"

    def forward(self, z):
        return softmax(z)

    def prime(self, z, a):
        raise NndlError("softmax has no elementwise derivative; use Softmax.backward")

    def backward(self, z, a, grad_a):
        return a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))


class Step(Activation):
    """The perceptron's step: 1 if z > 0 else 0.  Not differentiable, not trainable."""

    name = "step"

    def forward(self, z):
        return step(z)

    def prime(self, z, a):
        raise NndlError("the step function has no useful derivative; perceptrons are not trained by backprop")


ACTIVATIONS = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, HardTanh, Linear, Softmax, Step)
}


def get_activation(spec) -> Activation:
    """Return an :class:`Activation` from a name (``"relu"``), a config dict, an object or None (linear)."""
    if spec is None:
        return Linear()
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, dict):
        spec = dict(spec)
        name = spec.pop("name", None)
        kwargs = spec
    else:
        name, kwargs = spec, {}
    return create(ACTIVATIONS, name, "activation", None, **kwargs)
