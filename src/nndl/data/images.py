"""Turn a photo or drawing of a digit into an MNIST-style 28x28 input.

MNIST digits were prepared this way (LeCun et al.): the digit, white ink on black,
is scaled to fit a 20x20 box keeping its aspect ratio (anti-aliased, hence grey
edges), then placed in a 28x28 field so that the centre of mass of its pixels is at
the centre of the field.  A network trained on MNIST only recognises digits prepared
the same way, so :func:`load_digit_image` repeats those steps:

1. grey scale (transparent areas count as white paper), values in [0, 1];
2. ink polarity: if the border is light (dark ink on paper), invert;
3. background level (the border's median) to 0, darkest ink to 1; values below
   :data:`INK_THRESHOLD` are background noise and set to 0;
4. crop to the bounding box of the ink;
5. scale to fit 20x20, keeping the aspect ratio (anti-aliased bilinear, which
   unlike Lanczos adds no ringing around the strokes);
6. paste into a black 28x28 canvas with the centre of mass at pixel (14, 14)
   (row, column; shifted by whole pixels).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nndl.errors import NndlError

SIZE = 28  #: side of the output image
BOX = 20  #: side of the box the digit is scaled into
CENTRE = 14  #: row and column of the centre of mass in the output (as in MNIST)
INK_THRESHOLD = 0.15  #: normalised values below this are background


def _open_grey(path: Path) -> np.ndarray:
    """Read an image file as grey levels in [0, 1] (float64), alpha composited onto white."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise NndlError("reading images needs Pillow: pip install nndl[images]") from None
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                image = image.convert("RGBA")
                paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(paper, image)
            grey = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    except FileNotFoundError:
        raise NndlError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise NndlError(f"{path}: not an image Pillow can read (PNG, JPEG, ...)") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NndlError(f"{path}: cannot read the image ({exc})") from None
    return grey


def _normalise(grey: np.ndarray, path: Path) -> np.ndarray:
    """White ink on black, background 0, strongest ink 1, faint noise cut to 0."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if background > 0.5:  # light paper: invert so the ink is white on black, as in MNIST
        grey, background = 1.0 - grey, 1.0 - background
    ink = grey - background
    peak = float(ink.max())
    if peak < INK_THRESHOLD:
        raise NndlError(f"{path}: no digit found, the image is blank")
    ink = np.clip(ink / peak, 0.0, 1.0)
    ink[ink < INK_THRESHOLD] = 0.0
    return ink


def _crop(ink: np.ndarray) -> np.ndarray:
    """The bounding box of the non-zero pixels."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Scale so the longer side is :data:`BOX` pixels, keeping the aspect ratio (anti-aliased bilinear)."""
    from PIL import Image

    h, w = ink.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow wants (width, height)
    small = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(small, dtype=np.float64), 0.0, 1.0)


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste ``digit`` into a black SIZE x SIZE canvas with its centre of mass at (CENTRE, CENTRE).

    The shift is rounded to whole pixels (as for MNIST) and clamped so the digit
    stays entirely inside the canvas.
    """
    h, w = digit.shape
    mass = digit.sum()
    row = (digit.sum(axis=1) @ np.arange(h)) / mass
    col = (digit.sum(axis=0) @ np.arange(w)) / mass
    top = int(np.clip(round(CENTRE - row), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - col), 0, SIZE - w))
    canvas = np.zeros((SIZE, SIZE))
    canvas[top:top + h, left:left + w] = digit
    return canvas


def load_digit_image(path) -> np.ndarray:
    """Read a PNG/JPEG/... image of one digit and prepare it like an MNIST digit.

    Parameters
    ----------
    path : str or Path
        An image of a single handwritten digit, dark on light or light on dark.

    Returns
    -------
    numpy.ndarray
        Shape ``(784,)``, float32 in [0, 1]: the 28x28 digit, white on black, row by row.

    Raises
    ------
    NndlError
        If Pillow is missing, the file cannot be read as an image, or it is blank.
    """
    path = Path(path)
    ink = _normalise(_open_grey(path), path)
    digit = _fit_box(_crop(ink))
    if not digit.sum() > 0:  # pragma: no cover - a non-blank crop keeps some ink
        raise NndlError(f"{path}: no digit found, the image is blank")
    return _centre(digit).astype(np.float32).reshape(SIZE * SIZE)


def load_digit_images(paths) -> np.ndarray:
    """Apply :func:`load_digit_image` to each path; return ``(N, 784)`` float32."""
    paths = list(paths)
    if not paths:
        raise NndlError("no image files given")
    return np.stack([load_digit_image(p) for p in paths])
