"""Finding things by name: the one lookup behind every ``get_activation``, ``get_cost``,
``get_optimizer``, ... and behind the command line's ``--cost``, ``--optimizer``, ...

Names are case-insensitive and ``-`` and ``_`` are the same (``cross-entropy`` is
``cross_entropy``).  An unknown name raises a one-line :class:`NndlError` that lists the
valid ones, and so does an unknown keyword argument.  Compare names only after
:func:`normalize` (or through :func:`lookup`), never as typed.

The second half of the module is the one grammar of ``name(arguments)`` texts.
"""
from __future__ import annotations

import inspect
import re

from nndl.errors import NndlError


def normalize(name) -> str:
    """``"Cross-Entropy "`` → ``"cross_entropy"``."""
    return str(name).strip().lower().replace("-", "_")


def lookup(registry: dict, name, what: str, aliases: dict | None = None):
    """The entry of ``registry`` called ``name`` (or one of its ``aliases``)."""
    key = normalize(name)
    key = (aliases or {}).get(key, key)
    if key not in registry:
        raise NndlError(f"unknown {what} {name!r}; choose one of {', '.join(sorted(registry))}")
    return registry[key]


def create(registry: dict, name, what: str, aliases: dict | None = None, /, *args, **kwargs):
    """``registry[name](*args, **kwargs)``, with one-line errors for unknown names and arguments."""
    cls = lookup(registry, name, what, aliases)
    return call_with(cls, list(args), kwargs, f"{what} {normalize(name)!r}", normalize(name))


def usage(func, name: str) -> str:
    """How to call ``func``, as a user writes it: ``conv(filters, kernel[, stride][, init=..])``."""
    parts = []
    for p in inspect.signature(func).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            parts.append("...")
        elif p.kind is p.KEYWORD_ONLY:
            parts.append(f"[, {p.name}=..]")
        elif p.default is p.empty:
            parts.append(f", {p.name}")
        else:
            parts.append(f"[, {p.name}]")
    text = "".join(parts)
    return f"{name}({text[2:] if text.startswith(', ') else text.lstrip(', ')})".replace("([, ", "([")


def call_with(func, args: list, kwargs: dict, what: str, name: str | None = None):
    """``func(*args, **kwargs)``, where the arguments come from a user: a wrong number of
    arguments, an unknown option or a bad value is a one-line :class:`NndlError` that
    starts with ``what`` and shows the right usage."""
    name = name or getattr(func, "__name__", "call")
    signature = inspect.signature(func)
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        message = str(exc)
        missing = re.search(r"missing a required argument: '(\w+)'", message)
        unknown = re.search(r"unexpected keyword argument '(\w+)'", message)
        if missing:
            problem = f"missing {missing.group(1)}"
        elif unknown:
            problem = f"unknown option {unknown.group(1)!r}"
        elif "too many positional" in message:
            problem = "too many arguments"
        elif "multiple values" in message:
            twice = re.search(r"argument '(\w+)'", message)
            problem = f"{twice.group(1) if twice else 'an argument'} given twice"
        else:
            problem = message
        raise NndlError(f"{what}: {problem}; use {usage(func, name)}") from None
    try:
        return func(*args, **kwargs)
    except NndlError as exc:
        raise NndlError(f"{what}: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise NndlError(f"{what}: bad argument ({exc})") from None


# --------------------------------------------------------------------------- the call grammar
# One grammar for every "name(arguments)" the user writes: layer specs (--net), schedules,
# preprocessing, augmentation, metrics.
#
#     call  := NAME [ "(" [ arg { "," arg } ] ")" ]
#     arg   := value | KEY "=" value          (no plain argument after a key=value)
#     value := int | float | true | false | none | 'text' | "text" | WORD | INTxINT
#
# ``3x5`` is the pair (3, 5) (a kernel or a padding); a WORD (``same``, ``he``, ``epoch``)
# stays a string.  Nothing is ever evaluated.

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_CALL = re.compile(rf"({_NAME})(?:\(([^()]*)\))?")
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_PAIR = re.compile(r"(\d+)x(\d+)")
_WORD = re.compile(r"[A-Za-z_][\w.-]*")


class CallSyntaxError(NndlError):
    """A text that is not ``name(arguments)``; ``reason`` says what is wrong with it."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class Call:
    """One parsed ``name(args, key=value)``: its normalized ``name``, ``args``, ``kwargs`` and ``text``."""

    __slots__ = ("name", "args", "kwargs", "text")

    def __init__(self, name: str, args: list, kwargs: dict, text: str):
        self.name, self.args, self.kwargs, self.text = name, args, kwargs, text

    def __repr__(self) -> str:
        return f"Call({self.text!r})"


def parse_value(text: str):
    """One argument value: int, float, bool, None, a quoted string, a pair ``3x5`` or a word."""
    text = text.strip()
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    pair = _PAIR.fullmatch(low)
    if pair:
        return int(pair.group(1)), int(pair.group(2))
    if _WORD.fullmatch(text):
        return text
    raise NndlError(f"cannot read the value {text!r}")


def parse_call(text: str, what: str = "option") -> Call:
    """Read ``"name"``, ``"name(3)"`` or ``"name(10, gamma=0.5)"``; a one-line error names ``what``."""
    text = str(text).strip()

    def fail(reason):
        return CallSyntaxError(f"{what}: cannot read {text!r} ({reason})", reason)

    match = _CALL.fullmatch(text)
    if match is None:
        raise fail("write NAME or NAME(ARGUMENTS)")
    inner = match.group(2)
    args, kwargs = [], {}
    if inner is not None and inner.strip():
        for part in inner.split(","):
            if not part.strip():
                raise fail("empty argument")
            key, sep, value = part.partition("=")
            try:
                if sep:
                    if not re.fullmatch(_NAME, key.strip()):
                        raise NndlError(f"{key.strip()!r} is not an option name")
                    if normalize(key) in kwargs:
                        raise NndlError(f"{key.strip()} given twice")
                    kwargs[normalize(key)] = parse_value(value)
                elif kwargs:
                    raise NndlError("a plain argument after key=value")
                else:
                    args.append(parse_value(part))
            except CallSyntaxError:
                raise
            except NndlError as exc:
                raise fail(str(exc)) from None
    return Call(normalize(match.group(1)), args, kwargs, text)


def split_calls(text: str, what: str = "option", sep: str | None = None) -> list[str]:
    """The texts of the calls in ``text``: separated by whitespace (``sep=None``) or by ``sep``.

    A piece that is not one whole call is an error that quotes it and gives its position.
    """
    pieces, i, text = [], 0, str(text)
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if pieces and sep is not None:          # after a call: the separator, then another call
            if i >= len(text):
                return pieces
            i += 1
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                raise NndlError(f"{what}: cannot read {text.strip()!r}: nothing after the last {sep!r}")
        if i >= len(text):
            return pieces
        match = _CALL.match(text, i)
        end = match.end() if match else i
        tail = text[end:].lstrip() if sep is not None else text[end:]
        if match is None or not (tail == "" or (tail[0] == sep if sep is not None else tail[0].isspace())):
            rest = text[i:]
            bad = rest.split(sep)[0].strip() if sep is not None else rest.split(None, 1)[0]
            raise NndlError(f"{what}: cannot read {bad!r} at position {len(pieces) + 1}")
        pieces.append(match.group(0))
        i = end


def create_from_text(registry: dict, text: str, what: str, aliases: dict | None = None):
    """``registry[name](*args, **kwargs)`` for the text ``"name(args, key=value)"``."""
    call = parse_call(text, what)
    return create(registry, call.name, what, aliases, *call.args, **call.kwargs)
