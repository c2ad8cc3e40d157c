"""The storage's cost per trial of a sweep: the same trials with no training in them, on each storage.

Each trial does what an nndl sweep trial does with its storage: the sampler draws 4 parameters
(TPE), the trial stores its settings and 6 other attributes, reports 10 epochs to the median
pruner (asking after each whether to stop), and completes — with the heartbeat thread on, as in
a sweep.  Prints one JSON line per storage: milliseconds per trial, and over Optuna's in-memory
storage (the cost of keeping the trials where other workers see them).

    python bench/sweep_storage.py --trials 100 [--postgres]    # --postgres starts a throw-away server
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]


def objective(trial):
    eta = trial.suggest_float("eta", 0.05, 3, log=True)
    lmbda = trial.suggest_float("lmbda", 0.5, 20, log=True)
    h = trial.suggest_int("h", 30, 250, step=10)
    m = trial.suggest_categorical("batch_size", [10, 20, 50])
    trial.set_user_attr("settings", {"eta": eta, "lmbda": lmbda, "layers": f"784,{h},10", "batch_size": m})
    for key in ("host", "pid", "log", "model", "seconds", "best_epoch"):
        trial.set_user_attr(key, key)
    for epoch in range(1, 11):
        trial.report(0.9 + 0.001 * epoch + 0.01 * (eta / 3), epoch)
        trial.should_prune()
    return 0.95 + 0.01 * (eta / 3)


def measure(name, storage, trials):
    import optuna

    study = optuna.create_study(storage=storage, study_name=f"bench-{name}", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1))
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return 1000 * (time.perf_counter() - start) / trials


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL (a server started for the run)")
    args = parser.parse_args()
    import optuna

    from nndl.sweep.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        storages = [("in-memory", optuna.storages.InMemoryStorage()), ("journal", open_storage(None, folder))]
        if args.postgres:
            from services import postgres_server

            storages.append(("postgresql", open_storage(stack.enter_context(postgres_server()), folder)))
        base = None
        for name, storage in storages:
            ms = measure(name, storage, args.trials)
            base = ms if base is None else base
            print(json.dumps({"bench": "sweep_storage", "storage": name, "trials": args.trials,
                              "ms_per_trial": round(ms, 2), "ms_over_in_memory": round(ms - base, 2)}), flush=True)


if __name__ == "__main__":
    main()
