"""A genetic algorithm over the weights of a fixed nndl network.

The genome is the network's parameter vector θ ∈ ℝⁿ (every weight matrix and bias of
an nndl :class:`~nndl.network.Network`, flattened in layer order: :func:`flatten`,
:func:`unflatten`).  A generation of P genomes with fitnesses f_1 … f_P makes the next:

* **elitism**: the ``elitism`` fittest genomes pass unchanged;
* **tournament selection**: a parent is the fittest of ``tournament`` genomes drawn
  uniformly (with replacement) — selection pressure grows with the tournament size and
  needs no fitness scaling, so negative fitnesses are fine;
* **crossover**, with probability ``crossover_rate``: uniform crossover of two parents,
  θ_child,k = θ_a,k or θ_b,k with probability ½ each; otherwise a copy of the first;
* **Gaussian mutation**: each gene, with probability ``mutation_rate``,
  θ_k ← θ_k + N(0, ``mutation_std``²).

The first generation is θ ~ N(0, ``init_std``²).  Every draw comes from one generator
seeded by ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from nndl import validation
from nndl.backend import to_numpy
from nndl.errors import NndlError
from nndl.evolution import checks
from nndl.evolution.evaluate import champion, run_generations


def flatten(network) -> numpy.ndarray:
    """θ: all parameters of ``network`` in one float64 vector, in layer order."""
    return numpy.concatenate([to_numpy(p.value).ravel() for p in network.params]).astype(numpy.float64)


def unflatten(network, theta) -> None:
    """Copy the vector θ into the parameters of ``network`` (the inverse of :func:`flatten`)."""
    theta = numpy.asarray(theta)
    sizes = [p.value.size for p in network.params]
    if theta.shape != (sum(sizes),):
        raise NndlError(f"the network has {sum(sizes)} parameters; got a vector of shape {theta.shape}")
    parts = numpy.split(theta, numpy.cumsum(sizes)[:-1])
    network.set_weights([part.reshape(p.value.shape) for part, p in zip(parts, network.params)])


class NetworkDecoder:
    """θ → the nndl Network ``Network.from_sizes(sizes, activation, output_activation)`` with those weights,
    as a function of a batch of inputs.  The network is built once per process and reused."""

    def __init__(self, sizes, activation: str = "tanh", output_activation: str = "sigmoid"):
        self.sizes, self.activation, self.output_activation = [int(s) for s in sizes], activation, output_activation
        self._network = None

    @property
    def network(self):
        if self._network is None:
            from nndl.network import Network

            self._network = Network.from_sizes(self.sizes, activation=self.activation,
                                               output_activation=self.output_activation, cost="quadratic")
        return self._network

    @property
    def parameters(self) -> int:
        return sum(p.value.size for p in self.network.params)

    def __getstate__(self):                # a worker builds its own network
        return {**self.__dict__, "_network": None}

    def __call__(self, theta):
        unflatten(self.network, theta)
        return self.network.forward


@dataclass
class GAConfig:
    population: int = 100
    elitism: int = 2
    tournament: int = 3
    crossover_rate: float = 0.7
    mutation_rate: float = 0.1
    mutation_std: float = 0.5
    init_std: float = 1.0

    def __post_init__(self):
        self.population = checks.population(self.population)
        self.elitism = validation.whole("elitism", self.elitism, low=0, high=self.population - 1)
        self.tournament = validation.whole("tournament", self.tournament, low=1, high=self.population)
        self.crossover_rate = checks.rate("crossover_rate", self.crossover_rate)
        self.mutation_rate = checks.rate("mutation_rate", self.mutation_rate)
        self.mutation_std = checks.positive("mutation_std", self.mutation_std)
        self.init_std = checks.positive("init_std", self.init_std)


def tournament(fitnesses, size: int, rng) -> int:
    """The index of the fittest of ``size`` individuals drawn uniformly with replacement."""
    drawn = rng.integers(len(fitnesses), size=size)
    return int(drawn[numpy.argmax(numpy.asarray(fitnesses)[drawn])])


def uniform_crossover(a, b, rng):
    """Each gene from ``a`` or ``b`` with probability ½."""
    return numpy.where(rng.random(a.shape) < 0.5, a, b)


def gaussian_mutation(theta, rate: float, std: float, rng):
    """θ_k + N(0, std²) for each gene with probability ``rate``."""
    hit = rng.random(theta.shape) < rate
    return theta + hit * rng.normal(0.0, std, theta.shape)


class GeneticAlgorithm:
    """A run over genomes of ``n_genes`` numbers (``NetworkDecoder.parameters`` of the network).

    ``history`` holds one record per generation; ``best`` is the fittest genome seen (a vector).
    """

    def __init__(self, n_genes: int, config: GAConfig | None = None, seed: int = 0):
        self.config = config or GAConfig()
        self.n_genes = validation.whole("genes", n_genes, low=1, high=100_000_000)
        self.rng = numpy.random.default_rng(validation.seed("seed", seed))
        self.population = [self.rng.normal(0.0, self.config.init_std, self.n_genes)
                           for _ in range(self.config.population)]
        self.generation, self.history = 0, []
        self.best, self.best_fitness, self.best_solved = None, -numpy.inf, False

    def next_generation(self, fitnesses) -> list:
        cfg, rng = self.config, self.rng
        ranked = numpy.argsort(-numpy.asarray(fitnesses), kind="stable")
        children = [self.population[i].copy() for i in ranked[:cfg.elitism]]
        while len(children) < cfg.population:
            a = self.population[tournament(fitnesses, cfg.tournament, rng)]
            if rng.random() < cfg.crossover_rate:
                b = self.population[tournament(fitnesses, cfg.tournament, rng)]
                child = uniform_crossover(a, b, rng)
            else:
                child = a.copy()
            children.append(gaussian_mutation(child, cfg.mutation_rate, cfg.mutation_std, rng))
        return children

    def step(self, evaluate) -> dict:
        """One generation: evaluate, record, and (unless a genome solved the task) breed the next."""
        fitnesses, solved = evaluate(self.population)
        k = champion(fitnesses, solved)
        if (solved[k] and not self.best_solved) or fitnesses[k] > self.best_fitness:
            self.best, self.best_fitness, self.best_solved = self.population[k].copy(), fitnesses[k], bool(solved[k])
        record = {"generation": self.generation, "evaluations": evaluate.evaluations,
                  "best_fitness": float(max(fitnesses)), "mean_fitness": float(numpy.mean(fitnesses)),
                  "solved": any(solved)}
        self.history.append(record)
        if not record["solved"]:
            self.population = self.next_generation(fitnesses)
        self.generation += 1
        return record

    def run(self, evaluate, generations: int, callback=None) -> dict:
        """Generations until one solves the task (or ``generations`` have run): see
        :func:`~nndl.evolution.evaluate.run_generations`."""
        return run_generations(self, evaluate, generations, callback)
