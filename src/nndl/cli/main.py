"""Entry point of the ``nndl`` command.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the
parsed arguments; returns the exit status).  Any :class:`~nndl.errors.NndlError`
raised below becomes one line on stderr and exit status 2; a warning is one line
``nndl COMMAND: warning: ...`` on stderr.  When the reader of stdout goes away
(``nndl train --json | head -1``) the command ends quietly with status 141.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import warnings

from nndl import __version__
from nndl.errors import NndlError, NndlWarning

#: Sub-command modules, in the order ``nndl --help`` lists them.
COMMANDS = ["train", "cv", "evaluate", "predict", "data", "ensemble", "sweep", "attack", "robustness",
            "export", "serve", "gradcheck", "book", "sample", "evolve"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nndl", description="Neural networks and deep learning from first principles.")
    parser.add_argument("--version", action="version", version=f"nndl {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"nndl.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"nndl.cli.{name}_cmd":
                continue  # that command is not built yet
            raise
        module.register(subparsers)
    return parser


def _one_line_warning(command: str):
    """A ``warnings.showwarning`` that prints ``nndl COMMAND: warning: ...`` as one line on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        kind = "" if issubclass(category, NndlWarning) else f"{category.__name__}: "
        text = " ".join(str(message).split())
        print(f"nndl {command}: warning: {kind}{text}", file=sys.stderr, flush=True)
    return show


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()         # imports every command, and so the backend (NNDL_BACKEND)
    except NndlError as exc:
        print(f"nndl: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            return int(args.func(args) or 0)
    except NndlError as exc:
        print(f"nndl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nndl {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()


def entry() -> None:
    """The ``nndl`` command (and ``python -m nndl``): :func:`main`, then exit with its status.

    After an interrupt that nndl handled (status 130: what was finished is saved, and said in one
    line) the process ends at once with ``os._exit``.  CPython remembers a KeyboardInterrupt that
    went through some of its own C paths and, since Python 3.8 (bpo-1054041), kills itself with
    SIGINT at shutdown even though the program caught it, so a caller would see "killed by
    SIGINT" instead of 130; nothing is left to do at that point (every write is atomic and done).
    """
    status = main()
    if status == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(status)


def _closed_pipe() -> int:
    """Whoever read stdout has gone (``nndl train --json | head -1``): end quietly, as a filter killed by
    SIGPIPE would (status 141), without Python's second BrokenPipeError when it flushes stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
