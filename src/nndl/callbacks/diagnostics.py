"""Diagnostics of a network while it trains: how fast each layer learns, and how many units are dead.

:class:`GradientNorms` — chapter 5's "speed of learning": the mean over sampled
mini-batches of each layer's gradient norm ‖∂C/∂θˡ‖ = √(Σ_θ∈layer Σ (∂C/∂θ)²), in the
epoch's record as ``gradient_norms`` (``{"1:dense": 0.12, ...}``, layer number and type).

:class:`DeadUnits` — the course notes' advice to "monitor the fraction of dead units":
after each epoch, the fraction of each ReLU-like layer's units (a neuron of a dense
layer, a feature map of a conv layer) whose output is 0 for every one of ``samples``
examples; such a unit gets no gradient and never recovers.  In the record as
``dead_units``.
"""
from __future__ import annotations

import math

import numpy

from nndl.backend import to_numpy, xp
from nndl.callbacks.base import Callback
from nndl.layers import no_grad


def _layer_keys(network) -> list:
    return [(f"{i + 1}:{layer.type}", layer) for i, layer in enumerate(network.layers)]


class GradientNorms(Callback):
    """Sample each layer's gradient norm every ``every`` steps (after the step; what the optimizer saw)."""

    def __init__(self, every: int = 10):
        self.every = int(every)

    def figures(self):
        return ("gradient_norms",)

    def on_epoch_begin(self, epoch):
        self.layers = [(key, layer) for key, layer in _layer_keys(self.model.network) if layer.params]
        self.sums = numpy.zeros(len(self.layers))
        self.count = 0

    def on_batch_end(self, step, logs):
        if step % self.every:
            return
        self.sums += [math.sqrt(sum(float(xp.vdot(p.grad, p.grad)) for p in layer.params if p.grad is not None))
                      for _, layer in self.layers]
        self.count += 1

    def on_epoch_end(self, epoch, record):
        if self.count:
            record["gradient_norms"] = {key: s / self.count for (key, _), s in zip(self.layers, self.sums)}


#: Activations whose output is exactly 0 over a half-line (a unit can die).
_DYING = ("relu",)


class DeadUnits(Callback):
    """The fraction of dead units per ReLU layer, measured on the first ``samples`` validation
    examples (or training examples when there is no validation data)."""

    def __init__(self, samples: int = 1000):
        self.samples = int(samples)

    def figures(self):
        return ("dead_units",)

    def on_epoch_end(self, epoch, record):
        data = self.trainer.validation_data or self.trainer.training_arrays
        if data is None:
            return
        net = self.model.network
        a = net.as_input(data[0][:self.samples])
        fractions = {}
        with no_grad():
            for key, layer in _layer_keys(net):
                a = layer.forward(a, training=False)
                activation = getattr(getattr(layer, "activation", None), "name", None)
                if activation in _DYING:
                    out = to_numpy(a)
                    per_unit = (out != 0).reshape(len(out), out.shape[1], -1).any(axis=(0, 2))  # (units,)
                    fractions[key] = float(1.0 - per_unit.mean())
        record["dead_units"] = fractions
