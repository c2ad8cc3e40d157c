"""Regularizers: penalties on the weights that fight overfitting (chapter 3).

A regularizer adds a term to the cost, C = C₀ + R(w), and so a term ∂R/∂w to the
gradient of every weight tensor (parameters with ``regularize=True``; biases are not
regularized, as in the book).  ``n`` is the size of the whole training set.

With plain SGD, adding ∂R/∂w to the gradient *is* the book's update rule:
L2 gives w → (1 − ηλ/n) w − η∇C₀ ("weight decay"), L1 gives w → w − (ηλ/n) sgn(w) − η∇C₀.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import xp
from nndl.registry import create


class Regularizer:
    """Base class: ``cost(params, n)`` is R; ``add_gradient(params, n)`` adds ∂R/∂w to each grad."""

    name = "regularizer"

    def __init__(self, lmbda: float):
        self.lmbda = validation.number("regularization parameter lambda", lmbda, 0.0)

    def cost(self, params, n: int) -> float:
        return sum(self.penalty(p.value, n) for p in params if p.regularize)

    def add_gradient(self, params, n: int) -> None:
        """∂R/∂w into the gradient of every weight that has one this step."""
        for p in params:
            if p.regularize and p.grad is not None:
                p.add_grad(self.gradient(p.value, n))

    def config(self) -> dict:
        return {"name": self.name, "lmbda": self.lmbda}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lmbda={self.lmbda})"


class L2(Regularizer):
    """R = (λ/2n) Σ w²;   ∂R/∂w = (λ/n) w."""

    name = "l2"

    def penalty(self, w, n):
        return 0.5 * self.lmbda / n * float((w * w).sum())

    def gradient(self, w, n):
        return (self.lmbda / n) * w


class L1(Regularizer):
    """R = (λ/n) Σ |w|;   ∂R/∂w = (λ/n) sgn(w)  (taking sgn(0) = 0, the book's convention)."""

    name = "l1"

    def penalty(self, w, n):
        return self.lmbda / n * float(xp.abs(w).sum())

    def gradient(self, w, n):
        return (self.lmbda / n) * xp.sign(w)


class ElasticNet(Regularizer):
    """L1 and L2 together (Zou & Hastie, 2005):

        R = (λ₁/n) Σ |w| + (λ₂/2n) Σ w²;   ∂R/∂w = (λ₁/n) sgn(w) + (λ₂/n) w.

    The L1 part drives small weights to exactly 0 (sparsity), the L2 part keeps the
    weights of correlated inputs together.  ``ElasticNet(l1, 0)`` is ``L1(l1)`` and
    ``ElasticNet(0, l2)`` is ``L2(l2)``.
    """

    name = "elastic_net"

    def __init__(self, l1: float, l2: float):
        self.l1 = validation.number("elastic-net parameter l1", l1, 0.0)
        self.l2 = validation.number("elastic-net parameter l2", l2, 0.0)

    def penalty(self, w, n):
        return self.l1 / n * float(xp.abs(w).sum()) + 0.5 * self.l2 / n * float((w * w).sum())

    def gradient(self, w, n):
        g = (self.l2 / n) * w
        g += (self.l1 / n) * xp.sign(w)
        return g

    def config(self):
        return {"name": self.name, "l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"ElasticNet(l1={self.l1}, l2={self.l2})"


REGULARIZERS: dict[str, type] = {cls.name: cls for cls in (L2, L1, ElasticNet)}


def get_regularizer(name, **kwargs) -> Regularizer:
    if isinstance(name, Regularizer):
        return name
    return create(REGULARIZERS, name, "regularizer", None, **kwargs)
