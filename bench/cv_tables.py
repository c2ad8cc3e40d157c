"""The small tables of ``../shared/data`` by 5-fold cross-validation from the command line.

For each table runs ``nndl cv --data TABLE ... --folds 5 --seed S --json`` exactly as a user
would, and prints one JSON line: the mean ± std over the folds of the monitored test figure
(accuracy, or R² for diabetes), the figures of every fold, the command, the wall time — and,
when scikit-learn is installed, its reference estimator (logistic or linear regression on
standardized features, scaler fitted per fold) on the *very same folds* (:func:`nndl.crossval.kfold`),
so each figure has a reference beside it on the same test rows.  The reference figures of
``../shared/data/README.md`` (scikit-learn's own folds) are copied in as ``readme``.

    python bench/cv_tables.py                                    # about a minute on one core
    python bench/cv_tables.py --seeds 0,1,2,3,4 --out docs/results/workflow/cv_tables.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from nndl_cli import REPO, nndl_json

DATA = Path(os.environ.get("NNDL_DATA") or REPO.parent / "shared" / "data")

#: table → (file, nndl cv options, the figure, the README's scikit-learn figures (mean, std), the reference).
RUNS = {
    "diabetes": ("diabetes/diabetes.csv",
                 ["--layers", "10,10,1", "--activation", "tanh", "--eta", "0.01", "--lmbda", "5", "--epochs", "100",
                  "--validation", "0", "--monitor", "validation_r2"],
                 "r2", {"linear regression": (0.489, 0.090), "MLPRegressor(100)": (0.472, 0.130)}, "linear"),
    "breast cancer": ("breast-cancer/breast_cancer.csv",
                      ["--layers", "30,30,1", "--activation", "tanh", "--optimizer", "adam", "--eta", "0.001",
                       "--lmbda", "10", "--epochs", "100", "--validation", "0"],
                      "accuracy", {"logistic regression": (0.979, 0.014), "MLPClassifier(100)": (0.977, 0.013),
                                   "SVC": (0.977, 0.007)}, "logistic"),
    "digits": ("digits/digits.csv",
               ["--net", "dense(200) relu dense(10) softmax", "--cost", "log_likelihood", "--eta", "0.05",
                "--lmbda", "1", "--epochs", "60", "--validation", "0"],
               "accuracy", {"logistic regression": (0.969, 0.010), "MLPClassifier(100)": (0.977, 0.007),
                            "SVC": (0.981, 0.007)}, "logistic"),
    "iris": ("iris/iris.csv",
             ["--layers", "4,3", "--cost", "log_likelihood", "--eta", "0.1", "--lmbda", "0.1", "--epochs", "200",
              "--validation", "0"],
             "accuracy", {"logistic regression": (0.960, 0.013), "MLPClassifier(100)": (0.953, 0.027)}, "logistic"),
}


def nndl_cv(table: str, options: list, seed: int, folds: int) -> tuple[dict, float]:
    """The last JSON line of ``nndl cv`` (the mean ± std over the folds), and the wall seconds."""
    lines, seconds = nndl_json("cv", "--data", DATA / table, *options, "--folds", folds, "--seed", seed,
                               "--threads", 1, "--json")
    return lines[-1], seconds


def reference_on_the_same_folds(table: str, kind: str, seed: int, folds: int, metric: str):
    """scikit-learn's LinearRegression / LogisticRegression on nndl's folds (None without scikit-learn)."""
    try:
        from sklearn.linear_model import LinearRegression, LogisticRegression
        from sklearn.metrics import accuracy_score, r2_score
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        return None
    sys.path.insert(0, str(REPO / "src"))
    import numpy as np

    from nndl.crossval import kfold
    from nndl.data.csv_table import load_csv

    splits, _ = load_csv(DATA / table, split=(1.0, 0.0, 0.0), seed=seed, standardize=False,
                         standardize_targets=False)
    x, y = splits.train.x.astype(np.float64), splits.train.y
    scores = []
    for test in kfold(y, folds, seed):
        train = np.setdiff1d(np.arange(len(y)), test)
        scaler = StandardScaler().fit(x[train])
        model = LinearRegression() if kind == "linear" else LogisticRegression(max_iter=5000)
        model.fit(scaler.transform(x[train]), y[train])
        predicted = model.predict(scaler.transform(x[test]))
        scores.append(r2_score(y[test], predicted) if metric == "r2" else accuracy_score(y[test], predicted))
    name = "LinearRegression" if kind == "linear" else "LogisticRegression(max_iter=5000)"
    return {"estimator": f"scikit-learn {name}, StandardScaler per fold", "mean": round(float(np.mean(scores)), 4),
            "std": round(float(np.std(scores)), 4), "folds": [round(float(s), 4) for s in scores]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--tables", default=",".join(RUNS), help="comma-separated names of RUNS")
    parser.add_argument("--out", help="also append the JSON lines to this file")
    args = parser.parse_args()
    sink = open(args.out, "a") if args.out else None
    for name in (t.strip() for t in args.tables.split(",")):
        table, options, metric, readme, kind = RUNS[name]
        for seed in (int(s) for s in args.seeds.split(",")):
            final, seconds = nndl_cv(table, options, seed, args.folds)
            key = f"test_{metric}"
            line = {"table": name, "metric": metric, "seed": seed, "folds": args.folds,
                    "mean": round(final[f"{key}_mean"], 4), "std": round(final[f"{key}_std"], 4),
                    "per_fold": [round(v, 4) for v in final[f"{key}_folds"]],
                    "command": f"nndl cv --data {table} {' '.join(_quoted(o) for o in options)} "
                               f"--folds {args.folds} --seed {seed} --threads 1 --json",
                    "wall_seconds": round(seconds, 1),
                    "same_folds_reference": reference_on_the_same_folds(table, kind, seed, args.folds, metric),
                    "readme": {k: {"mean": m, "std": s} for k, (m, s) in readme.items()}}
            print(json.dumps(line), flush=True)
            if sink:
                print(json.dumps(line), file=sink, flush=True)


def _quoted(option: str) -> str:
    return f'"{option}"' if " " in option else option


if __name__ == "__main__":
    main()
