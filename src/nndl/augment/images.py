"""Image operations on (m, C, H, W) batches: integer shifts, bilinear sampling, rotation,
Gaussian smoothing and elastic distortion fields (see :mod:`nndl.augment`)."""
from __future__ import annotations

import functools

import numpy

from nndl.backend import FLOAT, to_device, xp
from nndl.errors import NndlError


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
