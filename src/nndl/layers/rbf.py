"""A layer of radial basis function units: f(x) = Σᵢ aᵢ φ(‖x − cᵢ‖/σᵢ) with a dense layer on top.

Unit j has a centre c_j (a point of input space) and a width σ_j; its output depends only
on how far the input is from the centre, r_j = ‖x − c_j‖/σ_j.  With s_j = r_j²:

* Gaussian:  φ(r) = e^(−r²),                 dφ/ds = −e^(−s)
* Ricker:    φ(r) = (1 − r²) e^(−r²/2),      dφ/ds = −½ (3 − s) e^(−s/2)
  (the "Mexican hat", negative beyond r = 1)

Forward, for a batch X (N, D), centres C (M, D), widths σ (M,):

    d²_{nj} = ‖x_n‖² − 2 x_n·c_j + ‖c_j‖²     (one matrix product X Cᵀ)
    s_{nj}  = d²_{nj} / σ_j²
    a_{nj}  = φ(s_{nj})

Backward, with g = ∂C/∂a ⊙ dφ/ds and u_{nj} = g_{nj}/σ_j² (since ∂s/∂x_n = 2(x_n − c_j)/σ_j²):

    ∂C/∂c_j = −2 Σ_n u_{nj}(x_n − c_j) = −2 (uᵀX − c_j Σ_n u_{nj})
    ∂C/∂σ_j = −(2/σ_j) Σ_n g_{nj} s_{nj}
    ∂C/∂x_n =  2 (x_n Σ_j u_{nj} − Σ_j u_{nj} c_j) = 2 (x_n ⊙ u.sum(1) − u C)

An RBF network is ``rbf(M) softmax(10)``: the weights aᵢ are the dense output layer's.

Centres and widths start from the training data (:meth:`RBF.fit_data`, called through
:func:`nndl.layers.data_init.initialize_from_data` before training): k-means centres
(:mod:`nndl.kmeans`) and σ_j = ``width`` × the root-mean-square distance of cluster j's
examples to its centre (the median over clusters for a cluster of one example).  Before
that the centres are drawn N(0, 1) and σ = √D, so a layer also works on its own.
"""
from __future__ import annotations

import math

import numpy

from nndl import validation
from nndl.backend import FLOAT, to_device, to_numpy, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, register_layer

KERNELS = ("gaussian", "ricker")


def gaussian(s):
    """φ = e^(−s) with s = r²; returns (φ, dφ/ds)."""
    phi = xp.exp(-s)
    return phi, -phi


def ricker(s):
    """φ = (1 − s) e^(−s/2) with s = r²; returns (φ, dφ/ds = −½(3 − s) e^(−s/2))."""
    e = xp.exp(-0.5 * s)
    return (1.0 - s) * e, -0.5 * (3.0 - s) * e


@register_layer
class RBF(Layer):
    """``units`` radial basis function units with trainable centres and widths.

    Parameters
    ----------
    units : int
        The number of centres M.
    kernel : "gaussian" or "ricker"
    width : float
        σ_j at the start is ``width`` × the RMS distance of cluster j's examples to its centre.
    iterations : int
        Lloyd iterations of the k-means that places the centres.
    solve_output : bool
        Also start the softmax output layer right above at the ridge least-squares solution
        on the training labels (phase 2 of three-phase RBF learning,
        :mod:`nndl.layers.data_init`); on MNIST it is the difference between 95.5% and 97.8%
        after 12 epochs, on iris's 105 training rows it makes the start overconfident.
    """

    type = "rbf"
    spec_names = ("rbf",)
    needs_flat_input = True
    splits_over_batch = True

    def __init__(self, units: int, kernel: str = "gaussian", width: float = 1.0, iterations: int = 30,
                 solve_output: bool = False):
        super().__init__()
        self.units = validation.whole("rbf units", units, low=1)
        self.kernel = validation.choice("rbf kernel", kernel, KERNELS)
        self.width = validation.number("rbf width", width, 0.0, low_open=True)
        self.iterations = validation.whole("rbf iterations", iterations, low=1)
        self.solve_output = validation.boolean("rbf solve_output", solve_output)
        self.centres = self.sigma = None

    def build(self, input_shape, rng, dtype=FLOAT):
        if len(input_shape) != 1:
            raise NndlError(f"rbf({self.units}) needs flat input of shape (n,), got {tuple(input_shape)}")
        n_in = int(input_shape[0])
        self.input_shape, self.output_shape, self.dtype = (n_in,), (self.units,), dtype
        self.centres = self.add_param("centres", (self.units, n_in),
                                      lambda s: to_device(rng.standard_normal(s), dtype))
        self.sigma = self.add_param("sigma", (self.units,), lambda s: to_device(numpy.full(s, math.sqrt(n_in)), dtype))
        return self.output_shape

    @property
    def params(self):
        return [self.centres, self.sigma]

    # -- where the centres start ------------------------------------------------------
    def fit_data(self, x, rng) -> None:
        """Centres by k-means on the training inputs ``x`` (N, D), widths from the clusters' spread.

        More centres than examples is a one-line :class:`NndlError`.
        """
        from nndl.kmeans import kmeans

        x = to_numpy(x).reshape(len(x), -1)
        if self.units > len(x):
            raise NndlError(f"rbf({self.units}): {self.units} centres but only {len(x)} training examples; "
                            f"use at most {len(x)} centres")
        centres, labels, _ = kmeans(x, self.units, rng, iterations=self.iterations)
        counts = numpy.bincount(labels, minlength=self.units)
        nearest = ((x - centres.astype(x.dtype)[labels]).astype(numpy.float64) ** 2).sum(axis=1)
        spread = numpy.sqrt(numpy.bincount(labels, weights=nearest, minlength=self.units) / numpy.maximum(counts, 1))
        good = counts >= 2
        typical = float(numpy.median(spread[good])) if good.any() else float(numpy.sqrt(nearest.mean()))
        spread = numpy.where(good & (spread > 0), spread, typical if typical > 0 else 1.0)
        self.centres.value[...] = to_device(centres, self.dtype)
        self.sigma.value[...] = to_device(self.width * spread, self.dtype)

    # -- passes -----------------------------------------------------------------------
    def _phi(self, s):
        return gaussian(s) if self.kernel == "gaussian" else ricker(s)

    def forward(self, x, training=False):
        c, sigma = self.centres.value, self.sigma.value
        d2 = (x * x).sum(axis=1, keepdims=True) - 2.0 * (x @ c.T) + (c * c).sum(axis=1)
        xp.maximum(d2, 0, out=d2)
        s = d2 / (sigma * sigma)
        phi, dphi = self._phi(s)
        self.save(x=x, s=s, dphi=dphi)
        return phi

    def backward(self, grad):
        kept = self.saved()
        x, s = kept["x"], kept["s"]
        c, sigma = self.centres.value, self.sigma.value
        g = grad * kept["dphi"]                                  # ∂C/∂s
        u = g / (sigma * sigma)
        self.centres.add_grad(-2.0 * (u.T @ x - c * u.sum(axis=0)[:, None]))
        self.sigma.add_grad((-2.0 / sigma) * (g * s).sum(axis=0))
        if not self.needs_input_grad:
            return None
        return 2.0 * (x * u.sum(axis=1, keepdims=True) - u @ c)

    def spec_args(self):
        _, options = super().spec_args()            # the options that differ from their defaults
        options.pop("units")
        return [self.units], options

    def config(self):
        return {"type": self.type, "units": self.units, "kernel": self.kernel, "width": self.width,
                "iterations": self.iterations, "solve_output": self.solve_output}

    def forward_flops(self, batch_size):
        return 2.0 * batch_size * self.input_shape[0] * self.units
