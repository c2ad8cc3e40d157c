"""Generated sequence-to-sequence tasks on digit strings: reverse them, or sort them.

Each source is a string of L digits, L drawn uniformly from [min_length, max_length];
the target is the same digits reversed (``task="reverse"``) or in ascending order
(``task="sort"``), followed by an end token.  Tokens are one vocabulary of 12 ids:

    0 .. 9    the digits
    BOS = 10  the start token the decoder reads first
    EOS = 11  the end token the decoder writes last

Arrays are padded to the longest length with −1 (a padded position: no token, no target):
sources x (N, max_length), targets y (N, max_length + 1).  Reversal needs an alignment
(output i is input L − 1 − i) that attention finds and draws as an anti-diagonal.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError

DIGITS = 10
BOS = 10
EOS = 11
VOCABULARY = 12
PAD = -1
TASKS = ("reverse", "sort")


def digit_strings(n: int, min_length: int = 10, max_length: int = 20, task: str = "reverse", seed: int = 0):
    """(x, y): ``n`` digit strings x (n, max_length) and their targets y (n, max_length + 1), padded with −1."""
    if task not in TASKS:
        raise NndlError(f"toy sequence task must be one of {', '.join(TASKS)}, got {task!r}")
    if n < 1 or not 1 <= min_length <= max_length:
        raise NndlError(f"toy sequences need n ≥ 1 and 1 ≤ min_length ≤ max_length, got n={n}, "
                        f"lengths {min_length}..{max_length}")
    rng = numpy.random.default_rng(seed)
    lengths = rng.integers(min_length, max_length + 1, n)
    digits = rng.integers(0, DIGITS, (n, max_length))
    positions = numpy.arange(max_length)
    real = positions[None, :] < lengths[:, None]
    x = numpy.where(real, digits, PAD)
    if task == "reverse":
        index = numpy.clip(lengths[:, None] - 1 - positions[None, :], 0, None)
        out = numpy.take_along_axis(digits, index, axis=1)
    else:
        out = numpy.sort(numpy.where(real, digits, DIGITS), axis=1)      # padding sorts last
    y = numpy.full((n, max_length + 1), PAD, dtype=numpy.int64)
    y[:, :max_length] = numpy.where(real, out, PAD)
    y[numpy.arange(n), lengths] = EOS
    return x.astype(numpy.int64), y


def decoder_inputs(y):
    """What the decoder reads under teacher forcing: BOS, then the targets shifted right by one
    (ids ≥ 0 everywhere; positions after the end are 0, and their targets are −1)."""
    y = numpy.asarray(y)
    inputs = numpy.empty_like(y)
    inputs[:, 0] = BOS
    inputs[:, 1:] = numpy.maximum(y[:, :-1], 0)
    return inputs
