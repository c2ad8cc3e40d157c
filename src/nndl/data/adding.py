"""The adding problem (Hochreiter & Schmidhuber, 1997): a generated task that needs memory over T steps.

Each example is a sequence of T steps of two numbers: a value u_t drawn uniformly from
[0, 1], and a marker m_t that is 1 at exactly two steps — one in the first half, one in
the second — and 0 elsewhere.  The target is the sum of the two marked values,

    y = Σ_t m_t u_t  ∈ [0, 2].

Predicting the mean, 1, gives a mean squared error of Var(u₁ + u₂) = 2/12 ≈ 0.167; doing
better means carrying the first marked value across about T/2 steps of distractors,
which a plain RNN trained by BPTT fails at for long T and an LSTM learns.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError

#: The mean squared error of always predicting the mean target, 1: Var(u₁ + u₂) = 2 · 1/12.
MEAN_PREDICTOR_MSE = 2.0 / 12.0


def adding_problem(n: int, steps: int = 100, seed: int = 0, dtype=numpy.float32):
    """(x, y): ``n`` sequences x (n, T, 2) of (value, marker) and their targets y (n, 1)."""
    if n < 1 or steps < 2:
        raise NndlError(f"the adding problem needs n ≥ 1 sequences of T ≥ 2 steps, got n={n}, T={steps}")
    rng = numpy.random.default_rng(seed)
    values = rng.random((n, steps))
    half = steps // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, steps, n)
    markers = numpy.zeros((n, steps))
    rows = numpy.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = numpy.stack([values, markers], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second])[:, None].astype(dtype)
    return x, y
