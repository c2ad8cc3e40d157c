"""Autoencoders and sparse coding on MNIST: the figures of issue 14, as JSON lines.

    python bench/experiment_autoencoders.py filters        # 500-unit dAE at 0% and 30% corruption: filters, reconstructions
    python bench/experiment_autoencoders.py stacked        # stacked denoising autoencoder 3 x 1,000, fine-tuned: test error
    python bench/experiment_autoencoders.py contractive    # the same stack pretrained contractively
    python bench/experiment_autoencoders.py sparse_coding  # dictionary of 256 atoms by FISTA + projected gradient

Run single-threaded (OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1) with NNDL_DATA set.  Figures go to
docs/results/generative/ (PNG, and the JSON lines appended to autoencoders.jsonl); each line records the
wall time and the machine's load average, since the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nndl.data import load_data                                       # noqa: E402
from nndl.image_grid import save_png, tile                             # noqa: E402
from nndl.models.autoencoders import AutoencoderModel, StackedAutoencoder  # noqa: E402

OUT = ROOT / "docs" / "results" / "generative"


def emit(row: dict) -> None:
    row = dict(row, load_average=[round(v, 2) for v in os.getloadavg()],
               time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    line = json.dumps(row)
    print(line, flush=True)
    with open(OUT / "autoencoders.jsonl", "a") as f:
        f.write(line + "\n")


def curve_png(records_by_name: dict, key: str, path: Path, ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, records in records_by_name.items():
        values = [r.get(key) for r in records if r.get(key) is not None]
        ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def filters(args, splits):
    """Vincent et al. 2008's figure: first-layer filters of a 500-unit tied dAE at 0% and 30% masking."""
    curves = {}
    x_test = splits.test.x[:10]
    rows = [x_test]
    for level in (0.0, 0.3):
        ae = AutoencoderModel(500, corruption=level, tied=True, seed=args.seed)
        start = time.perf_counter()
        history = ae.fit(splits.train.x[:args.train_size], args.epochs, args.eta, 0.0, args.batch_size, args.seed,
                         splits.validation.x[:2000])
        seconds = time.perf_counter() - start
        curves[f"corruption {int(level * 100)}%"] = history.records
        save_png(tile(ae.W[:100], (28, 28), columns=10, scale="each"),
                 OUT / f"dae_filters_{int(level * 100)}.png")
        rows.append(numpy.asarray(ae.reconstruct(x_test)))
        emit({"experiment": "dae_filters", "hidden": 500, "corruption": level, "epochs": args.epochs,
              "train_size": args.train_size,
              "eta": args.eta, "batch_size": args.batch_size, "seconds": round(seconds, 1),
              "training_cost": history.records[-1]["training_cost"],
              "validation_cost": history.records[-1]["validation_cost"],
              **ae.reconstruction_figures(splits.test.x)})
    save_png(tile(numpy.concatenate(rows), (28, 28), columns=10), OUT / "dae_reconstructions.png")
    curve_png(curves, "validation_cost", OUT / "dae_curves.png", "validation cross-entropy (nats/image)")


def stacked(args, splits, contractive=False):
    options = {"contraction": args.contraction} if contractive else {"corruption": args.corruption}
    name = "contractive" if contractive else "denoising"
    model = StackedAutoencoder(tuple(args.hidden), pretrain_epochs=args.pretrain_epochs, pretrain_eta=args.pretrain_eta,
                               pretrain_batch_size=args.pretrain_batch_size, seed=args.seed, dropout=args.dropout,
                               input_dropout=args.input_dropout, **options)
    start = time.perf_counter()
    layer_curves = {}

    def per_layer(k):
        from nndl.callbacks import LambdaCallback

        layer_curves[f"layer {k + 1}"] = []

        def log(trainer, epoch, record):
            layer_curves[f"layer {k + 1}"].append(record)
            emit({"experiment": f"stacked_{name}", "phase": "pretrain", "layer": k + 1, "epoch": epoch,
                  "training_cost": record["training_cost"], "seconds": round(record["seconds"], 1)})
        return [LambdaCallback(on_epoch_end=log)]

    if args.resume:                       # more fine-tuning of a stack this experiment saved
        from nndl.models import generative

        model = generative.load(args.resume, kinds=("stacked_autoencoder",))
        name += "_resumed"
    else:
        model.pretrain(splits.train.x, callbacks_of=per_layer)
    pretrain_seconds = time.perf_counter() - start
    if args.save and not args.resume:
        model.save(Path(args.save).with_suffix(".pretrained.npz"))
    if not args.resume:
        save_png(tile(model.dense_layers[0].W.value[:100], (28, 28), columns=10, scale="each"),
                 OUT / f"stacked_{name}_layer1_filters.png")
    from nndl.callbacks import LambdaCallback

    fine = []

    def log(trainer, epoch, record):
        fine.append(record)
        emit({"experiment": f"stacked_{name}", "phase": "finetune", "epoch": epoch, "eta": record.get("eta"),
              "validation_error": 1 - record["validation_accuracy"], "training_cost": record["training_cost"],
              "seconds": round(record["seconds"], 1), "elapsed": round(time.perf_counter() - start, 1)})

    deadline = args.time_limit

    def stop(trainer, epoch, record):
        if deadline and time.perf_counter() - start > deadline:
            trainer.stop("time limit")

    history = model.finetune(splits, args.finetune_epochs, args.eta, args.momentum, args.batch_size, args.patience,
                             [LambdaCallback(on_epoch_end=log), LambdaCallback(on_epoch_end=stop)],
                             plateau=args.plateau)
    seconds = time.perf_counter() - start
    curve_png({"validation error": [{"e": 1 - r["validation_accuracy"]} for r in fine]}, "e",
              OUT / f"stacked_{name}_finetune.png", "validation error")
    if layer_curves:
        curve_png(layer_curves, "training_cost", OUT / f"stacked_{name}_pretrain.png", "training cost (nats/example)")
    if args.save:
        model.save(args.save)
    emit({"experiment": f"stacked_{name}", "final": True, "hidden": model.hidden, **options,
          "resumed_from": args.resume,
          "pretrain_epochs": model.pretrain_epochs, "pretrain_eta": model.pretrain_eta,
          "pretrain_batch_size": model.pretrain_batch_size, "finetune_epochs": len(history),
          "stop_reason": history.final.get("stop_reason"), "eta": args.eta, "momentum": args.momentum,
          "batch_size": args.batch_size, "plateau": args.plateau, "dropout": args.dropout,
          "input_dropout": args.input_dropout, "validation_error": model.test_error(splits.validation.x, splits.validation.y),
          "test_error": model.test_error(splits.test.x, splits.test.y),
          "pretrain_seconds": round(pretrain_seconds, 1), "seconds": round(seconds, 1)})


def sparse_coding(args, splits):
    from nndl.models.sparse_coding import SparseCoding

    model = SparseCoding(args.atoms, lmbda=args.lmbda, iterations=args.iterations, seed=args.seed)
    start = time.perf_counter()
    records = model.fit(splits.train.x[:args.train_size], args.epochs, batch_size=args.batch_size, eta=args.eta)
    seconds = time.perf_counter() - start
    save_png(tile(model.D.T[:args.atoms], (28, 28), columns=16, scale="each"), OUT / "sparse_coding_atoms.png")
    x = splits.test.x[:10]
    h = model.encode(x)
    save_png(tile(numpy.concatenate([x, numpy.clip(h @ model.D.T, 0, 1)]), (28, 28), columns=10),
             OUT / "sparse_coding_reconstructions.png")
    curve_png({"training objective": records}, "objective", OUT / "sparse_coding_curve.png",
              "½‖x − Dh‖² + λ‖h‖₁ per image")
    emit({"experiment": "sparse_coding", "atoms": args.atoms, "lmbda": args.lmbda, "epochs": args.epochs,
          "iterations": args.iterations, "eta": args.eta, "batch_size": args.batch_size,
          "train_size": args.train_size, "seconds": round(seconds, 1), **model.figures(splits.test.x[:2000])})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("filters", "stacked", "contractive", "sparse_coding"))
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--eta", type=float, default=None)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--hidden", type=int, nargs="+", default=[1000, 1000, 1000])
    p.add_argument("--corruption", type=float, default=0.3)
    p.add_argument("--contraction", type=float, default=0.1)
    p.add_argument("--pretrain-epochs", type=int, default=5)
    p.add_argument("--pretrain-eta", type=float, default=0.1)
    p.add_argument("--pretrain-batch-size", type=int, default=50)
    p.add_argument("--finetune-epochs", type=int, default=60)
    p.add_argument("--dropout", type=float, default=0.0, help="dropout on the hidden layers in fine-tuning")
    p.add_argument("--input-dropout", type=float, default=0.0, help="dropout on the pixels in fine-tuning")
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--plateau", type=int, default=None, help="halve the fine-tuning η after this many epochs "
                   "without a better validation accuracy")
    p.add_argument("--time-limit", type=float, default=None)
    p.add_argument("--atoms", type=int, default=256)
    p.add_argument("--lmbda", type=float, default=0.1)
    p.add_argument("--train-size", type=int, default=20000)
    p.add_argument("--iterations", type=int, default=100, help="FISTA iterations per batch (sparse coding)")
    p.add_argument("--resume", metavar="PATH", help="fine-tune further a stack saved with --save (no pretraining)")
    p.add_argument("--save", metavar="PATH", help="the stack after pretraining (PATH.pretrained.npz) and after "
                   "fine-tuning (PATH); models are large, keep them out of the repository")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    splits = load_data("mnist", seed=0, standardize=False)
    if args.what == "filters":
        args.eta = 0.1 if args.eta is None else args.eta
        args.batch_size = args.batch_size or 20
        filters(args, splits)
    elif args.what == "sparse_coding":
        args.eta = 1.0 if args.eta is None else args.eta
        args.batch_size = args.batch_size or 500
        sparse_coding(args, splits)
    else:
        args.eta = 0.05 if args.eta is None else args.eta
        args.batch_size = args.batch_size or 50
        stacked(args, splits, contractive=args.what == "contractive")


if __name__ == "__main__":
    main()
