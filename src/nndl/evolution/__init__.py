"""Neuroevolution: training networks by selection and variation instead of gradients.

One module per algorithm, each with its rules in its docstring:

* :mod:`~nndl.evolution.ga` — a genetic algorithm over the weight vector of a fixed nndl
  :class:`~nndl.network.Network` (tournament selection, uniform crossover, Gaussian mutation, elitism);
* :mod:`~nndl.evolution.genome`, :mod:`~nndl.evolution.neat` — NEAT (Stanley & Miikkulainen 2002):
  node and connection genes with global innovation numbers, structural mutations, crossover aligned
  by innovation number, speciation by compatibility distance, explicit fitness sharing, stagnation;
* :mod:`~nndl.evolution.phenotype` — a genome run as a feed-forward network, batch-vectorized (and as an
  nndl Network where its topology is layered);
* :mod:`~nndl.evolution.cppn`, :mod:`~nndl.evolution.hyperneat` — CPPNs and HyperNEAT painting the
  weights of a substrate, which runs as an nndl Network;
* :mod:`~nndl.evolution.nsga2` — NSGA-II (Deb et al. 2002) for two or more objectives;
* :mod:`~nndl.evolution.evaluate` — fitness of a population, serially or across processes
  (the same numbers either way);
* :mod:`~nndl.evolution.tasks`, :mod:`~nndl.evolution.cartpole` — XOR, cart-pole, iris;
* :mod:`~nndl.evolution.storage` — genomes as JSON, with a bounded, checked loader;
* :mod:`~nndl.evolution.runner` — a run from a few settings (``nndl evolve``, the experiments);
* :mod:`~nndl.evolution.drawing` — the figures: fitness and species, topologies, substrates, fronts.
"""
