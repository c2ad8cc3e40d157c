"""Initialization from the training data: layers whose parameters start where the data are.

A layer that defines ``fit_data(x, rng)`` (the RBF layer's k-means centres) gets the
training inputs as they reach it — passed through the layers below it — once, before
training.  A network without such a layer is left alone.

An RBF network — an RBF layer right below a softmax output layer — whose RBF layer says
``solve_output`` also gets its output weights from the training labels, as in the three-phase learning of RBF networks (Schwenker,
Kestler & Palm, 2001): phase 1 places the centres (k-means), phase 2 solves the output layer
by ridge least squares on the RBF activations Φ (one-hot targets Y, a column of ones for the
bias), and phase 3 is backprop of everything, which is training:

    (ΦᵀΦ + λI) W = ΦᵀY,     λ = 10⁻⁴ · trace(ΦᵀΦ)/(M + 1)

The least-squares outputs approximate the one-hot targets (0 or 1); as softmax inputs they
are multiplied by ``LOGIT_SCALE`` so that the first softmax is already confident where the
least-squares answer is, and training starts from that classifier rather than from chance.
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device, to_numpy, xp
from nndl.layers.base import no_grad

#: Examples per forward chunk on the way up to a data-initialized layer.
CHUNK = 2000
#: Least-squares outputs (≈ 0 or 1) × this = the softmax inputs the output layer starts with.
LOGIT_SCALE = 10.0
#: λ of the ridge solution, relative to the mean diagonal of ΦᵀΦ.
RIDGE = 1e-4


def needs_data(network) -> bool:
    """Whether any layer of ``network`` starts from the training data."""
    return any(hasattr(layer, "fit_data") for layer in network.layers)


def _forward(layer, h):
    return xp.concatenate([layer.forward(h[k:k + CHUNK]) for k in range(0, len(h), CHUNK)])


def initialize_from_data(network, x, seed: int | None = None, labels=None) -> None:
    """Call ``fit_data(h, rng)`` of every layer that has one, bottom up, with ``h`` the inputs ``x``
    as they reach that layer.  ``seed`` (default: the network's) seeds the generator they draw from.

    With class ``labels`` (0..K−1), an RBF layer with ``solve_output`` right below a softmax output
    layer also gives that layer its ridge least-squares weights (phase 2, see the module docstring).
    """
    wanted = [i for i, layer in enumerate(network.layers) if hasattr(layer, "fit_data")]
    if not wanted:
        return
    rng = numpy.random.default_rng(network.seed if seed is None else seed)
    out = network.layers[-1]
    phase2 = labels is not None and wanted[-1] == len(network.layers) - 2 and \
        getattr(network.layers[wanted[-1]], "solve_output", False) and \
        getattr(getattr(out, "activation", None), "name", None) == "softmax" and hasattr(out, "W")
    h = network.as_input(x)
    with no_grad():
        for i, layer in enumerate(network.layers[:wanted[-1] + 1]):
            if hasattr(layer, "fit_data"):
                layer.fit_data(h, rng)
            if i < wanted[-1] or phase2:
                h = _forward(layer, h)
    if phase2:
        least_squares_output(out, h, labels)


def least_squares_output(layer, features, labels) -> None:
    """Set the dense ``layer``'s W and b to LOGIT_SCALE × the ridge solution of features → one-hot labels."""
    phi = numpy.asarray(to_numpy(features), dtype=numpy.float64)
    labels = numpy.asarray(labels)
    design = numpy.concatenate([phi, numpy.ones((len(phi), 1))], axis=1)
    gram = design.T @ design
    gram[numpy.diag_indices_from(gram)] += RIDGE * numpy.trace(gram) / len(gram)
    targets = numpy.zeros((len(labels), layer.units))
    targets[numpy.arange(len(labels)), labels] = 1.0
    w = numpy.linalg.solve(gram, design.T @ targets)
    layer.W.value[...] = to_device(LOGIT_SCALE * w[:-1].T, layer.W.value.dtype)
    if layer.use_bias:
        layer.b.value[...] = to_device(LOGIT_SCALE * w[-1], layer.b.value.dtype)
