"""Projected gradient descent (Kurakin et al. 2016; Madry et al. 2018): iterated FGSM, projected.

Starting from a random point of the ε-ball around x (or x itself), K steps of size α, each
followed by the projection Π back into the ball and the pixel range:

    L∞:  x_{k+1} = Π( x_k + α · sign(∇ₓC(x_k)) ),   Π: clip to [x − ε, x + ε] ∩ [low, high]
    L2:  x_{k+1} = Π( x_k + α · ∇ₓC / ‖∇ₓC‖₂ ),       Π: δ ↦ δ · min(1, ε/‖δ‖₂), then clip

(per example, with the sign of the step reversed and C taken at the target class for a targeted
attack).  Clipping to the pixel range after the L2 projection moves each pixel towards x's own
value, so the result stays in the ball.  Madry et al. use ε = 0.3, 40 steps of α = 0.01 and a
random start on MNIST; without ``step`` α = 2.5 ε / K (their rule of thumb).
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device, xp

NORMS = ("linf", "l2")
_TINY = 1e-12


def _norms(d):
    """‖dᵢ‖₂ per example, shaped to broadcast over ``d``."""
    n = xp.sqrt((d.reshape(len(d), -1).astype(xp.float64) ** 2).sum(axis=1))
    return n.reshape((len(d),) + (1,) * (d.ndim - 1)).astype(d.dtype)


def random_start(shape, eps: float, norm: str, rng, dtype=numpy.float32):
    """δ₀ drawn from the ε-ball: uniform in the L∞ cube; for L2 a uniform direction at a radius ε·u, u ~ U(0, 1)."""
    if norm == "linf":
        return to_device(rng.uniform(-eps, eps, size=shape).astype(dtype))
    z = rng.standard_normal(size=shape)
    z /= numpy.sqrt((z.reshape(shape[0], -1) ** 2).sum(axis=1)).reshape((shape[0],) + (1,) * (len(shape) - 1))
    r = eps * rng.uniform(0.0, 1.0, size=(shape[0],) + (1,) * (len(shape) - 1))
    return to_device((z * r).astype(dtype))


def project(x_adv, x, eps: float, norm: str, low: float, high: float):
    """Π: ``x_adv`` moved back into the ε-ball around ``x`` and the pixel range [low, high]."""
    d = x_adv - x
    if norm == "linf":
        d = xp.clip(d, -eps, eps, out=d)
    else:
        d *= xp.minimum(1.0, eps / xp.maximum(_norms(d), _TINY)).astype(d.dtype)
    return xp.clip(x + d, low, high)


def pgd(model, x, labels, eps: float, steps: int, step: float | None = None, norm: str = "linf",
        random_start_: bool = True, target=None, rng=None, start=None):
    """Adversarial examples by K steps of projected gradient ascent on the cost (a new array).

    Parameters
    ----------
    model : PixelClassifier
    x, labels : pixel batch and true classes
    eps : float
        Radius ε of the ball (L∞: per pixel; L2: of the whole perturbation).
    steps : int
        K.
    step : float, optional
        α (default 2.5 ε / K).
    norm : "linf" or "l2"
    random_start_ : bool
        Begin at a random point of the ball (Madry et al.), drawn from ``rng``.
    target : int or array of int, optional
        Drive the network to this class (descend its cost) instead.
    start : array, optional
        δ₀ to begin from (overrides the random start; tests give the same one to an oracle).
    """
    alpha = 2.5 * eps / steps if step is None else float(step)
    sign = -1.0 if target is not None else 1.0
    goal = labels if target is None else xp.broadcast_to(xp.asarray(target), (len(x),))
    t = model.one_hot(goal)
    if start is not None:
        x_adv = project(x + xp.asarray(start, dtype=x.dtype), x, eps, norm, model.low, model.high)
    elif random_start_ and eps > 0:
        rng = numpy.random.default_rng(0) if rng is None else rng
        x_adv = project(x + random_start(x.shape, eps, norm, rng, x.dtype), x, eps, norm, model.low, model.high)
    else:
        x_adv = x.copy()
    for _ in range(int(steps)):
        g, _ = model.gradient(x_adv, t)
        if norm == "linf":
            x_adv += xp.sign(g) * x.dtype.type(sign * alpha)
        else:
            x_adv += g * (x.dtype.type(sign * alpha) / xp.maximum(_norms(g), _TINY))
        x_adv = project(x_adv, x, eps, norm, model.low, model.high)
    return x_adv
