"""Chapter 3: cross-entropy, overfitting and L2 regularization, weight initialization,
learning rates, more training data, and softmax."""
from __future__ import annotations

import numpy

from nndl.experiments import plotting
from nndl.experiments._common import (best, curve, mnist, pct, rounded, sklearn_available, subset, train)
from nndl.experiments.registry import experiment, log, row

CH3 = "chap3.html"


# ---------------------------------------------------------------------------------- learning slowdown
@experiment("learning-slowdown", 3, "The learning slowdown: one neuron, quadratic vs cross-entropy cost",
            f"{CH3}#the_cross-entropy_cost_function",
            book={"start_1": {"w": 0.6, "b": 0.9, "initial_output": 0.82, "quadratic_output_after_300": 0.09},
                  "start_2": {"w": 2.0, "b": 2.0, "initial_output": 0.98, "quadratic_output_after_300": 0.20},
                  "eta": 0.15, "epochs": 300},
            summary="Started badly wrong (w = b = 2), a sigmoid neuron with the quadratic cost hardly moves for "
                    "dozens of epochs; with the cross-entropy cost it learns fastest when it is most wrong.")
def learning_slowdown(out_dir, quick, seed):
    from nndl.network import Network
    from nndl.optim import SGD

    epochs, eta = 300, 0.15          # as cheap quick as full: 300 steps of one neuron
    starts = {"w=0.6, b=0.9": (0.6, 0.9), "w=2.0, b=2.0": (2.0, 2.0)}
    costs = {"quadratic": "quadratic", "cross-entropy": "cross_entropy"}
    x, y = numpy.array([[1.0]]), numpy.array([[0.0]])
    runs = {}
    for start, (w, b) in starts.items():
        for cname, cost in costs.items():
            net = Network.from_sizes([1, 1], activation="sigmoid", output_activation="sigmoid", cost=cost,
                                     dtype=numpy.float64, seed=seed)
            net.set_weights([numpy.array([[w]]), numpy.array([b])])
            opt = SGD(eta)
            c_hist, a_hist = [], []
            for _ in range(epochs + 1):
                a = net.backprop(x, y)        # the gradient of C for the single input 1 -> target 0
                c_hist.append(net.cost.fn(a, y))
                a_hist.append(float(a[0, 0]))
                opt.step(net.params)
            runs[f"{start} / {cname}"] = {"start": start, "cost_name": cname, "cost": c_hist, "output": a_hist}

    def drop(key, n):
        c = runs[key]["cost"]
        return (c[0] - c[n]) / c[0]

    early = 30
    s2q, s2x = "w=2.0, b=2.0 / quadratic", "w=2.0, b=2.0 / cross-entropy"
    figures = ["learning_slowdown.png"]
    with plotting.figure(out_dir / figures[0], 2, 2, size=(11, 7)) as (fig, axes):
        for col, start in enumerate(starts):
            for cname in costs:
                r = runs[f"{start} / {cname}"]
                axes[0, col].plot(r["cost"], label=f"{cname} cost")
                axes[1, col].plot(r["output"], label=cname)
            plotting.finish(axes[0, col], "epoch", "cost", f"start {start}: cost")
            plotting.finish(axes[1, col], "epoch", "output a = σ(w + b)", f"start {start}: output (target 0)")
    nndl = {key: {"initial_output": round(r["output"][0], 4), "output_after_300": round(r["output"][epochs], 4),
                  "cost_after_300": round(r["cost"][epochs], 5),
                  f"relative_cost_drop_first_{early}_epochs": round(drop(key, early), 4)}
            for key, r in runs.items()}
    nndl["cross_entropy_faster_early_from_2_2"] = drop(s2x, early) > drop(s2q, early)
    nndl["curves"] = {key: {"cost": rounded(r["cost"], 6), "output": rounded(r["output"], 6)} for key, r in runs.items()}
    return {
        "settings": {"neuron": "one sigmoid neuron, input x = 1, target y = 0", "eta": eta, "epochs": epochs,
                     "starts": starts, "costs": list(costs)},
        "nndl": nndl,
        "rows": [
            row("w=0.6, b=0.9: initial output", 0.82, round(runs["w=0.6, b=0.9 / quadratic"]["output"][0], 2)),
            row("w=0.6, b=0.9, quadratic: output after 300 epochs", 0.09,
                round(runs["w=0.6, b=0.9 / quadratic"]["output"][epochs], 2)),
            row("w=2.0, b=2.0: initial output", 0.98, round(runs[s2q]["output"][0], 2)),
            row("w=2.0, b=2.0, quadratic: output after 300 epochs", 0.20, round(runs[s2q]["output"][epochs], 2)),
            row("w=2.0, b=2.0, cross-entropy: output after 300 epochs", None, round(runs[s2x]["output"][epochs], 2)),
            row(f"w=2.0, b=2.0: cost fallen in the first {early} epochs, quadratic", "slow start",
                round(100 * drop(s2q, early), 1), "%"),
            row(f"w=2.0, b=2.0: cost fallen in the first {early} epochs, cross-entropy", "fast start",
                round(100 * drop(s2x, early), 1), "%"),
        ],
        "figures": figures,
        "notes": ["The book shows these curves in interactive figures; the quadratic-cost outputs after 300 "
                  "epochs (0.09 and 0.20) are the values its figures end at."],
    }


# ---------------------------------------------------------------------------------- overfitting / L2 on 1000
def _small_data_run(out_dir, quick, seed, lmbda: float, title: str):
    """[784, 30, 10], cross-entropy, η = 0.5, on the first 1,000 images, evaluated on the test data."""
    from nndl.network import Network

    data = mnist()
    n_train, epochs, n_test = (1000, 40, 2000) if quick else (1000, 400, None)
    train_set, test_set = data.train.subset(n_train), subset(data.test, n_test)
    net = Network.from_sizes([784, 30, 10], cost="cross_entropy", init="large", seed=seed)
    log(f"{title}: {epochs} epochs on {n_train} images, λ = {lmbda}")
    h = train(net, train_set, epochs, 0.5, lmbda=lmbda, validation=test_set, monitor_training=True, seed=seed,
              label=title)
    curves = {"training_cost": curve(h, "training_cost"), "test_cost": curve(h, "validation_cost"),
              "training_accuracy": curve(h, "training_accuracy", percent=True),
              "test_accuracy": curve(h, "validation_accuracy", percent=True)}
    settings = {"sizes": [784, 30, 10], "cost": "cross_entropy", "init": "large (N(0,1)), as the book's "
                "overfitting runs", "eta": 0.5, "batch_size": 10, "lmbda": lmbda, "epochs": epochs,
                "training_images": n_train, "evaluation_data": f"the first {len(test_set)} test images"
                if n_test else "the 10,000 test images (as the book)", "seconds": round(h.final["seconds_total"], 2)}
    figures = ["four_curves.png", "accuracy_overlay.png"]
    x = plotting.epochs_axis(epochs)
    with plotting.figure(out_dir / figures[0], 2, 2, size=(11, 7), title=title) as (fig, axes):
        for ax, key, label in ((axes[0, 0], "training_cost", "cost on the training data"),
                               (axes[0, 1], "test_accuracy", "accuracy (%) on the test data"),
                               (axes[1, 0], "test_cost", "cost on the test data"),
                               (axes[1, 1], "training_accuracy", "accuracy (%) on the training data")):
            ax.plot(x, curves[key])
            plotting.finish(ax, "epoch", None, label)
    with plotting.figure(out_dir / figures[1]) as (fig, ax):
        ax.plot(x, curves["training_accuracy"], label="training data")
        ax.plot(x, curves["test_accuracy"], label="test data")
        plotting.finish(ax, "epoch", "accuracy (%)", title, legend="lower right")
    return curves, settings, figures


@experiment("overfitting", 3, "Overfitting: [784, 30, 10] on 1,000 images for 400 epochs",
            f"{CH3}#overfitting_and_regularization",
            book={"peak_test_accuracy": 82.27, "test_accuracy_stops_improving_epoch": 280,
                  "test_cost_minimum_epoch": 15, "final_training_accuracy": 100.0},
            summary="Trained on 1,000 images the network gets every training image right while its test "
                    "accuracy stalls near 82%, and the test cost rises after about 15 epochs.",
            full_minutes=0.5)
def overfitting(out_dir, quick, seed):
    curves, settings, figures = _small_data_run(out_dir, quick, seed, 0.0, "no regularization, 1,000 images")
    peak, peak_epoch = best(curves["test_accuracy"])
    min_cost_epoch = int(numpy.argmin(curves["test_cost"])) + 1
    final_train, final_test = curves["training_accuracy"][-1], curves["test_accuracy"][-1]
    return {
        "settings": settings,
        "nndl": {"peak_test_accuracy": round(peak, 2), "peak_epoch": peak_epoch, "test_cost_minimum_epoch":
                 min_cost_epoch, "final_training_accuracy": round(final_train, 2),
                 "final_test_accuracy": round(final_test, 2), "gap_final": round(final_train - final_test, 2),
                 "curves": {k: rounded(v, 4) for k, v in curves.items()}},
        "rows": [
            row("peak test accuracy", 82.27, round(peak, 2), "%"),
            row("epoch of the peak (test accuracy stops improving)", "about 280", peak_epoch),
            row("epoch of the lowest test cost", "about 15", min_cost_epoch),
            row("training accuracy at the end", 100.0, round(final_train, 2), "%"),
        ],
        "figures": figures,
        "notes": ["As in the book, the test data serve as the evaluation data here."],
    }


@experiment("regularization-1000", 3, "L2 regularization, λ = 0.1, on 1,000 images for 400 epochs",
            f"{CH3}#regularization",
            book={"peak_test_accuracy": 87.1, "unregularized_peak": 82.27},
            summary="Weight decay with λ = 0.1 keeps the test accuracy rising through all 400 epochs, to about 87%.",
            full_minutes=0.5)
def regularization_1000(out_dir, quick, seed):
    curves, settings, figures = _small_data_run(out_dir, quick, seed, 0.1, "L2, λ = 0.1, 1,000 images")
    peak, peak_epoch = best(curves["test_accuracy"])
    return {
        "settings": settings,
        "nndl": {"peak_test_accuracy": round(peak, 2), "peak_epoch": peak_epoch,
                 "final_test_accuracy": round(curves["test_accuracy"][-1], 2),
                 "final_training_accuracy": round(curves["training_accuracy"][-1], 2),
                 "curves": {k: rounded(v, 4) for k, v in curves.items()}},
        "rows": [
            row("peak test accuracy", 87.1, round(peak, 2), "%"),
            row("epoch of the peak", "near the end (still rising)", peak_epoch),
            row("training accuracy at the end", None, round(curves["training_accuracy"][-1], 2), "%"),
        ],
        "figures": figures,
    }


@experiment("regularization-50000", 3, "L2 regularization on the full training set: λ = 0 vs λ = 5.0",
            f"{CH3}#regularization",
            book={"test_accuracy_lambda_0": 95.49, "test_accuracy_lambda_5": 96.49},
            summary="On all 50,000 images, λ = 5.0 lifts the [784, 30, 10] network's test accuracy by about a point.",
            full_minutes=0.7)
def regularization_50000(out_dir, quick, seed):
    from nndl.network import Network

    data = mnist()
    n_train, epochs, n_test = (3000, 3, 2000) if quick else (None, 30, None)
    train_set, test_set = subset(data.train, n_train), subset(data.test, n_test)
    runs = {}
    for lmbda in (0.0, 5.0):
        net = Network.from_sizes([784, 30, 10], cost="cross_entropy", init="large", seed=seed)
        h = train(net, train_set, epochs, 0.5, lmbda=lmbda, validation=test_set, monitor_training=True,
                  seed=seed, label=f"λ = {lmbda:g}")
        acc = curve(h, "validation_accuracy", percent=True)
        peak, peak_epoch = best(acc)
        runs[f"{lmbda:g}"] = {"test_accuracy": rounded(acc, 2), "training_accuracy":
                              rounded(curve(h, "training_accuracy", percent=True), 2),
                              "final": round(acc[-1], 2), "peak": round(peak, 2), "peak_epoch": peak_epoch}
    figures = ["accuracy.png"]
    with plotting.figure(out_dir / figures[0]) as (fig, ax):
        x = plotting.epochs_axis(epochs)
        for i, (key, r) in enumerate(runs.items()):
            ax.plot(x, r["test_accuracy"], color=plotting.COLORS[i], label=f"test, λ = {key}")
            ax.plot(x, r["training_accuracy"], color=plotting.COLORS[i], ls="--", label=f"training, λ = {key}")
        plotting.finish(ax, "epoch", "accuracy (%)", "[784, 30, 10], cross-entropy, η = 0.5, "
                        f"{len(train_set):,} images", legend="lower right")
    return {
        "settings": {"sizes": [784, 30, 10], "cost": "cross_entropy", "init": "large (N(0,1))", "eta": 0.5,
                     "batch_size": 10, "epochs": epochs, "training_images": len(train_set),
                     "evaluation_data": f"{len(test_set)} test images", "lmbdas": [0.0, 5.0]},
        "nndl": {"runs": runs},
        "rows": [
            row("λ = 0: test accuracy (last epoch)", 95.49, runs["0"]["final"], "%"),
            row("λ = 5.0: test accuracy (last epoch)", 96.49, runs["5"]["final"], "%"),
            row("λ = 0 / λ = 5.0: best epoch's test accuracy", None, f"{runs['0']['peak']} / {runs['5']['peak']}", "%"),
            row("λ = 0 / λ = 5.0: training − test accuracy at the end", None,
                f"{runs['0']['training_accuracy'][-1] - runs['0']['final']:.2f} / "
                f"{runs['5']['training_accuracy'][-1] - runs['5']['final']:.2f}", "points"),
        ],
        "figures": figures,
    }


# ---------------------------------------------------------------------------------- weight initialization
@experiment("weight-init", 3, "Weight initialization: N(0, 1) against N(0, 1/n_in)",
            f"{CH3}#weight_initialization",
            book={"final_accuracy_30_hidden": "somewhat over 96% for both",
                  "claim": "the new initialization gets there much faster; the final accuracy is about the same"},
            summary="Weights of variance 1/n_in keep hidden neurons out of saturation: the network learns much "
                    "faster in the first epochs and ends at about the same accuracy.",
            full_minutes=2.0)
def weight_init(out_dir, quick, seed):
    from nndl.network import Network

    data = mnist()
    n_train, epochs, n_val = (3000, 2, 1000) if quick else (None, 30, None)
    train_set, val_set = subset(data.train, n_train), subset(data.validation, n_val)
    runs = {}
    for hidden in (30, 100):
        for init, label in (("large", "old: N(0,1)"), ("default", "new: N(0,1/n_in)")):
            net = Network.from_sizes([784, hidden, 10], cost="cross_entropy", init=init, seed=seed)
            h = train(net, train_set, epochs, 0.1, lmbda=5.0, validation=val_set, seed=seed,
                      label=f"{hidden} hidden, {init} init")
            acc = curve(h, "validation_accuracy", percent=True)
            runs[f"{hidden}/{init}"] = {"hidden": hidden, "init": init, "label": label,
                                        "validation_accuracy": rounded(acc, 2), "first": round(acc[0], 2),
                                        "final": round(acc[-1], 2), "best": round(max(acc), 2)}
    figures = ["weight_init.png"]
    with plotting.figure(out_dir / figures[0], 1, 2, size=(11, 4)) as (fig, axes):
        for ax, hidden in zip(axes, (30, 100)):
            for i, init in enumerate(("large", "default")):
                r = runs[f"{hidden}/{init}"]
                ax.plot(plotting.epochs_axis(epochs), r["validation_accuracy"], marker=".", color=plotting.COLORS[
                    1 - i], label=r["label"])
            plotting.finish(ax, "epoch", "validation accuracy (%)", f"[784, {hidden}, 10], λ = 5.0, η = 0.1",
                            legend="lower right")
    rows = []
    for hidden in (30, 100):
        old, new = runs[f"{hidden}/large"], runs[f"{hidden}/default"]
        rows += [row(f"{hidden} hidden: accuracy after epoch 1, old / new init", "new much higher",
                     f"{old['first']} / {new['first']}", "%"),
                 row(f"{hidden} hidden: accuracy after the last epoch, old / new init",
                     "somewhat over 96 / same" if hidden == 30 else "about the same",
                     f"{old['final']} / {new['final']}", "%")]
    return {
        "settings": {"cost": "cross_entropy", "eta": 0.1, "lmbda": 5.0, "batch_size": 10, "epochs": epochs,
                     "training_images": len(train_set), "validation_images": len(val_set),
                     "inits": {"large": "weights and biases N(0,1)", "default": "weights N(0,1/n_in), biases N(0,1)"}},
        "nndl": {"runs": runs},
        "rows": rows,
        "figures": figures,
    }


# ---------------------------------------------------------------------------------- learning rates
@experiment("learning-rates", 3, "Choosing η: training cost for η = 0.025, 0.25 and 2.5",
            f"{CH3}#how_to_choose_a_neural_network's_hyper-parameters",
            book={"claim": "η = 0.025 decreases smoothly but slowly; η = 0.25 decreases fast then wobbles slightly; "
                           "η = 2.5 oscillates from the start"},
            summary="Too large a learning rate overshoots the minimum: the cost oscillates instead of falling.",
            full_minutes=1.5)
def learning_rates(out_dir, quick, seed):
    from nndl.network import Network

    data = mnist()
    n_train, epochs = (2000, 5) if quick else (None, 30)
    train_set = subset(data.train, n_train)
    runs = {}
    for eta in (0.025, 0.25, 2.5):
        net = Network.from_sizes([784, 30, 10], cost="cross_entropy", init="default", seed=seed)
        h = train(net, train_set, epochs, eta, lmbda=5.0, monitor_training=True, seed=seed, label=f"η = {eta}")
        cost = curve(h, "training_cost")
        rises = sum(1 for a, b in zip(cost, cost[1:]) if b > a)
        runs[f"{eta:g}"] = {"eta": eta, "training_cost": rounded(cost, 5), "final_cost": round(cost[-1], 4),
                            "min_cost": round(min(cost), 4), "epochs_cost_rose": rises,
                            "final_training_accuracy": pct(h.records[-1].get("training_accuracy"))}
    figures = ["training_cost.png"]
    with plotting.figure(out_dir / figures[0]) as (fig, ax):
        for key, r in runs.items():
            ax.plot(plotting.epochs_axis(epochs), r["training_cost"], "o-", ms=3, label=f"η = {key}")
        plotting.finish(ax, "epoch", "training cost (with the L2 term)",
                        f"[784, 30, 10], λ = 5.0, {len(train_set):,} training images", legend="best")
    return {
        "settings": {"sizes": [784, 30, 10], "cost": "cross_entropy", "init": "default (N(0,1/n_in))",
                     "lmbda": 5.0, "batch_size": 10, "epochs": epochs, "training_images": len(train_set),
                     "etas": [0.025, 0.25, 2.5]},
        "nndl": {"runs": runs},
        "rows": [row(f"η = {key}: training cost after the last epoch (epochs it rose)", None,
                     f"{r['final_cost']} ({r['epochs_cost_rose']})") for key, r in runs.items()],
        "figures": figures,
        "notes": ["Trained on all 50,000 training images (as the book's multiple_eta.py), cost measured on them "
                  "after every epoch including the regularization term." if not quick else
                  "Quick run: 2,000 training images, 5 epochs."],
    }


# ---------------------------------------------------------------------------------- more training data
MORE_DATA_SIZES = [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000]
MORE_DATA_BOOK = [69.09, 76.37, 85.29, 88.85, 91.27, 93.24, 94.89, 95.85, 95.97]


@experiment("more-data", 3, "More training data: validation accuracy against training-set size",
            f"{CH3}#artificially_expanding_the_training_data",
            book={"sizes": MORE_DATA_SIZES, "validation_accuracy": MORE_DATA_BOOK},
            summary="Accuracy keeps climbing with the amount of training data, from about 69% with 100 images "
                    "to about 96% with 50,000.",
            full_minutes=3.0)
def more_data(out_dir, quick, seed):
    from nndl.network import Network

    data = mnist()
    if quick:
        sizes, budget, val_set = [100, 300, 1000, 3000], 30_000, data.validation.subset(2000)
    else:
        sizes, budget, val_set = MORE_DATA_SIZES, 1_500_000, data.validation
    accuracies = []
    for size in sizes:
        epochs = budget // size
        net = Network.from_sizes([784, 30, 10], cost="cross_entropy", init="large", seed=seed)
        log(f"more-data: {size} images, {epochs} epochs")
        train(net, data.train.subset(size), epochs, 0.5, lmbda=size * 0.0001, seed=seed, label=f"{size} images")
        accuracies.append(pct(net.accuracy(val_set.x, val_set.y)))
    have_sklearn, why = sklearn_available()
    svm = None
    if have_sklearn:
        from sklearn import svm as sk_svm

        svm = []
        for size in sizes:
            clf = sk_svm.SVC(gamma="auto").fit(data.train.x[:size], data.train.y[:size])
            svm.append(pct(float((clf.predict(val_set.x) == val_set.y).mean())))
    figures = ["more_data.png"]
    with plotting.figure(out_dir / figures[0]) as (fig, ax):
        ax.plot(sizes, accuracies, "o-", label="nndl")
        if not quick:
            ax.plot(MORE_DATA_SIZES, MORE_DATA_BOOK, "D--", color=plotting.BOOK_COLOR, label="book")
        if svm:
            ax.plot(sizes, svm, "s-", color=plotting.COLORS[1], label="SVM (scikit-learn)")
        ax.set_xscale("log")
        plotting.finish(ax, "training set size", "validation accuracy (%)",
                        "[784, 30, 10], η = 0.5, λ = size/10⁴, size × epochs = "
                        f"{budget:,}", legend="lower right")
    book = dict(zip(MORE_DATA_SIZES, MORE_DATA_BOOK))
    return {
        "settings": {"sizes": sizes, "network": [784, 30, 10], "cost": "cross_entropy", "init": "large (N(0,1))",
                     "eta": 0.5, "batch_size": 10, "lmbda": "size × 0.0001", "epochs": f"{budget:,} / size",
                     "validation_images": len(val_set)},
        "nndl": {"sizes": sizes, "validation_accuracy": accuracies, "svm_validation_accuracy": svm,
                 "svm_skipped": None if have_sklearn else why},
        "rows": [row(f"{size:,} training images: validation accuracy", book.get(size), acc, "%")
                 for size, acc in zip(sizes, accuracies)],
        "figures": figures,
        "notes": ["Settings of the book's more_data.py: each size sees 1,500,000 examples in all."
                  + ("" if have_sklearn else f" The SVM curve is skipped: {why}.")],
    }


# ---------------------------------------------------------------------------------- softmax
SOFTMAX_Z = [2.5, -1.0, 3.2, 0.5]


@experiment("softmax", 3, "Softmax: outputs that form a probability distribution",
            f"{CH3}#softmax",
            book={"z": SOFTMAX_Z, "a": [0.315, 0.009, 0.633, 0.043]},
            summary="Softmax outputs are positive and sum to 1; raising one weighted input raises its output "
                    "and lowers all the others.")
def softmax_demo(out_dir, quick, seed):
    from nndl.activations import softmax
    from nndl.network import Network

    z = numpy.array(SOFTMAX_Z)
    a = softmax(z)
    sweep = numpy.linspace(-5, 5, 201)
    zs = numpy.tile(z, (len(sweep), 1))
    zs[:, 3] = sweep
    sa = softmax(zs)
    monotone = bool(numpy.all(numpy.diff(sa[:, 3]) > 0) and numpy.all(numpy.diff(sa[:, :3], axis=0) < 0))

    data = mnist()
    n_train, epochs = (3000, 1) if quick else (None, 10)
    train_set = subset(data.train, n_train)
    net = Network.from_sizes([784, 30, 10], cost="log_likelihood", seed=seed)   # softmax output layer
    train(net, train_set, epochs, 0.5, lmbda=5.0, seed=seed, label="softmax network")
    probs = net.predict_proba(data.test.x[:8])
    test_acc = net.accuracy(data.test.x, data.test.y)

    figures = ["softmax.png", "softmax_outputs.png"]
    with plotting.figure(out_dir / figures[0], 1, 2, size=(11, 4)) as (fig, (ax1, ax2)):
        ax1.bar(range(4), a, color=plotting.COLORS[0])
        for j, v in enumerate(a):
            ax1.annotate(f"{v:.3f}", (j, v), ha="center", va="bottom")
        ax1.set_xticks(range(4), [f"a{j + 1}\n(z = {zj:g})" for j, zj in enumerate(z)])
        plotting.finish(ax1, None, "output", f"softmax of z = {SOFTMAX_Z}: sum {a.sum():.3f}")
        for j in range(4):
            ax2.plot(sweep, sa[:, j], label=f"a{j + 1}")
        plotting.finish(ax2, "z4 (the others fixed)", "output", "raising z4 raises a4, lowers the rest",
                        legend="center left")
    with plotting.figure(out_dir / figures[1], 2, 8, size=(14, 3.6)) as (fig, axes):
        plotting.digits(axes[0], data.test.x[:8], [f"label {d}" for d in data.test.y[:8]])
        for j, ax in enumerate(axes[1]):
            ax.bar(range(10), probs[j], color=plotting.COLORS[0])
            ax.set_ylim(0, 1)
            ax.set_xticks(range(10), [str(d) for d in range(10)], fontsize=6)
            ax.tick_params(axis="y", labelsize=6)
            ax.grid(False)
    return {
        "settings": {"z": SOFTMAX_Z, "network": "[784, 30, 10], sigmoid hidden, softmax output, log-likelihood",
                     "eta": 0.5, "lmbda": 5.0, "batch_size": 10, "epochs": epochs,
                     "training_images": len(train_set)},
        "nndl": {"a": rounded(a, 4), "sum": float(a.sum()), "monotone": monotone,
                 "network_test_accuracy": pct(test_acc),
                 "test_output_sums": rounded(probs.sum(axis=1), 6)},
        "rows": [row(f"softmax output a{j + 1} for z = {SOFTMAX_Z}", b, round(float(v), 3))
                 for j, (b, v) in enumerate(zip([0.315, 0.009, 0.633, 0.043], a))]
        + [row("sum of the outputs", 1.0, round(float(a.sum()), 6)),
           row("softmax network's test accuracy", None, pct(test_acc), "%")],
        "figures": figures,
        "notes": ["The network (our choice of settings; the book gives no number for it) shows softmax outputs "
                  "on eight test digits: each row of bars sums to 1."],
    }
