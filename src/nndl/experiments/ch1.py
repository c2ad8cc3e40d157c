"""Chapter 1: perceptrons, sigmoid neurons, network.py on MNIST, and the baselines."""
from __future__ import annotations

import itertools
import time

import numpy

from nndl.experiments import plotting
from nndl.experiments._common import best, curve, mnist, pct, rounded, sklearn_available, subset, train
from nndl.experiments.registry import experiment, log, row

BITS = list(itertools.product([0, 1], repeat=2))


# ---------------------------------------------------------------------------------- perceptrons
@experiment("perceptrons", 1, "Perceptrons: the NAND gate and the two-bit adder, by hand",
            "chap1.html#perceptrons",
            book={"nand_weights": [-2, -2], "nand_bias": 3, "nand_outputs": [1, 1, 1, 0],
                  "adder_sum": [0, 1, 1, 0], "adder_carry": [0, 0, 0, 1], "adder_perceptrons": 5},
            summary="A perceptron with weights −2, −2 and bias 3 is a NAND gate; five of them add two bits.")
def perceptrons(out_dir, quick, seed):
    from nndl.perceptron import half_adder, nand_perceptron, two_bit_adder

    nand = nand_perceptron()
    nand_out = [int(nand([x1, x2])) for x1, x2 in BITS]
    sums, carries = zip(*(two_bit_adder(x1, x2) for x1, x2 in BITS))
    sums, carries = [int(s) for s in sums], [int(c) for c in carries]
    circuit = half_adder()
    nand_ok = nand_out == [int(not (a and b)) for a, b in BITS]
    adder_ok = sums == [a ^ b for a, b in BITS] and carries == [a & b for a, b in BITS]

    figures = ["perceptrons.png"]
    with plotting.figure(out_dir / figures[0], 1, 3, size=(14, 4.2)) as (fig, axes):
        _draw_nand_plane(axes[0], nand)
        _draw_circuit(axes[1], circuit)
        _draw_truth_table(axes[2], nand_out, sums, carries)

    table = "".join(map(str, nand_out))
    return {
        "settings": {"nand": {"weights": nand.weights.tolist(), "bias": nand.bias},
                     "adder": "five NAND perceptrons wired as in the book's figure"},
        "nndl": {"nand_outputs": nand_out, "adder_sum": sums, "adder_carry": carries,
                 "adder_perceptrons": len(circuit.perceptrons), "nand_correct": nand_ok, "adder_correct": adder_ok},
        "rows": [
            row("NAND outputs for 00, 01, 10, 11", "1110", table),
            row("adder sum bits x₁⊕x₂ for 00, 01, 10, 11", "0110", "".join(map(str, sums))),
            row("adder carry bits x₁x₂ for 00, 01, 10, 11", "0001", "".join(map(str, carries))),
            row("perceptrons in the adder", 5, len(circuit.perceptrons)),
        ],
        "figures": figures,
        "truth_tables": {"inputs": [list(b) for b in BITS], "nand": nand_out, "sum": sums, "carry": carries},
    }


def _draw_nand_plane(ax, nand):
    g = numpy.linspace(-0.5, 1.5, 201)
    xx, yy = numpy.meshgrid(g, g)
    out = nand(numpy.column_stack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    ax.contourf(xx, yy, out, levels=[-0.5, 0.5, 1.5], colors=["#FFDDDD", "#DDE8F5"])
    ax.plot(g, 1.5 - g, color="k", lw=1)
    for x1, x2 in BITS:
        y = nand([x1, x2])
        ax.plot(x1, x2, "o", ms=12, color=plotting.COLORS[0] if y else plotting.COLORS[2])
        ax.annotate(str(y), (x1, x2), color="white", ha="center", va="center", fontweight="bold")
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_aspect("equal")
    ax.grid(False)
    plotting.finish(ax, "x₁", "x₂", "NAND: output 1 where −2x₁ − 2x₂ + 3 > 0")


def _draw_circuit(ax, circuit):
    n_in = circuit.n_inputs
    depth = [0] * n_in
    for _, sources in circuit.gates:
        depth.append(1 + max(depth[s] for s in sources))
    columns: dict[int, list[int]] = {}
    for node, d in enumerate(depth):
        columns.setdefault(d, []).append(node)
    pos = {}
    for d, nodes in columns.items():
        for k, node in enumerate(nodes):
            pos[node] = (d, (len(nodes) - 1) / 2 - k)
    for k, (perceptron, sources) in enumerate(circuit.gates):
        target = n_in + k
        for s in sorted(set(sources)):
            weight = sum(perceptron.weights[i] for i, src in enumerate(sources) if src == s)
            (x0, y0), (x1, y1) = pos[s], pos[target]
            ax.annotate("", (x1 - 0.12, y1), (x0 + 0.12, y0),
                        arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 1})
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.08, f"{weight:g}", fontsize=8, color="#555555", ha="center")
    names = {0: "x₁", 1: "x₂"}
    outputs = {circuit.outputs[0]: "sum", circuit.outputs[1]: "carry"}
    for node, (x, y) in pos.items():
        is_input = node < n_in
        ax.plot(x, y, "o", ms=22, color="#DDDDDD" if is_input else plotting.COLORS[0])
        label = names.get(node, f"b={circuit.gates[node - n_in][0].bias:g}")
        ax.annotate(label, (x, y), ha="center", va="center", fontsize=7, color="black" if is_input else "white")
        if node in outputs:
            ax.annotate(outputs[node], (x + 0.2, y), ha="left", va="center", fontsize=9)
    ax.set_xlim(-0.4, max(depth) + 0.9)
    ax.set_ylim(-1.6, 1.6)
    ax.axis("off")
    ax.set_title("adder: five NAND perceptrons, weights on arrows")


def _draw_truth_table(ax, nand_out, sums, carries):
    ax.axis("off")
    cells = [[f"{a}", f"{b}", f"{n}", f"{s}", f"{c}"] for (a, b), n, s, c in zip(BITS, nand_out, sums, carries)]
    table = ax.table(cellText=cells, colLabels=["x₁", "x₂", "NAND", "sum", "carry"], loc="center",
                     cellLoc="center")
    table.scale(1, 1.8)
    ax.set_title("truth tables, computed")


# ---------------------------------------------------------------------------------- sigmoid vs step
@experiment("sigmoid-vs-step", 1, "Sigmoid neurons: σ(z) against the perceptron's step function",
            "chap1.html#sigmoid_neurons",
            book={"sigmoid_at_0": 0.5, "step_at_0": 0},
            summary="σ(z) is a smoothed step; scaling weights and biases by c → ∞ turns sigmoid neurons "
                    "into perceptrons (wherever w·x + b ≠ 0).")
def sigmoid_vs_step(out_dir, quick, seed):
    from nndl.activations import sigmoid, step
    from nndl.perceptron import nand_perceptron

    z = numpy.linspace(-6, 6, 1201)
    scales = [1, 2, 5, 20, 100]
    nand = nand_perceptron()
    x = numpy.array(BITS, dtype=float)
    zn = nand.z(x)
    gaps = {c: float(numpy.abs(sigmoid(c * zn) - step(zn)).max()) for c in scales}

    figures = ["sigmoid_vs_step.png"]
    with plotting.figure(out_dir / figures[0], 1, 2, size=(11, 4)) as (fig, (ax1, ax2)):
        ax1.plot(z, sigmoid(z), label="sigmoid σ(z) = 1/(1+e^{−z})")
        ax1.plot(z, step(z), label="step: 1 if z > 0 else 0", color=plotting.COLORS[2])
        plotting.finish(ax1, "z = w·x + b", "output", "sigmoid neuron vs perceptron", legend="upper left")
        for c in scales:
            ax2.plot(z, sigmoid(c * z), label=f"σ(cz), c = {c}")
        ax2.plot(z, step(z), "k--", lw=1, label="step(z)")
        ax2.set_xlim(-2, 2)
        plotting.finish(ax2, "z", "output", "scaling w and b by c: sigmoid → step", legend="upper left")
    return {
        "settings": {"z_range": [-6, 6], "scales_c": scales},
        "nndl": {"sigmoid_at_0": float(sigmoid(numpy.array(0.0))), "step_at_0": float(step(numpy.array(0.0))),
                 "nand_max_gap_by_c": {str(c): round(g, 6) for c, g in gaps.items()}},
        "rows": [
            row("σ(0)", 0.5, float(sigmoid(numpy.array(0.0)))),
            row("step(0) (output 0 when w·x + b ≤ 0)", 0, float(step(numpy.array(0.0)))),
            *[row(f"NAND as sigmoid neuron, weights×{c}: max |σ − step| over 4 inputs", None, round(gaps[c], 6))
              for c in (1, 5, 100)],
        ],
        "figures": figures,
        "notes": ["The gap to the perceptron shrinks as c grows because the NAND gate's w·x + b is never 0 "
                  "on its four inputs (it is 3, 1, 1, −1)."],
    }


# ---------------------------------------------------------------------------------- network.py
BOOK_NET_PY = {1: 91.29, 2: 92.95, 3: 93.48, 28: 95.28, 29: 95.42, 30: 95.34}


@experiment("network-py", 1, "network.py: [784, 30, 10] learns MNIST with SGD, η = 3.0",
            "chap1.html#implementing_our_network_to_classify_digits",
            book={"peak_test_accuracy": 95.42, "peak_epoch": 29, "first_epoch_accuracy": 91.29,
                  "runs": "best of three", "hidden_100_accuracy": 96.59},
            summary="The chapter 1 network (sigmoid, quadratic cost, N(0,1) weights) reaches about 95% on the "
                    "test images in 30 epochs.",
            full_minutes=1.0)
def network_py(out_dir, quick, seed):
    from nndl.network import Network

    data = mnist()
    n_train, epochs, n_test, seeds = (5000, 3, 2000, [seed]) if quick else (None, 30, None, [seed, seed + 1, seed + 2])
    train_set, test_set = subset(data.train, n_train), subset(data.test, n_test)
    runs = []
    for s in seeds:
        net = Network.from_sizes([784, 30, 10], activation="sigmoid", cost="quadratic", init="large", seed=s)
        log(f"network-py: run with seed {s}")
        h = train(net, train_set, epochs, 3.0, batch_size=10, validation=test_set, seed=s, label=f"seed {s}")
        acc = curve(h, "validation_accuracy", percent=True)
        peak, peak_epoch = best(acc)
        runs.append({"seed": s, "test_accuracy": rounded(acc, 2), "peak": round(peak, 2), "peak_epoch": peak_epoch,
                     "final": round(acc[-1], 2), "seconds_per_epoch": round(float(numpy.mean(h["seconds"])), 3),
                     "seconds_total": round(h.final["seconds_total"], 2)})
    top = max(runs, key=lambda r: r["peak"])

    figures = ["test_accuracy.png"]
    with plotting.figure(out_dir / figures[0]) as (fig, ax):
        for r in runs:
            ax.plot(plotting.epochs_axis(len(r["test_accuracy"])), r["test_accuracy"], marker=".",
                    label=f"nndl, seed {r['seed']}")
        if not quick:
            plotting.book_points(ax, list(BOOK_NET_PY), list(BOOK_NET_PY.values()), label="book (printed epochs)")
        plotting.finish(ax, "epoch", "test accuracy (%)", "[784, 30, 10], quadratic cost, η = 3.0, mini-batch 10",
                        legend="lower right")
    label = "best of three runs" if len(runs) == 3 else "one run"
    return {
        "settings": {"sizes": [784, 30, 10], "activation": "sigmoid", "cost": "quadratic", "init": "large (N(0,1))",
                     "eta": 3.0, "batch_size": 10, "epochs": epochs, "training_images": len(train_set),
                     "test_images": len(test_set), "seeds": seeds},
        "nndl": {"peak_test_accuracy": top["peak"], "peak_epoch": top["peak_epoch"], "runs": runs,
                 "first_epoch_accuracy": top["test_accuracy"][0]},
        "rows": [
            row(f"peak test accuracy ({label})", 95.42, top["peak"], "%"),
            row("epoch of the peak", 29, top["peak_epoch"]),
            row("test accuracy after epoch 1", 91.29, top["test_accuracy"][0], "%"),
            row(f"wall time of the {epochs} epochs (with a test after each)",
                "a few minutes (a typical 2015 machine)" if not quick else None, top["seconds_total"], "s"),
        ],
        "figures": figures,
        "notes": ["The book counts epochs from 0; here the first epoch is 1, so the book's \"Epoch 28\" is epoch 29."],
    }


# ---------------------------------------------------------------------------------- bad learning rates
BOOK_ETA_SMALL = {1: 11.39, 2: 11.36, 3: 11.35, 28: 21.01, 29: 21.23, 30: 21.42}
BOOK_ETA_LARGE = {1: 10.09, 2: 10.09, 3: 10.09, 4: 10.09, 28: 9.82, 29: 9.82, 30: 9.82}


@experiment("bad-learning-rates", 1, "Badly chosen learning rates: η = 0.001 and η = 100",
            "chap1.html#implementing_our_network_to_classify_digits",
            book={"eta_0.001_final_accuracy": 21.42, "eta_0.001_first_accuracy": 11.39,
                  "eta_100_final_accuracy": 9.82, "eta_100_first_accuracy": 10.09},
            summary="With η = 0.001 ([784, 100, 10]) the network learns very slowly; with η = 100 "
                    "([784, 30, 10]) it does not learn at all.",
            full_minutes=1.0)
def bad_learning_rates(out_dir, quick, seed):
    from nndl.network import Network
    from nndl.trainer import TrainingDiverged

    data = mnist()
    n_train, epochs, n_test = (3000, 2, 2000) if quick else (None, 30, None)
    train_set, test_set = subset(data.train, n_train), subset(data.test, n_test)
    cases = [("0.001", 0.001, 100, BOOK_ETA_SMALL), ("100", 100.0, 30, BOOK_ETA_LARGE)]
    results, rows, notes = {}, [], []
    for key, eta, hidden, book in cases:
        net = Network.from_sizes([784, hidden, 10], activation="sigmoid", cost="quadratic", init="large", seed=seed)
        log(f"bad-learning-rates: η = {key}, [784, {hidden}, 10]")
        try:
            h = train(net, train_set, epochs, eta, validation=test_set, seed=seed, label=f"η = {key}")
            acc = curve(h, "validation_accuracy", percent=True)
        except TrainingDiverged as exc:
            acc, notes = [], notes + [f"η = {key}: {exc}"]
        results[key] = {"eta": eta, "sizes": [784, hidden, 10], "test_accuracy": rounded(acc, 2),
                        "first": round(acc[0], 2) if acc else None, "final": round(acc[-1], 2) if acc else None,
                        "best": round(max(acc), 2) if acc else None, "diverged": not acc}
        rows += [row(f"η = {key} ([784, {hidden}, 10]): test accuracy after epoch 1", book[1],
                     results[key]["first"], "%"),
                 row(f"η = {key}: test accuracy after the last epoch", book[30], results[key]["final"], "%")]

    figures = ["test_accuracy.png"]
    with plotting.figure(out_dir / figures[0], 1, 2, size=(11, 4)) as (fig, axes):
        for ax, (key, eta, hidden, book) in zip(axes, cases):
            acc = results[key]["test_accuracy"]
            if acc:
                ax.plot(plotting.epochs_axis(len(acc)), acc, marker=".", label="nndl")
            if not quick:
                plotting.book_points(ax, list(book), list(book.values()), label="book (printed epochs)")
            ax.set_ylim(0, 100)
            plotting.finish(ax, "epoch", "test accuracy (%)", f"η = {key}, [784, {hidden}, 10]")
    learned = results["100"]["final"] is not None and results["100"]["final"] < 20
    return {
        "settings": {"cost": "quadratic", "init": "large (N(0,1))", "batch_size": 10, "epochs": epochs,
                     "training_images": len(train_set), "test_images": len(test_set),
                     "runs": {k: {"eta": v["eta"], "sizes": v["sizes"]} for k, v in results.items()}},
        "nndl": {"runs": results, "eta_100_failed_to_learn": learned},
        "rows": rows,
        "figures": figures,
        "notes": notes,
    }


# ---------------------------------------------------------------------------------- baselines
@experiment("baselines", 1, "Baselines: average darkness and a support vector machine",
            "chap1.html#implementing_our_network_to_classify_digits",
            book={"average_darkness_accuracy": 22.25, "average_darkness_correct": 2225, "svm_accuracy": 94.35,
                  "svm_correct": 9435, "chance": 10.0},
            summary="Guessing the digit from the image's total darkness gets 22.25% of the test images right; "
                    "scikit-learn's SVM with default settings 94.35%.",
            full_minutes=0.1)
def baselines(out_dir, quick, seed):
    from nndl.data import AverageDarkness

    data = mnist()
    start = time.perf_counter()
    dark = AverageDarkness().fit(data.train)           # cheap: the full data even in a quick run
    dark_correct = dark.correct(data.test)
    dark_acc = dark_correct / len(data.test)
    per_digit = [float((dark.predict(data.test.x[data.test.y == d]) == d).mean()) for d in range(10)]
    dark_seconds = time.perf_counter() - start

    have_sklearn, why = sklearn_available()
    svm = {"skipped": True, "reason": why}
    notes = []
    if have_sklearn:
        from sklearn import svm as sk_svm

        n_train, n_test = (2000, 2000) if quick else (None, None)
        tr, te = subset(data.train, n_train), subset(data.test, n_test)
        log(f"baselines: SVM on {len(tr)} images (this takes a while for 50,000)")
        start = time.perf_counter()
        clf = sk_svm.SVC(gamma="auto")   # the defaults of 2015: C = 1, RBF kernel, γ = 1/784
        clf.fit(tr.x, tr.y)
        correct = int((clf.predict(te.x) == te.y).sum())
        svm = {"skipped": False, "training_images": len(tr), "test_images": len(te), "correct": correct,
               "accuracy": pct(correct / len(te)), "seconds": round(time.perf_counter() - start, 2)}
        notes.append("The SVM uses SVC(gamma='auto'): scikit-learn's defaults when the book was written "
                     "(newer versions default to gamma='scale').")
    else:
        notes.append(f"SVM baseline skipped: {why}; install scikit-learn to run it.")

    figures = ["baselines.png"]
    with plotting.figure(out_dir / figures[0], 1, 2, size=(11, 4)) as (fig, (ax1, ax2)):
        digits = numpy.arange(10)
        ax1.bar(digits, dark.averages, color=plotting.COLORS[0])
        ax1.set_xticks(digits)
        plotting.finish(ax1, "digit", "mean darkness (sum of pixel values)", "average darkness of each digit")
        names = ["chance", "average darkness"] + (["SVM"] if not svm["skipped"] else [])
        ours = [10.0, pct(dark_acc)] + ([svm["accuracy"]] if not svm["skipped"] else [])
        book = [10.0, 22.25] + ([94.35] if not svm["skipped"] else [])
        x = numpy.arange(len(names))
        ax2.bar(x - 0.2, book, 0.4, color=plotting.BOOK_COLOR, label="book")
        ax2.bar(x + 0.2, ours, 0.4, color=plotting.COLORS[0], label="nndl")
        for xi, v in zip(x + 0.2, ours):
            ax2.annotate(f"{v:.2f}", (xi, v), ha="center", va="bottom", fontsize=8)
        ax2.set_xticks(x, names)
        plotting.finish(ax2, None, "test accuracy (%)", "baselines on the 10,000 test images")
    rows = [row("average darkness: test images right", 2225, dark_correct),
            row("average darkness: test accuracy", 22.25, pct(dark_acc), "%")]
    if svm["skipped"]:
        rows.append(row("SVM: test accuracy", 94.35, "skipped (no scikit-learn)", "%"))
    else:
        rows.append(row(f"SVM: test accuracy ({svm['training_images']} training images)", 94.35,
                        svm["accuracy"], "%"))
    return {
        "settings": {"average_darkness": "fit on the 50,000 training images, tested on the 10,000 test images",
                     "svm": "sklearn.svm.SVC(gamma='auto') on the 50,000 training images" if not quick else
                            "sklearn.svm.SVC(gamma='auto') on 2,000 training images, 2,000 test images"},
        "nndl": {"average_darkness_accuracy": pct(dark_acc), "average_darkness_correct": dark_correct,
                 "average_darkness_per_digit": rounded([100 * a for a in per_digit], 2),
                 "mean_darkness": rounded(dark.averages, 3), "average_darkness_seconds": round(dark_seconds, 3),
                 "svm": svm},
        "rows": rows,
        "figures": figures,
        "notes": notes,
    }
