"""Seeded neuroevolution runs: NEAT, the GA or HyperNEAT on XOR or cart-pole, one JSON line per run.

    python bench/experiment_neat.py --method neat --task xor --runs 20 --generations 100 \\
        --out docs/results/evolution/neat_xor.jsonl --figures docs/results/evolution
    python bench/experiment_neat.py --method neat --task cartpole --runs 10 --generations 50 ...
    python bench/experiment_neat.py --method ga --task cartpole --runs 10 --generations 50 ...
    python bench/experiment_neat.py --method hyperneat --task cartpole --runs 10 --generations 50 ...

Run k uses seed k (and, for cart-pole, the k-th set of ``--episodes`` starting states).  Each run's
line: solved, generations evaluated until the first solving genome (the first generation counts
as 1), evaluations (genomes evaluated), the champion's size (NEAT: hidden nodes and enabled
connections; HyperNEAT: the CPPN's size and the substrate connections expressed; GA: parameters),
wall seconds; for cart-pole also the fraction of 100 fresh starting states the champion balances
for 500 steps.  The last line sums up the runs.  ``--figures`` draws run ``--figure-seed`` (default 0): best fitness and
species over generations, the champion's topology (NEAT) or substrate (HyperNEAT), and saves the
champion as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.evolution import cartpole, drawing, storage  # noqa: E402
from nndl.evolution.evaluate import Evaluator  # noqa: E402
from nndl.evolution.runner import setup  # noqa: E402
from nndl.files import atomic_write  # noqa: E402

NAMES = {"xor": (["x₁", "x₂"], ["y"]), "cartpole": (["x", "ẋ", "θ", "θ̇"], ["push"])}


def one_run(args, seed: int) -> tuple[dict, object]:
    s = setup(args.method, args.task, args.population, seed, args.episodes, args.hidden,
              start_range=args.start_range)
    start = time.perf_counter()
    with Evaluator(s.decoder, s.task, args.workers) as evaluate:
        result = s.algorithm.run(evaluate, args.generations)
    best = result["best"]
    line = {"method": args.method, "task": args.task, "seed": seed, "population": s.algorithm.config.population,
            "solved": result["solved"], "generations": result["generations"],
            "evaluations": result["evaluations"], "seconds": round(time.perf_counter() - start, 2)}
    if args.method == "neat":
        line.update(best.size())
        line["species_at_end"] = len(s.algorithm.species)
    elif args.method == "hyperneat":
        line["cppn_hidden"], line["cppn_connections"] = best.size()["hidden"], best.size()["connections"]
        line["substrate_connections"] = s.decoder.connections(best)
        line["species_at_end"] = len(s.algorithm.species)
    else:
        line["parameters"] = int(len(best))
    if args.task == "cartpole":
        line["episodes"], line["start_range"] = args.episodes, args.start_range
        fresh = cartpole.reset(numpy.random.default_rng(10_000 + seed), 100, args.start_range)
        line["fresh_starts_balanced"] = float(numpy.mean(s.task.steps(s.decoder(best), fresh) >= 500))
    return line, s


def summary(lines) -> dict:
    out = {"summary": True, "runs": len(lines), "solved": sum(r["solved"] for r in lines)}
    for key in ("generations", "evaluations", "hidden", "connections", "cppn_hidden", "cppn_connections",
                "substrate_connections", "fresh_starts_balanced", "seconds"):
        values = [r[key] for r in lines if key in r]
        if values:
            out[f"mean_{key}"] = round(float(numpy.mean(values)), 3)
            if key in ("generations", "evaluations"):
                out[f"max_{key}"], out[f"median_{key}"] = max(values), float(numpy.median(values))
    return out


def figures(args, s, folder: Path, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{args.method}_{args.task}{args.tag}"
    best = s.algorithm.best
    solved_at = {"xor": None, "cartpole": 500.0}[args.task]
    if args.method in ("neat", "hyperneat"):
        drawing.fitness_and_species(s.algorithm.history, folder / f"{stem}_fitness_species.png",
                                    f"{args.method.upper() if args.method == 'neat' else 'HyperNEAT'} on "
                                    f"{args.task}, seed {seed}", solved_at)
    if args.method == "neat":
        names = NAMES[args.task]
        drawing.genome(best, folder / f"{stem}_topology.png",
                       f"an evolved {args.task} network: {best.size()['hidden']} hidden, "
                       f"{best.size()['connections']} connections", *names)
    if args.method == "hyperneat":
        drawing.substrate(s.decoder, best, folder / f"{stem}_substrate.png",
                          f"HyperNEAT on {args.task}: the substrate a CPPN painted (seed {seed})")
    fitness = best.fitness if args.method != "ga" else s.algorithm.best_fitness
    storage.save(folder / f"{stem}_seed{seed}.json", args.method, args.task, best, s.decoder, fitness,
                 run={"seed": seed, "generations": s.algorithm.generation})


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", default="neat", choices=["neat", "ga", "hyperneat"])
    p.add_argument("--task", default="xor", choices=["xor", "cartpole"])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--generations", type=int, default=100)
    p.add_argument("--population", type=int, default=None)
    p.add_argument("--episodes", type=int, default=5)
    p.add_argument("--hidden", type=int, default=4)
    p.add_argument("--start-range", type=float, default=0.05, help="cart-pole starts uniform in ±this (0.05)")
    p.add_argument("--tag", default="", help="added to the figure and genome file names")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON lines here")
    p.add_argument("--figures", type=Path, default=None, help="folder for one run's figures and genome")
    p.add_argument("--figure-seed", type=int, default=0, help="the run drawn (default 0)")
    args = p.parse_args(argv)
    lines = []
    for seed in range(args.runs):
        line, s = one_run(args, seed)
        print(json.dumps(line), flush=True)
        lines.append(line)
        if seed == args.figure_seed and args.figures:
            figures(args, s, args.figures, seed)
    total = summary(lines)
    print(json.dumps(total), flush=True)
    if args.out:
        with atomic_write(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in lines + [total])


if __name__ == "__main__":
    main()
