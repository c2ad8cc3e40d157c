"""The units of the course notes, measured: RBF networks (MNIST, iris), maxout and PReLU beside ReLU
on MNIST, and the perceptron that cannot learn XOR.

Each run prints JSON lines (one per measured figure) and writes its figures (PNG) into
``--out`` (default docs/results/units):

    python bench/units.py rbf-mnist       # k-means + ridge baseline, then centres and widths trained
    python bench/units.py rbf-iris        # RBF network on iris, and the centres drawn on the data
    python bench/units.py units-mnist     # ReLU, PReLU, maxout, [784,100,10]-sized, same epochs
    python bench/units.py xor             # the single-layer perceptron fails, a two-layer net succeeds

Everything runs on one BLAS thread (the machine is shared); ``--quick`` shrinks each run to seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("NNDL_DATA", str(REPO.parent / "shared" / "data"))

import numpy  # noqa: E402

from nndl.backend import blas_threads  # noqa: E402


def emit(line: dict, sink) -> None:
    text = json.dumps(line)
    print(text, flush=True)
    if sink:
        print(text, file=sink, flush=True)


def _train(network, train, epochs, optimizer, batch_size, validation=None, test=None, verbose=True):
    """Train with the library's Trainer (JSON-free); the final record with validation and test figures."""
    from nndl.callbacks import EarlyStopping, LambdaCallback
    from nndl.models import Classifier
    from nndl.trainer import Trainer

    def report(trainer, epoch, record):
        if verbose:
            print(f"  epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in record.items()
                                                   if isinstance(v, float)), file=sys.stderr, flush=True)

    callbacks = [LambdaCallback(on_epoch_end=report)]
    if validation is not None:
        callbacks.insert(0, EarlyStopping("validation_accuracy", patience=None, restore_best=True))
    trainer = Trainer(batch_size, callbacks, threads=1, workers=1, verbose=False)
    start = time.perf_counter()
    history = trainer.fit(Classifier(network, optimizer), train, epochs, validation_data=validation,
                          test_data=test)
    final = dict(history.final)
    final["seconds_total"] = time.perf_counter() - start
    return final


def ridge_output(features, labels, classes, lambdas, val_features=None, val_labels=None):
    """The least-squares output layer W (k+1, classes) on [φ, 1], ridge λ chosen on the validation data.

    (ΦᵀΦ + λI) W = ΦᵀY with one-hot Y: one eigendecomposition of ΦᵀΦ serves every λ.
    """
    design = numpy.c_[features.astype(numpy.float64), numpy.ones(len(features))]
    gram, rhs = design.T @ design, design.T @ numpy.eye(classes)[labels]
    values, vectors = numpy.linalg.eigh(gram)
    projected = vectors.T @ rhs
    best = None
    for lam in lambdas:
        w = vectors @ (projected / (values + lam)[:, None])
        if val_features is None:
            return w, lam, None
        acc = float((_ridge_predict(w, val_features) == val_labels).mean())
        if best is None or acc > best[2]:
            best = (w, lam, acc)
    return best


def _ridge_predict(w, features):
    return (numpy.c_[features.astype(numpy.float64), numpy.ones(len(features))] @ w).argmax(axis=1)


def _features(layer, x, chunk=2000):
    from nndl.layers import no_grad

    with no_grad():
        return numpy.concatenate([layer.forward(x[i:i + chunk]) for i in range(0, len(x), chunk)])


# ------------------------------------------------------------------------------------- RBF on MNIST
def rbf_mnist(args, sink):
    from nndl.data import load_mnist
    from nndl.layers import RBF, Dense
    from nndl.layers.data_init import initialize_from_data
    from nndl.network import Network
    from nndl.optim import Adam

    data = load_mnist(split="book")
    train, val, test = data.train, data.validation, data.test
    units, epochs = args.units, args.epochs
    if args.quick:
        train, val, test, units, epochs = train.subset(3000), val.subset(1000), test.subset(1000), 100, args.epochs
    net = Network([RBF(units, kernel=args.kernel), Dense(10, activation="softmax")], (784,),
                  cost="log_likelihood", seed=args.seed)
    rbf = net.layers[0]
    start = time.perf_counter()
    initialize_from_data(net, train.x)
    kmeans_seconds = time.perf_counter() - start
    base_sigma = rbf.sigma.value.copy()
    ridge = {}
    for width in sorted({0.5, 0.75, 1.0, 1.5, 2.0, args.width}):   # the baseline's width scale, chosen on validation
        rbf.sigma.value[...] = base_sigma * width
        phi_train, phi_val = _features(rbf, train.x), _features(rbf, val.x)
        w, lam, acc = ridge_output(phi_train, train.y, 10, (1e-6, 1e-4, 1e-2, 1.0), phi_val, val.y)
        test_acc = float((_ridge_predict(w, _features(rbf, test.x)) == test.y).mean())
        ridge[width] = (w, lam, acc, test_acc)
        print(f"  ridge width {width}: λ {lam}, validation {acc:.4f}, test {test_acc:.4f}", file=sys.stderr, flush=True)
    best = max(ridge, key=lambda k: ridge[k][2])
    emit({"run": "rbf-mnist kmeans+ridge", "units": units, "kernel": args.kernel, "width_scale": best,
          "ridge_lambda": ridge[best][1], "validation_accuracy": round(ridge[best][2], 4),
          "test_accuracy": round(ridge[best][3], 4), "kmeans_seconds": round(kmeans_seconds, 1),
          "train_size": len(train), "seed": args.seed,
          "by_width": {str(k): {"validation_accuracy": round(v[2], 4), "test_accuracy": round(v[3], 4)}
                       for k, v in ridge.items()}}, sink)
    # Training starts from the same centres, widths scaled by --width, and the ridge output at that width
    # (as logits, scaled up): it starts at that baseline.
    width = args.width
    w = ridge[width][0]
    rbf.sigma.value[...] = base_sigma * width
    out = net.layers[1]
    out.W.value[...] = (args.logit_scale * w[:-1].T).astype(out.W.value.dtype)
    out.b.value[...] = (args.logit_scale * w[-1]).astype(out.b.value.dtype)
    final = _train(net, train, epochs, Adam(args.eta), args.batch_size, validation=val, test=test)
    emit({"run": "rbf-mnist trained centres+widths", "units": units, "kernel": args.kernel, "width_scale": width,
          "optimizer": f"adam({args.eta})", "logit_scale": args.logit_scale, "epochs": epochs, "batch_size": args.batch_size,
          "best_epoch": final.get("best_epoch"), "validation_accuracy": round(final["best_validation_accuracy"], 4),
          "test_accuracy": round(final["test_accuracy"], 4), "seconds": round(final["seconds_total"], 1),
          "train_size": len(train), "seed": args.seed,
          "sigma_mean_before": round(float((base_sigma * width).mean()), 4),
          "sigma_mean_after": round(float(rbf.sigma.value.mean()), 4)}, sink)
    if args.save:
        from nndl import io

        io.save(net, args.save, {"run": "rbf-mnist"})


# ------------------------------------------------------------------------------------- from the command line
def nndl_train(options: list, seed: int) -> dict:
    """``nndl train ... --seed S --threads 1 --json`` as a user runs it; its last JSON line."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "nndl", "train", *options, "--seed", str(seed), "--threads", "1", "--json",
               "--out", str(Path(tmp) / "m.npz")]
        done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    if done.returncode:
        raise SystemExit(f"nndl train failed: {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _command_line(final: dict, options: list, seed: int, name: str) -> dict:
    shown = " ".join(f'"{o}"' if " " in o else o for o in options)
    return {"run": name, "command": f"nndl train {shown} --seed {seed} --threads 1", "seed": seed,
            **{k: round(v, 4) for k, v in final.items() if k.startswith(("test_", "best_")) and isinstance(v, float)},
            "best_epoch": final.get("best_epoch"), "seconds": round(final.get("seconds_total", 0.0), 1)}


IRIS = "iris/iris.csv"
IRIS_RBF = ["--net", "rbf(6) softmax(3)", "--cost", "log_likelihood", "--optimizer", "adam", "--eta", "0.01",
            "--epochs", "150", "--batch-size", "10"]


def rbf_iris(args, sink):
    """The RBF network on iris over five splits from the command line, and its centres drawn on the data."""
    data = Path(os.environ["NNDL_DATA"]) / IRIS
    options = ["--data", str(data), *IRIS_RBF]
    if args.quick:
        options[options.index("150")] = "20"
    accs = []
    for seed in range(1 if args.quick else 5):
        line = _command_line(nndl_train(options, seed), options, seed, "rbf-iris")
        line["command"] = line["command"].replace(str(data), IRIS)
        accs.append(line["test_accuracy"])
        emit(line, sink)
    emit({"run": "rbf-iris mean", "splits": len(accs), "test_accuracy_mean": round(float(numpy.mean(accs)), 4),
          "test_accuracy_std": round(float(numpy.std(accs)), 4)}, sink)
    draw_iris_centres(data, args, sink)


def draw_iris_centres(path, args, sink):
    """Train the RBF net of seed 0 in Python, drawing its centres before (k-means) and after training
    on the petal length/width plane (standardized units: the CSV loader's)."""
    from nndl.data import load_data
    from nndl.experiments import plotting
    from nndl.layers import RBF, Dense
    from nndl.layers.data_init import initialize_from_data
    from nndl.network import Network
    from nndl.optim import Adam

    splits = load_data(str(path), seed=0)
    net = Network([RBF(6), Dense(3, activation="softmax")], (4,), cost="log_likelihood", seed=0)
    initialize_from_data(net, splits.train.x)
    before = net.layers[0].centres.value.copy(), net.layers[0].sigma.value.copy()
    final = _train(net, splits.train, 20 if args.quick else 150, Adam(0.01), 10, validation=splits.validation,
                   test=splits.test, verbose=False)
    after = net.layers[0].centres.value, net.layers[0].sigma.value
    everything = numpy.concatenate([splits.train.x, splits.validation.x, splits.test.x])
    labels = numpy.concatenate([splits.train.y, splits.validation.y, splits.test.y])
    names = splits.train.class_names or ["0", "1", "2"]
    with plotting.figure(args.out / "rbf_iris_centres.png", 1, 2, size=(11, 4.6)) as (fig, axes):
        for ax, (centres, sigma), title in zip(axes, (before, after), ("k-means centres (start)",
                                                                      f"after training (test {final['test_accuracy']:.1%})")):
            for k, name in enumerate(names):
                pts = everything[labels == k]
                ax.scatter(pts[:, 2], pts[:, 3], s=14, alpha=0.6, color=plotting.COLORS[k], label=name)
            ax.scatter(centres[:, 2], centres[:, 3], marker="x", s=70, color="black", label="centres")
            for (cx, cy), s in zip(centres[:, 2:4], sigma):
                ax.add_patch(__import__("matplotlib").patches.Circle((cx, cy), s, fill=False, lw=0.6, alpha=0.4))
            ax.set_aspect("equal", adjustable="datalim")
            plotting.finish(ax, "petal length (standardized)", "petal width (standardized)", title)
    emit({"run": "rbf-iris centres figure", "figure": "rbf_iris_centres.png", "seed": 0,
          "test_accuracy": round(final["test_accuracy"], 4),
          "centre_shift_mean": round(float(numpy.linalg.norm(after[0] - before[0], axis=1).mean()), 4),
          "note": "circles: radius σ_j in the 4-D input, drawn in the petal plane"}, sink)


# ------------------------------------------------------------------------------------- units on MNIST
UNIT_NETS = {
    "relu": "dense(100) relu softmax(10)",
    "prelu": "dense(100) prelu softmax(10)",
    "rrelu": "dense(100) rrelu softmax(10)",
    "maxout(100,2) same units": "maxout(100,2) softmax(10)",
    "maxout(50,2) same parameters": "maxout(50,2) softmax(10)",
}


def units_mnist(args, sink):
    """ReLU, PReLU, randomized leaky ReLU and maxout on MNIST at the same budget: same epochs, η, batch."""
    epochs = "1" if args.quick else str(args.epochs)
    seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else [args.seed]
    for name, net in UNIT_NETS.items():
        options = ["--net", net, "--cost", "log_likelihood", "--init", "he", "--eta", "0.1", "--epochs", epochs,
                   "--batch-size", "20"] + (["--train-size", "2000"] if args.quick else [])
        accs = []
        for seed in seeds:
            line = _command_line(nndl_train(options, seed), options, seed, f"units-mnist {name}")
            line["parameters"] = _parameters(net)
            accs.append(line["test_accuracy"])
            emit(line, sink)
        if len(seeds) > 1:
            emit({"run": f"units-mnist {name} mean", "seeds": seeds, "parameters": _parameters(net),
                  "test_accuracy_mean": round(float(numpy.mean(accs)), 4),
                  "test_accuracy_std": round(float(numpy.std(accs)), 4)}, sink)


def _parameters(spec: str) -> int:
    from nndl.network import Network
    from nndl.spec import parse_spec

    return sum(p.value.size for p in Network(parse_spec(spec, (784,)), (784,)).params)


# ------------------------------------------------------------------------------------- XOR
XOR_X = numpy.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_T = numpy.array([-1, 1, 1, -1])


def xor(args, sink):
    """The perceptron rule never converges on XOR; a single sigmoid layer trained by backprop gets 3 of 4 at
    best; a two-layer net (two tanh hidden units) gets all four."""
    from nndl.experiments import plotting
    from nndl.layers import Dense
    from nndl.models import BinaryClassifier
    from nndl.network import Network
    from nndl.optim import SGD
    from nndl.perceptron import learn
    from nndl.trainer import Trainer

    perceptron, mistakes = learn(XOR_X, XOR_T, epochs=100, seed=args.seed)
    p_acc = float((perceptron(XOR_X) == XOR_T).mean())
    emit({"run": "xor single-layer perceptron (rule)", "epochs": len(mistakes), "converged": mistakes[-1] == 0,
          "mistakes_last_epochs": mistakes[-5:], "accuracy": p_acc}, sink)
    y01 = (XOR_T > 0).astype(float)
    nets = {}
    for name, layers in (("one sigmoid layer", [Dense(1, activation="sigmoid")]),
                         ("two layers (2 tanh hidden)", [Dense(2, activation="tanh"), Dense(1, activation="sigmoid")])):
        net = Network(layers, (2,), cost="cross_entropy", seed=args.seed)
        model = BinaryClassifier(net, SGD(0.5))
        Trainer(4, verbose=False, threads=1, workers=1).fit(model, (XOR_X, y01), 2000)
        acc = float((model.predict_classes(XOR_X) == y01).mean())
        nets[name] = (model, acc)
        emit({"run": f"xor {name} (backprop)", "epochs": 2000, "eta": 0.5, "accuracy": acc,
              "outputs": [round(float(v), 3) for v in model.predict(XOR_X)[:, 0]]}, sink)
    g = numpy.linspace(-0.5, 1.5, 201)
    xx, yy = numpy.meshgrid(g, g)
    grid = numpy.column_stack([xx.ravel(), yy.ravel()])
    panels = [("perceptron rule (100 epochs): " + f"{p_acc:.0%}", perceptron(grid).reshape(xx.shape) > 0)]
    panels += [(f"{name}: {acc:.0%}", (model.predict(grid)[:, 0] > 0.5).reshape(xx.shape))
               for name, (model, acc) in nets.items()]
    with plotting.figure(args.out / "xor.png", 1, 4, size=(18, 4.2)) as (fig, axes):
        for ax, (title, region) in zip(axes, panels):
            ax.contourf(xx, yy, region.astype(float), levels=[-0.5, 0.5, 1.5], colors=["#FFDDDD", "#DDE8F5"])
            for (a, b), t in zip(XOR_X, XOR_T):
                ax.scatter([a], [b], s=120, color=plotting.COLORS[0] if t > 0 else plotting.COLORS[2],
                           marker="o" if t > 0 else "s", zorder=3)
            ax.set_aspect("equal")
            plotting.finish(ax, "x₁", "x₂", title)
        axes[3].plot(range(1, len(mistakes) + 1), mistakes)
        plotting.finish(axes[3], "epoch", "mistakes per epoch", "perceptron rule on XOR: never 0")
    emit({"run": "xor figure", "figure": "xor.png"}, sink)


COMMANDS = {"rbf-mnist": rbf_mnist, "rbf-iris": rbf_iris, "units-mnist": units_mnist, "xor": xor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", choices=sorted(COMMANDS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="units-mnist: several seeds, e.g. 0,1,2 (and their mean)")
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--kernel", default="gaussian")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--eta", type=float, default=0.001)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--width", type=float, default=1.0, help="rbf-mnist: the width scale training starts from")
    parser.add_argument("--logit-scale", type=float, default=10.0)
    parser.add_argument("--save", help="save the trained model here")
    parser.add_argument("--out", default=str(REPO / "docs" / "results" / "units"))
    parser.add_argument("--jsonl", help="also append the JSON lines to this file")
    args = parser.parse_args()
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    sink = open(args.jsonl, "a") if args.jsonl else None
    with blas_threads(1):
        COMMANDS[args.run](args, sink)


if __name__ == "__main__":
    main()
