"""The copy task of the Neural Turing Machine paper (Graves et al., 2014, §4.1): read a sequence of random
binary vectors, then write it out again.

A sequence of L vectors of W random bits (each bit 1 with probability ½) is presented one vector per
step on channels 0..W−1, followed by one step with only the delimiter channel W on; then, for L more
steps, the input is all zeros and the target is the sequence again.  With B sequences of one length L:

    x (B, 2L + 1, W + 1)   the input: the bits, the delimiter, then zeros
    y (B, 2L + 1, W)       the target: zeros, then at steps L + 1 .. 2L the bits
    mask (B, 2L + 1)       1 at the output steps (where the cost and the bits wrong are counted)

Bits wrong per sequence: Σ over the output steps of |round(ŷ) − y|, averaged over the sequences.
"""
from __future__ import annotations

import numpy

from nndl import validation


def copy_sequences(batch: int, length: int, width: int = 8, rng=None):
    """(x, y, mask) of ``batch`` copy sequences of ``length`` vectors of ``width`` bits (see the module)."""
    batch = validation.whole("copy batch", batch, low=1)
    length = validation.whole("copy length", length, low=1)
    width = validation.whole("copy width", width, low=1)
    rng = numpy.random.default_rng(0) if rng is None else rng
    bits = rng.integers(0, 2, size=(batch, length, width)).astype(numpy.float64)
    steps = 2 * length + 1
    x = numpy.zeros((batch, steps, width + 1))
    x[:, :length, :width] = bits
    x[:, length, width] = 1.0
    y = numpy.zeros((batch, steps, width))
    y[:, length + 1:] = bits
    mask = numpy.zeros((batch, steps))
    mask[:, length + 1:] = 1.0
    return x, y, mask


def bits_wrong(outputs, y, mask) -> float:
    """Mean over the sequences of the number of output bits whose rounded prediction is wrong."""
    outputs, y, mask = numpy.asarray(outputs), numpy.asarray(y), numpy.asarray(mask)
    wrong = (numpy.abs((outputs > 0.5).astype(numpy.float64) - y) * mask[:, :, None]).sum(axis=(1, 2))
    return float(wrong.mean())
