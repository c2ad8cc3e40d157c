"""Weight initialization schemes.

A layer with ``fan_in`` inputs per neuron (n_in; for a conv layer, in_channels × kh × kw)
and ``fan_out`` outputs draws its weights from one of these.  All draws come from the
seeded ``numpy.random.Generator`` passed in, in float64, then cast: the same seed gives
the same weights in float32 and float64 (up to rounding).

=================  =========================================  ==============
name               weights                                    biases
=================  =========================================  ==============
``large``          N(0, 1)              (chapter 1, network.py)  N(0, 1)
``default``        N(0, 1/n_in)         (chapter 3, network2.py) N(0, 1)
``lecun``          N(0, 1/n_in)                                  0
``glorot_normal``  N(0, 2/(n_in + n_out))  (Xavier)              0
``glorot_uniform`` U(±√(6/(n_in + n_out)))                       0
``he``             N(0, 2/n_in)          (for ReLU)              0
``orthogonal``     a random orthogonal matrix (rows or columns)  0
``small``          0.01·N(0, 1)         (fixed small scale)      0
``sparse``         k = 15 non-zero N(0, 1) weights per unit      0
                   (Martens, 2010), the rest 0
``relu_bias``      N(0, 2/n_in) (He)                             0.01 (every ReLU
                                                                 starts active)
=================  =========================================  ==============

N(0, s²) means a Gaussian of mean 0 and *variance* s².  The book's chapter 6 code
(network3.py) scaled by n_out, a known slip; nndl's conv layers use n_in like every
other scheme here.
"""
from __future__ import annotations

import math

import numpy

from nndl.backend import FLOAT, to_device
from nndl.registry import create


class Initializer:
    """Base class: Gaussian weights with standard deviation :meth:`std`; zero biases."""

    name = "initializer"
    gaussian_biases = False

    def std(self, fan_in: int, fan_out: int) -> float:
        raise NotImplementedError

    def weights(self, shape, fan_in: int, fan_out: int, rng: numpy.random.Generator, dtype=FLOAT):
        w = rng.standard_normal(shape) * self.std(fan_in, fan_out)
        return to_device(w, dtype)

    def biases(self, shape, rng: numpy.random.Generator, dtype=FLOAT):
        if self.gaussian_biases:
            return to_device(rng.standard_normal(shape), dtype)
        return to_device(numpy.zeros(shape), dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LargeInit(Initializer):
    """Weights and biases N(0, 1): chapter 1's network.py, which saturates sigmoid neurons."""

    name = "large"
    gaussian_biases = True

    def std(self, fan_in, fan_out):
        return 1.0


class DefaultInit(Initializer):
    """Weights N(0, 1/n_in), biases N(0, 1): chapter 3's network2.py default."""

    name = "default"
    gaussian_biases = True

    def std(self, fan_in, fan_out):
        return 1.0 / math.sqrt(fan_in)


class LeCunInit(Initializer):
    """Weights N(0, 1/n_in), biases 0 (LeCun et al., 1998)."""

    name = "lecun"

    def std(self, fan_in, fan_out):
        return 1.0 / math.sqrt(fan_in)


class GlorotNormalInit(Initializer):
    """Weights N(0, 2/(n_in + n_out)), biases 0 (Glorot & Bengio, 2010)."""

    name = "glorot_normal"

    def std(self, fan_in, fan_out):
        return math.sqrt(2.0 / (fan_in + fan_out))


class GlorotUniformInit(Initializer):
    """Weights U(−r, r) with r = √(6/(n_in + n_out)), biases 0 (Glorot & Bengio, 2010)."""

    name = "glorot_uniform"

    def weights(self, shape, fan_in, fan_out, rng, dtype=FLOAT):
        r = math.sqrt(6.0 / (fan_in + fan_out))
        return to_device(rng.uniform(-r, r, size=shape), dtype)


class HeInit(Initializer):
    """Weights N(0, 2/n_in), biases 0 (He et al., 2015): keeps ReLU activations' variance."""

    name = "he"

    def std(self, fan_in, fan_out):
        return math.sqrt(2.0 / fan_in)


class OrthogonalInit(Initializer):
    """A random orthogonal matrix (Saxe et al., 2014), from the QR factorization of a Gaussian.

    The weight tensor is viewed as a (shape[0], rest) matrix; its rows (or columns,
    whichever are fewer) are orthonormal, times ``gain``.
    """

    name = "orthogonal"

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def weights(self, shape, fan_in, fan_out, rng, dtype=FLOAT):
        rows, cols = shape[0], int(numpy.prod(shape[1:]))
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = numpy.linalg.qr(a)
        q *= numpy.sign(numpy.diag(r))  # makes the distribution uniform over orthogonal matrices
        if rows < cols:
            q = q.T
        return to_device(self.gain * q.reshape(shape), dtype)


class SmallInit(Initializer):
    """Weights 0.01·N(0, 1), biases 0: the fixed small scale of the course notes (no fan-in)."""

    name = "small"

    def std(self, fan_in, fan_out):
        return 0.01


class SparseInit(Initializer):
    """Sparse initialization (Martens, 2010): each unit gets ``k`` non-zero incoming weights
    N(0, 1) at random positions (all of them if it has fewer inputs), the rest 0; biases 0.

    A unit's input is then a sum of k terms whatever the fan-in, so large layers do not
    saturate, and units differ from the start.  The weight tensor is viewed as (units, rest).
    """

    name = "sparse"

    def __init__(self, k: int = 15):
        from nndl import validation

        self.k = validation.whole("sparse init k", k, low=1)

    def weights(self, shape, fan_in, fan_out, rng, dtype=FLOAT):
        rows, cols = shape[0], int(numpy.prod(shape[1:]))
        k = min(self.k, cols)
        chosen = rng.random((rows, cols)).argsort(axis=1)[:, :k]        # k distinct inputs per unit
        w = numpy.zeros((rows, cols))
        numpy.put_along_axis(w, chosen, rng.standard_normal((rows, k)), axis=1)
        return to_device(w.reshape(shape), dtype)


class ReluBiasInit(HeInit):
    """He weights N(0, 2/n_in) and a constant bias 0.01, so that every ReLU starts in its active
    part and passes a gradient (CS231n's suggestion for ReLU layers)."""

    name = "relu_bias"
    bias = 0.01

    def biases(self, shape, rng, dtype=FLOAT):
        return to_device(numpy.full(shape, self.bias), dtype)


INITIALIZERS = {
    cls.name: cls
    for cls in (LargeInit, DefaultInit, LeCunInit, GlorotNormalInit, GlorotUniformInit, HeInit, OrthogonalInit,
                SmallInit, SparseInit, ReluBiasInit)
}
_ALIASES = {"xavier": "glorot_normal", "xavier_normal": "glorot_normal", "xavier_uniform": "glorot_uniform",
            "glorot": "glorot_normal", "normal": "large"}


def get_initializer(spec) -> Initializer:
    """Return an :class:`Initializer` from a name (``"he"``) or an object."""
    if isinstance(spec, Initializer):
        return spec
    return create(INITIALIZERS, spec, "initializer", _ALIASES)
