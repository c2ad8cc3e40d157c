"""Turn a photo or drawing of a digit into an MNIST-style 28x28 input.

MNIST digits were prepared this way (LeCun et al.): the digit, white ink on black,
is scaled to fit a 20x20 box keeping its aspect ratio (anti-aliased, hence grey
edges), then placed in a 28x28 field so that the centre of mass of its pixels is at
the centre of the field.  A network trained on MNIST only recognises digits prepared
the same way, so :func:`load_digit_image` repeats those steps:

1. grey scale (transparent areas count as white paper), values in [0, 1]; an image
   of more than :data:`WORK_SIDE` pixels on its longer side is first reduced by a whole
   factor (box averages), and one of more than :data:`MAX_PIXELS` is refused unread;
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

import io
import os
import struct
import warnings
from pathlib import Path

import numpy as np

from nndl.errors import NndlError

SIZE = 28  #: side of the output image
BOX = 20  #: side of the box the digit is scaled into
CENTRE = 14  #: row and column of the centre of mass in the output (as in MNIST)
INK_THRESHOLD = 0.15  #: normalised values below this are background
#: Most pixels decoded from one file: 4096 x 4096 holds any phone photo (12 Mpx); a bigger size in
#: a header is refused before a single pixel is decoded (a 200 kB PNG can claim gigapixels).
MAX_PIXELS = 4096 * 4096
#: Largest image file read, in bytes: twice 4096 x 4096 RGBA pixels stored uncompressed.
MAX_IMAGE_BYTES = 128 << 20
#: Longer side, in pixels, an image is first reduced to (by a whole factor, averaging boxes of
#: pixels) when it is bigger: the digit ends up 20 pixels high, and the float work stays small.
WORK_SIDE = 1024

#: The image formats read: photos and drawings of digits come in these.  Pillow's other
#: plugins are left out: EPS runs Ghostscript, and the rare formats add decoders to attack.
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "PPM", "ICO", "TGA")

# What Pillow's decoders raise for broken files besides OSError (its UnidentifiedImageError,
# "image file is truncated", ...): bad values or modes, "broken PNG file" (SyntaxError), short
# headers (struct.error, EOFError), bad tables (IndexError, KeyError), codec arithmetic.
_DECODER_ERRORS = (OSError, ValueError, SyntaxError, struct.error, EOFError, IndexError, KeyError,
                   TypeError, ZeroDivisionError, OverflowError, MemoryError)


def _pillow():
    """The ``PIL.Image`` module, or NndlError saying how to install Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise NndlError("reading images needs Pillow: pip install nndl[images]") from None
    return Image


def _check_size(image, path: Path) -> None:
    """Refuse an image whose header claims no pixels or more than :data:`MAX_PIXELS`."""
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise NndlError(f"{path}: the image is {width}x{height} pixels; nndl reads images of 1 to "
                        f"{MAX_PIXELS} pixels (4096x4096)")


def _reduced(image):
    """``image`` (mode L or RGBA) reduced by a whole factor so that its longer side is at most
    :data:`WORK_SIDE` (each output pixel the mean of a box of input pixels); unchanged if it fits."""
    factor = -(-max(image.size) // WORK_SIDE)  # ceiling division
    return image.reduce(factor) if factor > 1 else image


def _grey_on_white(image):
    """A loaded Pillow image as grey levels (mode L), transparent areas composited onto white."""
    Image = _pillow()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = _reduced(image.convert("RGBA"))
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image)
    return _reduced(image.convert("L"))


def _read_file(path: Path) -> io.BytesIO:
    """The file's bytes (at most :data:`MAX_IMAGE_BYTES`) as an in-memory file for Pillow.

    Pillow skips a chunk by reading as many bytes as the chunk's header claims; from a real
    file that allocates the whole claim (up to 4 GB) before reading, from memory it returns
    only the bytes there are.
    """
    with open(path, "rb") as f:
        data = f.read(min(os.fstat(f.fileno()).st_size, MAX_IMAGE_BYTES) + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise NndlError(f"{path}: more than {MAX_IMAGE_BYTES} bytes; nndl reads image files of up to "
                        f"{MAX_IMAGE_BYTES >> 20} MB")
    return io.BytesIO(data)


def _open_grey(path: Path, data: bytes | None = None) -> np.ndarray:
    """Read an image file as grey levels in [0, 1] (float64), alpha composited onto white.

    The size in the header is checked (:func:`_check_size`) before the pixels are
    decoded; Pillow's warnings about metadata are silenced, its decompression-bomb
    warning is an error, and whatever its decoders raise for a broken file becomes one
    NndlError line naming the file.
    """
    Image = _pillow()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Corrupt EXIF data", "Tag data larger than file", ...
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = _read_file(path) if data is None else io.BytesIO(data)
            with Image.open(source, formats=IMAGE_FORMATS) as image:
                _check_size(image, path)
                image.load()
                grey = _grey_on_white(image)
    except NndlError:  # a ValueError, but already the one line to show
        raise
    except FileNotFoundError:
        raise NndlError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NndlError(f"{path}: is a folder, not an image") from None
    except Image.UnidentifiedImageError:
        raise NndlError(f"{path}: not an image nndl reads ({', '.join(IMAGE_FORMATS[:6])}, ...)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NndlError(f"{path}: the image claims more than {MAX_PIXELS} pixels (4096x4096), the most "
                        f"nndl reads") from None
    except _DECODER_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise NndlError(f"{path}: cannot read the image ({reason[:200]})") from None
    return np.asarray(grey, dtype=np.float64) / 255.0


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
    return _prepared(_open_grey(path), path)


def load_digit_bytes(data: bytes, name: str = "the upload") -> np.ndarray:
    """:func:`load_digit_image` for the bytes of an image file (an upload), errors naming ``name``.

    At most :data:`MAX_IMAGE_BYTES` bytes and :data:`MAX_PIXELS` pixels, as for files.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise NndlError(f"{name}: more than {MAX_IMAGE_BYTES} bytes; nndl reads image files of up to "
                        f"{MAX_IMAGE_BYTES >> 20} MB")
    return _prepared(_open_grey(Path(name), bytes(data)), name)


def _prepared(grey: np.ndarray, path) -> np.ndarray:
    """Steps 2-6 on grey levels in [0, 1]: the (784,) float32 MNIST-style digit."""
    ink = _normalise(grey, path)
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
