"""Images side by side in one picture: samples, filters, reconstructions.

:func:`tile` lays out ``n`` images of one shape in a grid with a one-pixel gap; :func:`save_png`
writes it as a grey-scale PNG (Pillow), atomically.  Values are scaled to [0, 1] per grid
(``scale="grid"``, for samples, which are already probabilities), or per image
(``scale="each"``, for filters, whose weights have no common range).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy

from nndl.errors import NndlError


def tile(images, shape=(28, 28), columns: int | None = None, gap: int = 1, scale: str = "grid") -> numpy.ndarray:
    """A 2-D float array in [0, 1]: ``images`` (rows of ``prod(shape)`` values) in a grid."""
    images = numpy.asarray(images, dtype=numpy.float64)
    h, w = shape
    if images.ndim < 2 or images[0].size != h * w:
        raise NndlError(f"images of {h}x{w} pixels are needed, got an array of shape {images.shape}")
    images = images.reshape(len(images), h, w)
    if scale == "each":
        low = images.min(axis=(1, 2), keepdims=True)
        span = images.max(axis=(1, 2), keepdims=True) - low
        images = (images - low) / numpy.where(span > 0, span, 1.0)
    elif scale == "grid":
        low, high = float(images.min()), float(images.max())
        if low < 0 or high > 1:
            images = (images - low) / (high - low if high > low else 1.0)
    else:
        raise NndlError(f"scale must be 'grid' or 'each', got {scale!r}")
    n = len(images)
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = numpy.ones((rows * (h + gap) + gap, columns * (w + gap) + gap))
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[gap + r * (h + gap): gap + r * (h + gap) + h, gap + c * (w + gap): gap + c * (w + gap) + w] = image
    return grid


def save_png(grid, path, zoom: int = 2) -> Path:
    """Write a [0, 1] grid as a PNG, dark ink on white (MNIST's pixels are ink), ``zoom`` pixels per value."""
    from PIL import Image

    from nndl.files import atomic_write

    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise NndlError(f"cannot write {path}: folder {folder} does not exist")
    pixels = numpy.round(255 * (1.0 - numpy.clip(grid, 0, 1))).astype(numpy.uint8)
    image = Image.fromarray(pixels, mode="L")
    if zoom > 1:
        image = image.resize((image.width * zoom, image.height * zoom), Image.NEAREST)
    with atomic_write(path) as f:
        image.save(f, format="PNG")
    return path
