"""Evaluating one NEAT population for cart-pole serially and across worker processes.

    OMP_NUM_THREADS=1 python bench/bench_evolution_workers.py --episodes 20 --repeats 2

The first generation of 150 genomes (seed 0), each balancing from ``--episodes`` starting states
for up to 500 steps; prints one JSON line: seconds per evaluation of the whole population for each
worker count (the pool started beforehand), the sum of fitnesses (the same for every count), and
the load average.  Compare worker counts within one run: the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.evolution.evaluate import Evaluator  # noqa: E402
from nndl.evolution.runner import setup  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = p.parse_args(argv)
    s = setup("neat", "cartpole", population=150, seed=0, episodes=args.episodes)
    seconds, totals = {w: [] for w in args.workers}, set()
    for _ in range(args.repeats):
        for w in args.workers:
            with Evaluator(s.decoder, s.task, workers=w) as evaluate:
                evaluate(s.algorithm.population[:4])
                start = time.perf_counter()
                fitnesses, _ = evaluate(s.algorithm.population)
                seconds[w].append(round(time.perf_counter() - start, 3))
            totals.add(sum(fitnesses))
    print(json.dumps({"seconds": seconds, "fitness_sums": sorted(totals), "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
