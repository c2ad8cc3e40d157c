"""One evolutionary run from a few settings — what ``nndl evolve`` and the experiments share.

:func:`setup` builds the task, the decoder (individual → network) and the algorithm for a
method (``neat``, ``ga`` or ``hyperneat``) and a task (``xor`` or ``cartpole``):

* neat: :class:`~nndl.evolution.neat.NEAT`, genomes run as :class:`~nndl.evolution.phenotype.FeedForward`;
* ga: :class:`~nndl.evolution.ga.GeneticAlgorithm` over an nndl Network [inputs, hidden, outputs]
  (tanh hidden units, a sigmoid output);
* hyperneat: NEAT over CPPNs painting a substrate (inputs in a row, a 3 × 3 hidden grid, outputs in a
  row) that runs as an nndl Network.
"""
from __future__ import annotations

from dataclasses import dataclass

from nndl import validation
from nndl.evolution import checks
from nndl.evolution.cppn import INPUTS as CPPN_INPUTS, cppn_config
from nndl.evolution.ga import GAConfig, GeneticAlgorithm, NetworkDecoder
from nndl.evolution.genome import NEATConfig
from nndl.evolution.hyperneat import HyperNEATDecoder, Substrate
from nndl.evolution.neat import NEAT
from nndl.evolution.phenotype import FeedForward
from nndl.evolution.tasks import CartPoleBalance, XOR

METHODS = ("neat", "ga", "hyperneat")
TASKS = ("xor", "cartpole")
#: Population sizes when none is given: the paper's 150 for NEAT, 100 for the GA.
DEFAULT_POPULATION = {"neat": 150, "hyperneat": 150, "ga": 100}


@dataclass
class Setup:
    method: str
    task_name: str
    task: object
    decoder: object
    algorithm: object


def make_task(name: str, episodes: int = 5, seed: int = 0, start_range: float = 0.05):
    name = validation.choice("task", name, TASKS)
    return XOR() if name == "xor" else CartPoleBalance(episodes, seed=seed, start_range=start_range)


def setup(method: str, task: str, population: int | None = None, seed: int = 0, episodes: int = 5,
          hidden: int = 4, mutation_rate: float | None = None, start_range: float = 0.05) -> Setup:
    """Everything a run needs; every setting checked (one NndlError line) before any work."""
    method = validation.choice("method", method, METHODS)
    population = checks.population(DEFAULT_POPULATION[method] if population is None else population)
    seed = validation.seed("seed", seed)
    hidden = validation.whole("hidden", hidden, low=1, high=10_000)
    if mutation_rate is not None:
        mutation_rate = checks.rate("mutation rate", mutation_rate)
    the_task = make_task(task, episodes, seed, start_range)
    if method == "ga":
        decoder = NetworkDecoder([the_task.inputs, hidden, the_task.outputs])
        config = GAConfig(population=population,
                          **({} if mutation_rate is None else {"mutation_rate": mutation_rate}))
        algorithm = GeneticAlgorithm(decoder.parameters, config, seed)
    elif method == "neat":
        decoder = FeedForward
        config = NEATConfig(population=population,
                            **({} if mutation_rate is None else {"weight_mutation_rate": mutation_rate}))
        algorithm = NEAT(the_task.inputs, the_task.outputs, config, seed)
    else:
        decoder = HyperNEATDecoder(Substrate.for_task(the_task.inputs, the_task.outputs))
        config = cppn_config(population=population,
                             **({} if mutation_rate is None else {"weight_mutation_rate": mutation_rate}))
        algorithm = NEAT(CPPN_INPUTS, decoder.substrate.cppn_outputs, config, seed)
    return Setup(method, task, the_task, decoder, algorithm)
