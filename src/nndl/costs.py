"""Cost functions C and the output error δᴸ they give to backpropagation.

Each cost has

* ``fn(a, y)``            the mean over the mini-batch of the per-example cost C_x;
* ``derivative(a, y)``    ∂C_x/∂a for every example (rows of the batch);
* ``delta(z, a, y, activation)``  δᴸ = ∂C_x/∂zᴸ, backprop equation BP1:
  δᴸ = ∇ₐC ⊙ σ'(zᴸ).  Where the book's simplification holds (cross-entropy with
  sigmoid, log-likelihood with softmax) the σ' cancels and δᴸ = a − y exactly,
  which is both faster and free of the learning slowdown of chapter 3.

``y`` is one-hot (or, for cross-entropy, any target in [0, 1]) with the shape of ``a``.
Logarithms are taken of max(a, tiny), so a saturated output gives a large finite
cost, never NaN.
"""
from __future__ import annotations

from nndl.activations import Activation, Sigmoid, Softmax
from nndl.backend import xp
from nndl.registry import create


def _safe_log(a):
    """ln(max(a, tiny)): finite for a = 0."""
    return xp.log(xp.maximum(a, xp.finfo(a.dtype).tiny))


def _xlogy(y, a):
    """y ln a, which is 0 where y = 0 even when a = 0 (ln is floored at ln(tiny), so never 0 · −∞)."""
    return y * _safe_log(a)


class Cost:
    """Base class of the costs."""

    name = "cost"

    def fn(self, a, y):
        raise NotImplementedError

    def derivative(self, a, y):
        raise NotImplementedError

    def delta(self, z, a, y, activation: Activation):
        """General BP1: δᴸ = (∂C/∂a) ⊙ σ'(zᴸ) (a full Jacobian product for softmax)."""
        return activation.backward(z, a, self.derivative(a, y))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class QuadraticCost(Cost):
    """C_x = ½ ‖y − a‖²;   ∂C/∂a = a − y;   δᴸ = (a − y) ⊙ σ'(zᴸ)."""

    name = "quadratic"

    def fn(self, a, y):
        d = a - y
        return 0.5 * float((d * d).sum()) / len(a)

    def derivative(self, a, y):
        return a - y


class CrossEntropyCost(Cost):
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)];   with sigmoid, δᴸ = a − y."""

    name = "cross_entropy"

    def fn(self, a, y):
        return -float((_xlogy(y, a) + _xlogy(1.0 - y, 1.0 - a)).sum()) / len(a)

    def derivative(self, a, y):
        tiny = xp.finfo(a.dtype).tiny
        return (a - y) / xp.maximum(a * (1.0 - a), tiny)

    def delta(self, z, a, y, activation: Activation):
        if isinstance(activation, Sigmoid):
            return a - y
        return super().delta(z, a, y, activation)


class LogLikelihoodCost(Cost):
    """C_x = −ln a_y (the output for the true class);   with softmax, δᴸ = a − y."""

    name = "log_likelihood"

    def fn(self, a, y):
        return -float(_xlogy(y, a).sum()) / len(a)

    def derivative(self, a, y):
        return -y / xp.maximum(a, xp.finfo(a.dtype).tiny)

    def delta(self, z, a, y, activation: Activation):
        if isinstance(activation, Softmax):
            return a - y
        return super().delta(z, a, y, activation)


COSTS = {cls.name: cls for cls in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}
_ALIASES = {"crossentropy": "cross_entropy", "xent": "cross_entropy", "loglikelihood": "log_likelihood",
            "nll": "log_likelihood", "mse": "quadratic"}


def get_cost(spec) -> Cost:
    """Return a :class:`Cost` from a name (``"cross_entropy"``) or an object."""
    if isinstance(spec, Cost):
        return spec
    return create(COSTS, spec, "cost", _ALIASES)


class TokenCrossEntropy:
    """The log-likelihood cost at every step of a sequence, with integer targets.

    For softmax outputs a (N, T, V) and targets y (N, T) of ids 0..V−1, where −1 marks a
    padded step that has no target, the cost is the mean over the M real targets,

        C = −(1/M) Σ_{n,t : y_{n,t} ≥ 0} ln a[n, t, y_{n,t}]        (nats per token),

    and with softmax outputs the output error is BP1's a − y once more, at real steps only:

        δ[n, t] = (a[n, t] − e_{y_{n,t}}) / M,     0 where y_{n,t} = −1.

    No one-hot array is made (V may be large): the target entries are gathered and
    scattered by index.
    """

    name = "token_cross_entropy"

    @staticmethod
    def _real(y):
        """(flat indices of the real targets, their ids, M) for targets y (N, T)."""
        flat = y.reshape(-1)
        real = xp.nonzero(flat >= 0)[0]
        return real, flat[real], max(len(real), 1)

    def fn(self, a, y) -> float:
        real, ids, m = self._real(y)
        picked = a.reshape(-1, a.shape[-1])[real, ids]
        return -float(_safe_log(picked).sum()) / m

    def correct(self, a, y) -> tuple[int, int]:
        """(targets where the most active output is the target, real targets)."""
        real, ids, _ = self._real(y)
        return int((a.reshape(-1, a.shape[-1])[real].argmax(axis=1) == ids).sum()), len(real)

    def delta(self, a, y):
        """δ = (a − e_y)/M at real steps, 0 at padded ones (the output layer's softmax folded in)."""
        real, ids, m = self._real(y)
        d = a.reshape(-1, a.shape[-1]).copy()
        d[real, ids] -= 1.0
        if len(real) < len(d):
            keep = xp.zeros(len(d), dtype=bool)
            keep[real] = True
            d[~keep] = 0.0
        d *= 1.0 / m
        return d.reshape(a.shape)

    def derivative(self, a, y):
        """∂C/∂a = −e_y / (M a_y): for an output layer that is not a softmax-fused dense layer."""
        real, ids, m = self._real(y)
        g = xp.zeros((a.size // a.shape[-1], a.shape[-1]), a.dtype)
        g[real, ids] = -1.0 / (m * xp.maximum(a.reshape(-1, a.shape[-1])[real, ids], xp.finfo(a.dtype).tiny))
        return g.reshape(a.shape)
