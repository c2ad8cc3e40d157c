"""The variational autoencoder on MNIST: PyTorch's example recipe, then a 2-D code for the manifold.

    OMP_NUM_THREADS=1 python bench/experiment_vae.py --out docs/results/generative

Trains :class:`nndl.models.vae.VAE` 784-400-20 with Adam (η = 10⁻³), mini-batches of 128, on all
60,000 training images for 10 epochs (the issue's figure: test −ELBO ≤ 106 nats at epoch 10;
PyTorch's example logs 106.7 at epoch 7), one JSON line per epoch with the test −ELBO and its two
terms; then the importance-weighted −log p(x) on the test set (k = 100, and k = 1,000 on its first
1,000 images).  A second VAE with a 2-D code (784-400-2) gives the latent manifold: the decoder's
means on a 20 × 20 grid of Gaussian quantiles.  Figures: samples, test reconstructions (originals
above), the manifold, the −ELBO curves.
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
from nndl.models.vae import VAE  # noqa: E402


def emit(record, log):
    line = json.dumps(record)
    print(line, flush=True)
    log.write(line + "\n")
    log.flush()


def curves(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r["train_neg_elbo"] for r in history], "o-", label="training (during the epoch)")
    ax.plot(epochs, [r["test_neg_elbo"] for r in history], "s-", label="test")
    ax.axhline(106, color="grey", ls="--", lw=0.8, label="target 106 nats")
    ax.set_xlabel("epoch")
    ax.set_ylabel("−ELBO (nats per image)")
    ax.set_title("VAE 784-400-20 on MNIST, Adam 1e-3, batch 128", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/results/generative")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--manifold-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", default="glorot_uniform", help="the dense layers' initialization")
    parser.add_argument("--log", default="vae.jsonl")
    parser.add_argument("--no-manifold", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    splits = load_mnist(split="standard")
    x, test = splits.train.x, splits.test.x
    load = os.getloadavg()
    with open(out / args.log, "w") as log:
        emit({"experiment": "vae", "hidden": [400], "latent": 20, "train": len(x), "eta": 1e-3, "batch": 128, "init": args.init,
              "load_average_start": load, "threads": os.environ.get("OMP_NUM_THREADS")}, log)
        model = VAE((400,), 20, seed=args.seed, init=args.init)
        model.fit(x, epochs=args.epochs, eta=1e-3, batch_size=128, seed=args.seed, test=test,
                  on_epoch=lambda r: emit(dict(r, model="vae(400, latent=20)"), log))
        start = time.perf_counter()
        nll100 = model.importance_nll(test, numpy.random.default_rng(args.seed + 5), k=100)
        t100 = time.perf_counter() - start
        start = time.perf_counter()
        nll1000 = model.importance_nll(test[:1000], numpy.random.default_rng(args.seed + 6), k=1000, batch_size=20)
        elbo1000 = model.negative_elbo(test[:1000], numpy.random.default_rng(args.seed + 7))["neg_elbo"]
        emit({"model": "vae(400, latent=20)", "test_importance_nll_k100": nll100, "seconds_k100": t100,
              "test1000_importance_nll_k1000": nll1000, "test1000_neg_elbo": elbo1000,
              "seconds_k1000": time.perf_counter() - start, "final_test_neg_elbo": model.history[-1]["test_neg_elbo"],
              "training_seconds": model.history[-1]["seconds"], "load_average_end": os.getloadavg()}, log)
        rng = numpy.random.default_rng(args.seed + 8)
        save_png(tile(model.sample(64, rng), (28, 28), columns=8), out / "vae_samples.png")
        originals = test[:16]
        save_png(tile(numpy.concatenate([originals, model.reconstruct(originals)]), (28, 28), columns=16),
                 out / "vae_reconstructions.png")
        curves(model.history, out / "vae_curves.png")

        if args.no_manifold:
            return
        flat = VAE((400,), 2, seed=args.seed, init=args.init)
        flat.fit(x, epochs=args.manifold_epochs, eta=1e-3, batch_size=128, seed=args.seed, test=test,
                 on_epoch=lambda r: emit(dict(r, model="vae(400, latent=2)"), log))
        from statistics import NormalDist

        q = numpy.array([NormalDist().inv_cdf(p) for p in numpy.linspace(0.05, 0.95, 20)])
        grid = numpy.array([[a, b] for b in q[::-1] for a in q])
        save_png(tile(flat.decode(grid), (28, 28), columns=20), out / "vae_manifold.png")
        emit({"model": "vae(400, latent=2)", "final_test_neg_elbo": flat.history[-1]["test_neg_elbo"],
              "test_importance_nll_k100": flat.importance_nll(test, numpy.random.default_rng(args.seed + 9), k=100),
              "training_seconds": flat.history[-1]["seconds"], "load_average_end": os.getloadavg()}, log)


if __name__ == "__main__":
    main()
