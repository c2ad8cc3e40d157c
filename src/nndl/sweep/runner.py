"""Running a sweep: samplers, pruners, the budget, and the worker loop.

A worker repeats: fail the trials whose heartbeat has stopped (queuing their retries),
count the study's trials, and run one more unless the budget is spent.  The budget counts
complete and pruned trials of the whole study (all workers, all machines); a trial that
failed is not counted, so a crashed trial's retry takes its place.  When the budget is
covered by trials that are still running elsewhere, the worker waits: they either finish
or go stale, and then their retry needs a worker.  (Two workers that look at the same
moment may both start the last trial: a study can end up to workers − 1 trials over its
budget, as with Optuna's ``MaxTrialsCallback``.)

``--workers N`` starts N worker processes on this machine (``python -m nndl.sweep.worker``, given
the sweep's settings as JSON on stdin),
each with sampler seed ``seed + k``, so that random and TPE samplers do not draw the
same points in every worker.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter

from nndl.cli.common import info
from nndl.errors import NndlError

SAMPLERS = ("tpe", "random", "grid", "gp", "nsga2")
PRUNERS = ("median", "halving", "hyperband", "none")


def make_sampler(name: str, seed: int | None, space, objectives: list[str]):
    import optuna

    if name not in SAMPLERS:
        raise NndlError(f"--sampler {name}: choose one of {', '.join(SAMPLERS)}")
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    if name == "gp":
        import importlib.util

        if importlib.util.find_spec("torch") is None:   # Optuna's GP sampler computes with PyTorch; nndl never does
            raise NndlError("--sampler gp: Optuna's Gaussian-process sampler needs PyTorch "
                            "(pip install 'nndl[sweep-gp]'); tpe, random, grid and nsga2 do not")
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=5)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=8)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True, constant_liar=True)


def make_pruner(name: str, epochs: int | None):
    import optuna

    if name not in PRUNERS:
        raise NndlError(f"--pruner {name}: choose one of {', '.join(PRUNERS)}")
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs or "auto", reduction_factor=3)
    return optuna.pruners.NopPruner()


def quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def counts(study) -> Counter:
    from optuna.trial import TrialState

    found = Counter(t.state for t in study.get_trials(deepcopy=False))
    return Counter({state.name.lower(): found.get(state, 0) for state in TrialState})


def tally(study) -> str:
    """``NAME: 30 complete, 12 pruned, 1 failed, 0 running, 0 waiting``."""
    c = counts(study)
    return (f"{study.study_name}: {c['complete']} complete, {c['pruned']} pruned, {c['fail']} failed, "
            f"{c['running']} running, {c['waiting']} waiting")


def work(study, objective, trials: int | None, deadline: float | None, poll: float = 1.0, say=None) -> int:
    """Run trials of ``study`` until ``trials`` complete-or-pruned trials exist or ``deadline``
    (``time.monotonic()``) passes; return how many this worker ran."""
    from optuna.storages import fail_stale_trials

    ran = 0
    callbacks = [_announce(say)] if say else []
    while deadline is None or time.monotonic() < deadline:
        fail_stale_trials(study)
        c = counts(study)
        done = c["complete"] + c["pruned"]
        if trials is not None:
            if done >= trials:
                break
            if done + c["running"] >= trials and not c["waiting"]:
                time.sleep(poll)          # the last trials run elsewhere: they finish, or go stale and come back
                continue
        study.optimize(objective, n_trials=1, catch=(NndlError,), callbacks=callbacks, gc_after_trial=False)
        ran += 1
        if _grid_done(study):
            break
    return ran


def _grid_done(study) -> bool:
    from optuna.samplers import GridSampler

    sampler = study.sampler
    return isinstance(sampler, GridSampler) and sampler.is_exhausted(study)


def _announce(say):
    """An Optuna callback printing one line per finished trial."""
    def announce(study, trial):
        values = ", ".join(f"{v:.4g}" for v in (trial.values or []))
        params = " ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        reason = trial.user_attrs.get("reason")
        tail = f" ({reason})" if reason and trial.state.name != "COMPLETE" else ""
        say(f"trial {trial.number} {trial.state.name.lower()}{': ' + values if values else ''}  {params}{tail}")
    return announce


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# -- several worker processes -------------------------------------------------------------------------------
def launch(config: dict, workers: int) -> int:
    """Run ``workers`` worker processes with ``config`` (each its own seed); wait for them.  A worker that
    dies is reported in one line; the others go on (its running trial is retried once its heartbeat stops).
    Returns 0 if every worker ended normally, else 1."""
    procs = []
    for k in range(workers):
        cfg = dict(config, worker=k, seed=None if config.get("seed") is None else config["seed"] + k)
        # The settings go through stdin, not the command line, where `ps` would show the storage's password.
        proc = subprocess.Popen([sys.executable, "-m", "nndl.sweep.worker"], stdin=subprocess.PIPE, text=True,
                                env=dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1")))
        proc.stdin.write(json.dumps(cfg))
        proc.stdin.close()
        procs.append(proc)
    status = 0
    try:
        for k, proc in enumerate(procs):
            code = proc.wait()
            if code != 0:
                status = 1
                why = f"was killed by signal {-code}" if code < 0 else f"ended with status {code}"
                info(f"nndl sweep: worker {k + 1} (pid {proc.pid}) {why}; its running trial is retried by the "
                     f"others once its heartbeat stops")
    except KeyboardInterrupt:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            proc.wait()
        raise
    return status
