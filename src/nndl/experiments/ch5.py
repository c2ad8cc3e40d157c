"""Chapter 5: why deep networks are hard to train — the vanishing gradient.

The speed of learning of hidden layer l is ‖δˡ‖, the length of the vector of
∂C/∂bˡ_j over that layer's neurons, for the gradient averaged over the first 1,000
training images (the book's generate_gradient.py).  One backprop of the 1,000 images
as a single batch gives exactly that average: nndl's gradients are of the batch mean.
"""
from __future__ import annotations

import numpy

from nndl.experiments import plotting
from nndl.experiments._common import best, curve, mnist, rounded, subset, train
from nndl.experiments.registry import experiment, log, row

ARCHITECTURES = [[784, 30, 30, 10], [784, 30, 30, 30, 10], [784, 30, 30, 30, 30, 10]]
BOOK_INITIAL = {2: [0.07, 0.31], 3: [0.012, 0.060, 0.283], 4: [0.003, 0.017, 0.070, 0.285]}
BOOK_ACCURACY = {1: 96.48, 2: 96.90, 3: 96.57, 4: 96.53}


def hidden_speeds(net, x, onehot) -> list[float]:
    """‖∂C/∂b‖ of every hidden layer for the mean gradient over the batch ``x``."""
    from nndl.backend import to_numpy

    net.backprop(x, onehot)
    dense = [layer for layer in net.layers if layer.params]
    return [float(numpy.linalg.norm(to_numpy(layer.b.grad))) for layer in dense[:-1]]


@experiment("vanishing-gradient", 5, "The vanishing gradient: the speed of learning of each hidden layer",
            "chap5.html#the_vanishing_gradient_problem",
            book={"initial_speeds": {str(k): v for k, v in BOOK_INITIAL.items()}, "images": 1000,
                  "training": "500 epochs of full-batch gradient descent on 1,000 images, η = 0.1, λ = 5.0"},
            summary="Early hidden layers learn much more slowly than later ones, and the gap grows with depth: "
                    "the vanishing gradient.",
            full_minutes=0.5)
def vanishing_gradient(out_dir, quick, seed):
    from nndl.backend import to_device
    from nndl.network import Network
    from nndl.optim import L2, SGD

    data = mnist()
    n, epochs = 1000, (60 if quick else 500)
    x_host, y_host = data.train.x[:n], data.train.y[:n]
    initial, during = {}, {}
    for sizes in ARCHITECTURES:
        depth = len(sizes) - 2
        net = Network.from_sizes(sizes, cost="cross_entropy", init="default", seed=seed)
        x, onehot = net.as_input(x_host), net.one_hot(to_device(y_host))
        initial[depth] = hidden_speeds(net, x, onehot)
        log(f"vanishing-gradient: {depth} hidden layers, initial speeds {initial[depth]}")
        opt, reg, params = SGD(0.1), L2(5.0), net.params
        speeds = []
        for _ in range(epochs):                       # the book: net.SGD(td, 1, 1000, 0.1, lmbda=5.0)
            speeds.append(hidden_speeds(net, x, onehot))
            reg.add_gradient(params, n)
            opt.step(params)
        during[depth] = speeds
    first_slower = {d: v[0] < v[-1] for d, v in initial.items()}

    figures = ["initial_speeds.png", "speed_during_training.png"]
    with plotting.figure(out_dir / figures[0], 1, 3, size=(13, 3.8)) as (fig, axes):
        for ax, (depth, ours) in zip(axes, initial.items()):
            k = numpy.arange(1, depth + 1)
            ax.bar(k - 0.2, BOOK_INITIAL[depth], 0.4, color=plotting.BOOK_COLOR, label="book")
            ax.bar(k + 0.2, ours, 0.4, color=plotting.COLORS[0], label="nndl")
            ax.set_xticks(k)
            plotting.finish(ax, "hidden layer", "‖δ‖ at initialization", f"{depth} hidden layers",
                            legend="upper left")
    with plotting.figure(out_dir / figures[1], 1, 3, size=(13, 3.8)) as (fig, axes):
        for ax, (depth, speeds) in zip(axes, during.items()):
            arr = numpy.array(speeds)
            for j in range(depth):
                ax.plot(numpy.arange(epochs), arr[:, j], label=f"hidden layer {j + 1}")
            ax.set_yscale("log")
            plotting.finish(ax, "epochs of training", "speed of learning ‖δ‖", f"{depth} hidden layers",
                            legend="upper right")
    rows = []
    for depth, ours in initial.items():
        rows.append(row(f"{depth} hidden layers: ‖δ‖ per hidden layer at initialization",
                        ", ".join(f"{v:g}" for v in BOOK_INITIAL[depth]), ", ".join(f"{v:.3f}" for v in ours)))
        rows.append(row(f"{depth} hidden layers: last / first layer ratio",
                        round(BOOK_INITIAL[depth][-1] / BOOK_INITIAL[depth][0], 1), round(ours[-1] / ours[0], 1)))
    return {
        "settings": {"architectures": ARCHITECTURES, "cost": "cross_entropy", "init": "default (N(0,1/n_in))",
                     "images": n, "training_epochs": epochs, "eta": 0.1, "lmbda": 5.0,
                     "training": "full-batch gradient descent on the 1,000 images (one step per epoch)"},
        "nndl": {"initial_speeds": {str(d): rounded(v, 5) for d, v in initial.items()},
                 "first_layer_slower_than_last": {str(d): v for d, v in first_slower.items()},
                 "speeds_during_training": {str(d): [rounded(s, 6) for s in v] for d, v in during.items()},
                 "final_speeds": {str(d): rounded(v[-1], 5) for d, v in during.items()}},
        "rows": rows,
        "figures": figures,
        "notes": ["Our initial weights are another random draw than the book's, so the speeds agree in size "
                  "and in the pattern (each layer several times slower than the one after it), not in every digit."],
    }


@experiment("deep-networks", 5, "Deeper networks: accuracy with 1 to 4 hidden layers of 30 neurons",
            "chap5.html#the_vanishing_gradient_problem",
            book={"validation_accuracy": {str(k): v for k, v in BOOK_ACCURACY.items()}},
            summary="Adding hidden layers to a plain sigmoid network hardly helps: 96.48% to 96.90% for one to "
                    "four.",
            full_minutes=2.0)
def deep_networks(out_dir, quick, seed):
    from nndl.network import Network

    data = mnist()
    n_train, epochs, n_val = (3000, 2, 1000) if quick else (None, 30, None)
    train_set, val_set = subset(data.train, n_train), subset(data.validation, n_val)
    runs = {}
    for depth in (1, 2, 3, 4):
        sizes = [784] + [30] * depth + [10]
        net = Network.from_sizes(sizes, cost="cross_entropy", init="default", seed=seed)
        h = train(net, train_set, epochs, 0.1, lmbda=5.0, validation=val_set, seed=seed,
                  label=f"{depth} hidden layers")
        acc = curve(h, "validation_accuracy", percent=True)
        peak, peak_epoch = best(acc)
        runs[str(depth)] = {"sizes": sizes, "validation_accuracy": rounded(acc, 2), "final": round(acc[-1], 2),
                            "best": round(peak, 2), "best_epoch": peak_epoch,
                            "seconds": round(h.final["seconds_total"], 2)}
    figures = ["accuracy_by_depth.png"]
    with plotting.figure(out_dir / figures[0], 1, 2, size=(11, 4)) as (fig, (ax1, ax2)):
        for depth, r in runs.items():
            ax1.plot(plotting.epochs_axis(epochs), r["validation_accuracy"], label=f"{depth} hidden")
        plotting.finish(ax1, "epoch", "validation accuracy (%)", "[784, 30, …, 30, 10], η = 0.1, λ = 5.0",
                        legend="lower right")
        k = numpy.arange(1, 5)
        ax2.bar(k - 0.2, [BOOK_ACCURACY[d] for d in (1, 2, 3, 4)], 0.4, color=plotting.BOOK_COLOR, label="book")
        ax2.bar(k + 0.2, [runs[str(d)]["final"] for d in (1, 2, 3, 4)], 0.4, color=plotting.COLORS[0],
                label="nndl (last epoch)")
        lo = min([BOOK_ACCURACY[1]] + [r["final"] for r in runs.values()])
        ax2.set_ylim(max(0.0, lo - 3), 100)
        ax2.set_xticks(k)
        plotting.finish(ax2, "hidden layers", "validation accuracy (%)", "book vs nndl", legend="upper left")
    return {
        "settings": {"hidden": "1 to 4 layers of 30 sigmoid neurons", "cost": "cross_entropy", "init": "default",
                     "eta": 0.1, "lmbda": 5.0, "batch_size": 10, "epochs": epochs,
                     "training_images": len(train_set), "validation_images": len(val_set)},
        "nndl": {"runs": runs},
        "rows": [row(f"{d} hidden layer{'s' if d > 1 else ''}: validation accuracy (last / best epoch)",
                     BOOK_ACCURACY[d], f"{runs[str(d)]['final']} / {runs[str(d)]['best']}", "%")
                 for d in (1, 2, 3, 4)],
        "figures": figures,
    }
