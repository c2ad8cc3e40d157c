"""The order of the examples on a small MNIST run: shuffled, fixed, easy to hard.

The book's [784, 30, 10] network (cross-entropy, η = 0.5, λ = 0.1 as chapter 3's small-data
runs, 30 epochs) on the first 1,000 training images, for each seed:

* ``--order shuffle`` (the default), which also serves as the reference model;
* ``--order fixed`` (the same order every epoch);
* ``--order loss:REFERENCE.npz``: easy to hard by each image's cost under the shuffled run's
  model (the "self-taught" scoring of Hacohen & Weinshall, 2019), the same order every epoch.

One JSON line per run: the test accuracy on the 10,000 test images with the weights of the
best validation epoch, the command, the wall time; a last line with the means.

    python bench/curriculum_mnist.py --seeds 0,1,2 --out docs/results/workflow/curriculum_mnist.jsonl
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from nndl_cli import nndl_json
OPTIONS = ["--data", "mnist", "--train-size", "1000", "--layers", "784,30,10", "--eta", "0.5", "--lmbda", "0.1",
           "--epochs", "30", "--threads", "1", "--json"]


def train(order: str, seed: int, out: Path) -> tuple[dict, float, str]:
    """The last JSON line of ``nndl train``, the wall seconds, and the command (without --out)."""
    options = [*OPTIONS, "--order", order, "--seed", str(seed)]
    lines, seconds = nndl_json("train", *options, "--out", out)
    return lines[-1], seconds, " ".join(options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", help="also append the JSON lines to this file")
    args = parser.parse_args()
    sink = open(args.out, "a") if args.out else None
    means: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            reference = Path(tmp) / f"shuffle-{seed}.npz"
            for name, order in (("shuffle", "shuffle"), ("fixed", "fixed"),
                                ("easy to hard (loss under the shuffled run)", f"loss:{reference}")):
                out = reference if order == "shuffle" else Path(tmp) / "run.npz"
                final, seconds, command = train(order, seed, out)
                line = {"order": name, "seed": seed, "test_accuracy": round(final["test_accuracy"], 4),
                        "best_validation_accuracy": round(final["best_validation_accuracy"], 4),
                        "best_epoch": final.get("best_epoch"),
                        "command": "nndl train " + command.replace(str(reference), "shuffle-SEED.npz"),
                        "wall_seconds": round(seconds, 1)}
                means.setdefault(name, []).append(final["test_accuracy"])
                for stream in (sys.stdout, sink):
                    if stream:
                        print(json.dumps(line), file=stream, flush=True)
    summary = {"summary": True, "seeds": args.seeds,
               "mean_test_accuracy": {k: round(sum(v) / len(v), 4) for k, v in means.items()}}
    for stream in (sys.stdout, sink):
        if stream:
            print(json.dumps(summary), file=stream, flush=True)


if __name__ == "__main__":
    main()
