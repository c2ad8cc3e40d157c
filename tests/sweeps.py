"""What the sweep tests share: running ``nndl sweep``, a small space on iris, reading a study back."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO / "src"), OPENBLAS_NUM_THREADS="1")


def nndl(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "nndl", *map(str, args)], capture_output=True, text=True,
                          env=env(), cwd=cwd, timeout=timeout)


def start(*args, cwd=None):
    """``nndl ARGS`` started in the background (stdout and stderr to files beside ``cwd``)."""
    out = open(Path(cwd) / f"out-{time.monotonic_ns()}.txt", "w")
    return subprocess.Popen([sys.executable, "-m", "nndl", *map(str, args)], stdout=out, stderr=subprocess.STDOUT,
                            env=env(), cwd=cwd)


def iris_space(iris_csv, epochs=20, eta="log(0.05,3)"):
    """Options of a small sweep on iris: η, the hidden units and the mini-batch size."""
    return ["--set", f"data={iris_csv}", "--set", "layers=4,{h},3", "--set", f"epochs={epochs}",
            "--param", f"eta={eta}", "--param", "h=int(3,12)", "--param", "batch_size=choice(5,10)"]


def journal_study(sweep_dir, name="sweep"):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(Path(sweep_dir) / "journal.log")))
    return optuna.load_study(study_name=name, storage=storage)


def states(study) -> dict:
    from collections import Counter

    return dict(Counter(t.state.name for t in study.get_trials()))


def wait_for_running_trial(study_of, pids=None, timeout=120.0):
    """(trial, pid): the first running trial whose worker is one of ``pids`` (any worker: None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            study = study_of()
        except Exception:            # the study is not created yet
            time.sleep(0.2)
            continue
        for trial in study.get_trials():
            pid = trial.user_attrs.get("pid")
            if trial.state.name == "RUNNING" and pid is not None and (pids is None or pid in pids):
                return trial, trial.user_attrs["pid"]
        time.sleep(0.1)
    raise AssertionError("no worker started a trial in time")


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def check_accounted_for(study, budget: int, workers: int) -> dict:
    """Every trial finished; the complete and pruned ones cover the budget (at most workers − 1 over it);
    each failed trial was retried by exactly one trial."""
    trials = study.get_trials()
    count = states(study)
    assert not count.get("RUNNING") and not count.get("WAITING"), count
    done = count.get("COMPLETE", 0) + count.get("PRUNED", 0)
    assert budget <= done <= budget + workers - 1, count
    failed = [t.number for t in trials if t.state.name == "FAIL"]
    retries = [t.system_attrs.get("failed_trial") for t in trials if "failed_trial" in t.system_attrs]
    assert sorted(retries) == sorted(failed), (failed, retries)
    return count
