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

Images are handled as ``(m, C, H, W)`` batches: examples, channels, rows, columns, row
0 at the top.  A shift ``(dy, dx)`` moves the picture ``dy`` pixels down and ``dx``
pixels right; a positive rotation turns it counter-clockwise as displayed (as
``numpy.rot90`` does).

The command line builds sources with :func:`make_source` from ``--expand`` and
``--augment SPEC``, e.g. ``--augment "shift(2)+rotate(8)"``; see :func:`parse_augment`.
"""
from __future__ import annotations

import functools
import math
import re

import numpy

from nndl.backend import FLOAT, to_device, xp
from nndl.errors import NndlError

__all__ = [
    "ShiftExpanded", "Augmented", "make_source", "parse_augment",
    "Transform", "Compose", "RandomShift", "RandomRotation", "ElasticDistortion",
    "shift_images", "rotate", "bilinear_sample", "gaussian_kernel", "gaussian_smooth",
    "elastic_field", "elastic_distort", "image_shape_of",
]


# -- image shapes ---------------------------------------------------------------------------------
def image_shape_of(shape, what: str = "the data") -> tuple[int, int, int]:
    """``shape`` as ``(C, H, W)``: a 2-D ``(H, W)`` gets one channel; NndlError if not image-like."""
    if shape is None:
        raise NndlError(f"augmentation needs image data (examples with an image shape like (1, 28, 28)); "
                        f"{what} is a table")
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise NndlError(f"augmentation needs image data; {what} has image shape {shape!r}") from None
    if len(shape) == 2:
        shape = (1,) + shape
    if len(shape) != 3 or shape[0] < 1 or shape[1] < 2 or shape[2] < 2:
        raise NndlError(f"augmentation needs image data (an image shape (channels, height, width) like "
                        f"(1, 28, 28)); {what} has image shape {shape}")
    return shape


def _as_batch(images):
    """``images`` as an (m, C, H, W) float array, and a function restoring the caller's layout."""
    images = xp.asarray(images)
    if images.dtype.kind != "f":
        images = images.astype(FLOAT)
    if images.ndim == 4:
        return images, lambda out: out
    if images.ndim == 3:
        return images[:, None], lambda out: out[:, 0]
    if images.ndim == 2:
        return images[None, None], lambda out: out[0, 0]
    raise NndlError(f"expected images of shape (m, C, H, W), (m, H, W) or (H, W), got shape {images.shape}")


# -- integer shifts ------------------------------------------------------------------------------
def _shift_batch(images, dy, dx, max_pixels: int, dtype):
    """Shift image ``j`` of an (m, C, H, W) batch by ``dy[j]`` rows and ``dx[j]`` columns, zero fill.

    The batch is copied into a zero-padded buffer (m, C, H+2p, W+2p); a strided view
    lists, for every image, its (2p+1)² windows of size H×W, and one advanced index
    picks window ``(p − dy_j, p − dx_j)`` of each image: ``out[j, c, r, k] =
    pad[j, c, r + p − dy_j, k + p − dx_j] = in[j, c, r − dy_j, k − dx_j]``.
    Three array operations for the whole batch, whatever the shifts.
    """
    m, c, h, w = images.shape
    p = int(max_pixels)
    pad = xp.zeros((m, c, h + 2 * p, w + 2 * p), dtype=dtype)
    pad[:, :, p:p + h, p:p + w] = images
    s0, s1, s2, s3 = pad.strides
    windows = xp.lib.stride_tricks.as_strided(
        pad, shape=(m, 2 * p + 1, 2 * p + 1, c, h, w), strides=(s0, s2, s3, s1, s2, s3))
    return windows[xp.arange(m), p - dy, p - dx]        # a copy: the overlapping view is only read


def shift_images(images, dy, dx):
    """Shift each image ``j`` by ``dy[j]`` pixels down and ``dx[j]`` right, with zero fill.

    ``out[j, c, r, k] = images[j, c, r − dy_j, k − dx_j]`` where that lies inside the
    image, else 0.  ``images`` is (m, C, H, W), (m, H, W) or one (H, W) image; ``dy`` and
    ``dx`` are integers or integer arrays of length m.  Vectorized over the batch.
    """
    batch, restore = _as_batch(images)
    m = len(batch)
    dy = numpy.broadcast_to(numpy.asarray(dy, dtype=numpy.int64), (m,))
    dx = numpy.broadcast_to(numpy.asarray(dx, dtype=numpy.int64), (m,))
    p = int(max(numpy.abs(dy).max(initial=0), numpy.abs(dx).max(initial=0)))
    return restore(_shift_batch(batch, to_device(dy), to_device(dx), p, batch.dtype))


# -- bilinear sampling ---------------------------------------------------------------------------
def bilinear_sample(images, rows, cols):
    """Read every image at fractional pixel positions, by bilinear interpolation, zero outside.

    ``images`` is (m, C, H, W); ``rows`` and ``cols`` are (m, H', W'): output pixel
    ``(j, i, k)`` reads image ``j`` at the point ``(y, x) = (rows[j,i,k], cols[j,i,k])``
    (row, column; need not be integers).  With ``r = ⌊y⌋``, ``c = ⌊x⌋``, ``u = y − r``,
    ``v = x − c`` and ``I`` the image, taken as 0 outside it:

        out = (1−u)·[(1−v)·I[r, c] + v·I[r, c+1]] + u·[(1−v)·I[r+1, c] + v·I[r+1, c+1]]

    — the plane through the four neighbours, exact at integer points, fading to 0 over
    the last pixel outside the edge (``scipy.ndimage.map_coordinates(order=1,
    mode="grid-constant")``).  The batch is padded with two rows and columns of zeros
    and the positions clipped into the pad, so the four reads are plain gathers with
    flat indices (no masks).  Returns (m, C, H', W') of the images' dtype, within the
    range of the input values and 0.
    """
    dtype = images.dtype if images.dtype.kind == "f" else FLOAT
    return _bilinear(xp.asarray(images, dtype=dtype), xp.stack([xp.asarray(rows, dtype=dtype),
                                                                xp.asarray(cols, dtype=dtype)]))


def _bilinear(images, coords):
    """:func:`bilinear_sample` with ``coords`` = (rows, cols) stacked, (2, m, H', W') of the images' dtype."""
    m, c, h, w = images.shape
    hp, wp = h + 4, w + 4
    padded = xp.zeros((m, c, hp, wp), dtype=images.dtype)
    padded[:, :, 2:-2, 2:-2] = images
    # Positions outside [-1, H] × [-1, W] read only zeros either way; clipping keeps the reads in the pad.
    limits = xp.asarray([h, w], dtype=coords.dtype).reshape((2,) + (1,) * (coords.ndim - 1))
    coords = xp.clip(coords, -1, limits)
    corner = xp.floor(coords)
    frac = coords - corner
    u, v = frac[0][:, None], frac[1][:, None]                          # (m, 1, H', W')
    # Flat index of the top-left neighbour in the padded batch: image j, channel c, row r+2, column k+2.
    i00 = (corner[0] * wp + corner[1]).astype(xp.intp)[:, None]
    i00 = i00 + (xp.arange(m * c) * (hp * wp) + 2 * wp + 2).reshape(m, c, 1, 1)
    flat = padded.reshape(-1)
    top, top_right = xp.take(flat, i00), xp.take(flat[1:], i00)
    bottom, bottom_right = xp.take(flat[wp:], i00), xp.take(flat[wp + 1:], i00)
    top_right -= top                      # top row interpolated along x: top + v·(top_right − top)
    top_right *= v
    top += top_right
    bottom_right -= bottom                # bottom row likewise
    bottom_right *= v
    bottom += bottom_right
    bottom -= top                         # and between the rows, along y
    bottom *= u
    top += bottom
    # Interpolation never leaves [min(I, 0), max(I, 0)]; clip away rounding by an ulp.
    if top.size:
        xp.clip(top, min(float(images.min()), 0.0), max(float(images.max()), 0.0), out=top)
    return top


@functools.lru_cache(maxsize=32)
def _centred_grid(h: int, w: int, dtype_name: str):
    """(3, H·W): the row and column of every pixel relative to the centre ((H−1)/2, (W−1)/2), and 1."""
    r, c = numpy.meshgrid(numpy.arange(h) - (h - 1) / 2.0, numpy.arange(w) - (w - 1) / 2.0, indexing="ij")
    return to_device(numpy.stack([r.ravel(), c.ravel(), numpy.ones(h * w)]), numpy.dtype(dtype_name))


@functools.lru_cache(maxsize=32)
def _pixel_grid(h: int, w: int, dtype_name: str):
    """(2, 1, H, W): the row and the column of every pixel."""
    r, c = numpy.meshgrid(numpy.arange(h), numpy.arange(w), indexing="ij")
    return to_device(numpy.stack([r, c])[:, None], numpy.dtype(dtype_name))


def _rotation_coords(m, h, w, degrees, scale, dtype):
    """(2, m, H, W): where each output pixel reads from, for rotations by ``degrees`` and scalings
    by ``scale`` — one small matrix product of the (2m, 3) affine coefficients and the (3, H·W) grid.
    """
    theta = numpy.deg2rad(numpy.broadcast_to(numpy.asarray(degrees, dtype=numpy.float64), (m,)))
    s = numpy.broadcast_to(numpy.asarray(scale, dtype=numpy.float64), (m,))
    cos, sin = numpy.cos(theta) / s, numpy.sin(theta) / s
    cy, cx = numpy.full(m, (h - 1) / 2.0), numpy.full(m, (w - 1) / 2.0)
    coef = numpy.concatenate([numpy.stack([cos, sin, cy], axis=1),        # y_in = cy + y cos + x sin
                              numpy.stack([-sin, cos, cx], axis=1)])      # x_in = cx − y sin + x cos
    coords = to_device(coef, dtype) @ _centred_grid(h, w, numpy.dtype(dtype).name)
    return coords.reshape(2, m, h, w)


def rotate(images, degrees, scale=1.0):
    """Rotate each image about its centre by ``degrees`` (counter-clockwise) and scale it.

    Output pixel ``(y, x)``, relative to the centre ``((H−1)/2, (W−1)/2)``, reads the
    input (bilinearly, zero outside) at the point it came from, the inverse map

        y_in = ( y·cos θ + x·sin θ) / s,    x_in = (−y·sin θ + x·cos θ) / s

    so ``rotate(img, 90)`` equals ``numpy.rot90(img)`` for a square image.  ``degrees``
    and ``scale`` are numbers or arrays of length m; ``images`` is (m, C, H, W),
    (m, H, W) or one (H, W) image.
    """
    batch, restore = _as_batch(images)
    m, _, h, w = batch.shape
    if numpy.any(numpy.asarray(scale) <= 0):
        raise NndlError(f"scale factors must be positive, got {scale}")
    return restore(_bilinear(batch, _rotation_coords(m, h, w, degrees, scale, batch.dtype)))


# -- Gaussian smoothing and elastic fields -----------------------------------------------------
def gaussian_kernel(sigma: float, truncate: float = 4.0) -> numpy.ndarray:
    """The normalized 1-D Gaussian ``g_k ∝ exp(−k² / 2σ²)``, ``k = −R..R``, ``R = ⌊truncate·σ + ½⌋``."""
    radius = int(truncate * float(sigma) + 0.5)
    k = numpy.arange(-radius, radius + 1, dtype=numpy.float64)
    g = numpy.exp(-0.5 * (k / float(sigma)) ** 2)
    return g / g.sum()


def _reflect(i, n: int):
    """Index ``i`` reflected into ``0..n−1`` about the edges (``d c b a | a b c d | d c b a``)."""
    i = numpy.mod(i, 2 * n)
    return numpy.where(i >= n, 2 * n - 1 - i, i)


@functools.lru_cache(maxsize=32)
def _smoothing_matrix(n: int, sigma: float, dtype_name: str):
    """The (n, n) matrix of 1-D Gaussian smoothing along an axis of length n, edges reflected."""
    g = gaussian_kernel(sigma)
    radius = len(g) // 2
    rows = numpy.repeat(numpy.arange(n), len(g))
    cols = _reflect(rows + numpy.tile(numpy.arange(-radius, radius + 1), n), n)
    matrix = numpy.zeros((n, n))
    numpy.add.at(matrix, (rows, cols), numpy.tile(g, n))
    return to_device(matrix, numpy.dtype(dtype_name))


def gaussian_smooth(fields, sigma: float):
    """Smooth each 2-D field of ``fields`` (..., H, W) by a Gaussian of std ``sigma`` pixels.

    The 2-D Gaussian is separable, ``G(y, x) = g(y)·g(x)``, so the filter is a 1-D
    convolution down the columns and one along the rows:
    ``out[i, k] = Σ_a Σ_b g_a g_b f[i+a, k+b]``, truncated at 4σ, with the field
    reflected at its edges (as ``scipy.ndimage.gaussian_filter`` in its default mode).
    Each 1-D convolution along an axis of length n is a fixed (n, n) matrix ``S``, so
    ``out = S_H · f · S_Wᵀ``: two small matrix products for the whole batch.
    """
    fields = xp.asarray(fields)
    if fields.dtype.kind != "f":
        fields = fields.astype(FLOAT)
    h, w = fields.shape[-2:]
    sh = _smoothing_matrix(h, float(sigma), fields.dtype.name)
    sw = _smoothing_matrix(w, float(sigma), fields.dtype.name)
    along_rows = (fields.reshape(-1, w) @ sw.T).reshape(fields.shape)       # smooth each row
    return xp.matmul(sh, along_rows)                                        # then each column


def _elastic_displacements(rng, m: int, h: int, w: int, alpha: float, sigma: float, dtype):
    """(2, m, H, W): the fields Δy, Δx of :func:`elastic_field`, stacked."""
    noise = to_device(rng.random((2, m, h, w), dtype=numpy.float32), dtype)
    field = gaussian_smooth(noise, sigma)
    field *= 2 * float(alpha)
    field -= float(alpha)
    return field


def elastic_field(rng, m: int, h: int, w: int, alpha: float, sigma: float, dtype=FLOAT):
    """Simard et al.'s random displacement fields ``(Δy, Δx)``, each (m, H, W).

    Every pixel draws ``Δx, Δy ~ U[−1, 1]`` independently; the fields are smoothed by a
    Gaussian of std ``σ`` pixels and scaled by ``α``:  ``Δ = α · (G_σ ∗ U)``.  Small σ
    gives nearly random (ragged) moves, large σ a nearly rigid shift; in between the
    image bends like rubber.  Drawn on the host from ``rng`` (so a seed fixes them).

    With ``U = 2V − 1``, ``V ~ U[0, 1]``, and a filter whose weights sum to 1,
    ``α·G∗U = 2α·(G∗V) − α``: the noise is smoothed as drawn and shifted afterwards.
    """
    field = _elastic_displacements(rng, m, h, w, alpha, sigma, dtype)
    return field[0], field[1]


def elastic_distort(images, dy, dx):
    """Move each pixel by a displacement field: ``out[j, :, y, x] = I_j(y + Δy[j,y,x], x + Δx[j,y,x])``.

    ``dy`` and ``dx`` are (m, H, W) (or (H, W) for one image); the image is read there by
    :func:`bilinear_sample`.
    """
    batch, restore = _as_batch(images)
    m, _, h, w = batch.shape
    field = xp.stack([xp.broadcast_to(xp.asarray(d, dtype=batch.dtype), (m, h, w)) for d in (dy, dx)])
    return restore(_bilinear(batch, field + _pixel_grid(h, w, batch.dtype.name)))


# -- random transforms ---------------------------------------------------------------------------
class Transform:
    """A random image transform: ``t(images, rng)`` maps an (m, C, H, W) batch to a new one.

    Random parameters are drawn from ``rng`` (a NumPy Generator, the trainer's), one
    set per example, so a seed fixes every batch.
    """

    name = "transform"

    def __call__(self, images, rng):  # pragma: no cover - interface
        raise NotImplementedError

    def args(self) -> tuple:
        return ()

    @property
    def spec(self) -> str:
        """The ``--augment`` spelling of this transform, e.g. ``"rotate(10)"``."""
        return f"{self.name}({','.join(f'{a:g}' for a in self.args())})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{a:g}' for a in self.args())})"


class Compose(Transform):
    """Apply transforms in order: ``Compose([RandomShift(2), RandomRotation(8)])``."""

    def __init__(self, transforms):
        self.transforms = list(_flatten(transforms))

    def __call__(self, images, rng):
        for t in self.transforms:
            images = t(images, rng)
        return images

    @property
    def spec(self) -> str:
        return "+".join(getattr(t, "spec", None) or repr(t) for t in self.transforms)

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


def _flatten(transforms):
    if transforms is None:
        return
    if isinstance(transforms, Compose):
        yield from transforms.transforms
    elif isinstance(transforms, str):
        yield from parse_augment(transforms).transforms
    elif callable(transforms):
        yield transforms
    else:
        for t in transforms:
            yield from _flatten(t)


def _number(value, what: str, low: float = 0.0, integer: bool = False, strict: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise NndlError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value < low or (strict and value == low):
        raise NndlError(f"{what} must be {'>' if strict else '≥'} {low:g}, got {value:g}")
    if integer and value != int(value):
        raise NndlError(f"{what} must be a whole number of pixels, got {value:g}")
    return value


class RandomShift(Transform):
    """Shift each image by whole pixels ``dy, dx`` drawn uniformly from ``−p..p`` (zero fill).

    Vectorized over the batch by :func:`_shift_batch`.
    """

    name = "shift"

    def __init__(self, max_pixels: int = 2):
        self.max_pixels = int(_number(max_pixels, "shift: max_pixels", integer=True))

    def args(self):
        return (self.max_pixels,)

    def __call__(self, images, rng):
        m = len(images)
        p = self.max_pixels
        if p == 0 or m == 0:
            return images
        d = to_device(rng.integers(-p, p + 1, size=(2, m)))
        return _shift_batch(images, d[0], d[1], p, images.dtype)


class RandomRotation(Transform):
    """Rotate each image by an angle uniform in ``[−max_degrees, max_degrees]`` about its centre,
    and (if ``max_scale`` > 0) scale it by a factor uniform in ``[1 − max_scale, 1 + max_scale]``.

    See :func:`rotate` for the map; bilinear, zero outside.
    """

    name = "rotate"

    def __init__(self, max_degrees: float = 10.0, max_scale: float = 0.0):
        self.max_degrees = _number(max_degrees, "rotate: max_degrees")
        if self.max_degrees > 180:
            raise NndlError(f"rotate: max_degrees must be at most 180, got {self.max_degrees:g}")
        self.max_scale = _number(max_scale, "rotate: max_scale")
        if self.max_scale >= 1:
            raise NndlError(f"rotate: max_scale must be below 1 (a scale factor 1 ± max_scale), "
                            f"got {self.max_scale:g}")

    def args(self):
        return (self.max_degrees, self.max_scale) if self.max_scale else (self.max_degrees,)

    def __call__(self, images, rng):
        m, _, h, w = images.shape
        if m == 0:
            return images
        degrees = rng.uniform(-self.max_degrees, self.max_degrees, size=m)
        scale = rng.uniform(1 - self.max_scale, 1 + self.max_scale, size=m) if self.max_scale else 1.0
        return _bilinear(images, _rotation_coords(m, h, w, degrees, scale, images.dtype))


class ElasticDistortion(Transform):
    """Simard, Steinkraus & Platt's (2003) elastic distortion, a new random field per image.

    Each pixel moves by ``Δ = α·(G_σ ∗ U)``, a field of ``U[−1, 1]`` noise smoothed by a
    Gaussian of std σ and scaled by α (:func:`elastic_field`); the image is read at the
    displaced positions by bilinear interpolation (:func:`elastic_distort`).

    Defaults α = 34, σ = 5.  The paper's MNIST values are α ≈ 34, σ ≈ 4; with this
    module's field (smoothed with reflected edges, so it does not fade towards the
    border) α = 34, σ = 4 moves pixels by 2.5 pixels RMS (99th percentile 5.7) and
    bends some digits towards other classes (a 7 curling into a 9).  σ = 5 gives
    2.1 pixels RMS (99th percentile 4.8): strokes bend and wobble visibly, and of
    200 distorted training digits looked at, all but a handful of already sloppy
    ones stayed easy to read.  Larger α/σ distorts more; σ below about 3 makes
    strokes ragged.
    """

    name = "elastic"

    def __init__(self, alpha: float = 34.0, sigma: float = 5.0):
        self.alpha = _number(alpha, "elastic: alpha")
        self.sigma = _number(sigma, "elastic: sigma", strict=True)

    def args(self):
        return (self.alpha, self.sigma)

    def __call__(self, images, rng):
        m, _, h, w = images.shape
        if m == 0 or self.alpha == 0:
            return images
        field = _elastic_displacements(rng, m, h, w, self.alpha, self.sigma, images.dtype)
        field += _pixel_grid(h, w, images.dtype.name)
        return _bilinear(images, field)


#: ``--augment`` names: transform class, most arguments, usage.
TRANSFORMS = {
    "shift": (RandomShift, 1, "shift(max_pixels=2)"),
    "rotate": (RandomRotation, 2, "rotate(max_degrees=10, max_scale=0)"),
    "elastic": (ElasticDistortion, 2, "elastic(alpha=34, sigma=5)"),
}

_TERM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def parse_augment(spec: str) -> Compose:
    """Parse an ``--augment`` value into a :class:`Compose` of transforms.

    ``spec`` is terms joined by ``+``; a term is a name with optional numeric arguments
    in parentheses: ``"shift(2)"``, ``"rotate(10)"``, ``"rotate(10, 0.1)"`` (degrees,
    scale), ``"elastic"`` or ``"elastic(34,4)"`` (α, σ), ``"shift(2)+rotate(8)"``.

    Raises
    ------
    NndlError
        For an empty spec, an unknown name (the message lists the valid ones), a
        malformed term, too many arguments, or a bad value (e.g. negative).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise NndlError(f"empty augmentation {spec!r}; use e.g. 'shift(2)', 'rotate(10)' or 'elastic'")
    valid = ", ".join(usage for _, _, usage in TRANSFORMS.values())
    transforms = []
    for term in spec.split("+"):
        match = _TERM.match(term)
        if match is None:
            raise NndlError(f"cannot read augmentation {term.strip()!r} in {spec!r}; write name(number, ...), "
                            f"one of {valid}, joined by '+'")
        name, arg_text = match.group(1).lower(), match.group(2)
        if name not in TRANSFORMS:
            raise NndlError(f"unknown augmentation {name!r}; choose from {valid}")
        cls, max_args, usage = TRANSFORMS[name]
        args = []
        if arg_text is not None and arg_text.strip():
            for a in arg_text.split(","):
                try:
                    value = float(a)
                except ValueError:
                    raise NndlError(f"augmentation {term.strip()!r}: {a.strip()!r} is not a number") from None
                args.append(value)
        if len(args) > max_args:
            raise NndlError(f"augmentation {term.strip()!r}: too many arguments; usage {usage}")
        transforms.append(cls(*args))
    return Compose(transforms)


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
