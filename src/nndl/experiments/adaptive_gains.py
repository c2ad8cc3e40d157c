"""Per-weight adaptive gains against plain gradient descent, full batch (the course notes' point).

Hinton's lecture 6d: give every weight a gain γ (starting at 1) that grows by 0.05 while its
gradient keeps its sign and shrinks ×0.95 when it flips, bounded in [0.1, 10]; use full
batches; combine with momentum.  Weights whose error surface is a long shallow valley
get up to ten times the learning rate, oscillating ones less.
(:class:`nndl.optim.AdaptiveGains`.)
"""
from __future__ import annotations

from nndl.experiments import plotting
from nndl.experiments._common import mnist
from nndl.experiments.registry import experiment, log, row

ETAS = (0.25, 0.5, 1.0, 2.0, 4.0)


def _run(train_set, optimizer, steps: int, seed: int, test_set=None):
    """Full-batch training of the book's [784, 30, 10] for ``steps`` steps: the training cost before each
    step, and the accuracy on ``test_set`` after the last (None without one)."""
    from nndl.models import Classifier
    from nndl.network import Network
    from nndl.trainer import Trainer

    net = Network.from_sizes([784, 30, 10], cost="cross_entropy", seed=seed)
    history = Trainer(len(train_set), seed=seed, threads=1, workers=1, verbose=False).fit(
        Classifier(net, optimizer), train_set, steps)
    accuracy = None if test_set is None else net.accuracy(test_set.x, test_set.y, preprocessed=True)
    return [float(c) for c in history["training_cost"]], accuracy


@experiment("adaptive-gains", 3, "Per-weight adaptive gains against plain gradient descent (full batch)",
            "chap3.html#variations_on_stochastic_gradient_descent",
            book={"rule": "lecture 6d of the course notes: gain +0.05 while the gradient keeps its sign, x0.95 "
                          "when it flips, gains in [0.1, 10], full batch, with momentum",
                  "chapter_3": "momentum-based gradient descent, one of the book's variations on SGD"},
            summary="Full-batch gradient descent on 1,000 MNIST images, with and without per-weight adaptive "
                    "gains and momentum (and Quickprop beside them): the cost per step, the test accuracy, and "
                    "the final cost for several learning rates.",
            full_minutes=3.0)
def adaptive_gains(out_dir, quick, seed):
    from nndl.experiments._common import subset
    from nndl.optim import SGD, AdaptiveGains, Momentum, Quickprop

    n, steps, etas, n_test = (200, 20, (1.0,), 1000) if quick else (1000, 300, ETAS, None)
    data = mnist()
    train_set, test_set = data.train.subset(n), subset(data.test, n_test)
    runs = {"gradient descent": lambda eta: SGD(eta), "adaptive gains": lambda eta: AdaptiveGains(eta),
            "momentum 0.9": lambda eta: Momentum(eta, 0.9), "momentum 0.9 + gains": lambda eta: AdaptiveGains(eta, 0.9),
            "quickprop": lambda eta: Quickprop(eta)}
    eta = 1.0
    curves, test_accuracy = {}, {}
    for name, make in runs.items():
        log(f"adaptive-gains: {name}, eta {eta}, {steps} full-batch steps on {n} images")
        curves[name], test_accuracy[name] = _run(train_set, make(eta), steps, seed, test_set)
    sweep = {"gradient descent": {}, "adaptive gains": {}}
    for e in etas:
        for name in sweep:
            sweep[name][e] = curves[name][-1] if e == eta else _run(train_set, runs[name](e), steps, seed)[0][-1]
    figures = ["cost_per_step.png", "final_cost_by_eta.png"]
    with plotting.figure(out_dir / figures[0]) as (fig, ax):
        for name, values in curves.items():
            if name == "quickprop":              # its cost falls to 1e-10: drawn, the others would be squashed
                continue
            ax.plot(plotting.epochs_axis(steps), values, label=name)
        ax.set_yscale("log")
        plotting.finish(ax, "full-batch step (epoch)", "training cost",
                        f"[784, 30, 10] on {n} images, η = {eta}", legend="upper right")
    with plotting.figure(out_dir / figures[1]) as (fig, ax):
        for name, values in sweep.items():
            ax.plot(list(values), list(values.values()), marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        plotting.finish(ax, "learning rate η", f"training cost after {steps} steps", legend="upper right")
    final = {name: values[-1] for name, values in curves.items()}

    def first_below(values, level):
        return next((k + 1 for k, v in enumerate(values) if v <= level), None)

    level = final["gradient descent"]
    reach = {name: first_below(values, level) for name, values in curves.items()}
    rows = [row(f"training cost after {steps} steps, η = {eta}: {name}", None, float(f"{value:.4g}")) for name, value
            in final.items()]
    rows += [row(f"steps to reach gradient descent's final cost ({level:.4f}): {name}", None, steps_) for name, steps_
             in reach.items()]
    rows += [row(f"test accuracy after {steps} steps: {name}", None, round(100 * value, 2), "%") for name, value
             in test_accuracy.items()]
    rows += [row(f"cost after {steps} steps at η = {e}: gradient descent / adaptive gains", None,
                 f"{sweep['gradient descent'][e]:.4f} / {sweep['adaptive gains'][e]:.4f}") for e in etas]
    return {"settings": {"sizes": [784, 30, 10], "cost": "cross_entropy", "activation": "sigmoid",
                         "training_images": n, "batch": "full (every step sees all images)", "steps": steps,
                         "eta": eta, "etas": list(etas), "gains": "+0.05 / x0.95, in [0.1, 10]"},
            "nndl": {"final_cost": {name: float(f"{v:.4g}") for name, v in final.items()},
                     "steps_to_gd_final_cost": reach,
                     "test_accuracy": {name: round(v, 4) for name, v in test_accuracy.items()},
                     "final_cost_by_eta": {name: {str(e): round(v, 4) for e, v in values.items()}
                                           for name, values in sweep.items()},
                     "curves": {name: [round(v, 5) for v in values] for name, values in curves.items()}},
            "rows": rows, "figures": figures,
            "notes": ["The book has no adaptive gains: its figures column is empty; the rule is from the course "
                      "notes (Hinton's lecture 6d, after Jacobs 1988).",
                      "The cost of each step is measured on the full batch before that step's update.",
                      "Quickprop (ε = η, growth ≤ 1.75, no weight decay) is in the table, not the figure: its "
                      "training cost falls to about 1e-10 while its weights grow into the thousands and its test "
                      "accuracy drops (Fahlman used a small weight decay with it).",
                      f"Test accuracy on {'the first 1,000' if n_test else 'all 10,000'} test images, after the "
                      f"last step."]}
