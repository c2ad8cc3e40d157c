"""Constraints: projections applied to the parameters after every optimizer step.

The trainer calls ``constraint.apply(params)`` after ``optimizer.step(params)``; a
constraint changes ``p.value`` in place.  Like the weight penalties, constraints apply
only to parameters with ``regularize=True`` (weights), never to biases or batch-norm
scales and shifts.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import xp
from nndl.registry import create


class Constraint:
    """Base class: ``apply(params)`` projects the weights back onto an allowed set."""

    name = "constraint"

    def apply(self, params) -> None:
        raise NotImplementedError

    def config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Max-norm (Srebro & Shraibman, 2005; used with dropout by Srivastava et al., 2014):
    keep the incoming weight vector of every unit inside a ball of radius c,

        w ← w · min(1, c / ‖w‖₂),

    a projection after each step (the weights are only ever shrunk, never grown).
    The incoming vector of unit j is everything along the first axis of the weight:
    row W[j, :] of a dense W of shape (n_out, n_in), filter W[f].ravel() of a conv W of
    shape (F, C, kh, kw).  Srivastava et al. use c between 3 and 4.
    """

    name = "max_norm"

    def __init__(self, c: float = 3.0):
        self.c = validation.number("max-norm radius c", c, 0.0, low_open=True)

    def apply(self, params) -> None:
        for p in params:
            if not p.regularize:
                continue
            w = p.value
            axes = tuple(range(1, w.ndim))
            norms = xp.sqrt((w * w).sum(axis=axes, keepdims=True))     # ‖w_j‖ per unit j
            w *= self.c / xp.maximum(norms, self.c)                      # min(1, c/‖w_j‖), safe at 0

    def config(self):
        return {"name": self.name, "c": self.c}


CONSTRAINTS: dict[str, type] = {cls.name: cls for cls in (MaxNorm,)}


def get_constraint(name, **kwargs) -> Constraint:
    """A constraint by name (``"max_norm"``) with its arguments."""
    if isinstance(name, Constraint):
        return name
    return create(CONSTRAINTS, name, "constraint", None, **kwargs)
