"""``nndl sweep``: hyper-parameter search over ``nndl train``'s options, on Optuna.

    nndl sweep --space sweep.toml --study mnist-h --trials 40 --workers 2
    nndl sweep --param "eta=log(0.05,5)" --param "hidden=int(30,200,10)" --set "layers=784,{hidden},10" \\
               --set epochs=10 --trials 20
    nndl sweep --storage postgresql://nndl:PASSWORD@db-host:5432/nndl --study mnist-h --space sweep.toml --trials 40
    nndl sweep show mnist-h [--top 10] [--figures DIR]

The search space (:mod:`nndl.sweep.space`), the trials (:mod:`nndl.sweep.objective`), the
storages and their heartbeat (:mod:`nndl.sweep.storage`) and the worker loop
(:mod:`nndl.sweep.runner`) each have their module.  Trials, their models and JSON logs are
kept under ``--sweep-dir`` (default ``sweeps/``), in a folder per study.
"""
from __future__ import annotations

import os
import re

from nndl.cli.common import say
from nndl.errors import NndlError

DEFAULT_DIR, DEFAULT_STUDY = "sweeps", "sweep"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="hyper-parameter search (Optuna): many trials of nndl train, the hopeless ones pruned",
        description="Search nndl train's options with Optuna: `nndl sweep [options]` runs trials; "
                    "`nndl sweep show STUDY` prints the best trials and draws figures.")
    p.add_argument("what", nargs="*", metavar="show STUDY", help="show the results of STUDY instead of running")
    s = p.add_argument_group("search space")
    s.add_argument("--space", help="a TOML or JSON file with [fixed] settings and [params] to search")
    s.add_argument("--param", action="append", metavar="NAME=FORM",
                   help="a parameter: log(a,b), float(a,b[,step]), int(a,b[,step]), logint(a,b) or choice(x,y,...); "
                        "repeat for more")
    s.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a fixed nndl train setting for every trial, e.g. epochs=10 or layers=784,{hidden},10")
    r = p.add_argument_group("search")
    r.add_argument("--study", default=DEFAULT_STUDY, help=f"the study's name (created if missing; default "
                                                          f"{DEFAULT_STUDY})")
    r.add_argument("--storage", default=os.environ.get("NNDL_SWEEP_STORAGE") or None,
                   help="postgresql://USER:PASSWORD@HOST:PORT/DB to share the study between machines, or a journal "
                        "file (default: $NNDL_SWEEP_STORAGE if set, which keeps a password off the command line; "
                        "else SWEEP_DIR/journal.log)")
    r.add_argument("--sweep-dir", default=DEFAULT_DIR, help=f"where trials keep their models and logs "
                                                            f"(default {DEFAULT_DIR}/)")
    r.add_argument("--sampler", default="tpe", help="tpe (default), random, grid, gp (Gaussian process; needs "
                                                    "PyTorch), nsga2 (two objectives)")
    r.add_argument("--pruner", default="median", help="median (default), halving (successive halving), hyperband, "
                                                      "none")
    r.add_argument("--objectives", default="validation_accuracy",
                   help="what to optimize: a validation figure, and maybe params or seconds "
                        "(e.g. validation_accuracy,params)")
    r.add_argument("--folds", type=int, help="k-fold cross-validation as the objective (small tables)")
    r.add_argument("--trials", type=int, help="the study's budget: complete and pruned trials, all workers together")
    r.add_argument("--timeout", help="this run's budget in time: seconds, or 20m, 2h (running trials finish)")
    r.add_argument("--workers", type=int, default=1, help="worker processes on this machine (default 1)")
    r.add_argument("--seed", type=int, default=0, help="the sampler's seed (worker k: seed + k; default 0)")
    r.add_argument("--heartbeat", type=int, default=10, help="seconds between a running trial's heartbeats "
                                                            "(default 10)")
    r.add_argument("--grace", type=int, default=30, help="seconds without a heartbeat before a trial counts as "
                                                        "crashed and is retried (default 30)")
    o = p.add_argument_group("show")
    o.add_argument("--top", type=int, default=10, help="show: how many of the best trials (default 10)")
    o.add_argument("--figures", help="show: where to write the figures (default SWEEP_DIR/STUDY/figures)")
    o.add_argument("--quiet", action="store_true", help="no line per trial")
    p.set_defaults(func=run)


def config_of(args) -> dict:
    """The sweep's settings as a plain dict (what each worker process is given)."""
    return {"space": args.space, "param": args.param, "set": args.set, "study": args.study, "storage": args.storage,
            "sweep_dir": args.sweep_dir, "sampler": args.sampler, "pruner": args.pruner,
            "objectives": args.objectives, "folds": args.folds, "trials": args.trials,
            "timeout": parse_duration(args.timeout), "workers": args.workers, "seed": args.seed,
            "heartbeat": args.heartbeat, "grace": args.grace, "quiet": args.quiet}


def parse_duration(text) -> float | None:
    """``90``, ``90s``, ``20m``, ``2h`` as seconds."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise NndlError(f"--timeout {text!r}: write seconds, or a number with m or h, like 20m")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def run(args) -> int:
    if args.what:
        if len(args.what) != 2 or args.what[0] != "show":
            raise NndlError(f"nndl sweep {' '.join(args.what)}: write `nndl sweep [options]` to run a sweep or "
                            f"`nndl sweep show STUDY`")
        return show(args, args.what[1])
    for option in ("trials", "workers", "heartbeat", "grace"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise NndlError(f"--{option} must be at least 1, got {value}")
    config = config_of(args)
    if config["trials"] is None and config["timeout"] is None:
        raise NndlError("give a budget: --trials N (the study's complete and pruned trials) and/or --timeout TIME")
    if args.grace <= args.heartbeat:
        raise NndlError(f"--grace {args.grace} must be longer than --heartbeat {args.heartbeat}")
    from nndl.sweep.runner import launch
    from nndl.sweep.runner import tally
    from nndl.sweep.session import open_sweep, run_worker
    from nndl.sweep.show import table

    study, _ = open_sweep(config, check=True)      # every problem of the space, data or storage: one line, now
    if args.workers == 1:
        run_worker(dict(config, worker=0))
        status = 0
    else:
        status = launch(config, args.workers)
    say(tally(study) if args.quiet else table(study, min(args.top, 5)))
    return status


def show(args, name: str) -> int:
    from pathlib import Path

    from nndl.sweep.show import open_existing, table, write_figures

    study = open_existing(name, args.storage, args.sweep_dir)
    say(table(study, args.top))
    folder = Path(args.figures) if args.figures else Path(args.sweep_dir) / name / "figures"
    for path in write_figures(study, folder):
        say(f"wrote {path}")
    return 0
