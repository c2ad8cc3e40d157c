"""The fast gradient sign method (Goodfellow, Shlens & Szegedy 2014).

One step of size ε along the sign of the cost's gradient with respect to the pixels, the
worst change of at most ε per pixel for a cost that is linear near x:

    x′ = clip(x + ε · sign(∇ₓ C(x, y)),  low, high)                (untargeted)
    x′ = clip(x − ε · sign(∇ₓ C(x, t)),  low, high)                (targeted at class t)

The untargeted step raises the cost of the true label y; the targeted one lowers the cost of
the chosen class t.
"""
from __future__ import annotations

from nndl.backend import xp


def fgsm(model, x, labels, eps: float, target=None):
    """Adversarial examples x′ for the pixel batch ``x`` (a copy; ``x`` is not changed).

    Parameters
    ----------
    model : PixelClassifier
    x : array (N, ...)
        Pixels in ``[model.low, model.high]``.
    labels : array of int (N,)
        The true classes (used when ``target`` is None).
    eps : float
        ε, the L∞ size of the step.
    target : int or array of int, optional
        Make the network say this class instead (a targeted attack).
    """
    goal = labels if target is None else xp.broadcast_to(xp.asarray(target), (len(x),))
    g, _ = model.gradient(x, model.one_hot(goal))
    step = xp.sign(g) * x.dtype.type(eps if target is None else -eps)
    return model.clip(x + step)
