"""``nndl evolve``: evolve a network for XOR or cart-pole by NEAT, a GA or HyperNEAT.

    nndl evolve --task xor --method neat --generations 100 --seed 0 --out xor.json
    nndl evolve --task cartpole --method ga --population 50 --workers 2 --json
    nndl evolve --evaluate xor.json                    # a saved genome, on its task again

Prints a line per generation (``--json``: a JSON object per generation, then a summary
object) and saves the best individual as JSON (:mod:`nndl.evolution.storage`) with ``--out``.
The run stops at the first generation with a genome that solves the task.  The same seed
gives the same run with any ``--workers``.
"""
from __future__ import annotations


from nndl import validation
from nndl.cli.common import check_writable, print_json, say
from nndl.errors import NndlError
from nndl.evolution import checks


def register(subparsers) -> None:
    p = subparsers.add_parser("evolve", help="neuroevolution: NEAT, a GA or HyperNEAT on XOR or cart-pole",
                              description="Evolve a network for XOR or cart-pole balancing (no gradients).")
    p.add_argument("--task", default="xor", help="xor or cartpole (default xor)")
    p.add_argument("--method", default="neat", help="neat, ga or hyperneat (default neat)")
    p.add_argument("--generations", type=int, default=100, help="most generations (default 100)")
    p.add_argument("--population", type=int, default=None, help="population size ≥ 2 (default 150; GA 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--workers", type=int, default=1, help="processes evaluating the population (default 1)")
    p.add_argument("--episodes", type=int, default=5, help="cart-pole starting states per evaluation (default 5)")
    p.add_argument("--hidden", type=int, default=4, help="hidden units of the GA's network (default 4)")
    p.add_argument("--mutation-rate", type=float, default=None,
                   help="in [0, 1]: the GA's per-weight rate (default 0.1), NEAT's weight-mutation rate (0.8)")
    p.add_argument("--out", default=None, help="save the best individual here (JSON)")
    p.add_argument("--evaluate", metavar="FILE", default=None, help="evaluate a saved individual instead")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.set_defaults(func=run)


def _summary(setup_, result) -> dict:
    best = result["best"]
    summary = {"method": setup_.method, "task": setup_.task_name, "solved": result["solved"],
               "generations": result["generations"], "evaluations": result["evaluations"]}
    if setup_.method == "neat":
        summary["size"] = best.size()
    elif setup_.method == "hyperneat":
        summary["cppn_size"] = best.size()
        summary["substrate_connections"] = setup_.decoder.connections(best)
    else:
        summary["parameters"] = int(len(best))
    return summary


def _shape(method, individual, decoder) -> tuple[int, int]:
    """(inputs, outputs) of the network a saved individual makes."""
    if method == "neat":
        return individual.n_inputs, individual.n_outputs
    sizes = decoder.sizes if method == "ga" else decoder.substrate.sizes
    return sizes[0], sizes[-1]


def evaluate_saved(args) -> int:
    from nndl.evolution import storage
    from nndl.evolution.runner import make_task

    method, task_name, individual, decoder, _ = storage.load(args.evaluate)
    if task_name not in ("xor", "cartpole"):
        raise NndlError(f"{args.evaluate}: task {task_name!r} is not xor or cartpole")
    task = make_task(task_name, args.episodes, args.seed)
    shape = _shape(method, individual, decoder)
    if shape != (task.inputs, task.outputs):
        raise NndlError(f"{args.evaluate}: the saved network has {shape[0]} inputs and {shape[1]} outputs; "
                        f"{task_name} needs {task.inputs} and {task.outputs}")
    net = decoder(individual)
    fitness, solved = task.evaluate(net)
    out = {"file": args.evaluate, "method": method, "task": task_name, "fitness": fitness, "solved": solved}
    if task_name == "cartpole":
        out["steps"] = [int(s) for s in task.steps(net)]
    if args.json:
        print_json(out)
    else:
        say(f"{args.evaluate}: {method} on {task_name}: fitness {fitness:.4g}, {'solved' if solved else 'not solved'}")
    return 0


def run(args) -> int:
    from nndl.evolution import storage
    from nndl.evolution.evaluate import Evaluator
    from nndl.evolution.runner import setup

    validation.whole("--generations", args.generations, low=1, high=1_000_000)
    validation.whole("--workers", args.workers, low=1, high=256)
    validation.whole("--episodes", args.episodes, low=1, high=10_000)
    if args.evaluate is not None:
        return evaluate_saved(args)
    if args.population is not None:
        checks.population(args.population, "--population")
    if args.mutation_rate is not None:
        checks.rate("--mutation-rate", args.mutation_rate)
    validation.seed("--seed", args.seed)
    validation.whole("--hidden", args.hidden, low=1, high=10_000)
    out = check_writable(args.out, "--out") if args.out else None
    s = setup(args.method, args.task, args.population, args.seed, args.episodes, args.hidden, args.mutation_rate)

    def report(record):
        if args.json:
            print_json(record)
        else:
            species = f", {len(record['species'])} species" if "species" in record else ""
            say(f"generation {record['generation']}: best fitness {record['best_fitness']:.4g}, "
                f"mean {record['mean_fitness']:.4g}{species}, {record['evaluations']} evaluations")

    with Evaluator(s.decoder, s.task, args.workers) as evaluate:
        result = s.algorithm.run(evaluate, args.generations, callback=report)
    summary = _summary(s, result)
    if out is not None:
        fitness = result["best"].fitness if s.method != "ga" else s.algorithm.best_fitness
        storage.save(out, s.method, s.task_name, result["best"], s.decoder, fitness,
                     run={"seed": args.seed, "generations": result["generations"], "solved": result["solved"]})
        summary["out"] = str(out)
    if args.json:
        print_json({"summary": summary})
    else:
        n = summary["generations"]
        say(f"{'solved' if summary['solved'] else 'not solved'} after {n} generation{'' if n == 1 else 's'}, "
            f"{summary['evaluations']} evaluations" + (f"; saved {out}" if out else ""))
    return 0
