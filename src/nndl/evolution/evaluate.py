"""The fitness of a population, one individual after another or across processes.

An evaluation maps an individual (a genome, a weight vector) to ``(fitness, solved)``:

    phenotype = decoder(individual)          # a function from inputs (B, n_in) to outputs (B, n_out)
    fitness, solved = task.evaluate(phenotype)

Evolution is embarrassingly parallel here: the individuals of a generation are
independent, so :class:`Evaluator` with ``workers`` > 1 hands them to a
:class:`concurrent.futures.ProcessPoolExecutor` (processes, because the inner loops are
small NumPy operations that hold the GIL most of the time).  The decoder and the task go
to each worker once, when it starts; every individual then travels alone, and
``executor.map`` gives the results back in the population's order.  All random draws of
a run happen in the parent process and a task's fitness is a deterministic function of
the individual (cart-pole's starting states are drawn once, from the task's seed), so a
seeded run gives the same numbers, bit for bit, with any number of workers.

Each worker limits its BLAS to one thread (``threadpoolctl``): W workers on W cores.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from nndl import validation
from nndl.evolution import checks

_WORKER: tuple | None = None       # (decoder, task) in a worker process


def _start_worker(decoder, task) -> None:
    global _WORKER
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    _WORKER = (decoder, task)


def evaluate_one(decoder, task, individual) -> tuple[float, bool]:
    """``task.evaluate(decoder(individual))`` as ``(float, bool)``."""
    result = task.evaluate(decoder(individual))
    fitness, solved = result if isinstance(result, tuple) else (result, False)
    return fitness, bool(solved)


def _evaluate_in_worker(individual):
    decoder, task = _WORKER
    return evaluate_one(decoder, task, individual)


class Evaluator:
    """Fitness of populations for one run; ``workers`` processes (1: in this process).

    Parameters
    ----------
    decoder : callable
        individual → phenotype (a picklable object: a top-level function or class instance).
    task : object with ``evaluate(phenotype) -> (fitness, solved)`` (or a fitness alone)
    workers : int
        Processes, ≥ 1; more than the cores this process may use only adds overhead.

    ``evaluations`` counts the individuals evaluated so far.  Use as a context manager
    (or call :meth:`close`) to stop the worker processes.
    """

    def __init__(self, decoder, task, workers: int = 1):
        self.decoder, self.task = decoder, task
        self.workers = validation.whole("workers", workers, low=1, high=256)
        self.evaluations = 0
        self._pool = None

    def __call__(self, individuals) -> tuple[list[float], list[bool]]:
        """``(fitnesses, solved flags)`` of ``individuals``, in order; NndlError on a fitness that is not finite."""
        individuals = list(individuals)
        if self.workers == 1 or len(individuals) < 2:
            results = [evaluate_one(self.decoder, self.task, ind) for ind in individuals]
        else:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, initializer=_start_worker,
                                                 initargs=(self.decoder, self.task))
            chunk = max(1, len(individuals) // (4 * self.workers))
            results = list(self._pool.map(_evaluate_in_worker, individuals, chunksize=chunk))
        self.evaluations += len(individuals)
        fitnesses = [checks.fitness(f, i) for i, (f, _) in enumerate(results)]
        return fitnesses, [s for _, s in results]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def available_cores() -> int:
    """The cores this process may run on (a default for ``--workers``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def champion(fitnesses, solved) -> int:
    """The index of a generation's champion: the fittest of those that solve the task, if any do, else the fittest."""
    winners = [i for i, s in enumerate(solved) if s]
    return max(winners, key=lambda i: fitnesses[i]) if winners else max(range(len(fitnesses)),
                                                                         key=lambda i: fitnesses[i])


def run_generations(algorithm, evaluate, generations: int, callback=None) -> dict:
    """``algorithm.step(evaluate)`` until a generation solves the task or ``generations`` have run;
    ``callback(record)`` after each.  Returns ``{"solved", "generations", "evaluations", "best"}``."""
    generations = validation.whole("generations", generations, low=1)
    for _ in range(generations):
        record = algorithm.step(evaluate)
        if callback is not None:
            callback(record)
        if record["solved"]:
            break
    return {"solved": algorithm.best_solved, "generations": algorithm.generation,
            "evaluations": evaluate.evaluations, "best": algorithm.best}
