"""JSON from files that cannot be trusted: a bounded parse, and a small schema to check it against.

:func:`parse_json` refuses what ``json.loads`` would take but nndl's files never hold:
more than ``max_bytes``, text that is not UTF-8, NaN or Infinity (Python's extension of
JSON), numbers beyond float range, a key twice in one object, nesting deeper than
``max_depth``.  :func:`check_schema` checks a parsed object's keys and types against a
dict of :class:`Field`; both give one :class:`~nndl.errors.NndlError` line starting with
where the JSON came from.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from nndl.errors import NndlError

#: Longest JSON member: a checkpoint's config with 10,000 epochs of history is about 2 MB.
MAX_JSON_BYTES = 4 << 20
#: Deepest JSON nesting: nndl's configs nest about 6 deep.
MAX_JSON_DEPTH = 32


def _reason(exc: BaseException, most: int = 200) -> str:
    """An exception's message on one line, at most ``most`` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= most else text[:most] + "..."


# -- parsing -----------------------------------------------------------------------------------
def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _unique_keys(pairs: list) -> dict:
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key[:40]!r} appears twice in one object")
        seen[key] = value
    return seen


def _depth(value) -> int:
    """How deeply lists and objects nest in ``value`` (0 for a number or string), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(data: bytes, where: str, *, max_bytes: int = MAX_JSON_BYTES,
               max_depth: int = MAX_JSON_DEPTH):
    """Parse JSON bytes with bounds; return the value.

    Refused, as one NndlError line starting with ``where``: more than ``max_bytes``, text
    that is not UTF-8 or not JSON, NaN or Infinity (Python's extension, not JSON), numbers
    beyond float range (``1e999``) or integers of more than 4300 digits, a key twice in
    one object, and nesting deeper than ``max_depth``.
    """
    if len(data) > max_bytes:
        raise NndlError(f"{where}: {len(data)} bytes of JSON; at most {max_bytes}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NndlError(f"{where}: not UTF-8 text ({_reason(exc)})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                           object_pairs_hook=_unique_keys)
    except RecursionError:
        raise NndlError(f"{where}: JSON nested too deeply (at most {max_depth} levels)") from None
    except ValueError as exc:  # JSONDecodeError, and the hooks' refusals
        raise NndlError(f"{where}: not valid JSON ({_reason(exc)})") from None
    if _depth(value) > max_depth:
        raise NndlError(f"{where}: JSON nested {_depth(value)} levels deep; at most {max_depth}")
    return value


# -- a tiny schema for JSON objects ------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """What the value of one key of a JSON object must be.

    ``types``: the Python types allowed (``float`` also allows ints; ``int`` does not allow
    ``bool``).  ``required``: whether the key must be there.  ``low``/``high``: inclusive
    bounds for numbers.  ``choices``: the only values allowed.  ``max_len``: most items of
    a list or characters of a string.  ``fields``: the schema of a nested object.
    ``items``: what each item of a list must be.
    """

    types: type | tuple[type, ...]
    required: bool = True
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    max_len: int | None = None
    fields: dict | None = None
    items: Field | None = None


_TYPE_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
               list: "a list", dict: "an object", type(None): "null"}


def _is_a(value, types: tuple[type, ...]) -> bool:
    """``isinstance`` as JSON means it: a bool is not a number, an int is also a float."""
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, tuple(t for t in types if t is not bool))


def _show(value) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 40 else text[:40] + "..."


def _check_value(value, field: Field, where: str, path: str, extra_keys: bool) -> None:
    """Check one value against its Field; NndlError naming ``where`` (file and member) and ``path``."""
    name = f"{where}: {path}"
    types = field.types if isinstance(field.types, tuple) else (field.types,)
    if not _is_a(value, types):
        wanted = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
        raise NndlError(f"{name} must be {wanted}, not {_show(value)}")
    if field.choices is not None and value not in field.choices:
        raise NndlError(f"{name} is {_show(value)}; it must be one of {', '.join(map(_show, field.choices))}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (field.low is not None and value < field.low) or (field.high is not None and value > field.high):
            raise NndlError(f"{name} is {_show(value)}; it must be in [{field.low}, {field.high}]")
    if field.max_len is not None and isinstance(value, (str, list)) and len(value) > field.max_len:
        raise NndlError(f"{name} has {len(value)} items; at most {field.max_len}")
    if field.fields is not None and isinstance(value, dict):
        check_schema(value, field.fields, where, path=path, extra_keys=extra_keys)
    if field.items is not None and isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, field.items, where, f"{path}[{i}]", extra_keys)


def check_schema(obj: dict, schema: dict, where: str, *, path: str = "", extra_keys: bool = True) -> dict:
    """Check a parsed JSON object against ``schema`` (key -> :class:`Field`); return ``obj``.

    Messages start with ``where`` (e.g. ``"model.npz: member 'nndl.json.npy'"``) and name
    the key by its path (``network.layers[2].size``); ``path`` is the path of ``obj`` itself
    (empty at the top).  Keys not in the schema are allowed unless ``extra_keys`` is False.

    >>> check_schema({"version": 1}, {"version": Field(int, low=1)}, "model.npz")
    {'version': 1}
    """
    if not isinstance(obj, dict):
        raise NndlError(f"{where}: {path or 'the JSON'} must be an object, not {_show(obj)}")
    for key, field in schema.items():
        key_path = f"{path}.{key}" if path else key
        if key not in obj:
            if field.required:
                raise NndlError(f"{where}: {key_path} is missing")
            continue
        _check_value(obj[key], field, where, key_path, extra_keys)
    if not extra_keys:
        unknown = sorted(set(obj) - set(schema))
        if unknown:
            raise NndlError(f"{where}: unknown key(s) {', '.join(map(_show, unknown[:10]))} in "
                            f"{path or 'the top level'}")
    return obj
