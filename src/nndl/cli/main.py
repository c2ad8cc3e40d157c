"""Entry point of the ``nndl`` command.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the
parsed arguments; returns the exit status).  Any :class:`~nndl.errors.NndlError`
raised below becomes one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from nndl import __version__
from nndl.errors import NndlError

#: Sub-command modules, in the order ``nndl --help`` lists them.
COMMANDS = ["train", "evaluate", "predict", "data", "ensemble", "gradcheck", "book"]


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except NndlError as exc:
        print(f"nndl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nndl {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
