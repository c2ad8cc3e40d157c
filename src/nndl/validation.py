"""Checking values that come from users, files and the command line — in one place.

Every function here returns the value in its proper type (``float``, ``int``, ``bool``,
a pair of ints, one of a set of words) or raises a one-line
:class:`~nndl.errors.NndlError` that names the value and what it must be:

>>> number("eta (learning rate)", 0.5, low=0, low_open=True)
0.5
>>> whole("units", 0, low=1)
Traceback (most recent call last):
...
nndl.errors.NndlError: units=0 must be a whole number ≥ 1

Booleans are not numbers here (``True`` is not a learning rate), and a float is not a
count, not even ``3.0``: a mini-batch size of 3.0 is a typo worth a word.
"""
from __future__ import annotations

import math
import numbers

from nndl.errors import NndlError


def _interval(low, high, low_open, high_open) -> str:
    if high is None:
        return f"{'>' if low_open else '≥'} {low:g}"
    if low is None:
        return f"{'<' if high_open else '≤'} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def number(what: str, value, low=None, high=None, *, low_open: bool = False, high_open: bool = False,
           finite: bool = True) -> float:
    """``value`` as a float in the interval [low, high] (ends open on request); NaN is never allowed."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise NndlError(f"{what}={value!r} is not a number")
    x = float(value)
    if math.isnan(x) or (finite and math.isinf(x)):
        raise NndlError(f"{what}={value!r} must be a finite number")
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if too_low or too_high:
        raise NndlError(f"{what}={value} is out of range; it must be {_interval(low, high, low_open, high_open)}")
    return x


def whole(what: str, value, low=None, high=None) -> int:
    """``value`` as an int in [low, high]: a Python or NumPy integer, not a bool or a float."""
    bound = f" {_interval(low, high, False, False)}" if low is not None or high is not None else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NndlError(f"{what}={value!r} must be a whole number{bound}")
    n = int(value)
    if (low is not None and n < low) or (high is not None and n > high):
        raise NndlError(f"{what}={n} must be a whole number{bound}")
    return n


def boolean(what: str, value) -> bool:
    """``value`` as a bool: True/False (or 1/0, as written in a spec or a config)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    raise NndlError(f"{what} must be true or false, got {value!r}")


def choice(what: str, value, options) -> str:
    """``value`` (a word, compared case-insensitively) as one of ``options``."""
    word = value.strip().lower() if isinstance(value, str) else value
    if word not in options:
        names = [repr(o) for o in options]
        listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise NndlError(f"{what}={value!r} is not one of {listed}")
    return word


def pair(what: str, value, low=None) -> tuple[int, int]:
    """An int or a pair of ints as (height, width), each ≥ ``low``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise NndlError(f"{what} must be an int or a pair of ints, got {value!r}")
        a, b = value
    else:
        a = b = value
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in (a, b)):
        raise NndlError(f"{what} must be an int or a pair of ints, got {value!r}")
    result = (int(a), int(b))
    if low is not None and min(result) < low:
        raise NndlError(f"{what} must be ≥ {low}, got {value!r}")
    return result


def seed(what: str, value) -> int:
    """A seed for ``numpy.random.default_rng``: a whole number ≥ 0."""
    return whole(what, value, low=0)
