"""RBMs on MNIST: features for a softmax classifier, AIS log-likelihoods (CD-1 and PCD), semi-supervised runs.

    python bench/experiment_rbm.py --init /tmp/rbm_cd1.npz --figures docs/results/generative \\
        > docs/results/generative/rbm.jsonl

Each part prints one JSON line:

* ``small_rbm_ais``: an RBM of 20 hidden units trained briefly; its exact log Z (2²⁰ hidden states
  enumerated) beside the AIS estimate (``--betas`` intermediate distributions, 14,500 the paper's
  schedule, ``--runs`` chains in one batch); the target is |AIS − exact| ≤ 0.1 nat.
* ``features``: p(h|v) of the 500-unit CD-1 RBM (``--init``, else trained here: 15 epochs on the 60,000
  training images, ``--eta-decay linear`` to let η fall to η/15 in the last epoch) → a softmax layer on the
  60,000 labels, trained two ways: momentum SGD for ``--softmax-epochs`` epochs, and multinomial logistic
  regression as scikit-learn fits it — the full-batch cost with an L2 penalty (λ/2n)‖W‖², minimized by
  L-BFGS, λ chosen from ``--lambdas`` on the last 10,000 training images and refitted on all 60,000;
  test accuracy of each (target ≥ 98.0%; a public 1,024-unit RBM + logistic regression: 98.17%).
* ``ais_cd1`` / ``ais_pcd``: AIS log Z and the average test log-likelihood of the CD-1 RBM, and of a PCD-1
  RBM trained here (``--pcd-epochs``); the test images binarized by sampling each pixel with its intensity
  (seed 0).  Salakhutdinov & Murray (2008), 500 hidden units on binarized MNIST: CD-1 −125.53, CD-25 −86.34.
* ``semi_supervised``: a 784-500-10 sigmoid net initialized from the RBM (softmax from zero) and the same
  net from its default random initialization, each trained on the first 100 and 1,000 labelled images.

``--figures`` draws rbm_filters.png (the first 100 columns of W as 28×28 images), rbm_reconstructions.png
(test images over their mean-field reconstructions), rbm_free_energy.png (training vs unseen free
energy per epoch of the PCD run and of ``--history``'s CD-1 run) and rbm_samples.png.
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
from nndl.models import ais, generative  # noqa: E402
from nndl.models.rbm import RBM  # noqa: E402


def emit(record: dict) -> None:
    record = dict(record, load_average=os.getloadavg()[0])
    print(json.dumps(record), flush=True)


def softmax_on(features, y, test_features, test_y, epochs: int, seed: int = 0, eta: float = 0.1) -> float:
    """Train a softmax layer (multinomial logistic regression) on the features; its test accuracy."""
    from nndl.layers import Dense
    from nndl.models import Classifier
    from nndl.network import Network
    from nndl.optim import Momentum
    from nndl.trainer import Trainer

    net = Network([Dense(10, "softmax")], (features.shape[1],), cost="log_likelihood", seed=seed)
    Trainer(batch_size=100, seed=seed, threads=None, verbose=False).fit(
        Classifier(net, Momentum(eta=eta, mu=0.9)), (features, y), epochs)
    return float(net.accuracy(test_features, test_y))


def logistic_regression(features, y, test_features, test_y, lambdas, iterations: int = 500) -> dict:
    """Multinomial logistic regression with an L2 penalty, L-BFGS on the whole training set; λ chosen on the
    last 10,000 training rows (fitted on the rest), then refitted on all of them.  The chosen λ, the validation
    accuracy of every λ and the test accuracy."""
    from nndl.layers import Dense
    from nndl.models import Classifier
    from nndl.network import Network
    from nndl.optim import L2
    from nndl.optim.second_order import LBFGS
    from nndl.trainer import Trainer

    def fit(x, labels, lmbda):
        net = Network([Dense(10, "softmax")], (x.shape[1],), cost="log_likelihood", seed=0)
        model = Classifier(net, LBFGS(iterations=iterations, memory=20), regularizers=[L2(lmbda)] if lmbda else [])
        Trainer(batch_size=len(x), seed=0, threads=None, verbose=False).fit(model, (x, labels), 1)
        return net

    cut = len(features) - 10_000
    validation = {lmbda: float(fit(features[:cut], y[:cut], lmbda).accuracy(features[cut:], y[cut:]))
                  for lmbda in lambdas}
    best = max(lambdas, key=lambda lmbda: (validation[lmbda], -lmbda))
    return {"lambda": best, "validation_accuracy": {str(k): v for k, v in validation.items()},
            "test_accuracy": float(fit(features, y, best).accuracy(test_features, test_y))}


def semi_supervised(rbm, train, test, n: int, pretrained: bool, seed: int = 0) -> float:
    from nndl.layers import Dense
    from nndl.models import Classifier
    from nndl.network import Network
    from nndl.optim import Momentum
    from nndl.trainer import Trainer

    layers = [Dense(rbm.n_hidden, "sigmoid"), Dense(10, "softmax")]
    net = Network(layers, (784,), cost="log_likelihood", seed=seed)
    if pretrained:
        layers[0].W.value[...] = numpy.asarray(rbm.W).T
        layers[0].b.value[...] = numpy.asarray(rbm.c)
        layers[1].W.value[...] = 0
        layers[1].b.value[...] = 0
    epochs = max(30, 20_000 // n)
    Trainer(batch_size=10, seed=seed, threads=None, verbose=False).fit(
        Classifier(net, Momentum(eta=0.05, mu=0.9)), (train.x[:n], train.y[:n]), epochs)
    return float(net.accuracy(test.x, test.y))


def binarized(x, seed: int = 0):
    return (numpy.random.default_rng(seed).random(x.shape, dtype=numpy.float32) < x).astype(numpy.float32)


def curve(ax, history, label):
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r["free_energy_train"] for r in history], label=f"{label}: training")
    ax.plot(epochs, [r["free_energy_validation"] for r in history], "--", label=f"{label}: unseen")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--init", type=Path, help="a trained 500-unit CD-1 rbm file (e.g. the DBN experiment's first RBM)")
    p.add_argument("--history", type=Path, help="the JSON lines of that RBM's training (the DBN experiment's)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--hidden", type=int, default=500, help="hidden units of the CD-1 RBM (without --init)")
    p.add_argument("--eta", type=float, default=0.1, help="its learning rate")
    p.add_argument("--batch-size", type=int, default=100, help="its mini-batch size")
    p.add_argument("--pcd-epochs", type=int, default=15)
    p.add_argument("--sparsity-target", type=float, default=0.0,
                   help="the CD-1 RBM's target mean hidden activity p (guide §11; 0: no penalty)")
    p.add_argument("--sparsity-cost", type=float, default=0.0, help="the weight s of that penalty")
    p.add_argument("--weight-cost", type=float, default=2e-4, help="the CD-1 RBM's weight cost λ (L2, per update)")
    p.add_argument("--seed", type=int, default=0, help="the CD-1 RBM's seed")
    p.add_argument("--eta-decay", default="constant", choices=("constant", "linear"),
                   help="the CD-1 RBM's learning rate over its epochs (linear: η (1 − e/E) in epoch e)")
    p.add_argument("--lambdas", default="0.3,1,3,10", help="the L2 weights λ logistic regression chooses from")
    p.add_argument("--pcd-eta", type=float, default=0.02)
    p.add_argument("--betas", type=int, default=14_500)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--softmax-epochs", type=int, default=30)
    p.add_argument("--parts", default="small,features,ais_cd1,semi,pcd")
    p.add_argument("--figures", type=Path)
    p.add_argument("--save-pcd", type=Path)
    args = p.parse_args(argv)
    parts = set(args.parts.split(","))
    splits = load_data("mnist", split="standard", standardize=False)
    train, test = splits.train, splits.test
    test_binary = binarized(test.x)
    betas = ais.paper_betas() if args.betas == 14_500 else numpy.linspace(0.0, 1.0, args.betas + 1)
    base = ais.base_rate_biases(binarized(train.x, 1))

    if "small" in parts:
        start = time.perf_counter()
        small = RBM(784, 20, seed=0)
        small.fit(train.x[:20_000], epochs=3, eta=0.1)
        exact = ais.log_z_exact(small)
        exact_seconds = time.perf_counter() - start
        t = time.perf_counter()
        estimate = ais.ais_log_z(small, base, betas, runs=args.runs, seed=0)
        emit({"part": "small_rbm_ais", "hidden": 20, "log_z_exact": exact, **estimate,
              "difference": estimate["log_z"] - exact, "ais_seconds": time.perf_counter() - t,
              "exact_seconds": exact_seconds,
              "test_log_likelihood_exact": ais.average_log_likelihood(small, test_binary, exact)})

    if args.init:
        rbm = generative.load(args.init, kinds=("rbm",))
    else:
        rbm = RBM(784, args.hidden, k=1, seed=args.seed, weight_cost=args.weight_cost, sparsity_target=args.sparsity_target,
                  sparsity_cost=args.sparsity_cost, eta_decay=args.eta_decay)
        rbm.fit(train.x, epochs=args.epochs, eta=args.eta, batch_size=args.batch_size, held_out=test.x,
                on_epoch=lambda r: emit(dict(r, part="train_cd1")))
    features_train, features_test = rbm.transform(train.x), rbm.transform(test.x)

    if "features" in parts:
        t = time.perf_counter()
        accuracy = softmax_on(features_train, train.y, features_test, test.y, args.softmax_epochs)
        sgd_seconds = time.perf_counter() - t
        t = time.perf_counter()
        logistic = logistic_regression(features_train, train.y, features_test, test.y,
                                       [float(v) for v in args.lambdas.split(",")])
        emit({"part": "features", "hidden": rbm.n_hidden, "rbm_epochs": rbm.epochs_done, "k": rbm.k,
              "rbm_eta": None if args.init else args.eta, "rbm_batch_size": None if args.init else args.batch_size,
              "rbm_seed": rbm.seed, "weight_cost": rbm.weight_cost, "sparsity_target": rbm.sparsity_target,
              "sparsity_cost": rbm.sparsity_cost, "eta_decay": rbm.eta_decay,
              "softmax_epochs": args.softmax_epochs, "test_accuracy": accuracy, "seconds": sgd_seconds,
              "logistic_regression": dict(logistic, seconds=time.perf_counter() - t),
              "anchor": "1,024-unit RBM + logistic regression: 98.17%"})

    if "ais_cd1" in parts:
        t = time.perf_counter()
        estimate = ais.ais_log_z(rbm, base, betas, runs=args.runs, seed=0)
        emit({"part": "ais_cd1", "hidden": rbm.n_hidden, "epochs": rbm.epochs_done, **estimate,
              "test_log_likelihood": ais.average_log_likelihood(rbm, test_binary, estimate["log_z"]),
              "train_log_likelihood_10k": ais.average_log_likelihood(rbm, binarized(train.x[:10_000], 2),
                                                                     estimate["log_z"]),
              "seconds": time.perf_counter() - t, "anchor": "Salakhutdinov & Murray 2008, CD1(500): -125.53"})

    if "semi" in parts:
        for n in (100, 1000):
            t = time.perf_counter()
            row = {"part": "semi_supervised", "labels": n,
                   "pretrained_test_accuracy": semi_supervised(rbm, train, test, n, True),
                   "scratch_test_accuracy": semi_supervised(rbm, train, test, n, False)}
            emit(dict(row, seconds=time.perf_counter() - t))

    pcd_history = []
    if "pcd" in parts:
        pcd = RBM(784, 500, k=1, persistent=True, seed=1)
        pcd.fit(train.x, epochs=args.pcd_epochs, eta=args.pcd_eta, held_out=test.x,
                on_epoch=lambda r: (pcd_history.append(r), emit(dict(r, part="train_pcd"))))
        if args.save_pcd:
            pcd.save(args.save_pcd)
        t = time.perf_counter()
        estimate = ais.ais_log_z(pcd, base, betas, runs=args.runs, seed=0)
        emit({"part": "ais_pcd", "hidden": 500, "epochs": pcd.epochs_done, "eta": args.pcd_eta, **estimate,
              "test_log_likelihood": ais.average_log_likelihood(pcd, test_binary, estimate["log_z"]),
              "softmax_test_accuracy": softmax_on(pcd.transform(train.x), train.y, pcd.transform(test.x), test.y,
                                                  args.softmax_epochs),
              "seconds": time.perf_counter() - t})

    if args.figures:
        draw(rbm, test, args, pcd_history)
    return 0


def draw(rbm, test, args, pcd_history) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nndl.image_grid import save_png, tile

    out = args.figures
    out.mkdir(parents=True, exist_ok=True)
    save_png(tile(numpy.asarray(rbm.W)[:, :100].T, (28, 28), columns=10, scale="each"), out / "rbm_filters.png")
    x = test.x[:20]
    recon = numpy.asarray(rbm.visible_mean(rbm.p_hidden(x)))
    save_png(tile(numpy.concatenate([x[:10], recon[:10], x[10:], recon[10:]]), (28, 28), columns=10),
             out / "rbm_reconstructions.png")
    rbm.sample_steps = 1000
    save_png(tile(rbm.sample(100, numpy.random.default_rng(0)), (28, 28), columns=10), out / "rbm_samples.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    if args.history and args.history.exists():
        rows = [json.loads(line) for line in args.history.read_text().splitlines() if line.strip()]
        cd1 = [r for r in rows if r.get("phase") == "pretrain" and r.get("layer") == 1]
        if cd1:
            curve(ax, cd1, "CD-1")
    if pcd_history:
        curve(ax, pcd_history, "PCD-1")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean free energy F(v)")
    ax.legend()
    ax.set_title("RBM 500 hidden: free energy of training vs unseen images")
    fig.tight_layout()
    fig.savefig(out / "rbm_free_energy.png", dpi=100)


if __name__ == "__main__":
    sys.exit(main())
