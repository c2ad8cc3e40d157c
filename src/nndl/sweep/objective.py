"""One trial of a sweep: the settings a trial samples, trained by ``nndl train``'s own functions.

Each trial runs in its worker process (in-process: MNIST is decoded once per worker, not
once per trial, and a trial starts in milliseconds); the workers are separate processes,
so a trial that crashes its process takes one worker down, whose trial the others then
retry (:mod:`nndl.sweep.storage`: the heartbeat).  A trial's settings become the
arguments of ``nndl train`` and go through its parser, checks and ``prepare`` exactly as
on the command line; the trial adds two callbacks (its JSON log, and the per-epoch report
to the pruner) and saves its model where the sweep keeps it::

    SWEEP_DIR/STUDY/trial-00007/model.npz     the model (completed trials)
    SWEEP_DIR/STUDY/trial-00007/log.jsonl     one JSON object per epoch, and a last one

The objective is the best value of the monitored validation figure (the weights kept are
that epoch's), and for two objectives also ``params`` (the parameter count) or
``seconds`` (training time), both minimized.  With ``folds = k`` the objective is the mean
over k-fold cross-validation of the pooled training and validation examples (for small
tables; a minimal version: the loader's standardization is fitted on its training part).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import time
from pathlib import Path

import numpy

from nndl.callbacks.base import Callback
from nndl.callbacks.early_stopping import default_mode
from nndl.callbacks.guards import TrainingDiverged
from nndl.callbacks.pruning import Pruned, ReportToTrial
from nndl.errors import NndlError

#: Second objectives a two-objective sweep may name (both minimized).
SECOND_OBJECTIVES = ("params", "seconds")


def directions(objectives: list[str]) -> list[str]:
    """Optuna's direction of each objective: max for accuracies and R², min for costs, errors, size and time."""
    return ["minimize" if name in SECOND_OBJECTIVES or default_mode(name) == "min" else "maximize"
            for name in objectives]


def check_objectives(objectives: list[str]) -> list[str]:
    if not objectives or len(objectives) > 2:
        raise NndlError(f"--objectives takes one or two names, got {','.join(objectives) or 'none'}")
    if not objectives[0].startswith("validation_"):
        raise NndlError(f"--objectives: the first objective is a validation figure (validation_accuracy, "
                        f"validation_cost, validation_mse, ...), got {objectives[0]!r}")
    if len(objectives) == 2 and objectives[1] not in SECOND_OBJECTIVES:
        raise NndlError(f"--objectives: the second objective is one of {', '.join(SECOND_OBJECTIVES)}, "
                        f"got {objectives[1]!r}")
    return objectives


# -- nndl train's arguments ---------------------------------------------------------------------------
def train_parser() -> argparse.ArgumentParser:
    """``nndl train``'s own parser (so a trial's settings are read exactly as the command line's)."""
    from nndl.cli import train_cmd

    parser = argparse.ArgumentParser(prog="nndl")
    train_cmd.register(parser.add_subparsers(dest="command"))
    return parser


def train_argv(settings: dict, out) -> list[str]:
    """``settings`` as the command line of ``nndl train`` (flags for true, nothing for false)."""
    argv = ["train"]
    for key, value in settings.items():
        option = "--" + key.replace("_", "-")
        if value is True:
            argv.append(option)
        elif value is not False and value is not None:
            argv += [option, str(value)]
    return argv + ["--out", str(out), "--quiet"]


def train_args(settings: dict, out, parser=None):
    """The parsed arguments of ``nndl train`` for ``settings``; a bad value is one line naming it."""
    parser = parser or train_parser()
    argv = train_argv(settings, out)
    try:
        return parser.parse_args(argv)
    except SystemExit:
        raise NndlError(f"nndl train would not take these settings: {' '.join(argv[1:-3])}") from None


# -- the trial's log ---------------------------------------------------------------------------------
class TrialLog(Callback):
    """Append each epoch's record to a JSON-lines file (the trial's log)."""

    def __init__(self, path, extra: dict | None = None):
        self.path, self.extra = Path(path), dict(extra or {})

    def on_epoch_end(self, epoch, record):
        write_line(self.path, dict(self.extra, **record))


def write_line(path: Path, obj: dict) -> None:
    from nndl.cli.common import _json_default

    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj, default=_json_default) + "\n")


# -- the objective --------------------------------------------------------------------------------------
class Objective:
    """Optuna's objective: ``objective(trial)`` trains the trial's settings and returns its value(s).

    Pruned trials (by the pruner, or because training diverged) raise ``optuna.TrialPruned`` with
    the reason kept in the trial's ``reason`` attribute; a trial whose settings ``nndl train`` refuses
    fails with the reason kept the same way.
    """

    def __init__(self, space, folder, objectives: list[str], folds: int | None = None):
        self.space, self.folder = space, Path(folder)
        self.objectives = list(objectives)
        self.folds = folds
        self.parser = train_parser()

    def settings(self, trial) -> dict:
        settings = self.space.sample(trial)
        if self.objectives[0] != "validation_accuracy" or "monitor" in settings:
            settings.setdefault("monitor", self.objectives[0])
        return settings

    def __call__(self, trial):
        import optuna

        settings = self.settings(trial)
        folder = self.folder / f"trial-{trial.number:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "log.jsonl"
        if log.exists():
            log.unlink()                       # a retried trial number never reuses a folder, but be sure
        trial.set_user_attr("settings", settings)
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("log", str(log.resolve()))
        report = trial if len(self.objectives) == 1 else None    # Optuna prunes single-objective studies only
        start = time.perf_counter()
        try:
            final, network = run_training(settings, folder, self.objectives[0], report, log, self.parser,
                                          self.folds)
        except (Pruned, TrainingDiverged) as exc:
            reason = str(exc) if isinstance(exc, Pruned) else f"diverged: {exc}"
            trial.set_user_attr("reason", reason)
            write_line(log, {"final": True, "state": "pruned", "reason": reason,
                             "seconds_total": time.perf_counter() - start})
            raise optuna.TrialPruned(reason) from None
        except NndlError as exc:
            trial.set_user_attr("reason", str(exc))
            write_line(log, {"final": True, "state": "failed", "reason": str(exc)})
            raise
        values = [objective_value(name, final, network) for name in self.objectives]
        trial.set_user_attr("model", final["model"])
        trial.set_user_attr("seconds", final["seconds_total"])
        trial.set_user_attr("params_count", parameter_count(network))
        for key in ("best_epoch", "test_accuracy", "stop_reason"):
            if key in final:
                trial.set_user_attr(key, final[key])
        write_line(log, dict(final, final=True, state="complete", values=values))
        return values[0] if len(values) == 1 else tuple(values)


def parameter_count(network) -> int:
    return int(sum(p.value.size for p in network.params))


def objective_value(name: str, final: dict, network) -> float:
    if name == "params":
        return float(parameter_count(network))
    if name == "seconds":
        return float(final["seconds_total"])
    for key in (f"best_{name}", name):
        if key in final:
            return float(final[key])
    raise NndlError(f"the trial measured no {name} (it needs validation data; figures: "
                    f"{', '.join(sorted(k for k in final if isinstance(final[k], float)))})")


def run_training(settings: dict, folder: Path, monitor: str, trial, log: Path, parser=None, folds=None):
    """Train ``settings`` as ``nndl train`` would, reporting ``monitor`` to ``trial`` (if any) after each
    epoch; save the model in ``folder``.  Returns (the final figures, the network)."""
    from nndl import io
    from nndl.cli.train_cmd import prepare

    args = train_args(settings, folder / "model.npz", parser)
    if folds:
        return cross_validate(args, folds, monitor, trial, log)
    s, trainer, splits, source, metadata = prepare(args, quiet=True)
    trainer.callbacks.append(TrialLog(log))
    if trial is not None:
        trainer.callbacks.append(ReportToTrial(trial, monitor))
    start = time.perf_counter()
    history = trainer.fit(trainer.model, source, s["epochs"], validation_data=splits.validation,
                          test_data=splits.test)
    final = dict(history.final, seconds_total=time.perf_counter() - start, model=str(Path(args.out).resolve()))
    metadata.update({k: v for k, v in final.items() if k != "model"})
    io.save(trainer.model.network, args.out, metadata)
    return final, trainer.model.network


def cross_validate(args, folds: int, monitor: str, trial, log: Path):
    """k-fold cross-validation: the training and validation examples pooled, cut into ``folds`` parts
    by a seeded permutation; part j validates the net trained on the others.  The objective is the
    mean of the folds' best ``monitor``; after each fold the running mean goes to the pruner."""
    from nndl import io
    from nndl.cli.train_cmd import prepare

    if folds < 2:
        raise NndlError(f"--folds must be at least 2, got {folds}")
    scores, start, out = [], time.perf_counter(), Path(args.out)
    first = None
    for j in range(folds):
        args.out = str(out.with_name(f"model-fold{j + 1}.npz"))
        s, trainer, splits, _, metadata = prepare(args, quiet=True)
        pool = _pool(splits)
        if len(pool[0]) < 2 * folds:
            raise NndlError(f"--folds {folds}: only {len(pool[0])} examples to cut into folds")
        parts = numpy.array_split(numpy.random.default_rng(s["seed"]).permutation(len(pool[0])), folds)
        rest = numpy.concatenate([p for i, p in enumerate(parts) if i != j])
        trainer.callbacks.append(TrialLog(log, {"fold": j + 1}))
        history = trainer.fit(trainer.model, _take(pool, rest), s["epochs"], validation_data=_take(pool, parts[j]))
        final = history.final
        scores.append(objective_value(monitor, final, None))
        io.save(trainer.model.network, args.out, dict(metadata, fold=j + 1, folds=folds, **final))
        first = first or (trainer.model.network, str(Path(args.out).resolve()))
        if trial is not None:
            trial.report(float(numpy.mean(scores)), j + 1)
            if trial.should_prune():
                raise Pruned(f"pruned after fold {j + 1} of {folds}: mean {monitor} {numpy.mean(scores):.4g}")
    final = {f"best_{monitor}": float(numpy.mean(scores)), "fold_scores": scores,
             "seconds_total": time.perf_counter() - start, "model": first[1]}
    return final, first[0]


def _pool(splits):
    """The training and validation examples together, as (x, y)."""
    parts = [splits.train] + ([splits.validation] if splits.validation is not None else [])
    return numpy.concatenate([p.x for p in parts]), numpy.concatenate([p.y for p in parts])


def _take(pool, index):
    return pool[0][index], pool[1][index]
