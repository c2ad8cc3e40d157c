"""The book's ``mnist_loader``: MNIST in the formats that ``network.py`` and ``network2.py`` expect.

``load_data()`` gives the three sets as arrays, ``load_data_wrapper()`` as the lists of
column vectors the book's networks iterate over.  The split is the book's
(``mnist.pkl.gz``): the first 50,000 training images for training, the last 10,000 for
validation, and the 10,000 test images.  The images are read from the original IDX
files by :func:`nndl.data.load_mnist` (the data root is ``NNDL_DATA`` unless ``root``
is given); nothing is unpickled.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError

N_CLASSES = 10


def load_data(root=None):
    """Return the MNIST data as a tuple ``(training_data, validation_data, test_data)``.

    Each is a pair ``(x, y)``: ``x`` a float32 array of shape (N, 784), one row of
    pixel intensities in [0, 1] per image, and ``y`` an int64 array of the N digits
    0..9.  N is 50,000 for the training data and 10,000 for the other two.
    """
    from nndl.data import load_mnist  # imported here so the networks work without the data package

    splits = load_mnist(root=root, split="book")
    return tuple((ds.x, ds.y) for ds in (splits.train, splits.validation, splits.test))


def load_data_wrapper(root=None):
    """Return ``(training_data, validation_data, test_data)`` in the book's network format.

    ``training_data`` is a list of 50,000 pairs ``(x, y)``: ``x`` a (784, 1) column
    vector of the image and ``y`` a (10, 1) one-hot column with a 1 at the digit.
    ``validation_data`` and ``test_data`` are lists of 10,000 pairs ``(x, label)``
    with ``label`` the digit as an ``int``.

    The input columns are views of the big arrays read from disk, not copies, so
    this costs hardly more than :func:`load_data`; like those arrays (which
    :mod:`nndl.data` shares within the process) they are read-only.
    """
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = load_data(root)
    training_data = list(zip(_columns(tr_x), _columns(one_hot(tr_y))))
    validation_data = list(zip(_columns(va_x), va_y.tolist()))
    test_data = list(zip(_columns(te_x), te_y.tolist()))
    return training_data, validation_data, test_data


def vectorized_result(j):
    """A (10, 1) column with 1.0 in place ``j`` and zeros elsewhere: the target for digit ``j``."""
    j = int(j)
    if not 0 <= j < N_CLASSES:
        raise NndlError(f"digit {j} is not in 0..{N_CLASSES - 1}")
    e = numpy.zeros((N_CLASSES, 1), dtype=numpy.float32)
    e[j] = 1.0
    return e


def one_hot(labels, n_classes: int = N_CLASSES):
    """Rows of one-hot targets (N, n_classes) for integer ``labels`` (N,)."""
    labels = numpy.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise NndlError(f"labels range over {labels.min()}..{labels.max()}, not 0..{n_classes - 1}")
    return numpy.eye(n_classes, dtype=numpy.float32)[labels]


def _columns(rows):
    """The rows of a 2-D array as a list of (n, 1) column vectors that are views of it."""
    rows = numpy.ascontiguousarray(rows)
    return list(rows.reshape(rows.shape[0], rows.shape[1], 1))
