"""Pieces the sub-commands share: reading data, parsing ``name(args)`` options, printing JSON lines."""
from __future__ import annotations

import ast
import json
import re
import sys

from nndl.errors import NndlError
from nndl.registry import create

_CALL = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*(?:\((.*)\))?\s*$")


def parse_call(text: str, what: str) -> tuple[str, list, dict]:
    """Read ``"name"``, ``"name(3)"`` or ``"name(10, gamma=0.5)"`` into (name, args, kwargs).

    Values are Python literals (numbers, strings); bare words are taken as strings.
    Nothing is evaluated.
    """
    m = _CALL.match(text or "")
    if not m:
        raise NndlError(f"{what} {text!r} does not read as NAME or NAME(ARGS)")
    name, inner = m.group(1), m.group(2)
    args, kwargs = [], {}
    for part in filter(None, (p.strip() for p in (inner or "").split(","))):
        key, sep, value = part.partition("=")
        if sep:
            kwargs[key.strip()] = _literal(value.strip(), what, text)
        else:
            args.append(_literal(part, what, text))
    return name.replace("-", "_").lower(), args, kwargs


def _literal(token: str, what: str, text: str):
    try:
        return ast.literal_eval(token)
    except (ValueError, SyntaxError):
        if re.fullmatch(r"[A-Za-z_][\w-]*", token):
            return token
        raise NndlError(f"{what} {text!r}: cannot read the value {token!r}") from None


def make_from_registry(registry: dict, text: str, what: str):
    """Instantiate ``registry[name](*args, **kwargs)`` from ``"name(args)"``; one-line errors on bad input."""
    name, args, kwargs = parse_call(text, what)
    return create(registry, name, what, None, *args, **kwargs)


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
