"""A deep belief net 784-500-500-2000 (labels in the top RBM), pretrained greedily and fine-tuned by backprop.

    python bench/experiment_dbn.py --pretrain-epochs 10 --finetune-epochs 30 --minutes 45 \\
        --save /tmp/dbn.npz --figures docs/results/generative > docs/results/generative/dbn.jsonl

Hinton, Osindero & Teh (2006) reach 1.25% test error with this architecture (fine-tuned by the up-down
algorithm); the issue's target is ≤ 1.3% within 45 minutes.  Data: MNIST's book split (50,000 training,
10,000 validation, 10,000 test).  One JSON line per RBM epoch (reconstruction error, free energies) and per
fine-tuning epoch (validation and test error, wall time since the start); fine-tuning stops when the
wall-time budget ``--minutes`` (counted from the start of pretraining) is spent.  The last line has the
final figures and the load average.  ``--figures`` draws 10 dreamed digits of each class (label clamped,
1,000 Gibbs steps in the top RBM) as dbn_samples.png.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.data import load_data  # noqa: E402
from nndl.models.dbn import DBN  # noqa: E402


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def draw_samples(dbn: DBN, path: Path, per_class: int = 10, seed: int = 0) -> None:
    from nndl.image_grid import save_png, tile

    rng = numpy.random.default_rng(seed)
    rows = [dbn.sample(per_class, rng, label=c) for c in range(10)]
    save_png(tile(numpy.concatenate(rows), (28, 28), columns=per_class), path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="500,500,2000")
    p.add_argument("--pretrain-epochs", type=int, default=10)
    p.add_argument("--finetune-epochs", type=int, default=30)
    p.add_argument("--eta", type=float, default=0.1, help="pretraining learning rate")
    p.add_argument("--finetune-eta", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.0, help="fine-tuning dropout after each hidden layer")
    p.add_argument("--input-dropout", type=float, default=0.0, help="fine-tuning dropout on the pixels")
    p.add_argument("--first-epochs", type=int, default=None, help="epochs of the first RBM (default: --pretrain-epochs)")
    p.add_argument("--minutes", type=float, default=45.0, help="the target's wall-time budget (the figure at that time "
                   "is reported)")
    p.add_argument("--stop-minutes", type=float, default=None, help="stop fine-tuning after this many minutes "
                   "(default: --minutes)")
    p.add_argument("--save-first", type=Path, default=None, help="save the first RBM (an rbm file) here")
    p.add_argument("--split", default="standard", choices=("standard", "book"),
                   help="standard: 60,000 training images, fine-tuned for a fixed number of epochs, the test set "
                        "only reported (as Hinton et al.); book: 50,000 + 10,000 validation")
    p.add_argument("--train-size", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", type=Path, default=None)
    p.add_argument("--figures", type=Path, default=None)
    p.add_argument("--sample-steps", type=int, default=1000)
    args = p.parse_args(argv)

    splits = load_data("mnist", split=args.split, standardize=False)
    train = splits.train if args.train_size is None else splits.train.subset(args.train_size)
    # the free-energy monitor compares training rows with unseen rows: the validation part, else the test
    # part (a monitor only: nothing is chosen by it)
    unseen = splits.validation if splits.validation is not None else splits.test
    sizes = [int(s) for s in args.sizes.split(",")]
    dbn = DBN(sizes, labels=True, seed=args.seed)
    start = time.perf_counter()
    budget = 60.0 * (args.minutes if args.stop_minutes is None else args.stop_minutes)

    def pre(record):
        emit(dict(record, seconds_total=time.perf_counter() - start, load_average=os.getloadavg()[0]))

    epochs = [args.pretrain_epochs] * len(sizes)
    if args.first_epochs is not None:
        epochs[0] = args.first_epochs

    def first_done(rbm):
        if args.save_first and rbm is dbn.rbms[0]:
            rbm.save(args.save_first, {"experiment": "bench/experiment_dbn.py (the DBN's first RBM)",
                                       "train_size": len(train)})

    dbn.pretrain(train.x, train.y, epochs, args.eta, 100, held_out=unseen.x, on_epoch=pre, after_layer=first_done)
    pretrain_seconds = time.perf_counter() - start
    net = dbn.classifier(args.seed, args.dropout, args.input_dropout)
    test_before = 1 - net.accuracy(splits.test.x, splits.test.y)
    emit({"phase": "pretrained", "seconds_total": pretrain_seconds, "test_error_before_finetuning": test_before})

    from nndl.callbacks import LambdaCallback
    from nndl.models import Classifier
    from nndl.optim import Momentum
    from nndl.trainer import Trainer

    records = []

    def after_epoch(trainer, epoch, record):
        test_error = 1 - net.accuracy(splits.test.x, splits.test.y)
        row = {"phase": "finetune", "epoch": record["epoch"], "training_cost": record["training_cost"],
               "validation_error": 1 - record["validation_accuracy"] if "validation_accuracy" in record else None,
               "test_error": test_error,
               "seconds_total": time.perf_counter() - start, "load_average": os.getloadavg()[0]}
        records.append(row)
        emit(row)
        if row["seconds_total"] > budget:
            trainer.stop(f"the {args.minutes:g}-minute budget is spent")

    trainer = Trainer(batch_size=100, callbacks=[LambdaCallback(on_epoch_end=after_epoch)], seed=args.seed,
                      threads=None, verbose=False)
    trainer.fit(Classifier(net, Momentum(eta=args.finetune_eta, mu=0.9)), train, args.finetune_epochs,
                validation_data=splits.validation)
    within = [r for r in records if r["seconds_total"] <= 60.0 * args.minutes]
    dbn.network = net
    total = time.perf_counter() - start
    best = min(records, key=lambda r: r["validation_error"]) if records and records[0]["validation_error"] is not None \
        else {}
    final = {"final": True, "sizes": sizes, "pretrain_epochs": args.pretrain_epochs,
             "dropout": args.dropout, "input_dropout": args.input_dropout, "finetune_eta": args.finetune_eta,
             "finetune_epochs_done": len(records), "pretrain_seconds": pretrain_seconds, "seconds_total": total,
             "test_error": records[-1]["test_error"] if records else test_before,
             "test_error_at_best_validation": best.get("test_error"), "best_validation_epoch": best.get("epoch"),
             f"test_error_within_{args.minutes:g}_minutes": within[-1]["test_error"] if within else None,
             f"finetune_epochs_within_{args.minutes:g}_minutes": len(within), "split": args.split,
             "load_average_1_5_15": list(os.getloadavg()), "train_size": len(train),
             "anchor": "Hinton, Osindero & Teh 2006: 1.25% test error"}
    if args.save:
        dbn.save(args.save, {"experiment": "bench/experiment_dbn.py", "test_error": final["test_error"]})
    if args.figures:
        args.figures.mkdir(parents=True, exist_ok=True)
        dbn.sample_steps = args.sample_steps
        t = time.perf_counter()
        draw_samples(dbn, args.figures / "dbn_samples.png")
        final["sample_seconds_100"] = time.perf_counter() - t
    emit(final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
