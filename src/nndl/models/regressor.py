"""Regression: real-valued targets of any shape, one output neuron per target value.

The output layer is usually linear (a = z) with the quadratic cost C = ½‖a − y‖², so
BP1 gives δᴸ = a − y, the same error signal as the book's classifiers.  The metrics
are the mean squared and absolute errors and R² (see :mod:`nndl.metrics`).
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device
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
