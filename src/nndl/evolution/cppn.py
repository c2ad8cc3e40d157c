"""Compositional pattern-producing networks (CPPNs; Stanley 2007).

A CPPN is a NEAT genome whose hidden nodes each draw their function from
:data:`~nndl.evolution.activations.CPPN_FUNCTIONS` — sine (repetition), Gaussian
(symmetry), sigmoid and tanh (steps), linear and abs (mirror symmetry) — and which is
queried at coordinates rather than fed data.  A composition such as gauss(sin(3x) + y)
paints a regular pattern over the plane; HyperNEAT (:mod:`nndl.evolution.hyperneat`)
reads a network's weights off such a pattern:

    CPPN(x₁, y₁, x₂, y₂) → (outputs)          for a connection from (x₁, y₁) to (x₂, y₂).

NEAT evolves CPPNs unchanged (:func:`cppn_config`): add-node mutations draw a random
function for the new node and a node-function mutation (``activation_mutation_rate``)
redraws one; the outputs are tanh, in [−1, 1].
"""
from __future__ import annotations

import numpy

from nndl.evolution.activations import CPPN_FUNCTIONS
from nndl.evolution.genome import NEATConfig
from nndl.evolution.phenotype import FeedForward

#: A CPPN's inputs: the coordinates of the two ends of a connection.
INPUTS = 4


def cppn_config(**changes) -> NEATConfig:
    """NEAT settings for CPPNs: functions drawn from CPPN_FUNCTIONS, tanh outputs, more structural change."""
    settings = dict(activations=CPPN_FUNCTIONS, activation="sigmoid", output_activation="tanh",
                    activation_mutation_rate=0.1, add_node_rate=0.1, add_connection_rate=0.15)
    settings.update(changes)
    return NEATConfig(**settings)


def query(cppn: FeedForward, sources, targets) -> numpy.ndarray:
    """CPPN outputs for every pair: an array (n_targets, n_sources, outputs) whose [j, i] is
    CPPN(x_i, y_i, x_j, y_j), all pairs in one batch."""
    sources, targets = numpy.asarray(sources, dtype=float), numpy.asarray(targets, dtype=float)
    pairs = numpy.concatenate([numpy.broadcast_to(sources[None, :, :], (len(targets), len(sources), 2)),
                               numpy.broadcast_to(targets[:, None, :], (len(targets), len(sources), 2))],
                              axis=2).reshape(-1, 4)
    return numpy.asarray(cppn(pairs)).reshape(len(targets), len(sources), -1)
