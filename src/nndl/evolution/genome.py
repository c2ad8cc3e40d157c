"""NEAT genomes (Stanley & Miikkulainen 2002): node genes, connection genes, innovation numbers.

A genome is a list of **node genes** (id, kind: input / output / hidden, bias b, node
function σ) and **connection genes** (innovation number, source, target, weight w,
enabled).  Its network computes, for every non-input node j in topological order,

    a_j = σ_j( b_j + Σ_{enabled genes i → j} w_ij · a_i ),

inputs being the task's inputs.  (Stanley's genomes feed a constant bias input; a bias
per node is the same function with one gene fewer per node — our choice, as in most
NEAT libraries.)  Networks here are feed-forward: no mutation may close a cycle.

Innovation numbers
------------------
Every new structure gets a **global innovation number** from :class:`Innovations`, the
run's historical record: the connection i → j has the same number in every genome that
has it, and splitting connection k always makes the same new node.  Genes with the same
number are the same structure, so two genomes line up gene by gene without analysing
their topology.

Mutations (:meth:`Genome.mutate`)
---------------------------------
* weights, with probability ``weight_mutation_rate`` per genome: each weight and bias is
  perturbed, w ← w + N(0, ``weight_perturb_std``²), or with probability
  ``weight_replace_rate`` replaced by a fresh N(0, ``weight_init_std``²); clipped to ±``weight_max``;
* add connection (``add_connection_rate``): a new gene i → j between two unconnected
  nodes, weight N(0, ``weight_init_std``²), unless it would close a cycle;
* add node (``add_node_rate``): an enabled connection i → j is disabled and replaced by
  i → new (weight 1) and new → j (the old weight), so the network barely changes;
* node function (``activation_mutation_rate``, CPPNs): a hidden node draws a new σ.

Crossover (:func:`crossover`)
-----------------------------
Genes line up by innovation number.  A **matching** gene (in both parents) is inherited
from either parent at random; a **disjoint** gene (inside the other parent's range of
innovation numbers) or **excess** gene (beyond it) only from the fitter parent.  A gene
disabled in either parent is disabled in the child with probability ``disable_inherit_rate``
(0.75 in the paper).  The child has the fitter parent's structure, so it stays acyclic.

Compatibility distance (:func:`distance`)
-----------------------------------------
    δ = c1 · E / N + c2 · D / N + c3 · W̄,

E excess and D disjoint genes, W̄ the mean |w₁ − w₂| over matching genes, N the number of
genes of the larger genome (1 if both have fewer than ``normalize_below`` = 20).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields

import numpy

from nndl.errors import NndlError
from nndl.evolution import activations, checks
from nndl import validation


# --------------------------------------------------------------------------- settings
@dataclass
class NEATConfig:
    """The settings of a NEAT run (defaults: Stanley & Miikkulainen's XOR experiment, where they apply)."""

    population: int = 150
    activation: str = "steep_sigmoid"          # hidden nodes' σ
    output_activation: str = "steep_sigmoid"
    activations: tuple = ()                    # σ a new hidden node draws from (CPPNs); () = activation only
    weight_init_std: float = 1.0
    weight_max: float = 8.0
    weight_mutation_rate: float = 0.8
    weight_perturb_std: float = 0.5
    weight_replace_rate: float = 0.1
    add_connection_rate: float = 0.05
    add_node_rate: float = 0.03
    activation_mutation_rate: float = 0.0
    disable_inherit_rate: float = 0.75
    crossover_rate: float = 0.75               # 1 − the paper's 25% of offspring from mutation alone
    interspecies_rate: float = 0.001
    c1: float = 1.0
    c2: float = 1.0
    c3: float = 0.4
    compatibility_threshold: float = 3.0
    normalize_below: int = 20
    survival_threshold: float = 0.2            # the best fraction of a species that breeds
    elitism_min_size: int = 5                  # a species of at least this size keeps its champion
    stagnation: int = 15                       # generations without improvement before a species dies
    initial_connectivity: float = 1.0          # fraction of input→output genes in the first genomes

    def __post_init__(self):
        self.population = checks.population(self.population)
        for name in ("activation", "output_activation"):
            activations.check(getattr(self, name), name)
        self.activations = tuple(activations.check(a, "activations") for a in self.activations)
        for name in ("weight_init_std", "weight_max", "weight_perturb_std", "compatibility_threshold"):
            setattr(self, name, checks.positive(name, getattr(self, name)))
        for name in ("weight_mutation_rate", "weight_replace_rate", "add_connection_rate", "add_node_rate",
                     "activation_mutation_rate", "disable_inherit_rate", "crossover_rate", "interspecies_rate",
                     "survival_threshold", "initial_connectivity"):
            setattr(self, name, checks.rate(name, getattr(self, name)))
        for name in ("c1", "c2", "c3"):
            setattr(self, name, checks.non_negative(name, getattr(self, name)))
        self.normalize_below = validation.whole("normalize_below", self.normalize_below, low=0)
        self.elitism_min_size = validation.whole("elitism_min_size", self.elitism_min_size, low=1)
        self.stagnation = validation.whole("stagnation", self.stagnation, low=1)

    def replace(self, **changes) -> "NEATConfig":
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise NndlError(f"unknown NEAT setting(s): {', '.join(unknown)}")
        return NEATConfig(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})


# --------------------------------------------------------------------------- genes
@dataclass
class NodeGene:
    id: int
    kind: str                  # "input", "output" or "hidden"
    bias: float = 0.0
    activation: str = "linear"


@dataclass
class ConnectionGene:
    innovation: int
    source: int
    target: int
    weight: float
    enabled: bool = True


class Innovations:
    """The run's historical record: one innovation number per connection (source, target), one
    node id per split connection, shared by every genome of the run.

    Node ids 0 … n_inputs − 1 are the inputs, then the outputs; hidden nodes count on from there.
    """

    def __init__(self, n_inputs: int, n_outputs: int):
        self.n_inputs, self.n_outputs = int(n_inputs), int(n_outputs)
        self.next_node = self.n_inputs + self.n_outputs
        self.next_innovation = 0
        self.connections: dict[tuple[int, int], int] = {}
        self.splits: dict[int, int] = {}

    def connection(self, source: int, target: int) -> int:
        """The innovation number of source → target (a new one the first time it appears in the run)."""
        key = (int(source), int(target))
        if key not in self.connections:
            self.connections[key] = self.next_innovation
            self.next_innovation += 1
        return self.connections[key]

    def split(self, innovation: int, genome: "Genome") -> int:
        """The id of the node that splits connection ``innovation`` (the same in every genome, unless this
        genome already has that node — split twice after re-enabling — then a fresh one)."""
        node = self.splits.get(innovation)
        if node is None or node in genome.nodes:
            node = self.next_node
            self.next_node += 1
            self.splits.setdefault(innovation, node)
        return node

    def observe(self, genome: "Genome") -> None:
        """Make room for the ids and numbers of a genome made elsewhere (loaded from a file)."""
        for gene in genome.connections.values():
            self.connections.setdefault((gene.source, gene.target), gene.innovation)
            self.next_innovation = max(self.next_innovation, gene.innovation + 1)
        self.next_node = max([self.next_node] + [n + 1 for n in genome.nodes])


# --------------------------------------------------------------------------- the genome
@dataclass
class Genome:
    """Node genes by id and connection genes by innovation number; ``fitness`` once evaluated."""

    n_inputs: int
    n_outputs: int
    nodes: dict = field(default_factory=dict)          # id -> NodeGene
    connections: dict = field(default_factory=dict)    # innovation -> ConnectionGene
    fitness: float | None = None

    @classmethod
    def initial(cls, config: NEATConfig, innovations: Innovations, rng) -> "Genome":
        """A minimal genome: inputs and outputs, each input → output gene with probability
        ``initial_connectivity`` (all of them by default, as in the paper), random weights and biases."""
        n_in, n_out = innovations.n_inputs, innovations.n_outputs
        genome = cls(n_in, n_out)
        for i in range(n_in):
            genome.nodes[i] = NodeGene(i, "input")
        for j in range(n_in, n_in + n_out):
            genome.nodes[j] = NodeGene(j, "output", float(rng.normal(0.0, config.weight_init_std)),
                                       config.output_activation)
        for i in range(n_in):
            for j in range(n_in, n_in + n_out):
                if config.initial_connectivity >= 1.0 or rng.random() < config.initial_connectivity:
                    genome.add_connection(innovations, i, j, float(rng.normal(0.0, config.weight_init_std)))
        return genome

    def copy(self) -> "Genome":
        return copy.deepcopy(self)

    # -- what it is ----------------------------------------------------------------------------
    @property
    def inputs(self) -> list[int]:
        return list(range(self.n_inputs))

    @property
    def outputs(self) -> list[int]:
        return list(range(self.n_inputs, self.n_inputs + self.n_outputs))

    @property
    def hidden(self) -> list[int]:
        return sorted(n for n, g in self.nodes.items() if g.kind == "hidden")

    def enabled(self) -> list[ConnectionGene]:
        return [g for _, g in sorted(self.connections.items()) if g.enabled]

    def size(self) -> dict:
        """``{"hidden": hidden nodes, "connections": enabled connection genes}``."""
        return {"hidden": len(self.hidden), "connections": len(self.enabled())}

    def add_connection(self, innovations: Innovations, source: int, target: int, weight: float) -> ConnectionGene:
        number = innovations.connection(source, target)
        gene = ConnectionGene(number, int(source), int(target), float(weight), True)
        self.connections[number] = gene
        return gene

    def creates_cycle(self, source: int, target: int) -> bool:
        """True if a gene source → target would close a cycle: target already reaches source
        (through any gene, enabled or not, so that re-enabling a gene never closes one)."""
        if source == target:
            return True
        out: dict[int, list[int]] = {}
        for g in self.connections.values():
            out.setdefault(g.source, []).append(g.target)
        stack, seen = [target], {target}
        while stack:
            node = stack.pop()
            for nxt in out.get(node, ()):
                if nxt == source:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    # -- mutations -----------------------------------------------------------------------------
    def mutate(self, config: NEATConfig, innovations: Innovations, rng) -> None:
        """The mutations of the module docstring, each with its probability, in place."""
        if rng.random() < config.weight_mutation_rate:
            self.mutate_weights(config, rng)
        if rng.random() < config.add_connection_rate:
            self.mutate_add_connection(config, innovations, rng)
        if rng.random() < config.add_node_rate:
            self.mutate_add_node(config, innovations, rng)
        if config.activations and rng.random() < config.activation_mutation_rate:
            self.mutate_activation(config, rng)

    def _new_value(self, value: float, config: NEATConfig, rng) -> float:
        if rng.random() < config.weight_replace_rate:
            value = rng.normal(0.0, config.weight_init_std)
        else:
            value = value + rng.normal(0.0, config.weight_perturb_std)
        return float(numpy.clip(value, -config.weight_max, config.weight_max))

    def mutate_weights(self, config: NEATConfig, rng) -> None:
        for _, gene in sorted(self.connections.items()):
            gene.weight = self._new_value(gene.weight, config, rng)
        for _, node in sorted(self.nodes.items()):
            if node.kind != "input":
                node.bias = self._new_value(node.bias, config, rng)

    def mutate_add_connection(self, config: NEATConfig, innovations: Innovations, rng, tries: int = 20) -> bool:
        """A new gene between two unconnected nodes (source: input or hidden; target: hidden or output);
        a disabled gene found instead is enabled again.  Returns whether the genome changed."""
        sources = self.inputs + self.hidden
        targets = self.hidden + self.outputs
        existing = {(g.source, g.target): g for g in self.connections.values()}
        for _ in range(tries):
            source = sources[int(rng.integers(len(sources)))]
            target = targets[int(rng.integers(len(targets)))]
            gene = existing.get((source, target))
            if gene is not None:
                if not gene.enabled:
                    gene.enabled = True
                    return True
                continue
            if self.creates_cycle(source, target):
                continue
            self.add_connection(innovations, source, target, float(rng.normal(0.0, config.weight_init_std)))
            return True
        return False

    def _draw_activation(self, config: NEATConfig, rng) -> str:
        if config.activations:
            return config.activations[int(rng.integers(len(config.activations)))]
        return config.activation

    def mutate_add_node(self, config: NEATConfig, innovations: Innovations, rng) -> bool:
        """Split an enabled connection i → j into i → new (weight 1) and new → j (the old weight)."""
        enabled = self.enabled()
        if not enabled:
            return False
        old = enabled[int(rng.integers(len(enabled)))]
        old.enabled = False
        node = innovations.split(old.innovation, self)
        self.nodes[node] = NodeGene(node, "hidden", 0.0, self._draw_activation(config, rng))
        self.add_connection(innovations, old.source, node, 1.0)
        self.add_connection(innovations, node, old.target, old.weight)
        return True

    def mutate_activation(self, config: NEATConfig, rng) -> bool:
        hidden = self.hidden
        if not hidden:
            return False
        node = self.nodes[hidden[int(rng.integers(len(hidden)))]]
        node.activation = self._draw_activation(config, rng)
        return True


# --------------------------------------------------------------------------- two genomes
def align(a: Genome, b: Genome) -> tuple[list[int], list[int], list[int]]:
    """Innovation numbers of the ``(matching, disjoint, excess)`` genes of two genomes.

    Excess genes lie beyond the other genome's largest innovation number, disjoint genes
    inside it; a gene of either genome that the other lacks is one or the other.
    """
    ka, kb = set(a.connections), set(b.connections)
    matching = sorted(ka & kb)
    last_a, last_b = max(ka, default=-1), max(kb, default=-1)
    disjoint, excess = [], []
    for k in sorted(ka ^ kb):
        other_last = last_b if k in ka else last_a
        (excess if k > other_last else disjoint).append(k)
    return matching, disjoint, excess


def distance(a: Genome, b: Genome, config: NEATConfig) -> float:
    """δ = c1·E/N + c2·D/N + c3·W̄ (module docstring)."""
    matching, disjoint, excess = align(a, b)
    n = max(len(a.connections), len(b.connections))
    if n < config.normalize_below:
        n = 1
    n = max(n, 1)
    w_bar = (sum(abs(a.connections[k].weight - b.connections[k].weight) for k in matching) / len(matching)
             if matching else 0.0)
    return config.c1 * len(excess) / n + config.c2 * len(disjoint) / n + config.c3 * w_bar


def crossover(fitter: Genome, other: Genome, config: NEATConfig, rng) -> Genome:
    """A child of two parents, ``fitter`` first (see the module docstring): matching genes from
    either parent at random, disjoint and excess genes from the fitter one."""
    child = Genome(fitter.n_inputs, fitter.n_outputs)
    for node_id, node in sorted(fitter.nodes.items()):
        theirs = other.nodes.get(node_id)
        source = theirs if theirs is not None and rng.random() < 0.5 else node
        child.nodes[node_id] = NodeGene(node_id, node.kind, source.bias, source.activation)
    for number, gene in sorted(fitter.connections.items()):
        theirs = other.connections.get(number)
        if theirs is None:
            inherited = ConnectionGene(number, gene.source, gene.target, gene.weight, gene.enabled)
        else:
            pick = theirs if rng.random() < 0.5 else gene
            enabled = True
            if not (gene.enabled and theirs.enabled):
                enabled = not (rng.random() < config.disable_inherit_rate)
            inherited = ConnectionGene(number, gene.source, gene.target, pick.weight, enabled)
        child.connections[number] = inherited
    return child
