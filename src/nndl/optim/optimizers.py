"""Optimizers: how parameters move, given their gradients.

An optimizer is separate from the layers and the trainer.  The trainer calls
``optimizer.step(params)`` after each mini-batch; each :class:`~nndl.layers.Parameter`
carries ``value`` and ``grad`` (the gradient of the mini-batch mean cost, already
including any regularization term).  A new optimizer subclasses :class:`Optimizer`,
implements ``update`` for one parameter, lists its hyper-parameters in
``default_hyperparameters``, and registers itself in ``OPTIMIZERS``.

Per-parameter state (velocities, moment estimates) lives in ``self.state``, a dict that
maps each :class:`~nndl.layers.Parameter` *itself* to its dict of arrays — not a position
in a list — so one optimizer may step different lists of parameters in turn (a GAN's
two networks, a net with some layers frozen) without mixing their moments.  A
parameter without a gradient this step (frozen, or not reached) is left alone.  For a
checkpoint the state is written against a list of parameters
(:meth:`Optimizer.state_arrays` / :meth:`Optimizer.load_state_arrays`, plus
:meth:`Optimizer.config` for the JSON side and the step counter ``t``).

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

Every optimizer also takes, as keyword arguments, the options of :class:`Optimizer`:
gradient clipping by global norm (``clip_norm``) and by value (``clip_value``), annealed Gaussian gradient noise
(``noise``, ``noise_gamma``, ``seed``).  :func:`default_hyperparameters` returns the
table above as a dict.
"""
from __future__ import annotations

import math

import numpy

from nndl import validation
from nndl.backend import xp
from nndl.errors import NndlError
from nndl.registry import lookup, normalize


class Optimizer:
    """Base class.  ``eta`` is the learning rate η; schedules change it between steps.

    Options shared by every optimizer (keyword arguments; all off by default, and
    then they cost nothing per step):

    clip_norm : float, optional
        Gradient clipping by global norm: if the norm of all gradients together,
        ‖g‖ = √(Σ_params Σ g²), exceeds c, every gradient is scaled by c/‖g‖ (so the
        direction is kept and ‖g‖ becomes c); otherwise nothing changes.
    clip_value : float, optional
        Gradient clipping by value: every entry g ← max(−v, min(g, v)), as
        ``torch.nn.utils.clip_grad_value_`` (the direction may change; Mikolov's
        recurrent nets clipped this way).  Applied before ``clip_norm`` when both are on.
    noise : float
        η_noise > 0 adds annealed Gaussian noise to every gradient entry
        (Neelakantan et al., 2015, "Adding gradient noise improves learning for very
        deep networks"):  g ← g + N(0, σₜ²),  σₜ² = η_noise / (1 + t)^γ,
        where t = 0, 1, 2, ... is the number of steps taken before this one.
        The paper uses η_noise ∈ {0.01, 0.3, 1.0}.
    noise_gamma : float
        γ of the annealing (0.55 in the paper).
    seed : int
        Seeds the numpy Generator of the noise; its state is part of
        :meth:`state_arrays`, so a restored optimizer draws the same noise.

    Noise is added first, then the gradients are clipped (as TensorFlow's
    ``optimize_loss`` did), so ‖g‖ ≤ c holds for what the update sees.  Both modify
    ``p.grad`` in place, like ``torch.nn.utils.clip_grad_norm_``.
    """

    name = "optimizer"
    #: The constructor's hyper-parameters and their defaults (the README's table).
    default_hyperparameters: dict = {"eta": 0.1}

    def __init__(self, eta: float = 0.1, *, clip_norm: float | None = None, noise: float = 0.0,
                 noise_gamma: float = 0.55, seed: int = 0, clip_value: float | None = None):
        self.eta = validation.number("eta (learning rate)", eta, 0.0, low_open=True)
        self.t = 0                     # steps taken
        self.state: dict = {}          # Parameter -> its dict of arrays
        self.clip_norm = None if clip_norm is None else validation.number("clip_norm", clip_norm, 0.0, low_open=True)
        self.clip_value = None if clip_value is None else validation.number("clip_value", clip_value, 0.0,
                                                                            low_open=True)
        self.noise = validation.number("noise (gradient noise η)", noise, 0.0)
        self.noise_gamma = validation.number("noise_gamma", noise_gamma, 0.0)
        self.seed = validation.seed("seed", seed)
        self.rng = numpy.random.default_rng(self.seed) if self.noise > 0 else None
        #: Global gradient norm before clipping at the last step (None unless clipping).
        self.last_grad_norm: float | None = None

    def step(self, params) -> None:
        """Update every parameter that has a gradient (after the optional noise and clipping)."""
        params = [p for p in params if p.grad is not None and p.trainable]
        if self.noise > 0.0:
            self.add_gradient_noise(params)
        if self.clip_value is not None:
            for p in params:
                xp.clip(p.grad, -self.clip_value, self.clip_value, out=p.grad)
        if self.clip_norm is not None:
            self.clip_gradients(params)
        self.t += 1
        states = self.state
        for p in params:
            state = states.get(p)
            if state is None:
                state = states[p] = {}
            self.update(p, p.grad, state)

    def update(self, p, grad, state: dict) -> None:
        """Move one parameter ``p`` given its gradient; ``state`` is its dict of arrays."""
        raise NotImplementedError

    # -- options ------------------------------------------------------------------------
    def noise_variance(self, t: int) -> float:
        """σₜ² = η_noise / (1 + t)^γ for the step after ``t`` steps taken."""
        return self.noise / (1.0 + t) ** self.noise_gamma

    def add_gradient_noise(self, params) -> None:
        """g ← g + N(0, σₜ²), one independent draw per gradient entry (in place)."""
        sigma = math.sqrt(self.noise_variance(self.t))
        for p in params:
            dtype = numpy.float32 if p.grad.dtype == numpy.float32 else numpy.float64
            z = self.rng.standard_normal(p.grad.shape, dtype=dtype)
            z *= sigma
            p.grad += xp.asarray(z)

    def clip_gradients(self, params) -> float:
        """Scale all gradients by c/‖g‖ if their global norm ‖g‖ exceeds c; return ‖g‖."""
        norm = math.sqrt(sum(float(xp.vdot(p.grad, p.grad)) for p in params))
        self.last_grad_norm = norm
        if norm > self.clip_norm:
            scale = self.clip_norm / norm
            for p in params:
                p.grad *= scale
        return norm

    # -- checkpoints --------------------------------------------------------------------
    def config(self) -> dict:
        """JSON-able constructor arguments, with ``"name"`` (options only when switched on)."""
        cfg = {"name": self.name}
        cfg.update({k: getattr(self, k) for k in self.default_hyperparameters})
        if self.clip_norm is not None:
            cfg["clip_norm"] = self.clip_norm
        if self.clip_value is not None:
            cfg["clip_value"] = self.clip_value
        if self.noise > 0.0:
            cfg.update(noise=self.noise, noise_gamma=self.noise_gamma, seed=self.seed)
        return cfg

    def state_arrays(self, params) -> dict:
        """Flat {key: array} of the optimizer state, for a checkpoint, against the list ``params``.

        Keys ``"<i>.<name>"`` hold the state of ``params[i]`` (``"0.v"``, ``"3.m"``, ...);
        ``"noise_rng"`` (when gradient noise is on) the noise generator's state as six
        uint64 numbers.  The step counter ``t`` is saved separately (it is JSON).
        """
        arrays = {f"{i}.{k}": numpy.asarray(v) for i, p in enumerate(params) for k, v in self.state.get(p, {}).items()}
        if self.rng is not None:
            arrays["noise_rng"] = _pcg64_to_array(self.rng)
        return arrays

    def load_state_arrays(self, arrays: dict, params, t: int) -> None:
        """Restore what :meth:`state_arrays` returned for the same list ``params``, after ``t`` steps."""
        params = list(params)
        self.state = {}
        for key, value in arrays.items():
            if key == "noise_rng":
                if self.rng is not None:
                    _pcg64_from_array(self.rng, value)
                continue
            i, _, k = key.partition(".")
            if not (i.isdigit() and k) or int(i) >= len(params):
                raise NndlError(f"optimizer state has an unexpected entry {key!r} for {len(params)} parameters")
            p = params[int(i)]
            if value.ndim == 0 and value.dtype.kind in "iu":
                value = int(value)                       # a per-parameter step count
            elif tuple(value.shape) != tuple(p.value.shape):
                raise NndlError(f"optimizer state {key!r} has shape {tuple(value.shape)}, its parameter "
                                f"{tuple(p.value.shape)}")
            else:
                value = xp.asarray(value, dtype=p.value.dtype)
            self.state.setdefault(p, {})[k] = value
        self.t = validation.whole("optimizer step count t", t, low=0)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


_MASK64 = (1 << 64) - 1


def _pcg64_to_array(rng) -> numpy.ndarray:
    st = rng.bit_generator.state
    s, inc = st["state"]["state"], st["state"]["inc"]
    return numpy.array([s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, st["has_uint32"], st["uinteger"]],
                       dtype=numpy.uint64)


def _pcg64_from_array(rng, a) -> None:
    a = [int(v) for v in numpy.asarray(a, dtype=numpy.uint64).ravel()]
    if len(a) != 6:
        raise NndlError(f"optimizer state 'noise_rng' must hold 6 numbers, got {len(a)}")
    rng.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": (a[0] << 64) | a[1],
                               "inc": (a[2] << 64) | a[3]}, "has_uint32": a[4], "uinteger": a[5]}


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


OPTIMIZERS: dict[str, type] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop,
                                                         Adam, Rprop, AdaptiveGains, Quickprop)}


#: Keyword options every optimizer takes (see :class:`Optimizer`).
_OPTIONS = ["clip_norm", "clip_value", "noise", "noise_gamma", "seed"]


def default_hyperparameters() -> dict[str, dict]:
    """{optimizer name: {hyper-parameter: default}} for every registered optimizer."""
    return {name: dict(cls.default_hyperparameters) for name, cls in OPTIMIZERS.items()}


def get_optimizer(name, **kwargs) -> Optimizer:
    """An optimizer by name (``"sgd"``, ``"momentum"``, ``"adam"``, ...) with its hyper-parameters."""
    if isinstance(name, Optimizer):
        return name
    cls = lookup(OPTIMIZERS, name, "optimizer")
    key = normalize(name)
    known = list(cls.default_hyperparameters) + _OPTIONS
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        raise NndlError(f"optimizer {key!r} has no hyper-parameter {unknown[0]!r}; use {', '.join(known)}")
    return cls(**kwargs)
