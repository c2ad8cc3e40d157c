"""NSGA-II on iris: classification cost against the number of connections, and the Pareto front drawn.

    python bench/experiment_nsga2.py --generations 200 --population 100 --seed 0 \\
        --out docs/results/evolution/nsga2_iris.jsonl --figure docs/results/evolution/nsga2_iris_front.png

Networks [4, H, 3] (tanh hidden units, softmax read-out) in which each weight may be absent
(:class:`nndl.evolution.nsga2.SparseNetworks`); the two objectives, both minimized, are the
training set's mean log-likelihood cost and the number of connections present.  Iris is split
70/30 (stratified, seed 0), standardized on the training part.  One JSON line per 20 generations
(front size, best cost), then one line per member of the final first front: connections, cost,
training and test accuracy.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.data.csv_table import load_csv  # noqa: E402
from nndl.evolution import drawing  # noqa: E402
from nndl.evolution.evaluate import Evaluator  # noqa: E402
from nndl.evolution.nsga2 import NSGA2, CostAndSize, SparseNetworks  # noqa: E402
from nndl.evolution.tasks import Classification  # noqa: E402
from nndl.files import atomic_write  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=Path(os.environ.get("NNDL_DATA", "/work/shared/data")) / "iris/iris.csv")
    p.add_argument("--hidden", type=int, default=8)
    p.add_argument("--generations", type=int, default=200)
    p.add_argument("--population", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--figure", type=Path, default=None)
    args = p.parse_args(argv)
    splits, _ = load_csv(args.data, split=(0.7, 0.0, 0.3), standardize=True, seed=0)
    task = Classification(splits.train.x, splits.train.y, 3)
    problem = SparseNetworks([4, args.hidden, 3])
    nsga = NSGA2(problem, args.population, seed=args.seed)
    lines = []

    def report(record):
        if record["generation"] % 20 == 0:
            line = {**record, "best_cost": record["best"][0]}
            del line["best"]
            print(json.dumps(line), flush=True)
            lines.append(line)

    start = time.perf_counter()
    with Evaluator(problem, CostAndSize(task), args.workers) as evaluate:
        front = nsga.run(evaluate, args.generations, callback=report)
        evaluations = evaluate.evaluations
    seconds = time.perf_counter() - start
    seen, train_acc, test_acc, kept = set(), [], [], []
    for i in front:
        cost, connections = nsga.objectives[i]
        net = problem(nsga.population[i])
        _, a = task.scores(net)
        _, t = task.scores(net, splits.test.x, splits.test.y)
        train_acc.append(a)
        test_acc.append(t)
        kept.append(i)
        if (round(cost, 6), connections) in seen:
            continue
        seen.add((round(cost, 6), connections))
        line = {"front": True, "connections": int(connections), "cost": round(float(cost), 4),
                "train_accuracy": round(a, 4), "test_accuracy": round(t, 4)}
        print(json.dumps(line), flush=True)
        lines.append(line)
    total = {"summary": True, "generations": args.generations, "population": args.population,
             "evaluations": evaluations, "seconds": round(seconds, 1), "front_points": len(seen),
             "weights_in_full_network": int(problem.is_weight.sum())}
    print(json.dumps(total), flush=True)
    lines.append(total)
    if args.out:
        with atomic_write(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in lines)
    if args.figure:
        drawing.pareto_front(nsga.objectives, kept, train_acc, args.figure,
                             f"NSGA-II on iris: networks [4, {args.hidden}, 3], {args.generations} generations "
                             f"of {args.population}", test_accuracies=test_acc)


if __name__ == "__main__":
    main()
