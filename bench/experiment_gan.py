"""A GAN (or a conditional GAN) on MNIST for a wall-time budget, judged by Goodfellow's protocol.

    OMP_NUM_THREADS=1 python bench/experiment_gan.py --minutes 30 --real-baseline
    OMP_NUM_THREADS=1 python bench/experiment_gan.py --minutes 30 --conditional

Trains :class:`nndl.models.gan.GAN` on the 50,000 training images of the book split (G: z(100) →
512 → 512 (batch norm, leaky ReLU) → 784 sigmoid; D: 784 → 512 → 256 leaky ReLU with dropout 0.3 → 1; Adam
2·10⁻⁴, β₁ = 0.5, mini-batches of 64, k = 1, the non-saturating loss), one JSON line per epoch
with the costs and a quick inception score of 2,000 samples.  At the end, on 10,000 samples: the
inception score by nndl's chapter-6 conv net (docs/results/ch6-relu.npz; the real test set's
score beside it), the share of each digit, and the Parzen-window log-likelihood of the 10,000
test images (σ chosen on the 10,000 validation images); ``--real-baseline`` scores the same
estimator with 10,000 real training images as the samples.  Figures: a grid of samples (one row
per class for the conditional GAN), the curves.
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

from nndl.data.mnist import load_mnist  # noqa: E402
from nndl.image_grid import save_png, tile  # noqa: E402
from nndl.models import gan_metrics  # noqa: E402
from nndl.models.gan import GAN  # noqa: E402


def emit(record, log):
    line = json.dumps(record)
    print(line, flush=True)
    log.write(line + "\n")
    log.flush()


def curves(history, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.2))
    minutes = [r["seconds"] / 60 for r in history]
    a.plot(minutes, [r["d_cost"] for r in history], "o-", label="D cost")
    a.plot(minutes, [r["g_cost"] for r in history], "s-", label="G cost")
    a.set_xlabel("minutes")
    a.legend(fontsize=8)
    b.plot(minutes, [r["quick_inception_score"] for r in history], "o-")
    b.axhline(9.0, color="grey", ls="--", lw=0.8)
    b.set_xlabel("minutes")
    b.set_ylabel("inception score (2,000 samples)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/results/generative")
    parser.add_argument("--name-suffix", help="added to the names of the result files (gan<suffix>.jsonl, ...)")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--conditional", action="store_true")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--no-batchnorm", action="store_true")
    parser.add_argument("--activation", default="leaky_relu")
    parser.add_argument("--d-hidden", type=int, default=512)
    parser.add_argument("--eta", type=float, default=2e-4)
    parser.add_argument("--d-eta", type=float, help="the discriminator's learning rate (default: --eta)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--loss", default="non_saturating")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--average", type=float, default=0.0,
                        help="sample from a moving average of G's weights with this decay (e.g. 0.999)")
    parser.add_argument("--smoothing", type=float, default=1.0,
                        help="D's target for real examples (0.9: one-sided label smoothing)")
    parser.add_argument("--minibatch-std", type=int, default=0,
                        help="group size of a minibatch-standard-deviation feature in D (0: none)")
    parser.add_argument("--real-baseline", action="store_true")
    parser.add_argument("--save", help="keep the trained model here (.npz)")
    parser.add_argument("--eval", type=int, default=10_000, help="samples and images of the final evaluation")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = ("cgan" if args.conditional else "gan") + (args.name_suffix or "")
    splits = load_mnist(split="book")
    x, y = splits.train.x, splits.train.y
    validation, test = splits.validation.x[:args.eval], splits.test.x[:args.eval]
    classifier = gan_metrics.load_classifier()
    model = GAN(latent=100, k=args.k, loss=args.loss, conditional=args.conditional, hidden=args.hidden,
                d_hidden=args.d_hidden, batchnorm=not args.no_batchnorm, activation=args.activation, seed=args.seed,
                average=args.average, smoothing=args.smoothing, minibatch_std=args.minibatch_std)
    spec = f"gan(latent=100, k={args.k}, loss={args.loss}, conditional={str(args.conditional).lower()}, " \
           f"hidden={args.hidden}, d_hidden={args.d_hidden}, batchnorm={str(not args.no_batchnorm).lower()}, " \
           f"activation={args.activation}, average={args.average:g}, smoothing={args.smoothing:g}, " \
           f"minibatch_std={args.minibatch_std})"
    with open(out / f"{name}.jsonl", "w") as log:
        emit({"experiment": name, "model": spec, "train": len(x), "eta": args.eta, "d_eta": args.d_eta, "batch": args.batch,
              "minutes": args.minutes, "load_average_start": os.getloadavg(),
              "threads": os.environ.get("OMP_NUM_THREADS")}, log)
        eval_rng = numpy.random.default_rng(12345)
        pause = [0.0]

        def on_epoch(record):
            start = time.perf_counter()
            quick = gan_metrics.classifier_report(classifier, model.sample(2000, eval_rng), splits=1)
            record.update(quick_inception_score=quick["inception_score"], quick_min_class_share=quick["min_class_share"],
                          load_average=os.getloadavg()[0])
            pause[0] += time.perf_counter() - start
            emit(record, log)

        model.fit(x, y if args.conditional else None, epochs=args.epochs, eta=args.eta, batch_size=args.batch,
                  seed=args.seed, on_epoch=on_epoch, time_limit=60 * args.minutes, d_eta=args.d_eta)
        trained = model.history[-1]["seconds"]
        if args.save:
            model.save(args.save, {"model": spec, "seconds": trained})
        rng = numpy.random.default_rng(args.seed + 100)
        if args.conditional:
            grid = numpy.concatenate([model.sample(10, rng, label=c) for c in range(10)])
            save_png(tile(grid, (28, 28), columns=10), out / f"{name}_rows_by_class.png")
        else:
            save_png(tile(model.sample(64, rng), (28, 28), columns=8), out / f"{name}_samples.png")
        curves(model.history, out / f"{name}_curves.png", spec)
        samples = model.sample(args.eval, numpy.random.default_rng(args.seed + 200))
        start = time.perf_counter()
        report = gan_metrics.classifier_report(classifier, samples, splits=10)
        real = gan_metrics.classifier_report(classifier, test, splits=10)
        emit({"model": spec, "samples": args.eval, **report, "real_test_inception_score": real["inception_score"],
              "real_test_inception_score_whole": real["inception_score_whole"],
              "training_seconds": trained, "epochs": len(model.history),
              "seconds_classifier": time.perf_counter() - start}, log)
        start = time.perf_counter()
        parzen = gan_metrics.parzen_evaluation(samples, validation, test)
        emit({"model": spec, "parzen": parzen, "seconds_parzen": time.perf_counter() - start,
              "load_average": os.getloadavg()}, log)
        if args.real_baseline:
            start = time.perf_counter()
            parzen = gan_metrics.parzen_evaluation(x[:args.eval], validation, test)
            emit({"model": "real training images (the first 10,000)", "parzen": parzen,
                  "seconds_parzen": time.perf_counter() - start, "load_average": os.getloadavg()}, log)


if __name__ == "__main__":
    main()
