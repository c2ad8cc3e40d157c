"""Checking the settings of an evolutionary run: one :class:`~nndl.errors.NndlError` line each.

Population sizes are whole numbers ≥ 2 (selection needs two to choose between), rates and
probabilities lie in [0, 1], standard deviations, thresholds and temperatures are > 0, and a
fitness is a finite number — a NaN fitness would silently sort anywhere.
"""
from __future__ import annotations

import math
import numbers

from nndl import validation
from nndl.errors import NndlError


def population(value, what: str = "population") -> int:
    """A population size: a whole number ≥ 2."""
    return validation.whole(what, value, low=2)


def rate(what: str, value) -> float:
    """A mutation rate or probability in [0, 1]."""
    return validation.number(what, value, 0.0, 1.0)


def positive(what: str, value) -> float:
    """A standard deviation, threshold or temperature: a finite number > 0."""
    return validation.number(what, value, low=0.0, low_open=True)


def non_negative(what: str, value) -> float:
    return validation.number(what, value, low=0.0)


def fitness(value, index: int):
    """The fitness of individual ``index`` as a float (a tuple of floats: objectives); a one-line error if
    it is not a finite number."""
    if isinstance(value, (tuple, list)):
        return tuple(fitness(v, index) for v in value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise NndlError(f"the fitness of individual {index} is {value!r}, not a number")
    x = float(value)
    if not math.isfinite(x):
        raise NndlError(f"the fitness of individual {index} is {x}; a fitness must be a finite number")
    return x
