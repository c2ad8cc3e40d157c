"""Finding things by name: the one lookup behind every ``get_activation``, ``get_cost``,
``get_optimizer``, ... and behind the command line's ``--cost``, ``--optimizer``, ...

Names are case-insensitive and ``-`` and ``_`` are the same (``cross-entropy`` is
``cross_entropy``).  An unknown name raises a one-line :class:`NndlError` that lists the
valid ones, and so does an unknown keyword argument.
"""
from __future__ import annotations

import inspect

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
    parameters = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    known = [k for k, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unknown = [k for k in kwargs if k not in known]
    if unknown and not takes_any:
        raise NndlError(f"{what} {normalize(name)!r} has no argument {unknown[0]!r}; "
                        f"use {', '.join(known) or 'none'}")
    try:
        return cls(*args, **kwargs)
    except TypeError as exc:
        raise NndlError(f"{what} {normalize(name)!r}: {exc}") from None
