"""Gradient checking: compare backprop's gradients with central finite differences.

For a parameter θ and a small ε,

    ∂C/∂θᵢ ≈ (C(θ + εeᵢ) − C(θ − εeᵢ)) / 2ε,

with an error of order ε².  The check runs in float64 (in float32 the difference of two
nearly equal costs loses most of its digits), on a fixed batch, with random masks (dropout,
the randomized leaky ReLU's slopes: every layer with ``fixed_mask``) held fixed.  The
relative error per tensor is

    ‖g_backprop − g_numerical‖ / max(‖g_backprop‖ + ‖g_numerical‖, 1e-12),

below about 1e-6 for a correct layer; a wrong backward gives 1e-2 or more.
"""
from __future__ import annotations

import numpy

from nndl.backend import to_numpy, xp

#: Relative error above which a tensor fails the check.
THRESHOLD = 1e-5


def relative_error(a, b) -> float:
    a, b = numpy.asarray(to_numpy(a), dtype=numpy.float64), numpy.asarray(to_numpy(b), dtype=numpy.float64)
    return float(numpy.linalg.norm(a - b) / max(numpy.linalg.norm(a) + numpy.linalg.norm(b), 1e-12))


def numerical_gradient(cost, array, entries=None, eps: float = 1e-6) -> numpy.ndarray:
    """Central differences (C(θ + εeᵢ) − C(θ − εeᵢ)) / 2ε of ``cost()`` for the flat ``entries`` of
    ``array`` (all if None), changing each entry in place and putting it back."""
    flat = array.reshape(-1)               # a view: writing to it changes the array the cost reads
    entries = numpy.arange(flat.size) if entries is None else entries
    out = numpy.empty(len(entries))
    for j, i in enumerate(entries):
        old = float(flat[i])
        flat[i] = old + eps
        plus = cost()
        flat[i] = old - eps
        minus = cost()
        flat[i] = old
        out[j] = (plus - minus) / (2 * eps)
    return out


def _entries(size: int, max_entries, rng):
    """Which of ``size`` entries to check: all, or ``max_entries`` of them at random."""
    if max_entries is None or size <= max_entries:
        return numpy.arange(size)
    return rng.choice(size, max_entries, replace=False)


def _total_cost(network, x, y, regularizers, n) -> float:
    a = network.feedforward(x, training=True)
    return network.cost.fn(a, y) + sum(reg.cost(network.params, n) for reg in regularizers)


def check_gradients(network, x, y, regularizers=(), eps: float = 1e-6, max_entries: int | None = 60,
                    seed: int = 0) -> dict[str, float]:
    """Relative error of every parameter tensor's backprop gradient against finite differences.

    Parameters
    ----------
    network : Network
        Built with ``dtype=numpy.float64``.
    x : array (N, *input_shape)
    y : array
        One-hot targets (N, classes), or integer labels (N,).
    regularizers : list
        Their cost and gradient are included (as in training).
    eps : float
        Finite-difference step.
    max_entries : int or None
        Entries checked per tensor (chosen at random from ``seed``); all if fewer, or if None.

    Returns
    -------
    dict
        ``{"2:dense.W": 3.1e-9, ...}`` — layer number, type and parameter name.
    """
    x = network.as_input(x)
    y = xp.asarray(y)
    if y.ndim == 1:
        y = network.one_hot(y)
    n = len(x)
    dropouts = [layer for layer in network.layers if hasattr(layer, "fixed_mask")]   # dropout, rrelu
    for layer in dropouts:
        layer.fixed_mask = False
    network.backprop(x, y)                    # draws the dropout masks once ...
    for layer in dropouts:
        layer.fixed_mask = True               # ... and keeps them for every evaluation below
    try:
        network.backprop(x, y)
        params = network.params
        for reg in regularizers:
            reg.add_gradient(params, n)
        rng = numpy.random.default_rng(seed)
        errors = {}
        for number, layer in enumerate(network.layers, start=1):
            for p in layer.params:
                analytic = to_numpy(p.grad).ravel()
                size = p.value.size
                entries = _entries(size, max_entries, rng)
                numerical = numerical_gradient(lambda: _total_cost(network, x, y, regularizers, n), p.value,
                                               entries, eps)
                errors[f"{number}:{layer.type}.{p.name}"] = relative_error(analytic[entries], numerical)
        return errors
    finally:
        for layer in dropouts:
            layer.fixed_mask = False


def check_input_gradient(network, x, y, eps: float = 1e-6, max_entries: int | None = None, seed: int = 0,
                         training: bool = False) -> float:
    """Relative error of ∂C/∂x from ``Network.backward(..., input_grad=True)`` against central
    differences of the mean cost C(x) (no regularization: R does not depend on x).

    ``y`` as for :func:`check_gradients`; ``training=False`` checks the inference pass (dropout
    off, batch norm's running averages), the one an adversarial example differentiates.
    """
    x = network.as_input(x).copy()
    y = xp.asarray(y)
    if y.ndim == 1:
        y = network.one_hot(y)
    network.zero_grad()
    a = network.forward(x, training=training)
    analytic = to_numpy(network.backward(network.cost.derivative(a, y) * (1.0 / len(x)), input_grad=True)).ravel()
    entries = _entries(x.size, max_entries, numpy.random.default_rng(seed))
    numerical = numerical_gradient(lambda: network.cost.fn(network.feedforward(x, training), y), x, entries, eps)
    return relative_error(analytic[entries], numerical)
