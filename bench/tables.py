"""The small tables of ``../shared/data`` from the command line, over several seeds (several splits).

For each table and seed, runs ``nndl train --data TABLE ... --seed S --json`` exactly as a
user would and prints one JSON line with the test figures; for the diabetes table also the
R² of ordinary least squares on the same split (the estimator of scikit-learn's
``LinearRegression``), so a net's figure has a reference on the very same test rows.

    python bench/tables.py                      # 5 seeds, about a minute
    python bench/tables.py --seeds 0,1 --out docs/results/tables.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NNDL_DATA") or REPO.parent / "shared" / "data")

RUNS = {
    "diabetes (default)": ("diabetes/diabetes.csv", ["--epochs", "60"]),
    "diabetes (10 tanh units)": ("diabetes/diabetes.csv", ["--layers", "10,10,1", "--activation", "tanh",
                                                          "--eta", "0.02", "--epochs", "200"]),
    "breast cancer (default)": ("breast-cancer/breast_cancer.csv", ["--epochs", "30"]),
    "iris": ("iris/iris.csv", ["--layers", "4,10,3", "--epochs", "100"]),
}


def train(table: str, options: list, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "nndl", "train", "--data", str(DATA / table), *options, "--seed", str(seed),
               "--threads", "1", "--json", "--out", str(Path(tmp) / "m.npz")]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(REPO / "src"))).stdout
    return json.loads(out.strip().splitlines()[-1])


def least_squares_r2(table: str, seed: int) -> float:
    """R² on the test part of ordinary least squares fitted on the training part (same split as nndl's)."""
    sys.path.insert(0, str(REPO / "src"))
    import numpy as np

    from nndl.data.csv_table import load_csv

    splits, _ = load_csv(DATA / table, seed=seed, standardize_targets=False)
    design = lambda part: np.c_[part.x, np.ones(len(part.x))]  # noqa: E731
    w, *_ = np.linalg.lstsq(design(splits.train), splits.train.y, rcond=None)
    y, predicted = splits.test.y, design(splits.test) @ w
    return float(1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--out", help="also append the JSON lines to this file")
    args = parser.parse_args()
    sink = open(args.out, "a") if args.out else None
    for name, (table, options) in RUNS.items():
        for seed in (int(s) for s in args.seeds.split(",")):
            final = train(table, options, seed)
            line = {"run": name, "command": f"nndl train --data {table} {' '.join(options)} --seed {seed}",
                    "seed": seed, **{k: round(v, 4) for k, v in final.items()
                                     if k.startswith(("test_", "best_")) and isinstance(v, float)}}
            if table.startswith("diabetes"):
                line["least_squares_test_r2"] = round(least_squares_r2(table, seed), 4)
            print(json.dumps(line), flush=True)
            if sink:
                print(json.dumps(line), file=sink, flush=True)


if __name__ == "__main__":
    main()
