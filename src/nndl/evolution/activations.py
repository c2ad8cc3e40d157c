"""The node functions of NEAT networks and CPPNs, by name.

NEAT's nodes use Stanley & Miikkulainen's steepened sigmoid; a CPPN's nodes draw their
function from a set chosen for the regularities it should paint (Stanley 2007):

    steep_sigmoid(z) = 1 / (1 + e^(−4.9 z))      sigmoid(z) = 1 / (1 + e^(−z))
    tanh(z)                                      sin(z)
    gauss(z)         = e^(−z²)                   (a symmetric bump: symmetry)
    linear(z)        = z                         abs(z) = |z|
    relu(z)          = max(0, z)

sin gives repetition, gauss symmetry, abs mirror symmetry, sigmoid/tanh bounded steps.
"""
from __future__ import annotations

from nndl.activations import sigmoid as _sigmoid
from nndl.backend import xp
from nndl.errors import NndlError

FUNCTIONS = {
    "steep_sigmoid": lambda z: _sigmoid(4.9 * z),
    "sigmoid": lambda z: _sigmoid(z),
    "tanh": lambda z: xp.tanh(z),
    "sin": lambda z: xp.sin(z),
    "gauss": lambda z: xp.exp(-z * z),
    "linear": lambda z: z,
    "abs": lambda z: xp.abs(z),
    "relu": lambda z: xp.maximum(z, 0.0),
}

#: The functions a CPPN's hidden nodes choose from.
CPPN_FUNCTIONS = ("sin", "gauss", "sigmoid", "tanh", "linear", "abs")


def check(name, what: str = "activation") -> str:
    if name not in FUNCTIONS:
        raise NndlError(f"{what}={name!r} is not one of {', '.join(sorted(FUNCTIONS))}")
    return name


def apply(name: str, z):
    """The node function ``name`` applied elementwise to ``z``."""
    return FUNCTIONS[name](z)
