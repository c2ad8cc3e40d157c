"""Training without (only) gradients: annealing, Cauchy training and second-order methods against SGD.

    python bench/experiment_annealing.py --part iris      # every method on iris, 5 seeds
    python bench/experiment_annealing.py --part paralysis # Cauchy's long jumps with and without squashing
    python bench/experiment_annealing.py --part mnist     # [784,30,10]: the budget of 1 epoch of SGD
    python bench/experiment_annealing.py --part lbfgs     # [784,100,10] on 10,000 images: L-BFGS vs SGD
    python bench/experiment_annealing.py --part all --out docs/results/nongradient
    python bench/experiment_annealing.py --part iris --iris-lmbda 0 --out docs/results/nongradient/no_penalty

One JSON line per measurement on stdout (and in ``<out>/<part>.jsonl``), figures in ``--out``.

**How evaluations are counted.**  A *cost evaluation* is one forward pass over a batch of m
examples; a *gradient evaluation* is one forward and one backward pass over it, which gives the
cost as well.  "Evaluations" below counts the calls of either kind: one mini-batch step of SGD is
one gradient evaluation (of 10 examples), one move of annealing is one cost evaluation (of its
batch), one function call of L-BFGS is one gradient evaluation (of the whole training set).  As
the calls differ in size, each line also gives *forward-pass equivalents* (``examples_fpe``):
m per cost evaluation and 3m per gradient evaluation (a dense layer's backward pass makes two
matrix products for the forward pass's one).  Newton's Hessian-vector products count as
evaluations too (6m each: the R-operator is a second forward and backward pass beside the
first), and so do Levenberg–Marquardt's output Jacobians ((1 + 2K)m: one backward pass for each
of the K outputs).  1 epoch of SGD on 50,000 images at batch 10 is
5,000 evaluations and 150,000 forward-pass equivalents.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.callbacks import Callback  # noqa: E402
from nndl.data import load_data  # noqa: E402
from nndl.models import Classifier  # noqa: E402
from nndl.network import Network  # noqa: E402
from nndl.optim import L2, get_optimizer  # noqa: E402
from nndl.trainer import Trainer  # noqa: E402

#: Forward-pass equivalents per example: a gradient evaluation; a Hessian-vector product by the
#: R-operator (the forward pass and its R-pass, backward and its R-pass: two gradients' worth).
GRADIENT_FPE, HV_FPE = 3, 6


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


class Recorder(Callback):
    """Every ``every`` steps: the evaluations so far and the validation cost and accuracy."""

    def __init__(self, method, batch, validation, every=1, out=None, extra=None):
        self.method, self.batch, self.validation, self.every = method, batch, validation, every
        self.out, self.extra, self.points, self.steps = out, extra or {}, [], 0
        self.start = time.perf_counter()

    def counts(self):
        opt = self.model.optimizer
        if getattr(opt, "uses_objective", False):
            return opt.cost_evaluations, opt.gradient_evaluations, opt.hessian_products, opt.jacobian_evaluations
        return 0, self.steps, 0, 0

    def record(self):
        cost, grad, hv, jac = self.counts()
        outputs = self.model.network.num_classes
        fpe = cost + GRADIENT_FPE * grad + HV_FPE * hv + (1 + 2 * outputs) * jac
        logs = self.model.evaluate(*self.validation)
        point = {"method": self.method, "evaluations": cost + grad + hv + jac, "cost_evaluations": cost,
                 "gradient_evaluations": grad, "hessian_products": hv, "jacobian_evaluations": jac,
                 "examples_fpe": self.batch * fpe,
                 "validation_cost": round(logs["cost"], 5), "validation_accuracy": round(logs["accuracy"], 4),
                 "seconds": round(time.perf_counter() - self.start, 2), **self.extra}
        self.points.append(point)
        emit(point, self.out)

    def on_train_begin(self):
        self.record()

    def on_batch_end(self, step, logs):
        self.steps += 1
        if self.steps % self.every == 0:
            self.record()


def emit(record: dict, out) -> None:
    line = json.dumps(record)
    print(line, flush=True)
    if out is not None:
        with open(out, "a") as f:
            f.write(line + "\n")


def fit(net, optimizer, train, validation, batch, epochs, every, method, out, regularizers=(), extra=None,
        test=None):
    model = Classifier(net, optimizer, list(regularizers))
    recorder = Recorder(method, batch, validation, every, out, extra)
    history = Trainer(batch, [recorder], seed=net.seed, threads=1, workers=1, verbose=False).fit(
        model, train, epochs, test_data=test)
    return recorder.points, history


# -- iris -----------------------------------------------------------------------------------------------
#: Every method trains the same cost: log-likelihood (quadratic for Levenberg–Marquardt) plus L2 with λ = 0.5
#: (λ/n = 0.005): without it the searches and the second-order methods drive the training cost towards 0
#: and overfit the 105 training examples (the README gives both).
IRIS_LMBDA = 0.5
IRIS = {
    "sgd": (dict(eta=0.5), 10, 300),
    "annealing": (dict(eta=0.1, t0=0.01, moves=200), None, 50),
    "cauchy": (dict(eta=1.0, t0=0.01, moves=200), None, 50),
    "cauchy_backprop": (dict(eta=0.5, mu=0.5, rho=0.01, moves=10), None, 100),
    "newton": (dict(), None, 20),
    "lbfgs": (dict(), None, 10),
    "levenberg_marquardt": (dict(), None, 10),
}


def part_iris(args, out):
    from nndl.data import load_data

    split = load_data(str(Path(args.data) / "iris" / "iris.csv"), seed=0)
    n = len(split.train)
    curves = {}
    for method, (kwargs, batch, epochs) in IRIS.items():
        accuracies = []
        for seed in range(args.seeds):
            cost = "quadratic" if method == "levenberg_marquardt" else "log_likelihood"
            net = Network.from_sizes([4, 8, 3], activation="sigmoid", cost=cost, seed=seed)
            opt_kwargs = dict(kwargs)
            if method != "sgd":
                opt_kwargs["seed"] = seed
            b = batch or n
            start = time.perf_counter()
            points, history = fit(net, get_optimizer(method, **opt_kwargs), split.train,
                                  (split.validation.x, split.validation.y), b, epochs, 1 if batch is None else 11,
                                  method, None, [L2(args.iris_lmbda)] if args.iris_lmbda else [],
                                  test=split.test, extra={"seed": seed})
            if seed == 0:
                curves[method] = points
            final = history.final
            accuracies.append(final["test_accuracy"])
            emit({"part": "iris", "method": method, "seed": seed, "net": [4, 8, 3], "cost": cost,
                  "lmbda": args.iris_lmbda, "epochs": epochs,
                  "batch": b, "evaluations": points[-1]["evaluations"], "examples_fpe": points[-1]["examples_fpe"],
                  "training_cost": round(history["training_cost"][-1], 5),
                  "test_accuracy": round(final["test_accuracy"], 4), "test_examples": len(split.test),
                  "seconds": round(time.perf_counter() - start, 2), "load_avg": load_avg()}, out)
        emit({"part": "iris", "method": method, "summary": True, "seeds": args.seeds,
              "mean_test_accuracy": round(float(np.mean(accuracies)), 4),
              "min_test_accuracy": round(float(np.min(accuracies)), 4), "options": kwargs}, out)
    figure(curves, Path(args.out) / "iris_cost_vs_evaluations.png", "iris [4,8,3], validation cost (seed 0)")


# -- network paralysis: Cauchy training's long jumps, with and without weight squashing ----------------------
def part_paralysis(args, out):
    from nndl.optim.annealing import saturated_fraction

    split = load_data(str(Path(args.data) / "iris" / "iris.csv"), seed=0)
    n = len(split.train)
    for squash in (0.0, 4.0):
        for seed in range(args.seeds):
            net = Network.from_sizes([4, 8, 3], activation="sigmoid", cost="log_likelihood", seed=seed)
            opt = get_optimizer("cauchy", eta=5.0, t0=0.01, moves=200, squash=squash, seed=seed)
            model = Classifier(net, opt, [L2(IRIS_LMBDA)])
            history = Trainer(n, seed=seed, threads=1, verbose=False).fit(model, split.train, 50,
                                                                          test_data=split.test)
            emit({"part": "paralysis", "method": "cauchy", "rho": 5.0, "squash": squash, "seed": seed,
                  "largest_weight": round(max(float(np.abs(p.value).max()) for p in net.params), 3),
                  "saturated_fraction": round(saturated_fraction(net, split.train.x), 4),
                  "training_cost": round(history["training_cost"][-1], 4),
                  "test_accuracy": round(history.final["test_accuracy"], 4)}, out)


# -- MNIST [784,30,10] at the budget of one epoch of SGD ------------------------------------------------
def summary(part, method, net, points, test, out, **extra):
    """The last point of a run, with the test accuracy of its final weights."""
    logs = Classifier(net, None).evaluate(test.x, test.y)
    last = points[-1]
    emit({"part": part, "method": method, "summary": True, "evaluations": last["evaluations"],
          "examples_fpe": last["examples_fpe"], "validation_accuracy": last["validation_accuracy"],
          "test_accuracy": round(logs["accuracy"], 4), "test_cost": round(logs["cost"], 4),
          "seconds": last["seconds"], "load_avg": load_avg(), **extra}, out)


def part_mnist(args, out):
    splits = load_data("mnist")
    train, val = splits.train, (splits.validation.x, splits.validation.y)
    budget = 5000                                         # 1 epoch of SGD: 50,000 images / batch 10
    curves = {}
    net = Network.from_sizes([784, 30, 10], activation="sigmoid", cost="cross_entropy", seed=0)
    curves["sgd"], _ = fit(net, get_optimizer("sgd", eta=0.5), train, val, 10, 1, 250, "sgd", out,
                           extra={"part": "mnist", "batch": 10})
    summary("mnist", "sgd", net, curves["sgd"], splits.test, out, batch=10, eta=0.5)
    search_batch, moves = args.search_batch, 49           # 50 cost evaluations per step
    steps = budget // (moves + 1)
    epochs = -(-steps * search_batch // len(train))
    for method, kwargs in (("annealing", dict(eta=args.sigma, t0=args.t0, fraction=args.fraction)),
                           ("cauchy", dict(eta=args.rho, t0=args.t0, fraction=args.fraction))):
        net = Network.from_sizes([784, 30, 10], activation="sigmoid", cost="cross_entropy", seed=0)
        opt = get_optimizer(method, moves=moves, seed=0, **kwargs)

        class Budget(Callback):
            def on_batch_end(self, step, logs):
                if opt.cost_evaluations >= budget:
                    self.trainer.stop("budget", now=True)

        model = Classifier(net, opt)
        recorder = Recorder(method, search_batch, val, 10, out, {"part": "mnist", "batch": search_batch,
                                                                  **kwargs})
        Trainer(search_batch, [recorder, Budget()], seed=0, threads=1, workers=1, verbose=False).fit(
            model, train, epochs)
        curves[method] = recorder.points
        summary("mnist", method, net, recorder.points, splits.test, out, batch=search_batch, moves=moves,
                **kwargs)
    net = Network.from_sizes([784, 30, 10], activation="sigmoid", cost="cross_entropy", seed=0)
    curves["lbfgs"], _ = fit(net, get_optimizer("lbfgs", iterations=10), train, val, len(train),
                             args.lbfgs_steps, 1, "lbfgs", out, extra={"part": "mnist", "batch": len(train)})
    summary("mnist", "lbfgs", net, curves["lbfgs"], splits.test, out, batch=len(train))
    figure(curves, Path(args.out) / "mnist_cost_vs_evaluations.png",
           "MNIST [784,30,10], validation cost", fpe=True)


# -- L-BFGS against SGD on 10,000 images, [784,100,10] ------------------------------------------------------
def part_lbfgs(args, out):
    splits = load_data("mnist")
    train = splits.train.subset(10_000) if hasattr(splits.train, "subset") else splits.train
    val = (splits.validation.x, splits.validation.y)
    lam = 1.0                                             # λ/n = 10⁻⁴, the book's 5.0 at 50,000 images
    curves = {}
    net = Network.from_sizes([784, 100, 10], activation="sigmoid", cost="cross_entropy", seed=0)
    curves["sgd"], _ = fit(net, get_optimizer("sgd", eta=0.5), train, val, 10, args.sgd_epochs, 500, "sgd", out,
                           [L2(lam)], extra={"part": "lbfgs", "batch": 10, "lmbda": lam})
    net = Network.from_sizes([784, 100, 10], activation="sigmoid", cost="cross_entropy", seed=0)
    curves["lbfgs"], _ = fit(net, get_optimizer("lbfgs", iterations=10), train, val, len(train),
                             args.lbfgs_big_steps, 1, "lbfgs", out, [L2(lam)],
                             extra={"part": "lbfgs", "batch": len(train), "lmbda": lam})
    best_sgd = max(p["validation_accuracy"] for p in curves["sgd"])
    sgd_at = next(p for p in curves["sgd"] if p["validation_accuracy"] >= best_sgd)
    reached = next((p for p in curves["lbfgs"] if p["validation_accuracy"] >= best_sgd), None)
    best_lbfgs = max(curves["lbfgs"], key=lambda p: p["validation_accuracy"])
    emit({"part": "lbfgs", "summary": True, "sgd_best_validation_accuracy": best_sgd,
          "sgd_evaluations_to_best": sgd_at["evaluations"], "sgd_fpe_to_best": sgd_at["examples_fpe"],
          "lbfgs_reached": reached is not None,
          "lbfgs_evaluations_to_sgd_best": None if reached is None else reached["evaluations"],
          "lbfgs_fpe_to_sgd_best": None if reached is None else reached["examples_fpe"],
          "lbfgs_best_validation_accuracy": best_lbfgs["validation_accuracy"],
          "lbfgs_evaluations_at_best": best_lbfgs["evaluations"], "load_avg": load_avg()}, out)
    figure(curves, Path(args.out) / "lbfgs_vs_sgd_784_100_10.png",
           "MNIST 10,000 images [784,100,10], L2 λ=1", fpe=True, key="validation_accuracy")


# -- figures ----------------------------------------------------------------------------------------------
def figure(curves: dict, path: Path, title: str, fpe: bool = False, key: str = "validation_cost") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("evaluations", "evaluations (calls)")] + ([("examples_fpe", "forward-pass equivalents")] if fpe
                                                         else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, (x, label) in zip(axes[0], panels):
        for method, points in curves.items():
            xs = [max(p[x], 1) for p in points]
            ax.plot(xs, [p[key] for p in points], marker=".", ms=3, label=method)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(key.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["iris", "paralysis", "mnist", "lbfgs", "all"], default="all")
    p.add_argument("--out", default="docs/results/nongradient")
    p.add_argument("--data", default=os.environ.get("NNDL_DATA", "/work/shared/data"))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--iris-lmbda", type=float, default=IRIS_LMBDA, help="iris: the L2 λ of every method")
    p.add_argument("--sigma", type=float, default=0.2, help="MNIST: annealing's step scale σ")
    p.add_argument("--rho", type=float, default=3.0, help="MNIST: Cauchy training's step scale ρ")
    p.add_argument("--t0", type=float, default=1e-4, help="MNIST: the initial temperature of both")
    p.add_argument("--fraction", type=float, default=0.1, help="MNIST: the fraction of weights moved per move")
    p.add_argument("--search-batch", type=int, default=1000, help="MNIST: the batch annealing evaluates")
    p.add_argument("--lbfgs-steps", type=int, default=15, help="MNIST [784,30,10]: L-BFGS steps of 10 iterations")
    p.add_argument("--sgd-epochs", type=int, default=10, help="[784,100,10]: SGD epochs on the 10,000 images")
    p.add_argument("--lbfgs-big-steps", type=int, default=40, help="[784,100,10]: L-BFGS steps of 10 iterations")
    args = p.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for part in (["iris", "paralysis", "mnist", "lbfgs"] if args.part == "all" else [args.part]):
        out = Path(args.out) / f"{part}.jsonl"
        out.write_text("")
        {"iris": part_iris, "paralysis": part_paralysis, "mnist": part_mnist, "lbfgs": part_lbfgs}[part](args, out)


if __name__ == "__main__":
    main()
