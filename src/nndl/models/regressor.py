"""Regression: real-valued targets of any shape, one output neuron per target value.

The output layer is usually linear (a = z) with the quadratic cost C = ½‖a − y‖², so
BP1 gives δᴸ = a − y, the same error signal as the book's classifiers.  The metrics
are the mean squared and absolute errors and R² (see :mod:`nndl.metrics`).

Targets far from 0 (a house price, the diabetes table's 25–346) make the first
gradients huge; the CSV loader therefore standardizes them, y' = (y − μ)/σ with the
training part's statistics, and the network learns y'.  That scaling travels with the
network (``network.target_preprocessor``): :meth:`Regressor.predict` and the metrics
map the outputs back, a = a'σ + μ, so errors are in the data's own units.
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device, to_numpy
from nndl.errors import NndlError
from nndl.models.base import Model, finite_numbers


class Regressor(Model):
    """Targets y of shape (N, *output_shape) (or (N,) for one output), any finite real numbers."""

    task = "regression"
    default_metrics = ("mse", "mae", "r2")

    def check_targets(self, y, what):
        if y is None:
            raise NndlError(f"{what}: a regressor needs targets")
        y = finite_numbers(y, what)
        shape = tuple(self.network.output_shape)
        if y.ndim == 1 and shape == (1,):
            y = y.reshape(-1, 1)
        if tuple(y.shape[1:]) != shape:
            hint = " (class labels: use a Classifier, --task classification)" if y.ndim == 1 else ""
            raise NndlError(f"{what}: targets have shape {tuple(y.shape[1:])} per example but the network "
                            f"outputs {shape}{hint}")
        return y.astype(numpy.float32, copy=False)

    def targets(self, x, y):
        return to_device(y, self.network.dtype)

    def in_target_units(self, a, t):
        pre = getattr(self.network, "target_preprocessor", None)
        if pre is None:
            return a, t
        return pre.inverse_transform(to_numpy(a)), pre.inverse_transform(to_numpy(t))

    def predict(self, x, batch_size: int = 1000, preprocessed: bool = False):
        """The outputs for every row of ``x`` (raw examples, unless ``preprocessed``), in the targets' own units."""
        a = self.network.predict_proba(x, batch_size, preprocessed)
        pre = getattr(self.network, "target_preprocessor", None)
        return a if pre is None else pre.inverse_transform(a).reshape(a.shape)
