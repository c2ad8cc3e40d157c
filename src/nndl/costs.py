"""Cost functions C and the output error δᴸ they give to backpropagation.

Each cost has

* ``fn(a, y)``            the mean over the mini-batch of the per-example cost C_x;
* ``derivative(a, y)``    ∂C_x/∂a for every example (rows of the batch);
* ``delta(z, a, y, activation)``  δᴸ = ∂C_x/∂zᴸ, backprop equation BP1:
  δᴸ = ∇ₐC ⊙ σ'(zᴸ).  Where the book's simplification holds (cross-entropy with
  sigmoid, log-likelihood with softmax) the σ' cancels and δᴸ = a − y exactly,
  which is both faster and free of the learning slowdown of chapter 3.

``y`` is one-hot (or, for cross-entropy, any target in [0, 1]) with the shape of ``a``.
The margin costs (hinge, logistic) score one linear output against a label t = ±1, and the
multiclass max-margin costs score linear outputs against one-hot rows; L1 and Huber are
for regression.  A cost may check the targets of a task before training
(:meth:`Cost.check_targets`) and name the output activation it needs.
Logarithms are taken of max(a, tiny), so a saturated output gives a large finite
cost, never NaN.
"""
from __future__ import annotations

import numpy

from nndl.activations import Activation, Sigmoid, Softmax, sigmoid
from nndl.backend import xp
from nndl.errors import NndlError
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
    #: The output activation the cost needs (None: the task's usual one).
    output_activation: str | None = None

    def check_targets(self, y, task: str, what: str):
        """The targets ``y`` of a ``task`` as this cost learns from them (default: unchanged); a
        one-line :class:`NndlError` for targets it cannot learn from."""
        return y

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


# --------------------------------------------------------------------------- margins on ±1 labels
def _signs(y):
    """Labels t = ±1 from targets y: +1 where y > 0, −1 elsewhere (so 0/1 targets read as −1/+1)."""
    return xp.where(y > 0, 1.0, -1.0).astype(y.dtype if y.dtype.kind == "f" else numpy.float64)


class MarginCost(Cost):
    """A cost of the margin m = t·a of one linear output a (a score, class +1 where a > 0) and
    a label t = ±1.  The binary task's 0/1 targets are read as t = −1/+1 (class 0 is −1)."""

    output_activation = "linear"
    #: The output above which the predicted class is +1 (a score, not a probability).
    decision_threshold = 0.0

    def check_targets(self, y, task, what):
        y = numpy.asarray(y)
        values = numpy.unique(y) if y.size else y
        if task != "binary" or y.dtype.kind not in "iuf":
            classes = f"{len(values)} classes" if y.dtype.kind in "iu" else f"{task} targets"
            hint = ""
            if y.dtype.kind in "iu":
                hint = " (use --cost multiclass_hinge for more classes)" if len(values) > 2 else \
                    f" as a {task} task with one output per class (use --task binary)"
            raise NndlError(f"{what}: the {self.name} cost needs two classes with labels ±1 and one output, "
                            f"these data have {classes}{hint}")
        bad = [v for v in values.tolist() if v not in (-1, 0, 1)]
        if bad or (-1 in values.tolist() and 0 in values.tolist()):
            shown = bad[0] if bad else 0
            raise NndlError(f"{what}: the {self.name} cost needs labels ±1 (or 0/1, read as −1/+1), got {shown!r}")
        return (y > 0).astype(numpy.float32)


class HingeCost(MarginCost):
    """C_x = max(0, 1 − t a);   ∂C/∂a = −t where t a < 1, else 0 (the support vector machine's loss)."""

    name = "hinge"

    def fn(self, a, y):
        return float(xp.maximum(0.0, 1.0 - _signs(y) * a).sum()) / len(a)

    def derivative(self, a, y):
        t = _signs(y)
        return xp.where(t * a < 1.0, -t, 0.0).astype(a.dtype, copy=False)


class LogisticCost(MarginCost):
    """C_x = ln(1 + e^(−t a));   ∂C/∂a = −t / (1 + e^(t a)) = −t σ(−t a).

    The cross-entropy of a sigmoid output, written on the margin: computed as
    ``logaddexp(0, −t a)``, finite for any a.
    """

    name = "logistic"

    def fn(self, a, y):
        return float(xp.logaddexp(0.0, -_signs(y) * a).sum()) / len(a)

    def derivative(self, a, y):
        t = _signs(y)
        return (-t * sigmoid(-t * a)).astype(a.dtype, copy=False)


# --------------------------------------------------------------------------- multiclass max-margin
class MulticlassHingeCost(Cost):
    """The multiclass SVM loss of Weston & Watkins (1999), on linear scores a and one-hot y (class c):

        C_x = Σ_{j ≠ c} max(0, 1 + a_j − a_c)
        ∂C/∂a_j = 1[1 + a_j − a_c > 0]  (j ≠ c),    ∂C/∂a_c = −Σ_{j ≠ c} 1[1 + a_j − a_c > 0]
    """

    name = "multiclass_hinge"
    output_activation = "linear"

    def _margins(self, a, y):
        correct = (a * y).sum(axis=1, keepdims=True)
        return (1.0 + a - correct) * (1.0 - y)          # 0 in the target's own column

    def fn(self, a, y):
        return float(xp.maximum(self._margins(a, y), 0.0).sum()) / len(a)

    def derivative(self, a, y):
        active = (self._margins(a, y) > 0).astype(a.dtype)
        return active - y * active.sum(axis=1, keepdims=True)


class CrammerSingerCost(MulticlassHingeCost):
    """The multiclass SVM loss of Crammer & Singer (2001): only the strongest wrong class counts.

        C_x = max(0, 1 + max_{j ≠ c} a_j − a_c)
        ∂C/∂a_k = 1[C_x > 0] · (1[k = the arg-max wrong class] − 1[k = c])
    """

    name = "crammer_singer"

    def _worst(self, a, y):
        wrong = xp.where(y > 0, -xp.inf, a)
        k = wrong.argmax(axis=1)
        return k, 1.0 + wrong[xp.arange(len(a)), k] - (a * y).sum(axis=1)

    def fn(self, a, y):
        return float(xp.maximum(self._worst(a, y)[1], 0.0).sum()) / len(a)

    def derivative(self, a, y):
        k, margin = self._worst(a, y)
        g = xp.zeros_like(a)
        g[xp.arange(len(a)), k] = 1.0
        return ((g - y) * (margin > 0)[:, None]).astype(a.dtype, copy=False)


# --------------------------------------------------------------------------- robust regression
class L1Cost(Cost):
    """C_x = Σ_j |a_j − y_j| (absolute error);   ∂C/∂a = sign(a − y) (0 at a = y)."""

    name = "l1"

    def fn(self, a, y):
        return float(xp.abs(a - y).sum()) / len(a)

    def derivative(self, a, y):
        return xp.sign(a - y)


class HuberCost(Cost):
    """Huber's loss with threshold δ, on d = a − y, summed over the outputs:

        C_x = Σ_j  ½ d_j²            if |d_j| ≤ δ
                   δ (|d_j| − ½ δ)    otherwise
        ∂C/∂a = clip(d, −δ, δ)

    quadratic near the target, linear far from it (an outlier pulls with force δ at most).
    """

    name = "huber"

    def __init__(self, delta: float = 1.0):
        from nndl import validation

        self.huber_delta = validation.number("huber delta", delta, 0.0, low_open=True)   # not .delta: BP1

    def fn(self, a, y):
        d, k = xp.abs(a - y), self.huber_delta
        return float(xp.where(d <= k, 0.5 * d * d, k * (d - 0.5 * k)).sum()) / len(a)

    def derivative(self, a, y):
        return xp.clip(a - y, -self.huber_delta, self.huber_delta)


COSTS = {cls.name: cls for cls in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost, HingeCost, LogisticCost,
                                   MulticlassHingeCost, CrammerSingerCost, L1Cost, HuberCost)}
_ALIASES = {"crossentropy": "cross_entropy", "xent": "cross_entropy", "loglikelihood": "log_likelihood",
            "nll": "log_likelihood", "mse": "quadratic", "svm": "multiclass_hinge", "max_margin": "multiclass_hinge",
            "weston_watkins": "multiclass_hinge", "multiclass_svm": "multiclass_hinge", "mae": "l1",
            "absolute": "l1", "logistic_loss": "logistic"}


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
