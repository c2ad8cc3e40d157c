"""Initialization from the training data: layers whose parameters start where the data are.

A layer that defines ``fit_data(x, rng)`` (the RBF layer's k-means centres) gets the
training inputs as they reach it — passed through the layers below it — once, before
training.  A network without such a layer is left alone.
"""
from __future__ import annotations

import numpy

from nndl.backend import xp
from nndl.layers.base import no_grad

#: Examples per forward chunk on the way up to a data-initialized layer.
CHUNK = 2000


def needs_data(network) -> bool:
    """Whether any layer of ``network`` starts from the training data."""
    return any(hasattr(layer, "fit_data") for layer in network.layers)


def initialize_from_data(network, x, seed: int | None = None) -> None:
    """Call ``fit_data(h, rng)`` of every layer that has one, bottom up, with ``h`` the inputs ``x``
    as they reach that layer.  ``seed`` (default: the network's) seeds the generator they draw from."""
    wanted = [i for i, layer in enumerate(network.layers) if hasattr(layer, "fit_data")]
    if not wanted:
        return
    rng = numpy.random.default_rng(network.seed if seed is None else seed)
    h = network.as_input(x)
    with no_grad():
        for i, layer in enumerate(network.layers[:wanted[-1] + 1]):
            if hasattr(layer, "fit_data"):
                layer.fit_data(h, rng)
            if i < wanted[-1]:
                h = xp.concatenate([layer.forward(h[k:k + CHUNK]) for k in range(0, len(h), CHUNK)])
