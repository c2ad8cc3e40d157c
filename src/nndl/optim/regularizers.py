"""Regularizers: penalties on the weights that fight overfitting (chapter 3).

A regularizer adds a term to the cost, C = C₀ + R(w), and so a term ∂R/∂w to the
gradient of every weight tensor (parameters with ``regularize=True``; biases are not
regularized, as in the book).  ``n`` is the size of the whole training set.

With plain SGD, adding ∂R/∂w to the gradient *is* the book's update rule:
L2 gives w → (1 − ηλ/n) w − η∇C₀ ("weight decay"), L1 gives w → w − (ηλ/n) sgn(w) − η∇C₀.
"""
from __future__ import annotations

from nndl.backend import xp
from nndl.errors import NndlError


class Regularizer:
    """Base class: ``cost(params, n)`` is R; ``add_gradient(params, n)`` adds ∂R/∂w to each grad."""

    name = "regularizer"

    def __init__(self, lmbda: float):
        if not float(lmbda) >= 0.0:
            raise NndlError(f"regularization parameter lambda={lmbda} must be ≥ 0")
        self.lmbda = float(lmbda)

    def cost(self, params, n: int) -> float:
        return sum(self.penalty(p.value, n) for p in params if p.regularize)

    def add_gradient(self, params, n: int) -> None:
        for p in params:
            if p.regularize:
                p.grad = p.grad + self.gradient(p.value, n)

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


REGULARIZERS: dict[str, type] = {cls.name: cls for cls in (L2, L1)}


def get_regularizer(name, **kwargs) -> Regularizer:
    if isinstance(name, Regularizer):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in REGULARIZERS:
        raise NndlError(f"unknown regularizer {name!r}; choose one of {', '.join(sorted(REGULARIZERS))}")
    return REGULARIZERS[key](**kwargs)
