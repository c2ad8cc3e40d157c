"""Fooling images (Nguyen, Yosinski & Clune 2015; Goodfellow et al. 2014's rubbish class):
inputs that look like nothing at all, which the network puts in a chosen class with confidence.

From uniform noise x₀ ~ U(low, high), targeted gradient-sign steps with no ε-ball, only the
pixel range:

    x_{k+1} = clip(x_k − α · sign(∇ₓ C(x_k, t)), low, high)

until the output of class t reaches ``confidence`` (each image stops moving once it has).
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device, to_numpy, xp


def fooling_images(model, target: int, n: int, steps: int = 100, step: float = 0.01, confidence: float = 0.99,
                   rng=None, shape=None):
    """``n`` noise images driven to class ``target``; returns (images, output of class t, steps taken).

    ``shape`` is one example's pixel shape (default: the network's input shape).
    """
    rng = numpy.random.default_rng(0) if rng is None else rng
    shape = tuple(model.network.input_shape if shape is None else shape)
    dtype = model.network.dtype
    x = to_device(rng.uniform(model.low, model.high, size=(n,) + shape).astype(dtype))
    t = model.one_hot(xp.full(n, int(target)))
    taken = numpy.zeros(n, dtype=int)
    for k in range(int(steps)):
        g, a = model.gradient(x, t)
        p = to_numpy(a)[:, int(target)]
        moving = to_device((p < confidence).astype(dtype)).reshape((n,) + (1,) * len(shape))
        if not to_numpy(moving).any():
            break
        taken += to_numpy(moving).reshape(n).astype(int)
        x = model.clip(x - xp.sign(g) * moving * dtype.type(step))
    p = model.outputs(x)[:, int(target)]
    return x, p, taken
