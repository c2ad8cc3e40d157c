"""The optimizer base class: what every optimizer does around its own update rule.

Per-parameter state (velocities, moment estimates) lives in ``self.state``, a dict that
maps each :class:`~nndl.layers.Parameter` *itself* to its dict of arrays — not a position
in a list — so one optimizer may step different lists of parameters in turn (a GAN's
two networks, a net with some layers frozen) without mixing their moments.  A
parameter without a gradient this step (frozen, or not reached) is left alone.  For a
checkpoint the state is written against a list of parameters
(:meth:`Optimizer.state_arrays` / :meth:`Optimizer.load_state_arrays`, plus
:meth:`Optimizer.config` for the JSON side and the step counter ``t``).

Every optimizer takes gradient clipping (by global norm and by value) and annealed Gaussian
gradient noise as options; see :class:`Optimizer`.
"""
from __future__ import annotations

import math

import numpy

from nndl import validation
from nndl.backend import xp
from nndl.errors import NndlError


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
