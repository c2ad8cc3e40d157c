"""More training data from the data we have: expanded and randomly augmented images.

Chapter 6 of the book reaches 99.6% on MNIST partly by *expanding* the training set:
every image is joined by copies shifted one pixel up, down, left and right, so the
network sees 250,000 examples instead of 50,000.  Going further, Simard, Steinkraus &
Platt (2003) deformed each image anew every time it was shown — small rotations,
shifts and "elastic" distortions — so the network never sees the same example twice.

Both are *batch sources* (see :mod:`nndl.batches`): the trainer asks for ``len(source)``
and ``source.batch(idx, rng)``, and a source builds just those ``m`` examples.  Nothing
here copies the data set: :class:`ShiftExpanded` keeps a reference to the training
array and shifts the gathered rows; :class:`Augmented` draws fresh random transforms
for every mini-batch from the trainer's seeded generator, so the same seed gives the
same batches.

Everything is vectorized over the mini-batch (no Python loop over examples):

* integer shifts copy the batch into a zero-padded buffer and pick each image's
  shifted window from a strided view in one advanced index (:func:`shift_images`);
* rotations, scalings and elastic distortions compute, for every output pixel, the
  point of the input image it comes from, and read the input there with a batched
  bilinear sampler (:func:`bilinear_sample`);
* the elastic displacement fields are smoothed by a separable Gaussian filter, written
  as two small matrix products (:func:`gaussian_smooth`).

The package has three modules: :mod:`~nndl.augment.images` (the image
operations), :mod:`~nndl.augment.transforms` (random transforms and ``--augment`` specs) and
:mod:`~nndl.augment.sources` (the batch sources).  Images are handled as ``(m, C, H, W)`` batches: examples, channels, rows, columns, row
0 at the top.  A shift ``(dy, dx)`` moves the picture ``dy`` pixels down and ``dx``
pixels right; a positive rotation turns it counter-clockwise as displayed (as
``numpy.rot90`` does).

The command line builds sources with :func:`make_source` from ``--expand`` and
``--augment SPEC``, e.g. ``--augment "shift(2)+rotate(8)"``; see :func:`parse_augment`.
"""
from nndl.augment.images import (
                                  bilinear_sample,
                                  elastic_distort,
                                  elastic_field,
                                  gaussian_kernel,
                                  gaussian_smooth,
                                  image_shape_of,
                                  rotate,
                                  shift_images,
)
from nndl.augment.sources import Augmented, ShiftExpanded, make_source
from nndl.augment.transforms import (
                                  Compose,
                                  ElasticDistortion,
                                  RandomRotation,
                                  RandomShift,
                                  Transform,
                                  parse_augment,
)

__all__ = [
                                  "Augmented",
                                  "Compose",
                                  "ElasticDistortion",
                                  "RandomRotation",
                                  "RandomShift",
                                  "ShiftExpanded",
                                  "Transform",
                                  "bilinear_sample",
                                  "elastic_distort",
                                  "elastic_field",
                                  "gaussian_kernel",
                                  "gaussian_smooth",
                                  "image_shape_of",
                                  "make_source",
                                  "parse_augment",
                                  "rotate",
                                  "shift_images",
]
