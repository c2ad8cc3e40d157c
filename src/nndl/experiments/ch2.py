"""Chapter 2: backpropagation — per example vs the whole mini-batch at once, and gradient checks.

There is one backpropagation in nndl, :meth:`nndl.network.Network.backprop`.  The
"per-example loop" here is the book's ``update_mini_batch``: it calls that same
backprop on mini-batches of ONE example and sums the gradients; the "matrix-based"
version calls it once on the whole mini-batch (the book's problem "fully matrix-based
approach to backpropagation over a mini-batch").
"""
from __future__ import annotations

import statistics
import time

import numpy

from nndl.experiments import plotting
from nndl.experiments._common import mnist, subset
from nndl.experiments.registry import experiment, log, row


def _sgd_epoch(net, optimizer, x, onehot, order, m: int, per_example: bool) -> float:
    """One epoch of mini-batch SGD (η/m Σ over each mini-batch); returns its seconds."""
    from nndl.backend import xp

    params = net.params
    start = time.perf_counter()
    for k in range(0, len(order), m):
        idx = order[k:k + m]
        xb, yb = x[idx], onehot[idx]
        if per_example:
            sums = [xp.zeros_like(p.value) for p in params]
            for i in range(len(idx)):
                net.backprop(xb[i:i + 1], yb[i:i + 1])      # the gradient of C_x for one example x
                for s, p in zip(sums, params):
                    s += p.grad
            for s, p in zip(sums, params):
                p.grad = s / len(idx)                       # the mini-batch mean, as backprop's own
        else:
            net.backprop(xb, yb)                            # all m examples in one matrix pass
        optimizer.step(params)
    return time.perf_counter() - start


def per_example_gradients(net, x, onehot) -> list:
    """The mini-batch mean gradient from one-example backprops, summed (host arrays, one per parameter)."""
    from nndl.backend import to_numpy

    sums = None
    for i in range(len(x)):
        net.backprop(x[i:i + 1], onehot[i:i + 1])
        grads = [to_numpy(p.grad).astype(numpy.float64) for p in net.params]
        sums = grads if sums is None else [s + g for s, g in zip(sums, grads)]
    return [s / len(x) for s in sums]


def matrix_gradients(net, x, onehot) -> list:
    from nndl.backend import to_numpy

    net.backprop(x, onehot)
    return [to_numpy(p.grad).astype(numpy.float64) for p in net.params]


@experiment("backprop-matrix", 2, "Backprop per example vs the matrix-based mini-batch: time per epoch",
            "chap2.html#problem_269962",
            book={"speedup": "about 2"},
            summary="Backprop on the whole mini-batch at once gives the same gradient as looping over its "
                    "examples, and is faster: about twice as fast on the book's laptop.",
            full_minutes=0.5)
def backprop_matrix(out_dir, quick, seed):
    from nndl.backend import blas_threads, to_device
    from nndl.network import Network
    from nndl.optim import SGD

    data = mnist()
    n, reps, m = (3000, 2, 10) if quick else (50000, 3, 10)
    train = subset(data.train, n)

    # 1. Same gradient: float64, one mini-batch of 10 images.
    net64 = Network.from_sizes([784, 30, 10], cost="quadratic", init="large", seed=seed, dtype=numpy.float64)
    xb = net64.as_input(train.x[:m])
    yb = net64.one_hot(to_device(train.y[:m]))
    g_loop = per_example_gradients(net64, xb, yb)
    g_matrix = matrix_gradients(net64, xb, yb)
    names = [f"{i + 1}:{p.name}" for i, layer in enumerate(net64.layers) for p in layer.params]
    grad_errors = {name: float(numpy.linalg.norm(a - b) / max(numpy.linalg.norm(a) + numpy.linalg.norm(b), 1e-300))
                   for name, a, b in zip(names, g_loop, g_matrix)}

    # 2. Time per epoch: the same network, the same shuffles, one BLAS thread for both.
    nets = {mode: Network.from_sizes([784, 30, 10], cost="quadratic", init="large", seed=seed)
            for mode in ("per_example", "matrix")}
    opts = {mode: SGD(3.0) for mode in nets}
    x = nets["matrix"].as_input(train.x)
    onehot = nets["matrix"].one_hot(to_device(train.y))
    rng = numpy.random.default_rng(seed)
    times = {mode: [] for mode in nets}
    with blas_threads(1):
        for rep in range(reps):
            order = rng.permutation(n)
            for mode, net in nets.items():
                times[mode].append(_sgd_epoch(net, opts[mode], x, onehot, order, m, mode == "per_example"))
                log(f"backprop-matrix: epoch {rep + 1}/{reps}, {mode}: {times[mode][-1]:.2f} s")
    # Same training: 100 SGD steps in float64 by each route end at the same weights.
    steps = 100
    twins = {mode: Network.from_sizes([784, 30, 10], cost="quadratic", init="large", seed=seed,
                                      dtype=numpy.float64) for mode in nets}
    x64, y64 = twins["matrix"].as_input(train.x[:steps * m]), twins["matrix"].one_hot(to_device(train.y[:steps * m]))
    for mode, net in twins.items():
        _sgd_epoch(net, SGD(3.0), x64, y64, numpy.arange(steps * m), m, mode == "per_example")
    weight_gap = max(float(numpy.abs(a - b).max()) for a, b in
                     zip(twins["per_example"].get_weights(), twins["matrix"].get_weights()))
    # The library's own training loop, for reference (the same matrix-based step).
    from nndl.models import Classifier
    from nndl.trainer import Trainer

    model = Classifier(Network.from_sizes([784, 30, 10], cost="quadratic", init="large", seed=seed), SGD(3.0))
    trainer_seconds = Trainer(m, seed=seed, verbose=False).fit(model, train, reps)["seconds"]

    median = {mode: statistics.median(t) for mode, t in times.items()}
    median["trainer"] = statistics.median(trainer_seconds)
    speedup = median["per_example"] / median["matrix"]

    figures = ["epoch_time.png"]
    with plotting.figure(out_dir / figures[0], size=(6.4, 4)) as (fig, ax):
        labels = ["per-example loop\n(book's network.py)", "matrix mini-batch\n(one backprop of m = 10)",
                  "nndl Trainer.fit\n(same step)"]
        values = [median["per_example"], median["matrix"], median["trainer"]]
        bars = ax.bar(range(3), values, color=[plotting.COLORS[1], plotting.COLORS[0], plotting.COLORS[3]])
        for b, v in zip(bars, values):
            ax.annotate(f"{v:.2f} s", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom")
        ax.set_xticks(range(3), labels)
        plotting.finish(ax, None, f"seconds per epoch ({n:,} images)",
                        f"[784, 30, 10], mini-batch 10: matrix version {speedup:.1f}× faster")
    return {
        "settings": {"sizes": [784, 30, 10], "cost": "quadratic", "eta": 3.0, "batch_size": m,
                     "training_images": n, "epochs_timed": reps, "blas_threads": 1,
                     "gradient_check_batch": m, "gradient_dtype": "float64"},
        "nndl": {"seconds_per_epoch": {k: round(v, 4) for k, v in median.items()},
                 "all_epoch_seconds": {k: [round(t, 4) for t in v] for k, v in times.items()},
                 "speedup": round(speedup, 2), "gradient_relative_error": grad_errors,
                 "max_gradient_relative_error": max(grad_errors.values()),
                 "weights_max_abs_difference_after_training": weight_gap, "weight_check_steps": steps},
        "rows": [
            row("seconds per epoch, per-example loop", None, round(median["per_example"], 3), "s"),
            row("seconds per epoch, matrix-based mini-batch", None, round(median["matrix"], 3), "s"),
            row("speed-up of the matrix-based version", "about 2×", f"{speedup:.1f}×"),
            row("relative difference of the two gradients (float64)", 0, f"{max(grad_errors.values()):.1e}"),
            row(f"max |Δw| after {steps} SGD steps by each route (float64)", 0, f"{weight_gap:.1e}"),
        ],
        "figures": figures,
        "notes": ["Both versions call the one Network.backprop: the loop on mini-batches of one example "
                  "(summing the gradients), the matrix version once per mini-batch.",
                  "The book's factor of about two was for its own NumPy code on a 2015 laptop; "
                  "the ratio here is measured on this machine."],
    }


# ---------------------------------------------------------------------------------- gradient check
def _check_networks(seed: int):
    """(label, network, regularizers) for the gradient-check table: float64 nets of the book."""
    from nndl.network import Network
    from nndl.optim import L2

    f64 = numpy.float64
    nets = [
        ("[784,30,10] sigmoid, quadratic (ch. 1)",
         Network.from_sizes([784, 30, 10], cost="quadratic", init="large", seed=seed, dtype=f64), []),
        ("[784,30,10] sigmoid, cross-entropy, L2 λ=5 (ch. 3)",
         Network.from_sizes([784, 30, 10], cost="cross_entropy", seed=seed, dtype=f64), [L2(5.0)]),
        ("[784,30,30,10] sigmoid, softmax + log-likelihood",
         Network.from_sizes([784, 30, 30, 10], cost="log_likelihood", seed=seed, dtype=f64), []),
        ("[784,20,10] tanh, softmax + log-likelihood",
         Network.from_sizes([784, 20, 10], activation="tanh", cost="log_likelihood", seed=seed, dtype=f64), []),
    ]
    try:
        from nndl.layers import Conv2D, Dense, Flatten, MaxPool2D

        conv = Network([Conv2D(4, 5, activation="sigmoid"), MaxPool2D(2), Flatten(), Dense(10, "softmax")],
                       (1, 28, 28), cost="log_likelihood", seed=seed, dtype=f64)
        nets.append(("conv(4,5) sigmoid, max-pool 2, softmax (ch. 6)", conv, []))
    except ImportError:
        pass
    return nets


@experiment("gradient-check", 2, "Gradient check: backprop against finite differences",
            "chap2.html#in_what_sense_is_backpropagation_a_fast_algorithm",
            book={"backprop_cost_in_forward_passes": "about 2",
                  "finite_difference_forward_passes": "one per weight, plus one"},
            summary="Backprop computes all the partial derivatives at about the cost of two forward passes; "
                    "estimating them by finite differences takes one forward pass per weight.",
            full_minutes=0.2)
def gradient_check(out_dir, quick, seed):
    from nndl.backend import blas_threads, to_device
    from nndl.gradcheck import THRESHOLD, check_gradients
    from nndl.network import Network

    data = mnist()
    batch, entries = (4, 20) if quick else (10, 100)
    table = []
    for label, net, regs in _check_networks(seed):
        x = data.train.x[:batch].astype(numpy.float64)
        errors = check_gradients(net, x, data.train.y[:batch], regularizers=regs, max_entries=entries, seed=seed)
        for tensor, err in errors.items():
            table.append({"network": label, "tensor": tensor, "relative_error": err, "passed": err < THRESHOLD})
        log(f"gradient-check: {label}: max relative error {max(errors.values()):.2e}")

    # Why backprop: its cost against forward passes, and against finite differences.
    net = Network.from_sizes([784, 30, 10], cost="quadratic", init="large", seed=seed)
    x = net.as_input(data.train.x[:10])
    y = net.one_hot(to_device(data.train.y[:10]))
    n_weights = sum(p.value.size for p in net.params)
    with blas_threads(1):
        forward = _time(lambda: net.cost.fn(net.feedforward(x), y))
        backward = _time(lambda: net.backprop(x, y))
        measured = min(n_weights, 2000 if quick else n_weights)
        start = time.perf_counter()
        flat = [p.value.reshape(-1) for p in net.params]
        base = net.cost.fn(net.feedforward(x), y)
        done = 0
        for v in flat:
            for i in range(v.size):
                if done == measured:
                    break
                old = float(v[i])
                v[i] = old + 1e-4
                _ = (net.cost.fn(net.feedforward(x), y) - base) / 1e-4
                v[i] = old
                done += 1
        fd_seconds = (time.perf_counter() - start) * n_weights / measured
    ratio = backward / forward

    figures = ["gradient_check.png"]
    with plotting.figure(out_dir / figures[0], size=(8.5, 0.32 * len(table) + 1.5)) as (fig, ax):
        labels = [f"{t['network']}  {t['tensor']}" for t in table]
        values = [max(t["relative_error"], 1e-16) for t in table]
        colors = [plotting.COLORS[0] if t["passed"] else plotting.COLORS[2] for t in table]
        ax.barh(range(len(table)), values, color=colors)
        ax.axvline(THRESHOLD, color="k", ls="--", lw=1, label=f"threshold {THRESHOLD:g}")
        ax.set_xscale("log")
        ax.set_yticks(range(len(table)), labels, fontsize=7)
        ax.invert_yaxis()
        plotting.finish(ax, "relative error ‖g_backprop − g_numeric‖ / (‖g_backprop‖ + ‖g_numeric‖)", None,
                        f"gradient check, float64, {batch} MNIST images, ≤ {entries} entries per tensor")
    by_net: dict[str, float] = {}
    for t in table:
        by_net[t["network"]] = max(by_net.get(t["network"], 0.0), t["relative_error"])
    rows = [row(f"max relative error: {name}", None, f"{err:.1e}") for name, err in by_net.items()]
    rows += [
        row("cost of one backprop, in forward passes ([784,30,10], 10 images)", "about 2", round(ratio, 2)),
        row(f"finite differences for all {n_weights:,} parameters: seconds" + (" (extrapolated)" if quick else ""),
            None, round(fd_seconds, 2), "s"),
        row("backprop: seconds for the same gradient", None, f"{backward:.2e}", "s"),
    ]
    return {
        "settings": {"dtype": "float64", "images": batch, "entries_per_tensor": entries, "eps": 1e-6,
                     "threshold": THRESHOLD, "timing_network": [784, 30, 10], "timing_images": 10},
        "nndl": {"table": table, "all_passed": all(t["passed"] for t in table),
                 "max_relative_error": max(t["relative_error"] for t in table),
                 "forward_seconds": forward, "backprop_seconds": backward, "backprop_in_forward_passes": ratio,
                 "parameters": n_weights, "finite_difference_seconds": fd_seconds,
                 "finite_difference_entries_timed": measured},
        "rows": rows,
        "figures": figures,
        "notes": ["The book gives no table of errors; it explains why backprop beats finite differences: "
                  "one forward and one backward pass instead of one forward pass per weight."],
    }


def _time(fn, repeat: int = 200) -> float:
    """Median seconds of ``fn()`` over ``repeat`` calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
