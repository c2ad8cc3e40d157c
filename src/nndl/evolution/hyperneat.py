"""HyperNEAT (Stanley, D'Ambrosio & Gauci 2009): a CPPN paints the weights of a substrate.

A **substrate** is a layered network whose neurons have places: layer ℓ is a set of
points (x, y) in its own plane (a row of inputs, a grid of hidden units, an output),
the planes stacked like a sandwich.  The CPPN, evolved by NEAT, is queried for every
pair of neurons in consecutive layers; output k of the CPPN is the weight pattern
between layers k and k + 1, and output L − 1 + k the biases of layer k + 1 (queried
with the source at the origin):

    raw_ij = CPPN_k(x_i, y_i, x_j, y_j),      b_j = b_max · CPPN_{L−1+k}(0, 0, x_j, y_j).

A connection is **expressed** only where the pattern is strong enough:

    w_ij = sign(raw) · (|raw| − τ) / (1 − τ) · w_max   if |raw| > τ,   else 0 (no connection),

τ the expression threshold.  Since the substrate is layered, it runs as an ordinary nndl
:class:`~nndl.network.Network` of Dense layers (:meth:`HyperNEATDecoder.network`), its
weights set from the painting.  The same CPPN paints substrates of any resolution: the
pattern is a function of geometry, not a list of weights.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError
from nndl.evolution import checks
from nndl.evolution.cppn import query
from nndl.evolution.phenotype import FeedForward


class Substrate:
    """Layers of neuron positions: ``layers[ℓ]`` an array (n_ℓ, 2) of (x, y), input layer first."""

    def __init__(self, layers):
        self.layers = [numpy.asarray(layer, dtype=float).reshape(-1, 2) for layer in layers]
        if len(self.layers) < 2 or min(len(layer) for layer in self.layers) < 1:
            raise NndlError("a substrate needs at least two layers of at least one neuron each")
        if any(not numpy.all(numpy.isfinite(layer)) for layer in self.layers):
            raise NndlError("substrate coordinates must be finite numbers")

    @property
    def sizes(self) -> list[int]:
        return [len(layer) for layer in self.layers]

    @property
    def cppn_outputs(self) -> int:
        return 2 * (len(self.layers) - 1)

    @staticmethod
    def row(n: int) -> numpy.ndarray:
        """n points evenly spaced on y = 0, x from −1 to 1 (one point: the origin)."""
        return numpy.stack([numpy.linspace(-1, 1, n) if n > 1 else numpy.zeros(1), numpy.zeros(n)], axis=1)

    @staticmethod
    def grid(rows: int, columns: int) -> numpy.ndarray:
        """A rows × columns grid over [−1, 1]²."""
        ys, xs = numpy.meshgrid(numpy.linspace(-1, 1, rows), numpy.linspace(-1, 1, columns), indexing="ij")
        return numpy.stack([xs.ravel(), ys.ravel()], axis=1)

    @classmethod
    def for_task(cls, inputs: int, outputs: int, hidden=(3, 3)) -> "Substrate":
        """Inputs in a row, a hidden grid, outputs in a row."""
        return cls([cls.row(inputs), cls.grid(*hidden), cls.row(outputs)])


def express(raw, threshold: float, weight_max: float):
    """The expressed weights of the module docstring: 0 where |raw| ≤ τ, else rescaled to (0, w_max]."""
    magnitude = (numpy.abs(raw) - threshold) / (1.0 - threshold)
    return numpy.where(numpy.abs(raw) > threshold, numpy.sign(raw) * magnitude * weight_max, 0.0)


class HyperNEATDecoder:
    """CPPN genome → the substrate's nndl Network (as a function of inputs), or its painted weights."""

    def __init__(self, substrate: Substrate, threshold: float = 0.2, weight_max: float = 5.0, bias_max: float = 2.0,
                 activation: str = "tanh", output_activation: str = "sigmoid"):
        self.substrate = substrate
        self.threshold = checks.rate("expression threshold", threshold)
        if self.threshold >= 1.0:
            raise NndlError(f"expression threshold={threshold} must be below 1 (nothing would be expressed)")
        self.weight_max = checks.positive("weight_max", weight_max)
        self.bias_max = checks.non_negative("bias_max", bias_max)
        self.activation, self.output_activation = activation, output_activation
        self._network = None

    def __getstate__(self):
        return {**self.__dict__, "_network": None}

    def paint(self, genome) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
        """``[(W, b), ...]`` per layer pair, W of shape (n_{ℓ+1}, n_ℓ) as in nndl's Dense layer."""
        if genome.n_inputs != 4 or genome.n_outputs != self.substrate.cppn_outputs:
            raise NndlError(f"this substrate needs a CPPN with 4 inputs and {self.substrate.cppn_outputs} outputs; "
                            f"the genome has {genome.n_inputs} and {genome.n_outputs}")
        cppn, layers, pairs = FeedForward(genome), self.substrate.layers, len(self.substrate.layers) - 1
        painted = []
        for k in range(pairs):
            raw = query(cppn, layers[k], layers[k + 1])[:, :, k]
            bias = query(cppn, numpy.zeros((1, 2)), layers[k + 1])[:, 0, pairs + k]
            painted.append((express(raw, self.threshold, self.weight_max), self.bias_max * bias))
        return painted

    def network(self, genome=None):
        """The substrate as an nndl Network (built once), with the weights ``genome`` paints."""
        if self._network is None:
            from nndl.network import Network

            self._network = Network.from_sizes(self.substrate.sizes, activation=self.activation,
                                               output_activation=self.output_activation, cost="quadratic")
        if genome is not None:
            values = [v for w, b in self.paint(genome) for v in (w, b)]
            self._network.set_weights(values)
        return self._network

    def connections(self, genome) -> int:
        """The number of expressed connections."""
        return int(sum(numpy.count_nonzero(w) for w, _ in self.paint(genome)))

    def __call__(self, genome):
        return self.network(genome).forward
