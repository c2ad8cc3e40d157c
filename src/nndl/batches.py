"""Where the trainer's mini-batches come from.

The trainer asks a *batch source* for ``len(source)`` and for ``source.batch(idx, rng)``
with an array of example indices; it never touches the whole data set, so nothing is
copied per epoch.  :class:`ArrayBatches` gathers rows of arrays already in memory;
other sources (expanded or augmented MNIST) make their examples on the fly.
"""
from __future__ import annotations

from nndl.backend import to_device
from nndl.errors import NndlError


class ArrayBatches:
    """Mini-batches gathered from in-memory arrays: inputs ``x`` (N, ...) and targets ``y``
    (N, ...) of any kind — class indices, real values — or None (an autoencoder's data).
    Inputs keep their dtype unless ``dtype`` is given (token ids stay integers)."""

    def __init__(self, x, y=None, dtype=None):
        if y is not None and len(x) != len(y):
            raise NndlError(f"{len(x)} examples but {len(y)} labels")
        if len(x) == 0:
            raise NndlError("the training data are empty")
        self.x = to_device(x, dtype)
        self.y = None if y is None else to_device(y)

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, idx, rng=None):
        """Examples ``idx`` as (inputs, targets); a gather of m rows, not a copy of the set.

        (``take`` gathers the same rows as ``x[idx]`` with less overhead per call, which
        shows at mini-batches of 10.)
        """
        return self.x.take(idx, axis=0), None if self.y is None else self.y.take(idx, axis=0)
