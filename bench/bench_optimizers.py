"""Benchmark: epochs and seconds to 97% validation accuracy, per optimizer, with and without batch norm.

Every case trains the same network on MNIST (the book's split: 50,000 training images,
10,000 validation images):

  [784, 100, 10]   sigmoid hidden layer, softmax output, log-likelihood cost,
                   default weight initialization, no regularization, seed 0,
  with each optimizer's *documented default* hyper-parameters — exactly
  ``OPTIMIZERS[name]()``, nothing tuned (SGD's default is eta = 0.1),
  mini-batches of 10 (``--batch-size``), the same for every optimizer except Rprop,
  which is full-batch only and runs with batch size = the training set size (so one
  epoch is one step; its cap is ``--rprop-max-epochs``, by default 10 × ``--max-epochs``).
Every case runs with one BLAS thread (``--threads``): the same for all, and on a shared
two-core machine two threads made the full-batch Rprop step slower, not faster.

With ``batch_norm`` the hidden layer is Dense(100, linear, no bias) → BatchNorm →
sigmoid, as ``nndl train --batch-norm`` builds it.

Training stops as soon as the validation accuracy after an epoch is ≥ 97% (``--target``)
or at the cap.  One JSON line per case: optimizer, batch_norm, hyperparameters, batch_size,
epochs_to_97 (null if not reached), seconds_to_97 (training seconds summed over those
epochs, excluding the per-epoch evaluation; null if not reached), best_validation_accuracy,
epochs_run, plus the per-epoch validation accuracies and the total training seconds.

    python bench/bench_optimizers.py --out docs/results/optimizers.jsonl     # the full table
    python bench/bench_optimizers.py --train-size 5000 --max-epochs 3        # quick check, seconds
    python bench/bench_optimizers.py --optimizers adam,rprop --batch-norm on

Seconds are wall-clock on whatever machine runs it; compare them within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ALL_OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "rprop"]
FULL_BATCH_ONLY = {"rprop"}
SIZES = [784, 100, 10]
ACTIVATION = "sigmoid"
COST = "log_likelihood"
SEED = 0


def build_network(batch_norm: bool):
    from nndl.layers import ActivationLayer, Dense
    from nndl.network import Network

    if not batch_norm:
        return Network.from_sizes(SIZES, activation=ACTIVATION, cost=COST, seed=SEED)
    from nndl.layers.batchnorm import BatchNorm

    layers = []
    for n in SIZES[1:-1]:
        layers += [Dense(n, activation="linear", use_bias=False), BatchNorm(), ActivationLayer(ACTIVATION)]
    layers.append(Dense(SIZES[-1], activation="softmax"))
    return Network(layers, (SIZES[0],), cost=COST, seed=SEED)


def run_case(name, batch_norm, train, validation, batch_size, max_epochs, target, threads=1):
    from nndl.callbacks import LambdaCallback
    from nndl.models import Classifier
    from nndl.optim.optimizers import OPTIMIZERS
    from nndl.trainer import Trainer, TrainingDiverged

    optimizer = OPTIMIZERS[name]()                    # the documented defaults, untouched
    hyper = {k: getattr(optimizer, k) for k in optimizer.default_hyperparameters}
    net = build_network(batch_norm)
    if name in FULL_BATCH_ONLY:
        batch_size = len(train.x)
    state = {"epochs_to": None, "seconds_to": None, "train_seconds": 0.0}

    def stop_at_target(trainer, epoch, record):
        state["train_seconds"] += record["seconds"]
        if state["epochs_to"] is None and record["validation_accuracy"] >= target:
            state["epochs_to"], state["seconds_to"] = epoch, state["train_seconds"]
            trainer.stop(f"reached {target:.0%}")

    trainer = Trainer(batch_size, [LambdaCallback(on_epoch_end=stop_at_target)], seed=SEED, threads=threads,
                      verbose=False)
    load = os.getloadavg()[0]
    diverged = None
    try:
        trainer.fit(Classifier(net, optimizer), train, max_epochs, validation_data=validation)
    except TrainingDiverged as exc:
        diverged = str(exc)
    accuracies = [r["validation_accuracy"] for r in trainer.history.records]
    line = {
        "optimizer": name,
        "batch_norm": batch_norm,
        "hyperparameters": hyper,
        "batch_size": batch_size,
        "blas_threads": threads,
        "full_batch": name in FULL_BATCH_ONLY,
        "target": target,
        "epochs_to_97": state["epochs_to"],
        "seconds_to_97": None if state["seconds_to"] is None else round(state["seconds_to"], 2),
        "best_validation_accuracy": max(accuracies) if accuracies else None,
        "epochs_run": trainer.epoch,
        "max_epochs": max_epochs,
        "training_seconds": round(state["train_seconds"], 2),
        "validation_accuracy_by_epoch": [round(a, 4) for a in accuracies],
        "load_average_at_start": round(load, 2),
    }
    if diverged:
        line["diverged"] = diverged
    return line


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--optimizers", default=",".join(ALL_OPTIMIZERS),
                   help=f"comma-separated, from {','.join(ALL_OPTIMIZERS)} (default: all)")
    p.add_argument("--batch-norm", choices=["both", "on", "off"], default="both")
    p.add_argument("--max-epochs", type=int, default=30, help="cap for mini-batch optimizers (default 30)")
    p.add_argument("--rprop-max-epochs", type=int, default=None,
                   help="cap for full-batch Rprop, in epochs = steps (default 10 × --max-epochs)")
    p.add_argument("--batch-size", type=int, default=10, help="mini-batch size for all but Rprop (default 10)")
    p.add_argument("--train-size", type=int, default=None, help="use only the first N training images")
    p.add_argument("--target", type=float, default=0.97, help="validation accuracy to reach (default 0.97)")
    p.add_argument("--threads", default="1",
                   help="BLAS threads for every case (default 1, the same for all; \"auto\": nndl's choice)")
    p.add_argument("--out", help="also append the JSON lines to this file")
    args = p.parse_args(argv)

    names = [s.strip().lower() for s in args.optimizers.split(",") if s.strip()]
    unknown = [n for n in names if n not in ALL_OPTIMIZERS]
    if unknown:
        p.error(f"unknown optimizer {unknown[0]!r}; choose from {','.join(ALL_OPTIMIZERS)}")
    bn_values = {"both": [False, True], "off": [False], "on": [True]}[args.batch_norm]
    threads = args.threads if args.threads == "auto" else int(args.threads)
    rprop_cap = args.rprop_max_epochs if args.rprop_max_epochs is not None else 10 * args.max_epochs

    sys.path.insert(0, str(REPO / "src"))
    os.environ.setdefault("NNDL_DATA", str(REPO.parent / "shared" / "data"))
    from nndl.data import load_mnist

    splits = load_mnist(split="book")
    train, validation = splits.train, splits.validation
    if args.train_size:
        train = train.subset(args.train_size)

    out = None
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        out = open(args.out, "a", encoding="utf-8")
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        for batch_norm in bn_values:
            for name in names:
                cap = rprop_cap if name in FULL_BATCH_ONLY else args.max_epochs
                line = run_case(name, batch_norm, train, validation, args.batch_size, cap, args.target,
                                threads)
                line.update(network=SIZES, activation=ACTIVATION, cost=COST, output="softmax", seed=SEED,
                            train_size=len(train.x), validation_size=len(validation.x), started=started,
                            machine=platform.machine(), cpus=os.cpu_count())
                text = json.dumps(line)
                print(text, flush=True)
                if out is not None:
                    out.write(text + "\n")
                    out.flush()
    finally:
        if out is not None:
            out.close()


if __name__ == "__main__":
    main()
