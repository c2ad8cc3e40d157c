"""Stochastic search on a network's weights: Boltzmann (simulated annealing) and Cauchy training,
the hybrid of backpropagation and Cauchy steps, and weight squashing against network paralysis
(the course notes, after Wasserman, *Neural Computing*, 1989, ch. 5; Szu & Hartley, 1987).

Each move perturbs the weights, w' = w + Δw, evaluates the cost C(w') on the batch and keeps
the new weights by the **Metropolis** test at temperature T:

    ΔC = C(w') − C(w);   accept if ΔC ≤ 0, else with probability P = exp(−ΔC / T)

so a worse point is sometimes kept, which lets the search climb out of a local minimum;
as T falls the search settles.  T is in the units of the cost.

* **Boltzmann training** (``annealing``): Gaussian steps whose variance follows the
  temperature, Δw ~ N(0, σ² T(t)/T₀) for every weight, and the schedule

      T(t) = T₀ / log(1 + t),     t = 1, 2, ... moves

  (Geman & Geman's schedule, slow enough to find the global minimum in the limit).
* **Cauchy training** (``cauchy``): steps drawn from the Cauchy distribution, whose heavy
  tails give an occasional long jump, and the much faster schedule

      T(t) = T₀ / (1 + t),        Δw = ρ (T(t)/T₀) tan(π(u − ½)),  u ~ U(0, 1)

  (Szu's "fast simulated annealing"; tan(π(u − ½)) is a standard Cauchy draw).
* **Backprop + Cauchy** (``cauchy_backprop``): each move is the momentum step of
  backpropagation plus a Cauchy step, accepted by the same test:

      v → μ v − η ∇C(w),     w' = w + v + Δw_Cauchy

  (Wasserman's combination η[αΔw + (1 − α)δ·OUT] + (1 − η) x_c, with the two weights
  written as the learning rate η and the Cauchy scale ρ).  A rejected move also clears the
  velocity.
* **Weight squashing** (``squash=c``): large random steps drive weights to large values,
  the sigmoid units saturate (σ' ≈ 0) and the network is *paralysed*.  After every step each
  weight is passed through w → c · tanh(w / c): the identity for |w| ≪ c, never beyond ±c
  (:func:`squash_weights`).

``moves`` moves are made per training step (per epoch at full batch); ``fraction`` < 1
perturbs each weight only with that probability per move (a sparser search, better for
large nets).  ``eta`` is the step scale (σ or ρ; the backprop learning rate η for
``cauchy_backprop``).  All draws come from the optimizer's seeded generator.
"""
from __future__ import annotations

import math

import numpy

from nndl import validation
from nndl.backend import to_device, xp
from nndl.optim.objective import CostOptimizer


def metropolis_accept(delta: float, temperature: float, rng) -> bool:
    """The Metropolis test: True for ΔC ≤ 0, else with probability exp(−ΔC/T) (one uniform draw)."""
    if delta <= 0.0:
        return True
    return bool(rng.random() < math.exp(-delta / temperature))


def boltzmann_temperature(t: int, t0: float) -> float:
    """T(t) = T₀ / log(1 + t) for move t ≥ 1."""
    return t0 / math.log1p(t)


def cauchy_temperature(t: int, t0: float) -> float:
    """T(t) = T₀ / (1 + t) for move t ≥ 1."""
    return t0 / (1.0 + t)


def squash_weights(params, c: float) -> None:
    """w → c · tanh(w / c) for every parameter, in place: bounds |w| ≤ c and leaves small weights be."""
    for p in params:
        xp.tanh(p.value / c, out=p.value)
        p.value *= c


def saturated_fraction(network, x, threshold: float = 0.01) -> float:
    """The fraction of (example, hidden unit) pairs whose σ'(z) is below ``threshold`` × its largest
    value (σ' ≤ 0.0025 for a sigmoid: |z| > 6), over the dense hidden layers: how paralysed the
    network is on the inputs ``x``."""
    from nndl.layers import no_grad

    saturated = total = 0
    a = network.as_input(x)
    with no_grad():
        for layer in network.layers[:-1]:
            a = layer.forward(a)
            activation = getattr(layer, "activation", None)
            if activation is None or activation.name not in ("sigmoid", "tanh"):
                continue
            peak = 0.25 if activation.name == "sigmoid" else 1.0
            slope = activation.prime(None, a)
            saturated += int((slope < threshold * peak).sum())
            total += int(slope.size)
    return saturated / total if total else 0.0


class Annealing(CostOptimizer):
    """Boltzmann training: Gaussian steps N(0, σ² T/T₀), Metropolis acceptance, T(t) = T₀ / log(1 + t).

    ``eta`` is σ, ``t0`` the initial temperature T₀, ``moves`` moves per training step,
    ``fraction`` the probability that a weight is perturbed in a move, ``squash`` the bound c
    of weight squashing (0: off).  The logs give the temperature at the end of the step and
    the fraction of moves accepted.
    """

    name = "annealing"
    default_hyperparameters = {"eta": 0.1, "t0": 0.01, "moves": 200, "fraction": 1.0, "squash": 0.0}
    #: The temperature schedule T(t) of this method.
    schedule = staticmethod(boltzmann_temperature)

    def __init__(self, eta: float = 0.1, t0: float = 0.01, moves: int = 200, fraction: float = 1.0,
                 squash: float = 0.0, **options):
        super().__init__(eta, **options)
        self.t0 = validation.number(f"{self.name} initial temperature t0", t0, 0.0, low_open=True)
        self.moves = validation.whole(f"{self.name} moves per step", moves, low=1)
        self.fraction = validation.number(f"{self.name} fraction of weights moved", fraction, 0.0, 1.0,
                                          low_open=True)
        self.squash = validation.number(f"{self.name} squash bound c (0: off)", squash, 0.0)

    def temperature(self, t: int) -> float:
        return self.schedule(t, self.t0)

    def draw(self, shape, temperature: float) -> numpy.ndarray:
        """One step Δw of ``shape`` at ``temperature``: N(0, σ² T/T₀)."""
        return self.rng.standard_normal(shape) * (self.eta * math.sqrt(temperature / self.t0))

    def propose(self, params, temperature: float) -> None:
        """w → w + Δw (each weight with probability ``fraction``), then squashing."""
        for p in params:
            step = self.draw(p.value.shape, temperature)
            if self.fraction < 1.0:
                step *= self.rng.random(p.value.shape) < self.fraction
            p.value += to_device(step, p.value.dtype)
        if self.squash > 0.0:
            squash_weights(params, self.squash)

    def minimize(self, objective) -> dict:
        params = objective.params
        current = objective.cost()
        accepted, temperature = 0, self.temperature(max(self.t, 1))
        for _ in range(self.moves):
            self.t += 1
            temperature = self.temperature(self.t)
            saved = [p.value.copy() for p in params]
            self.propose(params, temperature)
            new = objective.cost()
            if metropolis_accept(new - current, temperature, self.rng):
                current, accepted = new, accepted + 1
            else:
                for p, value in zip(params, saved):
                    p.value[...] = value
        data = current - objective.model.regularization_cost()
        return self.counted(objective, {"cost": data, "temperature": temperature,
                                        "acceptance": accepted / self.moves})


class Cauchy(Annealing):
    """Cauchy training: steps ρ (T/T₀) tan(π(u − ½)), Metropolis acceptance, T(t) = T₀ / (1 + t).

    ``eta`` is ρ; the other hyper-parameters are those of :class:`Annealing`.
    """

    name = "cauchy"
    default_hyperparameters = {"eta": 1.0, "t0": 0.01, "moves": 200, "fraction": 1.0, "squash": 0.0}
    schedule = staticmethod(cauchy_temperature)

    def __init__(self, eta: float = 1.0, t0: float = 0.01, moves: int = 200, fraction: float = 1.0,
                 squash: float = 0.0, **options):
        super().__init__(eta, t0, moves, fraction, squash, **options)

    def draw(self, shape, temperature: float) -> numpy.ndarray:
        """ρ (T/T₀) tan(π(u − ½)): a Cauchy draw of scale ρT/T₀."""
        return numpy.tan(numpy.pi * (self.rng.random(shape) - 0.5)) * (self.eta * temperature / self.t0)


class CauchyBackprop(Cauchy):
    """Backpropagation with momentum plus Cauchy steps, accepted by the Metropolis test.

        v → μ v − η ∇C(w);   w' = w + v + ρ (T/T₀) tan(π(u − ½));   T(t) = T₀ / (1 + t)

    Each move costs one gradient evaluation (at the proposed point; the gradient of the
    current point is kept from its own evaluation).  ``eta`` is η, ``mu`` μ, ``rho`` ρ.
    """

    name = "cauchy_backprop"
    default_hyperparameters = {"eta": 0.5, "mu": 0.5, "rho": 0.01, "t0": 0.01, "moves": 10, "fraction": 1.0,
                               "squash": 0.0}

    def __init__(self, eta: float = 0.5, mu: float = 0.5, rho: float = 0.01, t0: float = 0.01, moves: int = 10,
                 fraction: float = 1.0, squash: float = 0.0, **options):
        super().__init__(eta, t0, moves, fraction, squash, **options)
        self.mu = validation.number("momentum mu", mu, 0.0, 1.0, high_open=True)
        self.rho = validation.number("cauchy_backprop Cauchy scale rho", rho, 0.0)

    def draw(self, shape, temperature: float) -> numpy.ndarray:
        return numpy.tan(numpy.pi * (self.rng.random(shape) - 0.5)) * (self.rho * temperature / self.t0)

    def minimize(self, objective) -> dict:
        params = objective.params
        current = objective.gradient()
        grads = [p.grad.copy() for p in params]
        velocities = []
        for p in params:
            state = self.state.setdefault(p, {})
            if "v" not in state:
                state["v"] = xp.zeros_like(p.value)
            velocities.append(state["v"])
        accepted, temperature = 0, self.temperature(max(self.t, 1))
        for _ in range(self.moves):
            self.t += 1
            temperature = self.temperature(self.t)
            saved = [p.value.copy() for p in params]
            for p, v, g in zip(params, velocities, grads):
                v *= self.mu
                v -= self.eta * g                                   # v → μv − η∇C
                p.value += v
            self.propose(params, temperature)                       # + the Cauchy step (and squashing)
            new = objective.gradient()
            if metropolis_accept(new - current, temperature, self.rng):
                current, accepted = new, accepted + 1
                grads = [p.grad.copy() for p in params]
            else:
                for p, value, v in zip(params, saved, velocities):
                    p.value[...] = value
                    v[...] = 0.0
        data = current - objective.model.regularization_cost()
        return self.counted(objective, {"cost": data, "temperature": temperature,
                                        "acceptance": accepted / self.moves})
