"""NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002): evolution with several objectives, all minimized.

a **dominates** b when a is no worse in every objective and better in at least one:

    a ≺ b  ⇔  ∀m: f_m(a) ≤ f_m(b)  and  ∃m: f_m(a) < f_m(b).

* **Fast non-dominated sort** (:func:`non_dominated_sort`): for every p, n_p = how many
  dominate p and S_p = those p dominates.  Front 1 is {p : n_p = 0}; removing a front
  lowers n_q by one for each q in S_p of its members, and the q reaching 0 form the next
  front.  O(M N²) for N points and M objectives.  A point's **rank** is its front's number.
* **Crowding distance** (:func:`crowding_distance`), within one front: the points sorted
  by each objective m in turn, the two extremes get ∞ and every other point i adds
  (f_m(i+1) − f_m(i−1)) / (f_m^max − f_m^min) — the normalised side of the box its
  neighbours span.  Large means isolated: keeping it keeps the front spread.
* **Crowded comparison** ≺_n: lower rank wins; at equal rank, larger crowding distance.
  Parents are chosen by binary tournaments under ≺_n (:func:`crowded_tournament`).
* **Elitist survival**: parents P and offspring Q (N each) are pooled; the next P is
  the best fronts of P ∪ Q in order, the last front that does not fit whole cut by
  descending crowding distance.

:class:`SparseNetworks` is the problem the experiment solves with it: networks of fixed
layer sizes in which each weight is present or absent (a mask gene per weight), with
objectives (classification cost, number of connections).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from nndl import validation
from nndl.evolution import checks
from nndl.evolution.ga import gaussian_mutation, unflatten


# --------------------------------------------------------------------------- the three rules
def dominates(a, b) -> bool:
    """a ≺ b: no worse in every objective and better in one (minimization)."""
    a, b = numpy.asarray(a), numpy.asarray(b)
    return bool(numpy.all(a <= b) and numpy.any(a < b))


def non_dominated_sort(objectives) -> list[list[int]]:
    """The fronts of points ``objectives`` (N, M), best first, each a sorted list of indices."""
    f = numpy.asarray(objectives, dtype=float)
    if f.ndim != 2:
        raise ValueError("objectives must be an (N, M) array")
    # dom[p, q]: p ≺ q
    dom = numpy.all(f[:, None, :] <= f[None, :, :], axis=2) & numpy.any(f[:, None, :] < f[None, :, :], axis=2)
    count = dom.sum(axis=0)                              # n_q: how many dominate q
    front = [int(q) for q in numpy.flatnonzero(count == 0)]
    fronts = []
    while front:
        fronts.append(front)
        nxt = []
        for p in front:
            for q in numpy.flatnonzero(dom[p]):          # S_p
                count[q] -= 1
                if count[q] == 0:
                    nxt.append(int(q))
        front = sorted(nxt)
    return fronts


def ranks(fronts, n: int) -> numpy.ndarray:
    """Each point's front number (0 for the first front)."""
    rank = numpy.empty(n, dtype=int)
    for r, front in enumerate(fronts):
        rank[front] = r
    return rank


def crowding_distance(objectives) -> numpy.ndarray:
    """The crowding distance of each point of one front (N, M); ∞ for the extremes of any objective."""
    f = numpy.asarray(objectives, dtype=float)
    n, m = f.shape
    d = numpy.zeros(n)
    if n <= 2:
        return numpy.full(n, numpy.inf)
    for k in range(m):
        order = numpy.argsort(f[:, k], kind="stable")
        d[order[0]] = d[order[-1]] = numpy.inf
        span = f[order[-1], k] - f[order[0], k]
        if span > 0:
            d[order[1:-1]] += (f[order[2:], k] - f[order[:-2], k]) / span
    return d


def crowded_tournament(rank, crowding, rng) -> int:
    """The winner under ≺_n of two points drawn uniformly (with replacement)."""
    a, b = (int(i) for i in rng.integers(len(rank), size=2))
    if rank[a] != rank[b]:
        return a if rank[a] < rank[b] else b
    return a if crowding[a] >= crowding[b] else b


def survivors(objectives, n: int) -> list[int]:
    """The ``n`` indices elitist survival keeps: whole fronts in order, the last cut by crowding distance."""
    kept = []
    for front in non_dominated_sort(objectives):
        if len(kept) + len(front) <= n:
            kept.extend(front)
        else:
            d = crowding_distance(numpy.asarray(objectives)[front])
            kept.extend(front[i] for i in numpy.argsort(-d, kind="stable")[: n - len(kept)])
        if len(kept) == n:
            break
    return kept


# --------------------------------------------------------------------------- the loop
class NSGA2:
    """NSGA-II over ``problem`` (with ``random(rng)`` and ``vary(a, b, rng)``), ``population`` individuals.

    ``evaluate`` returns for each individual a tuple of objectives to minimize.  After
    :meth:`run`, ``population``/``objectives`` hold the last parents; :meth:`front` the first front.
    """

    def __init__(self, problem, population: int = 100, seed: int = 0):
        self.problem = problem
        self.size = checks.population(population)
        self.rng = numpy.random.default_rng(validation.seed("seed", seed))
        self.population = [problem.random(self.rng) for _ in range(self.size)]
        self.objectives = None
        self.generation, self.history = 0, []

    def offspring(self) -> list:
        fronts = non_dominated_sort(self.objectives)
        rank = ranks(fronts, len(self.population))
        crowd = numpy.zeros(len(self.population))
        for front in fronts:
            crowd[front] = crowding_distance(self.objectives[front])
        children = []
        for _ in range(self.size):
            a = self.population[crowded_tournament(rank, crowd, self.rng)]
            b = self.population[crowded_tournament(rank, crowd, self.rng)]
            children.append(self.problem.vary(a, b, self.rng))
        return children

    def run(self, evaluate, generations: int, callback=None):
        generations = validation.whole("generations", generations, low=1)
        if self.objectives is None:
            values, _ = evaluate(self.population)
            self.objectives = numpy.asarray(values, dtype=float)
        for _ in range(generations):
            children = self.offspring()
            values, _ = evaluate(children)
            pool = self.population + children
            pooled = numpy.concatenate([self.objectives, numpy.asarray(values, dtype=float)])
            keep = survivors(pooled, self.size)
            self.population, self.objectives = [pool[i] for i in keep], pooled[keep]
            self.generation += 1
            first = non_dominated_sort(self.objectives)[0]
            record = {"generation": self.generation, "evaluations": evaluate.evaluations, "front_size": len(first),
                      "best": [float(v) for v in self.objectives.min(axis=0)]}
            self.history.append(record)
            if callback is not None:
                callback(record)
        return self.front()

    def front(self) -> list[int]:
        """Indices of the current population's first front, by the first objective."""
        first = non_dominated_sort(self.objectives)[0]
        return sorted(first, key=lambda i: tuple(self.objectives[i]))


# --------------------------------------------------------------------------- sparse networks
@dataclass
class SparseNetwork:
    theta: numpy.ndarray      # all parameters, as ga.flatten orders them
    mask: numpy.ndarray       # one bool per parameter; biases always present

    @property
    def connections(self) -> int:
        return int(self.mask.sum())


class SparseNetworks:
    """Networks ``Network.from_sizes(sizes)`` whose weights each may be absent: the genome is θ plus a
    mask; objectives (log-likelihood cost, present connections).

    Variation: uniform crossover of θ and the mask together, Gaussian mutation of θ
    (``mutation_rate``, ``mutation_std``), each mask bit flipped with probability ``flip_rate``.
    The first masks have a density drawn uniformly from [0.05, 1] each, so the first
    generation already spans the range of sizes.
    """

    def __init__(self, sizes, activation: str = "tanh", mutation_rate: float = 0.1, mutation_std: float = 0.3,
                 flip_rate: float = 0.02):
        from nndl.network import Network

        self.sizes, self.activation = [int(s) for s in sizes], activation
        self.mutation_rate = checks.rate("mutation_rate", mutation_rate)
        self.mutation_std = checks.positive("mutation_std", mutation_std)
        self.flip_rate = checks.rate("flip_rate", flip_rate)
        net = Network.from_sizes(self.sizes, activation=activation, output_activation="linear", cost="quadratic")
        self.is_weight = numpy.concatenate([numpy.full(p.value.size, p.value.ndim == 2) for p in net.params])
        self.n = len(self.is_weight)
        self._network = None

    def __getstate__(self):
        return {**self.__dict__, "_network": None}

    def random(self, rng) -> SparseNetwork:
        density = rng.uniform(0.05, 1.0)
        return SparseNetwork(rng.normal(0.0, 1.0, self.n), (rng.random(self.n) < density) & self.is_weight)

    def vary(self, a: SparseNetwork, b: SparseNetwork, rng) -> SparseNetwork:
        pick = rng.random(self.n) < 0.5
        theta = gaussian_mutation(numpy.where(pick, a.theta, b.theta), self.mutation_rate, self.mutation_std, rng)
        mask = numpy.where(pick, a.mask, b.mask) ^ ((rng.random(self.n) < self.flip_rate) & self.is_weight)
        return SparseNetwork(theta, mask)

    @property
    def network(self):
        if self._network is None:
            from nndl.network import Network

            self._network = Network.from_sizes(self.sizes, activation=self.activation, output_activation="linear",
                                               cost="quadratic")
        return self._network

    def __call__(self, individual: SparseNetwork):
        """The decoder: the network with θ ⊙ (mask or bias), as a function with ``.connections``."""
        unflatten(self.network, numpy.where(individual.mask | ~self.is_weight, individual.theta, 0.0))
        return _Counted(self.network.forward, individual.connections)


class _Counted:
    def __init__(self, forward, connections: int):
        self.forward, self.connections = forward, connections

    def __call__(self, x):
        return self.forward(x)


class CostAndSize:
    """Objectives (cost, connections) of a :class:`~nndl.evolution.tasks.Classification` task."""

    def __init__(self, task):
        self.task = task

    def evaluate(self, net):
        cost, _ = self.task.scores(net)
        return (cost, float(net.connections)), False
