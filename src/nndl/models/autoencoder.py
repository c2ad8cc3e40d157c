"""An autoencoder: a network trained to reproduce its input, target = input.

With a hidden layer narrower than the input (undercomplete) the network must find a
compact code for the data; the cost is the reconstruction error, ½‖x̂ − x‖² with a
linear output or the summed Bernoulli cross-entropy −Σ [x ln x̂ + (1 − x) ln(1 − x̂)]
with a sigmoid output for data in [0, 1] (MNIST's pixels).  Labels, if the data have
any, are ignored.
"""
from __future__ import annotations

import math

from nndl.errors import NndlError
from nndl.models.base import Model


class Autoencoder(Model):
    """Reconstruction: the target of every example is the example itself."""

    task = "reconstruction"
    default_metrics = ("mse",)

    def __init__(self, network, *args, **kwargs):
        if math.prod(network.output_shape) != math.prod(network.input_shape):
            raise NndlError(f"an autoencoder's output must have the input's size: the network maps "
                            f"{network.input_shape} to {network.output_shape}")
        super().__init__(network, *args, **kwargs)

    def check_targets(self, y, what):
        return None

    def targets(self, x, y):
        return x.reshape((len(x),) + tuple(self.network.output_shape))
