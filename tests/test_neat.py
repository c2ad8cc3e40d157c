"""NEAT: genes aligned by innovation number, compatibility distance, speciation, the network a genome
computes (by hand), structural mutations, and a real XOR run."""
import math

import numpy as np
import pytest

from nndl.errors import NndlError
from nndl.evolution.evaluate import Evaluator
from nndl.evolution.genome import (ConnectionGene, Genome, Innovations, NEATConfig, NodeGene, align, crossover,
                                   distance)
from nndl.evolution.neat import NEAT, share_offspring
from nndl.evolution.phenotype import FeedForward, reference_outputs, to_network, topological_order
from nndl.evolution.tasks import XOR


def make(n_in, n_out, hidden, genes, activation="steep_sigmoid", biases=None):
    """A genome from (innovation, source, target, weight[, enabled]) tuples."""
    g = Genome(n_in, n_out)
    biases = biases or {}
    for i in range(n_in):
        g.nodes[i] = NodeGene(i, "input")
    for j in range(n_in, n_in + n_out):
        g.nodes[j] = NodeGene(j, "output", biases.get(j, 0.0), activation)
    for h in hidden:
        g.nodes[h] = NodeGene(h, "hidden", biases.get(h, 0.0), activation)
    for gene in genes:
        number, source, target, weight, *enabled = gene
        g.connections[number] = ConnectionGene(number, source, target, weight, enabled[0] if enabled else True)
    return g


def stanley_parents():
    """The two parents of Stanley & Miikkulainen's figure 4 (nodes 1-3 inputs there, 0-2 here; 4 the output
    → 3; hidden 5, 6 → 4, 5).  Parent 1: genes 1-5 and 8; parent 2: 1-7, 9 and 10."""
    p1 = make(3, 1, [4], [(1, 0, 3, 0.1), (2, 1, 3, 0.2, False), (3, 2, 3, 0.3), (4, 1, 4, 0.4), (5, 4, 3, 0.5),
                          (8, 0, 4, 0.8)])
    p2 = make(3, 1, [4, 5], [(1, 0, 3, 1.1), (2, 1, 3, 1.2, False), (3, 2, 3, 1.3), (4, 1, 4, 1.4),
                             (5, 4, 3, 1.5, False), (6, 4, 5, 1.6), (7, 5, 3, 1.7), (9, 2, 4, 1.9),
                             (10, 0, 5, 2.0)])
    return p1, p2


def test_genes_align_by_innovation_number():
    p1, p2 = stanley_parents()
    matching, disjoint, excess = align(p1, p2)
    assert matching == [1, 2, 3, 4, 5]
    assert disjoint == [6, 7, 8]
    assert excess == [9, 10]


def test_crossover_takes_matching_genes_from_either_parent_and_the_rest_from_the_fitter():
    p1, p2 = stanley_parents()
    config = NEATConfig(disable_inherit_rate=0.75)
    seen = {k: set() for k in range(1, 6)}
    for seed in range(40):
        child = crossover(p1, p2, config, np.random.default_rng(seed))
        assert sorted(child.connections) == [1, 2, 3, 4, 5, 8]              # p1's genes: its structure
        assert child.connections[8].weight == 0.8
        for k in range(1, 6):
            w = child.connections[k].weight
            assert w in (p1.connections[k].weight, p2.connections[k].weight)
            seen[k].add(w)
            assert (child.connections[k].source, child.connections[k].target) == \
                (p1.connections[k].source, p1.connections[k].target)
    assert all(len(ws) == 2 for ws in seen.values())                        # both parents contribute
    child = crossover(p2, p1, config, np.random.default_rng(0))             # p2 the fitter now
    assert sorted(child.connections) == [1, 2, 3, 4, 5, 6, 7, 9, 10]
    assert sorted(child.nodes) == [0, 1, 2, 3, 4, 5]


def test_a_gene_disabled_in_one_parent_is_disabled_with_the_inherit_rate():
    p1, p2 = stanley_parents()                                              # gene 5: enabled in p1 only
    disabled = [not crossover(p1, p2, NEATConfig(), np.random.default_rng(s)).connections[5].enabled
                for s in range(400)]
    assert 0.68 < np.mean(disabled) < 0.82                                  # 0.75


def test_compatibility_distance_by_hand():
    p1, p2 = stanley_parents()
    config = NEATConfig(c1=1.0, c2=2.0, c3=0.4)
    w_bar = np.mean([1.0, 1.0, 1.0, 1.0, 1.0])                              # |0.k − 1.k| for genes 1–5
    assert distance(p1, p2, config) == pytest.approx(1.0 * 2 + 2.0 * 3 + 0.4 * w_bar)   # N = 1 below 20 genes
    assert distance(p1, p2, config.replace(normalize_below=0)) == pytest.approx((2 + 2.0 * 3) / 9 + 0.4 * w_bar)
    assert distance(p1, p1, config) == 0.0


def test_speciation_splits_a_population_with_distant_genomes():
    neat = NEAT(2, 1, NEATConfig(population=10, compatibility_threshold=3.0), seed=0)
    near = [make(2, 1, [], [(0, 0, 2, 0.5 + 0.01 * k), (1, 1, 2, -0.5)]) for k in range(5)]
    far = [make(2, 1, [3, 4], [(0, 0, 2, 0.5), (1, 1, 2, -0.5, False), (2, 1, 3, 1.0), (3, 3, 2, 1.0),
                               (4, 0, 4, 1.0), (5, 4, 2, 1.0), (6, 1, 4, 1.0)]) for _ in range(5)]
    neat.speciate(near + far)
    assert len(neat.species) == 2
    assert [len(s.members) for s in neat.species] == [5, 5]
    assert all(g in neat.species[0].members for g in near) and all(g in neat.species[1].members for g in far)
    neat.speciate(near)                                                     # the far species dies out
    assert len(neat.species) == 1


def steep(z):
    return 1.0 / (1.0 + math.exp(-4.9 * z))


def test_the_network_computes_what_its_genes_say():
    # inputs 0, 1; output 2; hidden 3 and 4 (4 fed by 3: two depth levels); a skip gene 0 → 2; a disabled gene
    g = make(2, 1, [3, 4], [(0, 0, 2, 0.7), (1, 1, 2, -1.2, False), (2, 0, 3, 1.5), (3, 1, 3, -2.0),
                            (4, 3, 4, 0.8), (5, 4, 2, 2.5), (6, 1, 4, 0.3)], biases={2: -0.4, 3: 0.1, 4: -0.2})
    g.nodes[4].activation = "gauss"
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.3, -0.7], [2.0, 1.0]])
    want = []
    for x0, x1 in x:
        a3 = steep(0.1 + 1.5 * x0 - 2.0 * x1)
        a4 = math.exp(-(-0.2 + 0.8 * a3 + 0.3 * x1) ** 2)
        want.append([steep(-0.4 + 0.7 * x0 + 2.5 * a4)])                   # gene 1 is disabled
    np.testing.assert_allclose(FeedForward(g)(x), want, rtol=1e-12)
    np.testing.assert_allclose(reference_outputs(g, x), want, rtol=1e-12)
    order, depth = topological_order(g)
    assert order == [3, 4, 2] and depth[2] == 3


def test_a_cycle_is_refused():
    g = make(1, 1, [2, 3], [(0, 0, 2, 1.0), (1, 2, 3, 1.0), (2, 3, 2, 1.0), (3, 3, 1, 1.0)])
    with pytest.raises(NndlError, match="cycle"):
        FeedForward(g)
    assert g.creates_cycle(3, 2) and not g.creates_cycle(0, 3)


def test_structural_mutations_keep_the_network_acyclic_and_numbers_global():
    config = NEATConfig(add_connection_rate=0.5, add_node_rate=0.3)
    innovations = Innovations(3, 2)
    rng = np.random.default_rng(1)
    genomes = [Genome.initial(config, innovations, rng) for _ in range(10)]
    assert all(sorted(g.connections) == list(range(6)) for g in genomes)   # the same 6 first genes everywhere
    x = rng.normal(size=(7, 3))
    for _ in range(20):
        for g in genomes:
            g.mutate(config, innovations, rng)
            np.testing.assert_allclose(FeedForward(g)(x), reference_outputs(g, x), rtol=1e-10, atol=1e-12)
    numbers = {}
    for g in genomes:                                                       # one number per (source, target)
        for c in g.connections.values():
            assert numbers.setdefault((c.source, c.target), c.innovation) == c.innovation
    assert max(len(g.hidden) for g in genomes) > 2


def test_add_node_splits_a_connection():
    config = NEATConfig()
    innovations = Innovations(1, 1)
    g = Genome.initial(config, innovations, np.random.default_rng(0))
    old = g.connections[0]
    assert g.mutate_add_node(config, innovations, np.random.default_rng(0))
    assert not old.enabled and g.hidden == [2]
    new = {(c.source, c.target): c.weight for c in g.enabled()}
    assert new == {(0, 2): 1.0, (2, 1): old.weight}
    other = Genome.initial(config, innovations, np.random.default_rng(1))
    other.mutate_add_node(config, innovations, np.random.default_rng(0))
    assert other.hidden == [2] and sorted(other.connections) == sorted(g.connections)   # the same innovation


def test_offspring_shares_sum_to_the_population():
    assert share_offspring([1.0, 3.0], 10) == [3, 7]                        # ties go to the first
    assert sum(share_offspring([0.3, 0.3, 0.4], 7)) == 7
    assert share_offspring([0.0, 0.0], 5) in ([3, 2], [2, 3])
    assert share_offspring([1.0, 3.0], 8) == [2, 6]


def test_a_stagnant_species_gets_no_offspring():
    neat = NEAT(2, 1, NEATConfig(population=10, stagnation=3), seed=0)
    near = [make(2, 1, [], [(0, 0, 2, 0.5), (1, 1, 2, -0.5)]) for _ in range(5)]
    far = [make(2, 1, [3, 4], [(0, 0, 2, 0.5), (1, 1, 2, -0.5, False), (2, 1, 3, 1.0), (3, 3, 2, 1.0),
                               (4, 0, 4, 1.0), (5, 4, 2, 1.0), (6, 1, 4, 1.0)]) for _ in range(5)]
    for g in near:
        g.fitness = 2.0
    for g in far:
        g.fitness = 1.0
    neat.speciate(near + far)
    neat.generation = 0
    neat.reproduce()
    assert len(neat.species) == 2
    neat.generation = 3                                    # the far species has not improved for 3 generations
    neat.species[0].last_improved = 3
    for s in neat.species:
        s.members = near if s.id == 0 else far
    neat.reproduce()
    assert [s.id for s in neat.species] == [0]


def test_neat_solves_xor():
    for seed in (0, 1):
        neat = NEAT(2, 1, NEATConfig(), seed=seed)
        with Evaluator(FeedForward, XOR()) as evaluate:
            result = neat.run(evaluate, generations=60)
        assert result["solved"], seed
        y = FeedForward(result["best"])(XOR.x)[:, 0]
        assert np.all((y > 0.5) == XOR.t.astype(bool))
        assert result["best"].size()["hidden"] >= 1                       # XOR needs a hidden node


def test_a_layered_genome_becomes_an_nndl_network():
    g = make(2, 2, [4, 5], [(0, 0, 4, 0.7), (1, 1, 4, -1.2), (2, 1, 5, 0.4), (3, 4, 2, 1.5), (4, 5, 2, -0.3),
                            (5, 5, 3, 2.0), (6, 0, 3, 9.0, False)], biases={2: 0.2, 3: -0.1, 4: 0.3, 5: -0.5})
    net = to_network(g)
    x = np.random.default_rng(0).normal(size=(6, 2))
    np.testing.assert_allclose(net.forward(x), FeedForward(g)(x), rtol=1e-12)
    assert [layer.units for layer in net.layers] == [2, 2]
    g.connections[6].enabled = True                                        # a skip gene 0 → 3
    with pytest.raises(NndlError, match="skips a level"):
        to_network(g)
    g.connections[6].enabled = False
    g.nodes[4].activation = "gauss"
    with pytest.raises(NndlError, match="node functions"):
        to_network(g)
