"""Pieces the sub-commands share: ``name(args)`` options, printing JSON lines and messages."""
from __future__ import annotations

import json
import sys

from nndl.registry import create_from_text

def make_from_registry(registry: dict, text: str, what: str):
    """Instantiate ``registry[name](*args, **kwargs)`` from ``"name(args)"``; one-line errors on bad input."""
    return create_from_text(registry, text, what)


def print_json(obj) -> None:
    """One JSON object on one line of stdout, flushed (for ``--json`` consumers)."""
    print(json.dumps(obj, default=_json_default), flush=True)


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON-serializable: {type(o).__name__}")


def info(message: str) -> None:
    """A human-readable line on stderr (stdout is kept for results and JSON)."""
    print(message, file=sys.stderr, flush=True)
