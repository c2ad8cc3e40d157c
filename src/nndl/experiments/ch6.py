"""Chapter 6: the convolutional ladder — from saved training runs, retrained only when asked.

Each rung of the book's ladder is one ``nndl train --preset ch6-... --json`` run whose
output (one JSON object per epoch, then a last one with ``"final": true``) was saved
as ``<results>/<preset>.json`` and its model as ``<results>/<preset>.npz``.  Training
them takes hours on a CPU, so this experiment only *reads* them: the ladder table
(book vs nndl), the first conv layer's learned filters and the test digits the best
saved model gets wrong.  Missing runs are listed; ``retrain=True`` (``--retrain``)
runs ``nndl train`` for them.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy

from nndl.errors import NndlError
from nndl.experiments import plotting
from nndl.experiments._common import mnist, pct, subset
from nndl.experiments.registry import experiment, log, row

#: The book's ladder: (name, what changes, the book's test accuracy in %).  A rung is one saved
#: ``nndl train --preset NAME`` run (see :mod:`nndl.presets`); the ensemble is the
#: ``nndl ensemble MODEL... --json`` output for five models, saved as ch6-ensemble.json.
LADDER = [
    ("ch6-shallow", "[784, 100, 10] sigmoid, no convolution", 97.80),
    ("ch6-conv1", "+ conv 20×5×5, max-pool 2×2", 98.78),
    ("ch6-conv2", "+ a second conv-pool layer (40 filters)", 99.06),
    ("ch6-relu", "rectified linear units, λ = 0.1, η = 0.03", 99.23),
    ("ch6-expanded", "+ training data expanded ×5 by 1-pixel shifts", 99.37),
    ("ch6-fc2", "+ an extra fully connected layer of 100", 99.43),
    ("ch6-dropout", "+ dropout, two fully connected layers of 1,000", 99.60),
    ("ch6-ensemble", "ensemble of 5 dropout networks (vote)", 99.67),
]
#: The saved runs in this checkout (src/nndl/experiments/ch6.py is three folders below it).
CHECKOUT_RESULTS = Path(__file__).resolve().parents[3] / "docs" / "results"


def results_folder(results_dir=None) -> Path:
    """Where the saved ladder runs are: ``results_dir`` if given (``--ch6-results``), else the
    checkout's ``docs/results`` whatever the current folder, else (an installed nndl, no checkout)
    ``docs/results`` under the current folder."""
    if results_dir:
        return Path(results_dir)
    return CHECKOUT_RESULTS if CHECKOUT_RESULTS.is_dir() else Path("docs") / "results"


def read_run(path: Path) -> dict:
    """The numbers of one saved ``nndl train --json`` run (JSON lines, or one JSON object)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NndlError(f"{path}: cannot read ({exc.strerror or exc})") from None
    epochs, final = [], None
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        if isinstance(whole.get("final"), dict):            # History.to_dict()
            epochs, final = whole.get("epochs", []), whole["final"]
        elif whole.get("final") is True or "test_accuracy" in whole or "models" in whole:
            final = whole                                   # just the last line, or nndl ensemble --json
        else:
            epochs = [whole]                                # one epoch line: the run did not finish
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise NndlError(f"{path}, line {number}: not JSON") from None
            if isinstance(obj, dict) and obj.get("final"):
                final = obj
            elif isinstance(obj, dict):
                epochs.append(obj)
    if final is None:
        raise NndlError(f"{path}: no final line (\"final\": true); the run did not finish")
    acc = final.get("test_accuracy")
    if acc is None and final.get("split") == "test":        # nndl ensemble --json
        acc = final.get("accuracy")
    best_val = final.get("best_validation_accuracy")
    return {"file": path.name, "test_accuracy": pct(acc) if acc is not None and acc <= 1 else acc,
            "best_validation_accuracy": pct(best_val) if best_val is not None and best_val <= 1 else best_val,
            "best_epoch": final.get("best_epoch"), "epochs": len(epochs) or final.get("epochs"),
            "seconds_total": final.get("seconds_total"), "model": final.get("model"),
            "validation_accuracy": [pct(e["validation_accuracy"]) for e in epochs if
                                    e.get("validation_accuracy") is not None]}


def _trained_in(run) -> str:
    """ " (trained in 19.1 min)": the saved run's wall time, if it recorded one."""
    seconds = (run or {}).get("seconds_total")
    return f" (trained in {seconds / 60:.1f} min)" if seconds else ""


def _model_path(results: Path, preset: str, run: dict) -> Path | None:
    for candidate in (results / f"{preset}.npz", Path(run["model"]) if run.get("model") else None,
                      results / Path(run["model"]).name if run.get("model") else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def retrain_command(preset: str, results: Path, quick: bool) -> list[str]:
    cmd = [sys.executable, "-m", "nndl", "train", "--preset", preset, "--json", "--quiet",
           "--out", str(results / f"{preset}.npz")]
    if quick:
        cmd += ["--epochs", "1", "--train-size", "1000"]
    return cmd


def presets() -> dict:
    """nndl's presets (empty if the module is not there)."""
    try:
        from nndl.presets import PRESETS
    except ImportError:
        return {}
    return PRESETS


def _retrain(preset: str, results: Path, quick: bool) -> str | None:
    """Run ``nndl train --preset`` into ``results``; None on success, else why not."""
    cmd = retrain_command(preset, results, quick)
    log(f"conv-ladder: {' '.join(cmd[2:])}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return f"nndl train --preset {preset} failed (exit {proc.returncode}): {last}"
    (results / f"{preset}.json").write_text(proc.stdout, encoding="utf-8")
    return None


def _demo_network(data, quick: bool, seed: int):
    """A small conv net trained here, for the filter picture when no saved model exists."""
    from nndl.layers import Conv2D, Dense, Flatten, MaxPool2D
    from nndl.network import Network
    from nndl.models import Classifier
    from nndl.optim import SGD
    from nndl.trainer import Trainer

    n, epochs = (2000, 1) if quick else (10000, 2)
    net = Network([Conv2D(20, 5, activation="relu"), MaxPool2D(2), Flatten(), Dense(10, activation="softmax")],
                  (1, 28, 28), cost="log_likelihood", seed=seed)
    Trainer(10, seed=seed, verbose=False).fit(Classifier(net, SGD(0.03)), data.train.subset(n), epochs)
    return net, f"demo: conv(20,5) relu, max-pool 2, softmax, {epochs} epoch(s) on {n:,} images (not a ladder run)"


@experiment("conv-ladder", 6, "The convolutional ladder: 97.80% to 99.67%, from saved runs",
            "chap6.html#convolutional_neural_networks_in_practice",
            book={"ladder": {p: acc for p, _, acc in LADDER}},
            summary="Convolution, pooling, ReLUs, expanded data, dropout and an ensemble take the test accuracy "
                    "from 97.80% to 99.67%.",
            full_minutes=0.1)
def conv_ladder(out_dir, quick, seed, results_dir=None, retrain=False):
    results = results_folder(results_dir)
    notes = []
    if retrain:
        target = (out_dir / "retrained") if quick else results
        target.mkdir(parents=True, exist_ok=True)
        known = presets()
        for preset, _, _ in LADDER:
            if preset not in known:
                notes.append(f"{preset}: no such preset, so it cannot be retrained here")
            elif quick or not (results / f"{preset}.json").is_file():
                failure = _retrain(preset, target, quick)
                if failure:
                    notes.append(failure)
        results = target
    runs, missing, problems = {}, [], []
    for preset, _, _ in LADDER:
        path = results / f"{preset}.json"
        if not path.is_file():
            missing.append(preset)
            continue
        try:
            runs[preset] = read_run(path)
        except NndlError as exc:
            problems.append(str(exc))
    extra = sorted(p.stem for p in results.glob("ch6-*.json") if p.stem not in {r[0] for r in LADDER}) \
        if results.is_dir() else []
    for preset in extra:
        try:
            runs[preset] = read_run(results / f"{preset}.json")
        except NndlError as exc:
            problems.append(str(exc))
    if missing:
        known = presets()
        trainable = [p for p in missing if p in known]
        notes.append(f"missing saved runs in {results}: {', '.join(missing)}"
                     + (f"; produce {', '.join(trainable)} with `nndl train --preset NAME --json --out "
                        f"{results}/NAME.npz > {results}/NAME.json`, or run this experiment with --retrain "
                        f"(hours on a CPU)" if trainable else "")
                     + ("; ch6-ensemble.json is the output of `nndl ensemble MODEL... --json` on five dropout "
                        "models" if "ch6-ensemble" in missing else "")
                     + ("; " + ", ".join(p for p in missing if p not in known and p != "ch6-ensemble")
                        + " has no preset yet" if any(p not in known and p != "ch6-ensemble" for p in missing)
                        else ""))
    notes += problems

    data = mnist()
    model, model_label, model_preset = None, None, None
    candidates = sorted((r for r in runs.items() if r[1].get("test_accuracy") is not None),
                        key=lambda r: -r[1]["test_accuracy"])
    for preset, run in candidates:
        path = _model_path(results, preset, run)
        if path is None:
            continue
        try:
            from nndl import io

            net = io.load(path)
        except NndlError as exc:
            notes.append(str(exc))
            continue
        if any(getattr(layer, "type", "") == "conv" for layer in net.layers):
            model, model_label, model_preset = net, f"{preset} (saved model {path.name})", preset
            break
    if model is None:
        try:
            model, model_label = _demo_network(data, quick, seed)
        except Exception as exc:                     # the conv layers are optional for this table
            notes.append(f"no conv model to draw filters from ({type(exc).__name__}: {exc})")

    figures = ["ladder.png"]
    names = [p for p, _, _ in LADDER] + extra
    book_acc = {p: a for p, _, a in LADDER}
    with plotting.figure(out_dir / figures[0], size=(9, 4.2)) as (fig, ax):
        k = numpy.arange(len(names))
        ax.bar(k - 0.2, [book_acc.get(p, 0) for p in names], 0.4, color=plotting.BOOK_COLOR, label="book")
        ours = [runs.get(p, {}).get("test_accuracy") for p in names]
        ax.bar(k + 0.2, [v or 0 for v in ours], 0.4, color=plotting.COLORS[0], label="nndl (saved runs)")
        for x, v in zip(k + 0.2, ours):
            ax.annotate("missing" if v is None else f"{v:.2f}", (x, 97.0 if v is None else v), ha="center",
                        va="bottom", fontsize=7, rotation=90)
        ax.set_ylim(97.0, 100.0)
        ax.set_xticks(k, [p.removeprefix("ch6-") for p in names], rotation=30)
        plotting.finish(ax, None, "test accuracy (%)", "the chapter 6 ladder", legend="upper left")

    filters_info, wrong_info = None, None
    if model is not None:
        conv = next(layer for layer in model.layers if getattr(layer, "type", "") == "conv")
        from nndl.backend import to_numpy

        w = to_numpy(conv.W.value)                       # (F, C, kh, kw)
        f = w.shape[0]
        cols = min(10, f)
        rows_ = -(-f // cols)
        figures.append("filters.png")
        with plotting.figure(out_dir / "filters.png", rows_, cols, size=(1.2 * cols, 1.3 * rows_ + 0.6),
                             title=f"first conv layer's {f} filters\n{model_label}") as (fig, axes):
            for i, ax in enumerate(numpy.ravel(axes)):
                ax.axis("off")
                if i < f:
                    ax.imshow(w[i, 0], cmap="gray_r", interpolation="nearest")
        filters_info = {"model": model_label, "shape": list(w.shape)}

        test = data.test if not quick else subset(data.test, 2000)
        pred = model.predict(test.x)                     # the saved model's own preprocessing applied
        wrong = numpy.flatnonzero(pred != test.y)
        shown = wrong[:24]
        figures.append("misclassified.png")
        with plotting.figure(out_dir / "misclassified.png", 3, 8, size=(11, 4.6),
                             title=f"{len(wrong)} of {len(test):,} test digits wrong; the first 24 "
                                   f"(true → predicted)\n{model_label}") as (fig, axes):
            plotting.digits(axes, test.x[shown], [f"{test.y[i]} → {pred[i]}" for i in shown])
        wrong_info = {"model": model_label, "test_images": len(test), "wrong": int(len(wrong)),
                      "accuracy": pct(1 - len(wrong) / len(test)), "first_wrong": [int(i) for i in shown]}

    rows = []
    for preset, change, acc in LADDER:
        run = runs.get(preset)
        rows.append(row(f"{preset}: {change}{_trained_in(run)}", acc,
                        "missing" if run is None else run["test_accuracy"], "%"))
    for preset in extra:
        rows.append(row(f"{preset} (not in the book's ladder){_trained_in(runs[preset])}", None,
                        runs[preset]["test_accuracy"], "%"))
    return {
        "settings": {"results_dir": str(results), "ladder": [{"preset": p, "change": c} for p, c, _ in LADDER],
                     "retrain": bool(retrain)},
        "nndl": {"runs": runs, "missing": missing, "filters": filters_info, "misclassified": wrong_info,
                 "model_for_pictures": model_preset},
        "rows": rows,
        "figures": figures,
        "notes": notes,
    }
