"""The tasks evolution is tried on.  A task's ``evaluate(net)`` takes a phenotype — a function from
inputs (B, n_inputs) to outputs (B, n_outputs) — and returns ``(fitness, solved)``.

* :class:`XOR` (2 inputs, 1 output): fitness 4 − Σ (y − t)² over the four patterns; solved when
  every output is on the right side of ½.
* :class:`CartPoleBalance` (4 inputs, 1 output; :mod:`nndl.evolution.cartpole`): the fitness is the
  mean number of steps balanced from ``episodes`` starting states, drawn once from ``seed`` (so the
  fitness of a network never changes during a run; each component uniform in ±``start_range``,
  gymnasium's 0.05 by default, wider for a harder task); solved when every episode lasts 500 steps.
* :class:`Classification` (iris): the mean log-likelihood cost −(1/n) Σ ln p_y and the accuracy of a
  softmax output layer, for NSGA-II.
* :class:`FunctionTask`: any ``fitness(net) -> float`` of one's own.
"""
from __future__ import annotations

import numpy

from nndl import validation
from nndl.backend import to_numpy
from nndl.evolution import cartpole
from nndl.errors import NndlError


class XOR:
    inputs, outputs = 2, 1
    x = numpy.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    t = numpy.array([0.0, 1.0, 1.0, 0.0])

    def evaluate(self, net):
        y = to_numpy(net(self.x))[:, 0]
        return 4.0 - float(numpy.sum((y - self.t) ** 2)), bool(numpy.all(numpy.abs(y - self.t) < 0.5))


class CartPoleBalance:
    inputs, outputs = 4, 1

    def __init__(self, episodes: int = 5, max_steps: int = cartpole.MAX_STEPS, seed: int = 0,
                 start_range: float = 0.05):
        self.episodes = validation.whole("episodes", episodes, low=1, high=10_000)
        self.max_steps = validation.whole("max_steps", max_steps, low=1, high=1_000_000)
        self.start_range = validation.number("start_range", start_range, 0.0, 0.2)
        self.starts = to_numpy(cartpole.reset(numpy.random.default_rng(validation.seed("seed", seed)),
                                              self.episodes, self.start_range))

    def steps(self, net, starts=None):
        return to_numpy(cartpole.balance(net, self.starts if starts is None else starts, self.max_steps))

    def evaluate(self, net):
        steps = self.steps(net)
        return float(steps.mean()), bool(numpy.all(steps >= self.max_steps))


class Classification:
    """Softmax classification of ``x`` (n, d) into labels ``y`` (n,) of ``classes`` classes."""

    def __init__(self, x, y, classes: int):
        self.x, self.y = numpy.asarray(x, dtype=numpy.float64), numpy.asarray(y)
        self.inputs, self.outputs = self.x.shape[1], int(classes)

    def scores(self, net, x=None, y=None):
        """``(cost, accuracy)``: the mean log-likelihood cost −(1/n) Σ ln p_y, and the fraction right."""
        x, y = (self.x, self.y) if x is None else (x, y)
        z = to_numpy(net(x)).astype(numpy.float64)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - numpy.log(numpy.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[numpy.arange(len(y)), y].mean()), float((z.argmax(axis=1) == y).mean())

    def evaluate(self, net):
        cost, accuracy = self.scores(net)
        return -cost, accuracy == 1.0


class FunctionTask:
    """A task from a function ``fitness(net) -> float`` (never solved: runs all its generations)."""

    def __init__(self, fitness, inputs: int, outputs: int):
        if not callable(fitness):
            raise NndlError(f"fitness must be a function of a network, got {type(fitness).__name__}")
        self.fitness, self.inputs, self.outputs = fitness, int(inputs), int(outputs)

    def evaluate(self, net):
        return self.fitness(net), False


TASKS = {"xor": XOR, "cartpole": CartPoleBalance}
