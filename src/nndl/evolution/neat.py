"""NEAT: NeuroEvolution of Augmenting Topologies (Stanley & Miikkulainen 2002).

The genes, mutations, crossover and compatibility distance are in
:mod:`nndl.evolution.genome`; this module is the generational loop:

1. **Evaluate** every genome: fitness f_i (:class:`~nndl.evolution.evaluate.Evaluator`).
2. **Speciate**: each species keeps a representative, a random member of the last
   generation; every genome joins the first species whose representative is within
   δ < δ_t (``compatibility_threshold``), or founds a new one.
3. **Explicit fitness sharing**: within species S, f'_i = f_i / |S| (the sharing
   function is 1 inside the species and 0 outside), so a species' total adjusted fitness
   is its mean fitness and no species can take over the population just by being large.
   Fitnesses are first shifted by the population's minimum, so that they are ≥ 0.
4. **Stagnation**: a species whose best fitness has not improved for ``stagnation``
   generations gets no offspring — unless it holds the best genome of the population.
5. **Reproduce**: species S gets n_S = P · Σ_{i∈S} f'_i / Σ_i f'_i offspring (largest
   remainders rounding, so that the total is P).  A species of ≥ ``elitism_min_size``
   genomes keeps its champion unchanged; the others are children of its best
   ``survival_threshold`` fraction: with probability ``crossover_rate`` a crossover of two
   of them (a mate from any species with probability ``interspecies_rate``), else a copy of
   one; every child is then mutated.

The run stops when a genome solves the task (the task says when) or after the generations
given.  Every random draw comes from one ``numpy.random.Generator`` seeded by ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy

from nndl import validation
from nndl.evolution.evaluate import champion, run_generations
from nndl.evolution.genome import Genome, Innovations, NEATConfig, crossover, distance

__all__ = ["NEAT", "NEATConfig", "Species", "share_offspring"]


@dataclass
class Species:
    id: int
    representative: Genome
    created: int
    members: list = field(default_factory=list)
    best_fitness: float = -numpy.inf
    last_improved: int = 0


def share_offspring(shares, total: int) -> list[int]:
    """Whole numbers n_k ∝ shares summing to ``total`` (largest remainders); equal shares if all are 0."""
    shares = numpy.asarray(shares, dtype=float)
    if shares.sum() <= 0:
        shares = numpy.ones_like(shares)
    exact = total * shares / shares.sum()
    counts = numpy.floor(exact).astype(int)
    for k in numpy.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]:
        counts[k] += 1
    return [int(c) for c in counts]


class NEAT:
    """A NEAT run for networks of ``n_inputs`` inputs and ``n_outputs`` outputs.

    Example (``Evaluator`` from :mod:`nndl.evolution.evaluate`, ``FeedForward`` from
    :mod:`nndl.evolution.phenotype`, ``XOR`` from :mod:`nndl.evolution.tasks`)::

        neat = NEAT(2, 1, NEATConfig(population=150), seed=0)
        with Evaluator(FeedForward, XOR(), workers=2) as evaluate:
            result = neat.run(evaluate, generations=100)     # result["best"]: the champion genome

    ``history`` has one dict per generation (see :meth:`step`); ``best`` is the fittest genome seen.
    """

    def __init__(self, n_inputs: int, n_outputs: int, config: NEATConfig | None = None, seed: int = 0):
        self.config = config or NEATConfig()
        n_inputs = validation.whole("inputs", n_inputs, low=1, high=100_000)
        n_outputs = validation.whole("outputs", n_outputs, low=1, high=100_000)
        self.rng = numpy.random.default_rng(validation.seed("seed", seed))
        self.innovations = Innovations(n_inputs, n_outputs)
        self.population = [Genome.initial(self.config, self.innovations, self.rng)
                           for _ in range(self.config.population)]
        self.species: list[Species] = []
        self.next_species = 0
        self.generation = 0
        self.history: list[dict] = []
        self.best: Genome | None = None
        self.best_solved = False

    # -- 2. speciation ------------------------------------------------------------------------
    def speciate(self, genomes) -> None:
        """Put every genome in the first species within δ_t of its representative, or a new one."""
        cfg = self.config
        for s in self.species:
            s.members = []
        for genome in genomes:
            for s in self.species:
                if distance(genome, s.representative, cfg) < cfg.compatibility_threshold:
                    s.members.append(genome)
                    break
            else:
                s = Species(self.next_species, genome, self.generation, [genome], last_improved=self.generation)
                self.next_species += 1
                self.species.append(s)
        self.species = [s for s in self.species if s.members]

    # -- 3.–5. sharing, stagnation, reproduction ----------------------------------------------
    def reproduce(self) -> list[Genome]:
        cfg, rng = self.config, self.rng
        champion = max((g for s in self.species for g in s.members), key=lambda g: g.fitness)
        living = []
        for s in self.species:
            best = max(g.fitness for g in s.members)
            if best > s.best_fitness:
                s.best_fitness, s.last_improved = best, self.generation
            if self.generation - s.last_improved < cfg.stagnation or champion in s.members:
                living.append(s)
        self.species = living
        low = min(g.fitness for s in living for g in s.members)
        shares = [sum((g.fitness - low) / len(s.members) for g in s.members) for s in living]   # Σ f'_i
        counts = share_offspring(shares, cfg.population)
        everyone = [g for s in living for g in s.members]
        children: list[Genome] = []
        for s, n in zip(living, counts):
            if n == 0:
                continue
            ranked = sorted(s.members, key=lambda g: -g.fitness)
            if len(ranked) >= cfg.elitism_min_size:
                children.append(ranked[0].copy())
                n -= 1
            parents = ranked[:max(1, int(numpy.ceil(cfg.survival_threshold * len(ranked))))]
            for _ in range(n):
                mother = parents[int(rng.integers(len(parents)))]
                if rng.random() < cfg.crossover_rate:
                    pool = everyone if rng.random() < cfg.interspecies_rate else parents
                    father = pool[int(rng.integers(len(pool)))]
                    if father.fitness > mother.fitness:
                        mother, father = father, mother
                    child = crossover(mother, father, cfg, rng)
                else:
                    child = mother.copy()
                child.fitness = None
                child.mutate(cfg, self.innovations, rng)
                children.append(child)
        for s in self.species:                     # next generation's representatives
            s.representative = s.members[int(rng.integers(len(s.members)))]
        return children

    # -- the loop -----------------------------------------------------------------------------
    def step(self, evaluate) -> dict:
        """One generation: evaluate, speciate, record, reproduce.  Returns the generation's record:
        generation, evaluations so far, best and mean fitness, species sizes by id, the best
        genome's size, and whether a genome solved the task."""
        fitnesses, solved = evaluate(self.population)
        for genome, f in zip(self.population, fitnesses):
            genome.fitness = f
        self.speciate(self.population)
        best = self.population[int(numpy.argmax(fitnesses))]
        k = champion(fitnesses, solved)
        if (solved[k] and not self.best_solved) or self.best is None or fitnesses[k] > self.best.fitness:
            self.best, self.best_solved = self.population[k].copy(), bool(solved[k])
        record = {"generation": self.generation, "evaluations": evaluate.evaluations,
                  "best_fitness": float(best.fitness), "mean_fitness": float(numpy.mean(fitnesses)),
                  "species": {str(s.id): len(s.members) for s in self.species},
                  "best_size": best.size(), "solved": any(solved)}
        self.history.append(record)
        if not record["solved"]:
            self.population = self.reproduce()
        self.generation += 1
        return record

    def run(self, evaluate, generations: int, callback=None) -> dict:
        """Generations until one solves the task (or ``generations`` have run): see
        :func:`~nndl.evolution.evaluate.run_generations`."""
        return run_generations(self, evaluate, generations, callback)
