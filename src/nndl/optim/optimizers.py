"""Optimizers: how parameters move, given their gradients.

An optimizer is separate from the layers and the trainer.  The trainer calls
``optimizer.step(params)`` after each mini-batch; each :class:`~nndl.layers.Parameter`
carries ``value`` and ``grad`` (the gradient of the mini-batch mean cost, already
including any regularization term).  A new optimizer subclasses :class:`~nndl.optim.base.Optimizer`,
implements ``update`` for one parameter, lists its hyper-parameters in
``default_hyperparameters``, and registers itself in ``OPTIMIZERS``.  The full-batch methods that
give every weight its own step (Rprop, adaptive gains, Quickprop) are in :mod:`nndl.optim.full_batch`.

In the equations g = ∇C is the gradient of the current mini-batch, t = 1, 2, ... counts
the steps, and products, squares, square roots and quotients of vectors are taken
elementwise.

============  ==================================================================
name          hyper-parameters and their defaults
============  ==================================================================
``sgd``       eta=0.1
``momentum``  eta=0.1, mu=0.9
``nesterov``  eta=0.1, mu=0.9
``adagrad``   eta=0.01, eps=1e-8
``adadelta``  eta=1.0, rho=0.95, eps=1e-6
``rmsprop``   eta=0.001, rho=0.9, eps=1e-8, mu=0 (momentum)
``adam``      eta=0.001, beta1=0.9, beta2=0.999, eps=1e-8
``rprop``     eta=0.01 (the initial step Δ₀), eta_plus=1.2, eta_minus=0.5,
              step_min=1e-6, step_max=50
``adaptive_   eta=0.1, mu=0 (momentum), gain_up=0.05, gain_down=0.95,
gains``       gain_min=0.1, gain_max=10
``quickprop`` eta=0.1 (ε of the gradient term), max_growth=1.75
============  ==================================================================

Optimizers that evaluate the cost themselves (:class:`~nndl.optim.objective.CostOptimizer`;
full batch, a cost that depends on the weights alone): ``annealing``, ``cauchy`` and
``cauchy_backprop`` in :mod:`nndl.optim.annealing`; ``newton``, ``levenberg_marquardt`` and
``lbfgs`` in :mod:`nndl.optim.second_order` (their hyper-parameters in their docstrings).

Every optimizer also takes, as keyword arguments, the options of :class:`Optimizer`:
gradient clipping by global norm (``clip_norm``) and by value (``clip_value``), annealed Gaussian gradient noise
(``noise``, ``noise_gamma``, ``seed``).  :func:`default_hyperparameters` returns the
table above as a dict.
"""
from __future__ import annotations

import math

from nndl import validation
from nndl.backend import xp
from nndl.errors import NndlError
from nndl.optim.base import Optimizer
from nndl.optim.annealing import Annealing, Cauchy, CauchyBackprop
from nndl.optim.full_batch import AdaptiveGains, Quickprop, Rprop
from nndl.optim.second_order import LBFGS, LevenbergMarquardt, Newton
from nndl.registry import lookup, normalize


class SGD(Optimizer):
    """Stochastic gradient descent (chapter 1):  w → w − η ∇C."""

    name = "sgd"
    default_hyperparameters = {"eta": 0.1}

    def update(self, p, grad, state):
        p.value -= self.eta * grad


class Momentum(Optimizer):
    """Momentum SGD (chapter 3):  v → μv − η∇C,  w → w + v.

    μ ("momentum coefficient", 0 ≤ μ < 1) is friction: μ = 0 is plain SGD.
    """

    name = "momentum"
    default_hyperparameters = {"eta": 0.1, "mu": 0.9}

    def __init__(self, eta: float = 0.1, mu: float = 0.9, **options):
        super().__init__(eta, **options)
        self.mu = validation.number("momentum mu", mu, 0.0, 1.0, high_open=True)

    def update(self, p, grad, state):
        v = state.get("v")
        if v is None:
            v = state["v"] = xp.zeros_like(p.value)
        v *= self.mu
        v -= self.eta * grad
        p.value += v


class Nesterov(Optimizer):
    """Nesterov accelerated gradient, in the form that needs only ∇C at w:

        v → μv − η∇C(w)
        w → w + μv − η∇C(w)        (with the new v)

    Sutskever et al. (2013) write Nesterov momentum as v → μv − η∇C(w + μv), w → w + v:
    the gradient is taken at the "look-ahead" point w + μv.  Substituting w' = w + μv
    (Bengio et al., 2012) gives the two lines above, in which the stored parameters are
    the look-ahead point itself; this is what Keras and PyTorch (``nesterov=True``) do.
    Compared with :class:`Momentum`, the step adds the *next* velocity's μ-part: it
    corrects course before the velocity overshoots.
    """

    name = "nesterov"
    default_hyperparameters = {"eta": 0.1, "mu": 0.9}

    def __init__(self, eta: float = 0.1, mu: float = 0.9, **options):
        super().__init__(eta, **options)
        self.mu = validation.number("momentum mu", mu, 0.0, 1.0, high_open=True)

    def update(self, p, grad, state):
        v = state.get("v")
        if v is None:
            v = state["v"] = xp.zeros_like(p.value)
        step = self.eta * grad           # η∇C (the one temporary)
        v *= self.mu
        v -= step                        # v → μv − η∇C
        p.value -= step
        xp.multiply(v, self.mu, out=step)
        p.value += step                  # w → w + μv − η∇C


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011): a learning rate per weight that shrinks
    with the gradients it has seen:

        G → G + g²
        w → w − η g / (√G + ε)

    Weights with large or frequent gradients get small steps, rare ones large steps.
    G only grows, so the effective rate decays towards 0 (which Adadelta and RMSprop
    fix).  G starts at 0; ε only guards the first division.
    """

    name = "adagrad"
    default_hyperparameters = {"eta": 0.01, "eps": 1e-8}

    def __init__(self, eta: float = 0.01, eps: float = 1e-8, **options):
        super().__init__(eta, **options)
        self.eps = validation.number("eps", eps, 0.0, low_open=True)

    def update(self, p, grad, state):
        G = state.get("G")
        if G is None:
            G = state["G"] = xp.zeros_like(p.value)
        tmp = grad * grad
        G += tmp                         # G → G + g²
        xp.sqrt(G, out=tmp)
        tmp += self.eps
        xp.divide(grad, tmp, out=tmp)
        tmp *= self.eta
        p.value -= tmp                   # w → w − η g / (√G + ε)


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): Adagrad with a decaying average instead of a sum, and
    units fixed by a second average of the steps themselves:

        E[g²]  → ρ E[g²] + (1 − ρ) g²
        Δw     = − (√(E[Δw²] + ε) / √(E[g²] + ε)) g
        E[Δw²] → ρ E[Δw²] + (1 − ρ) Δw²
        w      → w + η Δw

    The paper has no learning rate: η = 1.0 (the default) is Zeiler's rule, and any
    other η just scales the step (E[Δw²] averages the unscaled Δw, as in PyTorch).
    Both averages start at 0, so the first steps are about √ε·g/√((1 − ρ)g²) small.
    """

    name = "adadelta"
    default_hyperparameters = {"eta": 1.0, "rho": 0.95, "eps": 1e-6}

    def __init__(self, eta: float = 1.0, rho: float = 0.95, eps: float = 1e-6, **options):
        super().__init__(eta, **options)
        self.rho = validation.number("decay rate rho", rho, 0.0, 1.0, high_open=True)
        self.eps = validation.number("eps", eps, 0.0, low_open=True)

    def update(self, p, grad, state):
        Eg = state.get("Eg")
        if Eg is None:
            Eg = state["Eg"] = xp.zeros_like(p.value)
            state["Edx"] = xp.zeros_like(p.value)
        Edx, rho = state["Edx"], self.rho
        tmp = grad * grad
        tmp *= 1.0 - rho
        Eg *= rho
        Eg += tmp                        # E[g²] → ρE[g²] + (1 − ρ)g²
        delta = Edx + self.eps
        xp.sqrt(delta, out=delta)
        xp.add(Eg, self.eps, out=tmp)
        xp.sqrt(tmp, out=tmp)
        delta /= tmp
        delta *= grad                    # −Δw = √(E[Δw²] + ε)/√(E[g²] + ε) g
        xp.multiply(delta, delta, out=tmp)
        tmp *= 1.0 - rho
        Edx *= rho
        Edx += tmp                       # E[Δw²] → ρE[Δw²] + (1 − ρ)Δw²
        delta *= self.eta
        p.value -= delta                 # w → w + ηΔw


class RMSprop(Optimizer):
    """RMSprop (Hinton, Coursera lecture 6e, 2012): divide the gradient by a running
    root mean square of its recent values:

        E[g²] → ρ E[g²] + (1 − ρ) g²
        w     → w − η g / (√E[g²] + ε)

    With momentum μ > 0 (the lecture's "RMSprop with momentum"), the scaled gradient
    feeds a velocity instead, as in PyTorch's ``RMSprop(momentum=μ)``:

        v → μ v + g / (√E[g²] + ε)
        w → w − η v

    (for a constant η this is v' → μv' − η g/(√E[g²] + ε), w → w + v', the momentum of
    chapter 3 applied to RMSprop's step).  E[g²] and v start at 0 (as in PyTorch; ε is
    added after the square root); μ = 0 is plain RMSprop.
    """

    name = "rmsprop"
    default_hyperparameters = {"eta": 0.001, "rho": 0.9, "eps": 1e-8, "mu": 0.0}

    def __init__(self, eta: float = 0.001, rho: float = 0.9, eps: float = 1e-8, mu: float = 0.0, **options):
        super().__init__(eta, **options)
        self.rho = validation.number("decay rate rho", rho, 0.0, 1.0, high_open=True)
        self.eps = validation.number("eps", eps, 0.0, low_open=True)
        self.mu = validation.number("momentum mu", mu, 0.0, 1.0, high_open=True)

    def update(self, p, grad, state):
        s = state.get("s")
        if s is None:
            s = state["s"] = xp.zeros_like(p.value)
        tmp = grad * grad
        tmp *= 1.0 - self.rho
        s *= self.rho
        s += tmp                         # E[g²] → ρE[g²] + (1 − ρ)g²
        xp.sqrt(s, out=tmp)
        tmp += self.eps
        xp.divide(grad, tmp, out=tmp)    # g / (√E[g²] + ε)
        if self.mu > 0.0:
            v = state.get("v")
            if v is None:
                v = state["v"] = xp.zeros_like(p.value)
            v *= self.mu
            v += tmp                     # v → μv + g / (√E[g²] + ε)
            tmp[...] = v
        tmp *= self.eta
        p.value -= tmp                   # w → w − η g / (√E[g²] + ε)   (or w → w − ηv)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum on g and RMSprop's scaling, both bias-corrected:

        m → β₁ m + (1 − β₁) g                 (first moment: a running mean of g)
        v → β₂ v + (1 − β₂) g²                (second moment: a running mean of g²)
        m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)  (m and v start at 0: undo that bias)
        w → w − η m̂ / (√v̂ + ε)

    t = 1, 2, ... counts this parameter's own steps (so a parameter that joins late, or is
    stepped only every other time, is corrected for its own history, as in PyTorch).
    ε is added to √v̂ as in the paper's Algorithm 1 and PyTorch.
    """

    name = "adam"
    default_hyperparameters = {"eta": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

    def __init__(self, eta: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 **options):
        super().__init__(eta, **options)
        self.beta1 = validation.number("beta1 (first-moment decay)", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = validation.number("beta2 (second-moment decay)", beta2, 0.0, 1.0, high_open=True)
        self.eps = validation.number("eps", eps, 0.0, low_open=True)

    def update(self, p, grad, state):
        m = state.get("m")
        if m is None:
            m = state["m"] = xp.zeros_like(p.value)
            state["v"] = xp.zeros_like(p.value)
        v, b1, b2 = state["v"], self.beta1, self.beta2
        t = state["t"] = state.get("t", 0) + 1
        correction1 = 1.0 - b1 ** t
        correction2 = 1.0 - b2 ** t
        tmp = grad * grad
        tmp *= 1.0 - b2
        v *= b2
        v += tmp                         # v → β₂v + (1 − β₂)g²
        xp.multiply(grad, 1.0 - b1, out=tmp)
        m *= b1
        m += tmp                         # m → β₁m + (1 − β₁)g
        xp.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(correction2)
        tmp += self.eps                  # √v̂ + ε
        xp.divide(m, tmp, out=tmp)
        tmp *= self.eta / correction1    # η m̂ / (√v̂ + ε)
        p.value -= tmp


OPTIMIZERS: dict[str, type] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop,
                                                         Adam, Rprop, AdaptiveGains, Quickprop)}
#: The optimizers that evaluate the cost themselves (``minimize(objective)`` instead of ``step``).
COST_OPTIMIZERS: dict[str, type] = {cls.name: cls for cls in (Annealing, Cauchy, CauchyBackprop, Newton,
                                                              LevenbergMarquardt, LBFGS)}


#: Keyword options every optimizer takes (see :class:`Optimizer`).
_OPTIONS = ["clip_norm", "clip_value", "noise", "noise_gamma", "seed"]


def default_hyperparameters() -> dict[str, dict]:
    """{optimizer name: {hyper-parameter: default}} for every registered optimizer."""
    return {name: dict(cls.default_hyperparameters) for name, cls in {**OPTIMIZERS, **COST_OPTIMIZERS}.items()}


def get_optimizer(name, **kwargs) -> Optimizer:
    """An optimizer by name (``"sgd"``, ``"momentum"``, ``"adam"``, ...) with its hyper-parameters."""
    if isinstance(name, Optimizer):
        return name
    cls = lookup({**OPTIMIZERS, **COST_OPTIMIZERS}, name, "optimizer")
    key = normalize(name)
    known = list(cls.default_hyperparameters) + _OPTIONS
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        raise NndlError(f"optimizer {key!r} has no hyper-parameter {unknown[0]!r}; use {', '.join(known)}")
    return cls(**kwargs)
