"""A sweep from its settings (a plain dict, so a worker process can be given it as JSON).

``open_sweep(config, check=True)`` reads the search space, checks it against ``nndl train`` (the
space's first point is parsed, its data read and its network built, so that a bad option
is one line before any trial), opens the storage and the study; ``run_worker(config)``
is one worker's loop.  The keys of ``config`` are those of ``nndl sweep``'s options
(see :mod:`nndl.cli.sweep_cmd`).
"""
from __future__ import annotations

import time
from pathlib import Path

from nndl.cli.common import say
from nndl.errors import NndlError


def read_space(config: dict):
    from nndl.sweep.space import load_space

    return load_space(config.get("space"), config.get("param") or (), config.get("set") or ())


def study_folder(config: dict) -> Path:
    return Path(config["sweep_dir"]).expanduser() / config["study"]


def objectives_of(config: dict) -> list[str]:
    from nndl.sweep.objective import check_objectives

    return check_objectives([name.strip() for name in str(config.get("objectives") or
                                                          "validation_accuracy").split(",") if name.strip()])


def check_against_train(space, objectives, folder: Path, folds=None) -> None:
    """Parse the space's first point as ``nndl train`` would, read its data and build its net and trainer."""
    from nndl.cli.train_cmd import prepare
    from nndl.sweep.objective import Objective, train_args
    from nndl.sweep.space import FirstPoint

    settings = Objective(space, folder, objectives).settings(FirstPoint())
    args = train_args(settings, folder / "check.npz")
    try:
        _, trainer, splits, _, _ = prepare(args, quiet=True)
    except NndlError as exc:
        raise NndlError(f"{space.source}: a trial with {_brief(settings)} would not train: {exc}") from None
    if splits.validation is None and not folds:
        raise NndlError(f"{space.source}: these data have no validation part, and the sweep's objective is a "
                        f"validation figure; use --folds K for cross-validation")
    measured = {"validation_cost"} | {f"validation_{m.name}" for m in trainer.model.metrics}
    if objectives[0] not in measured:
        raise NndlError(f"--objectives {objectives[0]}: a {settings.get('task') or trainer.model.task} trial does "
                        f"not measure it; choose one of {', '.join(sorted(measured))}")


def _brief(settings: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items())


def open_sweep(config: dict, check: bool = False):
    """(study, objective) of ``config``; with ``check``, the space is first tried on ``nndl train``."""
    from nndl.sweep.objective import Objective
    from nndl.sweep.runner import make_pruner, make_sampler, quiet_optuna
    from nndl.sweep.storage import open_storage, open_study

    quiet_optuna()
    space = read_space(config)
    objectives = objectives_of(config)
    folder = study_folder(config)
    sampler = make_sampler(config.get("sampler") or "tpe", config.get("seed"), space, objectives)
    epochs = space.fixed.get("epochs")
    pruner = make_pruner(config.get("pruner") or "median", epochs if isinstance(epochs, int) else None)
    if check and not config.get("storage"):
        try:
            Path(config["sweep_dir"]).expanduser().mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NndlError(f"--sweep-dir {config['sweep_dir']}: cannot create it ({exc.strerror or exc})") from None
    storage = open_storage(config.get("storage"), config["sweep_dir"], config.get("heartbeat") or 10,
                           config.get("grace") or 30)
    if check:
        folder.mkdir(parents=True, exist_ok=True)
        check_against_train(space, objectives, folder, config.get("folds"))
    study = open_study(storage, config["study"], space, objectives, sampler, pruner, config.get("storage"))
    return study, Objective(space, folder, objectives, config.get("folds"))


def run_worker(config: dict) -> int:
    from nndl.sweep.runner import work

    study, objective = open_sweep(config)
    timeout = config.get("timeout")
    deadline = time.monotonic() + timeout if timeout else None
    prefix = f"[worker {config['worker'] + 1}] " if config.get("workers", 1) > 1 else ""
    work(study, objective, config.get("trials"), deadline, poll=min(1.0, float(config.get("heartbeat") or 10)),
         say=None if config.get("quiet") else (lambda line: say(prefix + line)))
    return 0
