"""``nndl train --model KIND(OPTIONS)``: train a model that learns without labels or generates data.

    nndl train --model "rbm(500, k=1)" --epochs 15 --eta 0.1 --out rbm.npz
    nndl sample rbm.npz --n 64 --out samples.png

The kind (:data:`nndl.models.generative.KINDS`) builds itself from the call's arguments and trains
itself on the data (MNIST by default); this module only checks the command line, loads the data
and saves the result, so a new kind needs no change here.  Options of ``nndl train`` that a
kind does not use are refused, one line each, rather than silently ignored.
"""
from __future__ import annotations

import time

from nndl.cli.common import info, print_json, say
from nndl.errors import NndlError

#: The options of ``nndl train`` a generative model uses (the kind decides their defaults).
USED = ("data", "train_size", "epochs", "eta", "momentum", "batch_size", "seed", "out", "json", "quiet",
        "threads", "time_limit", "model", "monitor_test")


def unused_options(args) -> list[str]:
    """The options given on the command line that a ``--model`` run does not use."""
    return ["--" + key.replace("_", "-") for key, value in vars(args).items()
            if key not in USED and key not in ("command", "func") and value is not None and value is not False]


def options_of(args) -> dict:
    """The command's options a kind reads, those not given left out (the kind's defaults apply)."""
    options = {key: getattr(args, key, None) for key in USED if key not in ("model", "out", "data")}
    return {key: value for key, value in options.items() if value is not None}


def run_model(args) -> int:
    from nndl.backend import blas_threads
    from nndl.cli.train_cmd import _count, check_outputs
    from nndl.data import load_data
    from nndl.models.generative import kind_class
    from nndl.registry import call_with, parse_call

    call = parse_call(args.model, "--model")
    cls = kind_class(call.name)
    unused = unused_options(args)
    if unused:
        verb = "does" if len(unused) == 1 else "do"
        raise NndlError(f"--model {call.name}: {', '.join(unused)} {verb} not apply to a {call.name} (it takes "
                        f"--data, --train-size, --epochs, --eta, --momentum, --batch-size, --seed, --threads, --out)")
    model = call_with(cls.from_command, call.args, call.kwargs, f"--model {call.name}", call.name)
    args.out = args.out or f"{call.name}.npz"
    args.checkpoint = None
    check_outputs(args)
    data = args.data or "mnist"
    splits = load_data(data, seed=args.seed or 0, standardize=False)
    if args.train_size is not None:
        if not 0 < args.train_size <= len(splits.train):
            raise NndlError(f"--train-size must be in 1..{len(splits.train)}, got {args.train_size}")
        splits.train = splits.train.subset(args.train_size)
    quiet = args.quiet or args.json
    if not quiet:
        say(f"training a {call.text} on {len(splits.train)} examples of {splits.train.name}")
    start = time.perf_counter()
    threads = _count(args.threads, "--threads")
    try:
        with blas_threads(None if threads in (None, "auto") else threads):
            final = model.fit_command(splits, options_of(args))
    except KeyboardInterrupt:
        info(f"nndl train: interrupted; nothing saved (an existing {args.out} is unchanged)")
        return 130
    final = dict(final, seconds_total=time.perf_counter() - start, model=str(args.out))
    model.save(args.out, {"model": call.text, **{k: v for k, v in final.items() if k != "model"}})
    if args.json:
        print_json(dict(final, final=True))
    elif not args.quiet:
        figures = ", ".join(f"{k} {v:.4g}" for k, v in final.items() if isinstance(v, float) and k != "seconds_total")
        if figures:
            say(figures)
        say(f"saved {args.out}")
    return 0
