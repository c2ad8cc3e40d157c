"""Batch sources of images: the book's expanded set and random augmentation per mini-batch."""
from __future__ import annotations

import numpy

from nndl.augment.images import _shift_batch, image_shape_of
from nndl.augment.transforms import Compose, parse_augment
from nndl.backend import FLOAT, to_device, xp
from nndl.errors import NndlError


# -- batch sources -------------------------------------------------------------------------------
class _ImageSource:
    """Shared parts of the image sources: data as (N, C·H·W) rows, output shaping, index checks."""

    def __init__(self, x, y, image_shape=(1, 28, 28), dtype=FLOAT, flat: bool = True):
        self.image_shape = image_shape_of(image_shape)
        x, y = to_device(x), to_device(y)      # references, not copies (NumPy backend)
        if len(x) != len(y):
            raise NndlError(f"{len(x)} examples but {len(y)} labels")
        if len(x) == 0:
            raise NndlError("the training data are empty")
        features = int(numpy.prod(x.shape[1:]))
        if features != int(numpy.prod(self.image_shape)):
            raise NndlError(f"examples of shape {tuple(x.shape[1:])} are not images of shape {self.image_shape}")
        self.x, self.y = x, y           # never written to, never copied
        self._rows = self.x.reshape(len(self.x), features)    # a view of the same memory
        self.dtype = numpy.dtype(dtype)
        self.flat = bool(flat)
        self.n = len(self.x)

    def _output(self, images):
        m = len(images)
        return images.reshape((m, -1) if self.flat else (m,) + self.image_shape)

    def _indices(self, idx):
        idx = xp.asarray(idx)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise NndlError(f"batch indices must be a 1-D integer array, got shape {idx.shape} of {idx.dtype}")
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise NndlError(f"batch indices range over {int(idx.min())}..{int(idx.max())} but the source "
                            f"has {len(self)} examples")
        return idx.astype(xp.intp, copy=False)

    def images(self, idx):
        """Examples ``idx`` as an (m, C, H, W) batch of ``dtype`` (before any random transform)."""
        idx = self._indices(idx)
        return self._rows[idx].astype(self.dtype, copy=False).reshape((len(idx),) + self.image_shape)

    def labels(self, idx):
        return self.y[xp.asarray(idx) % self.n]

    def __len__(self) -> int:
        return self.n


class ShiftExpanded(_ImageSource):
    """The book's expanded MNIST: each image plus its four one-pixel shifts, 5N examples.

    Example ``i`` is image ``i mod N`` shifted by :attr:`SHIFTS` ``[i // N]``: unshifted,
    then down, up, right and left by one pixel with a zero row or column filling the
    gap — the order of the book's ``expand_mnist.py`` (``np.roll`` by ±1 along rows,
    then columns, zeroing the wrapped line).  Nothing is materialized: the source holds
    a reference to ``x``, and :meth:`batch` gathers the m base images and shifts them
    all at once (:func:`_shift_batch`: a padded copy of the batch and one strided gather).

    Parameters
    ----------
    x : array (N, C·H·W) or (N, C, H, W)
        Training images (not copied, not written).
    y : array (N,)
        Integer labels.
    image_shape : tuple
        ``(C, H, W)`` (or ``(H, W)``).
    dtype : numpy dtype
        Of the batches (the network's).
    flat : bool
        Batches as (m, C·H·W) rows (dense nets) or (m, C, H, W) images (conv nets).
    """

    #: (dy, dx) of the five copies: none, down, up, right, left.
    SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))

    def __init__(self, x, y, image_shape=(1, 28, 28), dtype=FLOAT, flat: bool = True):
        super().__init__(x, y, image_shape, dtype, flat)
        shifts = numpy.array(self.SHIFTS)
        self._dy, self._dx = to_device(shifts[:, 0]), to_device(shifts[:, 1])

    def __len__(self) -> int:
        return len(self.SHIFTS) * self.n

    def images(self, idx):
        idx = self._indices(idx)
        kind = idx // self.n
        base = self._rows[idx % self.n].reshape((len(idx),) + self.image_shape)
        return _shift_batch(base, self._dy[kind], self._dx[kind], 1, self.dtype)

    def batch(self, idx, rng=None):
        """Examples ``idx`` (each in ``0..5N−1``) as (inputs, labels)."""
        return self._output(self.images(idx)), self.labels(idx)

    def __repr__(self) -> str:
        return f"ShiftExpanded({self.n} images x {len(self.SHIFTS)} shifts, {self.image_shape})"


class Augmented(_ImageSource):
    """Images transformed at random, afresh for every mini-batch.

    ``batch(idx, rng)`` gathers examples ``idx`` (of the plain set, or of the
    5N-example :class:`ShiftExpanded` set if ``expand``) and applies ``transforms`` in
    order, drawing their random parameters from ``rng`` — the trainer's seeded
    generator — so the same seed replays the same batches and a different seed gives
    different ones.

    Parameters
    ----------
    x, y, image_shape, dtype, flat
        As for :class:`ShiftExpanded`.
    transforms : Transform, list of transforms, or str
        E.g. ``[RandomShift(2), RandomRotation(8)]`` or ``"shift(2)+rotate(8)"``.
    expand : bool
        Augment the expanded set (5N examples) instead of the N images.
    seed : int, optional
        Seeds a generator of the source's own, used when ``batch`` gets no ``rng``.
    """

    def __init__(self, x, y, transforms, image_shape=(1, 28, 28), dtype=FLOAT, flat: bool = True,
                 expand: bool = False, seed=None):
        super().__init__(x, y, image_shape, dtype, flat)
        self.transform = Compose(transforms)
        self.base = ShiftExpanded(self.x, self.y, self.image_shape, dtype, flat) if expand else None
        self.rng = numpy.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.base) if self.base is not None else self.n

    def images(self, idx, rng=None):
        """Examples ``idx`` transformed at random, an (m, C, H, W) batch."""
        plain = self.base.images(idx) if self.base is not None else super().images(idx)
        return self.transform(plain, self.rng if rng is None else rng)

    def batch(self, idx, rng=None):
        """Examples ``idx`` transformed with parameters drawn from ``rng``, as (inputs, labels)."""
        return self._output(self.images(idx, rng)), self.labels(idx)

    def __repr__(self) -> str:
        expanded = " of the expanded set" if self.base is not None else ""
        return f"Augmented({self.transform.spec or 'nothing'}{expanded}, {len(self)} examples)"


def make_source(train, network, expand: bool = False, augment=None):
    """The batch source for ``--expand`` / ``--augment``: what the trainer draws mini-batches from.

    Parameters
    ----------
    train : Dataset
        The training part; must hold images (``image_shape``, e.g. (1, 28, 28)).
    network : Network
        Fixes the batches' dtype and shape: rows for an input shape ``(C·H·W,)``,
        images for ``(C, H, W)``.
    expand : bool
        The book's expanded set (:class:`ShiftExpanded`, 5N examples).
    augment : str, Transform or list, optional
        Random augmentation per mini-batch (:class:`Augmented`), e.g. ``"shift(2)+rotate(8)"``
        (see :func:`parse_augment`); on top of the expanded set if ``expand``.

    Raises
    ------
    NndlError
        If the data are not images, do not fit the network's input, or ``augment``
        does not parse.
    """
    name = getattr(train, "name", "the training data")
    shape = image_shape_of(getattr(train, "image_shape", None), name)
    size = int(numpy.prod(shape))
    input_shape = tuple(int(d) for d in network.input_shape)
    if input_shape == (size,):
        flat = True
    elif input_shape == shape:
        flat = False
    else:
        raise NndlError(f"{name} holds images of shape {shape} but the network expects inputs of shape "
                        f"{input_shape}")
    transforms = None
    if augment is not None and not (isinstance(augment, str) and not augment.strip()):
        transforms = parse_augment(augment) if isinstance(augment, str) else Compose(augment)
    if transforms is None:
        if expand:
            return ShiftExpanded(train.x, train.y, shape, network.dtype, flat)
        return Augmented(train.x, train.y, [], shape, network.dtype, flat)
    return Augmented(train.x, train.y, transforms, shape, network.dtype, flat, expand=bool(expand))
