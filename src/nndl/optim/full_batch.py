"""Full-batch optimizers that give every weight its own step: Rprop, per-weight adaptive gains
(Jacobs; Hinton's lecture 6d) and Quickprop (Fahlman).

Each looks at the sign (or the change) of a weight's gradient from one step to the next, so it
needs the exact gradient of the whole training set: with small mini-batches the signs flip from
sampling noise, not curvature.  The table of hyper-parameters is in :mod:`nndl.optim.optimizers`.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import xp
from nndl.optim.base import Optimizer


class Rprop(Optimizer):
    """Resilient backpropagation, the iRprop⁻ variant (Riedmiller & Braun, 1993;
    Igel & Hüsken, 2000).  Only the *sign* of each partial derivative is used; every
    weight has its own step size Δ, which grows while the sign stays and shrinks when
    it flips (a jump over a minimum):

        if g⁽ᵗ⁻¹⁾ g⁽ᵗ⁾ > 0:   Δ → min(η⁺ Δ, Δ_max)
        if g⁽ᵗ⁻¹⁾ g⁽ᵗ⁾ < 0:   Δ → max(η⁻ Δ, Δ_min),  and g⁽ᵗ⁾ → 0
        w → w − sign(g⁽ᵗ⁾) Δ

    Setting g⁽ᵗ⁾ to 0 after a sign change ("−": no weight backtracking) skips the move
    for that weight this step and leaves Δ alone at the next.  Every Δ starts at
    Δ₀ = ``eta`` (so a learning-rate schedule has no effect on Rprop); the defaults are
    η⁺ = 1.2, η⁻ = 0.5, Δ₀ = 0.01, Δ_min = 10⁻⁶, Δ_max = 50 (as in PyTorch).

    Rprop is meant for **full-batch** training (batch size = training set size).  With
    small mini-batches the sign of g changes from batch to batch because of sampling
    noise, not curvature, so the step sizes collapse towards Δ_min, and equal-sized
    steps ignore how strongly each batch disagrees: it misbehaves (RMSprop is the
    mini-batch version of the idea).
    """

    name = "rprop"
    default_hyperparameters = {"eta": 0.01, "eta_plus": 1.2, "eta_minus": 0.5, "step_min": 1e-6, "step_max": 50.0}

    def __init__(self, eta: float = 0.01, eta_plus: float = 1.2, eta_minus: float = 0.5, step_min: float = 1e-6,
                 step_max: float = 50.0, **options):
        super().__init__(eta, **options)
        self.eta_plus = validation.number("Rprop eta_plus", eta_plus, 1.0)
        self.eta_minus = validation.number("Rprop eta_minus", eta_minus, 0.0, 1.0, low_open=True, high_open=False)
        self.step_min = validation.number("Rprop step_min", step_min, 0.0)
        self.step_max = validation.number("Rprop step_max", step_max, self.step_min, low_open=True)
        validation.number("Rprop initial step eta", eta, self.step_min, self.step_max, high_open=False)

    def update(self, p, grad, state):
        step = state.get("step")
        if step is None:
            step = state["step"] = xp.full_like(p.value, self.eta)     # Δ₀
            state["prev"] = xp.zeros_like(p.value)                     # g⁽⁰⁾ = 0: no change at the first step
        prev, one = state["prev"], p.value.dtype.type(1.0)
        same = grad * prev                                             # g⁽ᵗ⁻¹⁾ g⁽ᵗ⁾
        grew, flipped = same > 0, same < 0
        factor = xp.where(grew, one * self.eta_plus, one)
        factor[flipped] = self.eta_minus
        step *= factor                                                 # Δ → η⁺Δ or η⁻Δ (or Δ)
        xp.clip(step, self.step_min, self.step_max, out=step)
        xp.sign(grad, out=same)
        same[flipped] = 0.0                                            # iRprop⁻: forget a flipped gradient
        prev[...] = grad
        prev[flipped] = 0.0
        same *= step
        p.value -= same                                                # w → w − sign(g) Δ


class AdaptiveGains(Optimizer):
    """Per-weight adaptive gains (Hinton, Coursera lecture 6d, 2012; Jacobs, 1988): every
    weight has its own gain γ, which grows additively while the weight keeps moving the
    same way and shrinks multiplicatively when it turns back (an oscillation):

        if −g⁽ᵗ⁾ Δw⁽ᵗ⁻¹⁾ > 0:  γ → γ + κ           (κ = 0.05: the descent direction agrees
        if −g⁽ᵗ⁾ Δw⁽ᵗ⁻¹⁾ < 0:  γ → γ × φ            with the last step;  φ = 0.95 otherwise)
        γ → clip(γ, γ_min, γ_max)                 ([0.1, 10])
        Δw⁽ᵗ⁾ = μ Δw⁽ᵗ⁻¹⁾ − η γ g⁽ᵗ⁾               (momentum μ; μ = 0: gradient descent)
        w → w + Δw⁽ᵗ⁾

    Without momentum the last step is −ηγg⁽ᵗ⁻¹⁾, so the test is the lecture's
    g⁽ᵗ⁾g⁽ᵗ⁻¹⁾ > 0; with momentum the sign of the current gradient is compared with
    the velocity, as the lecture advises (after Jacobs).  Every γ starts at 1; at the
    first step (no last step yet) and for a zero gradient the gains stay as they are.
    Additive growth and multiplicative decay mean a gain that grew too large falls back
    quickly once the weight oscillates.  Meant for **full-batch** training: with small
    mini-batches the signs flip from sampling noise and the gains decay to γ_min.
    """

    name = "adaptive_gains"
    default_hyperparameters = {"eta": 0.1, "mu": 0.0, "gain_up": 0.05, "gain_down": 0.95, "gain_min": 0.1,
                               "gain_max": 10.0}

    def __init__(self, eta: float = 0.1, mu: float = 0.0, gain_up: float = 0.05, gain_down: float = 0.95,
                 gain_min: float = 0.1, gain_max: float = 10.0, **options):
        super().__init__(eta, **options)
        self.mu = validation.number("momentum mu", mu, 0.0, 1.0, high_open=True)
        self.gain_up = validation.number("gain_up (added when the signs agree)", gain_up, 0.0)
        self.gain_down = validation.number("gain_down (factor when they disagree)", gain_down, 0.0, 1.0,
                                           low_open=True)
        self.gain_min = validation.number("gain_min", gain_min, 0.0, low_open=True)
        self.gain_max = validation.number("gain_max", gain_max, self.gain_min)

    def update(self, p, grad, state):
        gain = state.get("gain")
        if gain is None:
            gain = state["gain"] = xp.ones_like(p.value)              # γ = 1
            state["step"] = xp.zeros_like(p.value)                    # no last step yet
        step = state["step"]
        product = grad * step                                         # g Δw < 0: −g agrees with the last step
        gain[product < 0] += self.gain_up                             # γ → γ + κ
        gain[product > 0] *= self.gain_down                           # γ → γφ
        xp.clip(gain, self.gain_min, self.gain_max, out=gain)
        xp.multiply(gain, grad, out=product)
        product *= self.eta
        step *= self.mu
        step -= product                                               # Δw → μΔw − ηγg
        p.value += step


class Quickprop(Optimizer):
    """Quickprop (Fahlman, 1988, "An empirical study of learning speed in back-propagation
    networks"): each weight on its own, the error is taken for a parabola in that weight,
    fitted through the slopes at the last two points, and the step jumps to its minimum:

        Δw⁽ᵗ⁾ = g⁽ᵗ⁾ / (g⁽ᵗ⁻¹⁾ − g⁽ᵗ⁾) · Δw⁽ᵗ⁻¹⁾          (the secant step)

    with Fahlman's safeguards, per weight:

    * no last step (the first one, or after a zero step): gradient descent, Δw = −ε g;
    * the step may grow at most μ-fold (μ = 1.75, the "maximum growth factor"):
      if the slope −g, seen in the direction of the last step, has not shrunk below
      μ/(1 + μ) of the last slope — the parabola's minimum is further than μΔw, or
      the parabola opens downwards — the step is μ Δw⁽ᵗ⁻¹⁾;
    * while the slope still points the way of the last step (−g Δw⁽ᵗ⁻¹⁾ > 0), the
      gradient term −ε g is added as well; once the minimum is crossed, it is not;
    * a step that would go on climbing (the slope points back, yet the secant says
      "further") is dropped: the next step starts again with gradient descent.

        w → w + Δw⁽ᵗ⁾

    On a quadratic error in one weight the secant step lands on the minimum.  Quickprop
    takes the exact gradient: it is a **full-batch** method.  ε is ``eta``; a
    learning-rate schedule changes only the gradient term.
    """

    name = "quickprop"
    default_hyperparameters = {"eta": 0.1, "max_growth": 1.75}

    def __init__(self, eta: float = 0.1, max_growth: float = 1.75, **options):
        super().__init__(eta, **options)
        self.max_growth = validation.number("Quickprop max_growth", max_growth, 0.0, low_open=True)

    def update(self, p, grad, state):
        step = state.get("step")
        if step is None:
            step = state["step"] = xp.zeros_like(p.value)             # Δw⁽⁰⁾ = 0
            state["prev"] = xp.zeros_like(p.value)
        prev, mu = state["prev"], self.max_growth
        direction = xp.sign(step)
        slope, last_slope = -grad * direction, -prev * direction      # slopes along the last step
        denominator = grad - prev                                     # g⁽ᵗ⁾ − g⁽ᵗ⁻¹⁾ = s⁽ᵗ⁻¹⁾ − s⁽ᵗ⁾
        capped = (slope > mu / (1.0 + mu) * last_slope) | (denominator == 0)
        secant = xp.where(capped, 0.0, -grad / xp.where(denominator == 0, 1.0, denominator))
        new = xp.where(capped & (slope > 0), mu * step, secant * step)   # μΔw, or g/(g⁽ᵗ⁻¹⁾ − g)·Δw
        new -= xp.where((slope > 0) | (direction == 0), self.eta * grad, 0.0)   # −εg (alone if Δw = 0)
        step[...] = new
        prev[...] = grad
        p.value += step
