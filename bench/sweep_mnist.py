"""The issue's figure: two workers on one PostgreSQL study, 40 trials of the book's [784, h, 10] net
over η, λ, h and the mini-batch size (docs/sweeps/mnist-784-h-10.toml), then an ensemble of the top 5.

Starts a throw-away PostgreSQL server (tests/services.py), runs two `nndl sweep` processes against it
(as two machines would), and prints JSON lines: the sweep (wall time, trials, pruned share, best
validation accuracy, and the best reached within 20 minutes), and the ensemble of the top 5 against
its best member on the test set.  Figures go to --out.

    nice -n 10 python bench/sweep_mnist.py --out docs/results/sweep [--trials 40] [--timeout 30m]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]


def nndl(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "nndl", *map(str, args)], env=env, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/results/sweep")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--timeout", default="30m")
    parser.add_argument("--space", default=str(REPO / "docs/sweeps/mnist-784-h-10.toml"))
    args = parser.parse_args()
    import optuna

    from services import postgres_server

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nndl-sweep-mnist-"))
    with postgres_server() as url:
        common = ["sweep", "--space", args.space, "--storage", url, "--study", "mnist-h", "--trials", args.trials,
                  "--timeout", args.timeout, "--sweep-dir", work / "sweeps"]
        start = time.time()
        workers = [nndl(*common, "--seed", seed, stdout=open(work / f"worker{seed}.txt", "w"),
                        stderr=subprocess.STDOUT) for seed in (0, 1)]
        codes = [w.wait() for w in workers]
        wall = time.time() - start
        study = optuna.load_study(study_name="mnist-h", storage=url)
        trials = study.get_trials()
        complete = [t for t in trials if t.state.name == "COMPLETE"]
        pruned = [t for t in trials if t.state.name == "PRUNED"]
        best = max(complete, key=lambda t: t.value)
        within = [t for t in complete if t.datetime_complete.timestamp() - start <= 20 * 60]
        print(json.dumps({"bench": "sweep_mnist", "workers": 2, "storage": "postgresql", "exit_codes": codes,
                          "wall_s": round(wall, 1), "trials": len(trials), "complete": len(complete),
                          "pruned": len(pruned), "failed": len(trials) - len(complete) - len(pruned),
                          "pruned_share": round(len(pruned) / len(trials), 3),
                          "best_validation_accuracy": best.value, "best_trial": best.number, "best_params": best.params,
                          "best_within_20_min": max((t.value for t in within), default=None),
                          "trials_per_hour": round(len(trials) * 3600 / wall, 1),
                          "load_average_1min_at_end": round(os.getloadavg()[0], 2)}), flush=True)
        shown = subprocess.run([sys.executable, "-m", "nndl", "sweep", "show", "mnist-h", "--storage", url,
                                "--sweep-dir", work / "sweeps", "--top", "10", "--figures", out],
                               capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
        (out / "mnist-h-table.txt").write_text(shown.stdout.replace(str(work), "SWEEP"))
        ens = subprocess.run([sys.executable, "-m", "nndl", "ensemble", "--from-study", "mnist-h", "--top", "5",
                              "--storage", url, "--split", "test", "--json"], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
        result = json.loads(ens.stdout) if ens.returncode == 0 else {"error": ens.stderr.strip()}
        if "model_accuracies" in result:
            result["models"] = [m.replace(str(work), "SWEEP") for m in result["models"]]
            result["best_member_by_validation_test_accuracy"] = result["model_accuracies"][0]
            result["best_member_test_accuracy"] = max(result["model_accuracies"])
        print(json.dumps(dict({"bench": "sweep_mnist_ensemble_top5"}, **result)), flush=True)
    print(json.dumps({"bench": "sweep_mnist_work", "folder": str(work)}), flush=True)


if __name__ == "__main__":
    main()
