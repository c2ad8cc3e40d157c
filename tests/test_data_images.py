"""User digit images prepared like MNIST digits: white on black, 20x20 box, centred by mass."""
from __future__ import annotations

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image, ImageDraw  # noqa: E402

from nndl.data import load_digit_image, load_digit_images  # noqa: E402
from nndl.errors import NndlError  # noqa: E402


def draw_seven(ink=0, paper=255, size=(60, 100), mode="L"):
    """A thick '7' in the upper-left part of a (width, height) image."""
    image = Image.new(mode, size, paper)
    pen = ImageDraw.Draw(image)
    pen.line([(5, 8), (38, 8), (18, 70)], fill=ink, width=7)
    return image


def centre_of_mass(a):
    rows, cols = np.arange(a.shape[0]), np.arange(a.shape[1])
    return (a.sum(axis=1) @ rows) / a.sum(), (a.sum(axis=0) @ cols) / a.sum()


def bounding_box(a):
    r, c = np.nonzero(a)
    return r.max() - r.min() + 1, c.max() - c.min() + 1


@pytest.fixture
def seven_png(tmp_path):
    path = tmp_path / "seven.png"
    draw_seven().save(path)
    return path


def test_digit_is_prepared_like_mnist(seven_png):
    x = load_digit_image(seven_png)
    assert x.shape == (784,) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() <= 1.0 and x.max() > 0.9
    a = x.reshape(28, 28)
    # White ink on black: the background (corners, border) is 0, the ink bright.
    assert a[0].max() == 0 and a[-1].max() == 0 and a[:, 0].max() == 0 and a[:, -1].max() == 0
    assert (a > 0.5).sum() > 30
    h, w = bounding_box(a)
    assert max(h, w) == 20 and min(h, w) < 20  # longer side fills the 20x20 box, aspect kept
    row, col = centre_of_mass(a)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_polarity_does_not_matter(seven_png, tmp_path):
    inverted = tmp_path / "seven-inverted.png"
    draw_seven(ink=255, paper=0).save(inverted)
    np.testing.assert_allclose(load_digit_image(inverted), load_digit_image(seven_png), atol=1e-6)


def test_colour_jpeg_and_transparent_png(seven_png, tmp_path):
    expected = load_digit_image(seven_png)
    jpeg = tmp_path / "seven.jpg"
    draw_seven(ink=(20, 20, 120), paper=(250, 245, 230), mode="RGB").save(jpeg, quality=95)
    a = load_digit_image(jpeg)
    assert np.abs(a - expected).mean() < 0.05
    clear = tmp_path / "seven-alpha.png"
    draw_seven(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA").save(clear)  # black on transparent
    np.testing.assert_allclose(load_digit_image(clear), expected, atol=1e-6)


def test_small_and_wide_images(tmp_path):
    small = Image.new("L", (12, 9), 255)
    ImageDraw.Draw(small).line([(2, 4), (9, 4)], fill=0, width=2)  # a dash: wider than high
    path = tmp_path / "dash.png"
    small.save(path)
    a = load_digit_image(path).reshape(28, 28)
    h, w = bounding_box(a)
    assert w == 20 and h < 10
    row, col = centre_of_mass(a)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_several_images(seven_png):
    x = load_digit_images([seven_png, seven_png])
    assert x.shape == (2, 784) and x.dtype == np.float32
    with pytest.raises(NndlError, match="no image files"):
        load_digit_images([])


def test_non_image_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(NndlError, match=r"notes\.png: not an image"):
        load_digit_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(NndlError, match=r"gone\.png: no such file"):
        load_digit_image(tmp_path / "gone.png")


@pytest.mark.parametrize("level", [0, 128, 255])
def test_blank_image(tmp_path, level):
    path = tmp_path / "blank.png"
    Image.new("L", (40, 40), level).save(path)
    with pytest.raises(NndlError, match=r"blank\.png: no digit found, the image is blank"):
        load_digit_image(path)


def test_pillow_missing(seven_png, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `import PIL` fail
    with pytest.raises(NndlError, match=r"pip install nndl\[images\]"):
        load_digit_image(seven_png)


# -- bounds and broken files ---------------------------------------------------------------------
def png_claiming(width, height):
    """A tiny PNG file whose header claims ``width`` x ``height`` grey pixels (its data are short)."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(1 << 16)))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("width, height", [(4097, 4096), (10000, 9000), (20000, 20000), (2**31 - 1, 1)])
def test_pixel_count_is_checked_before_decoding(tmp_path, width, height):
    """Beyond 4096x4096 (ours), and beyond Pillow's own bomb warning and error: all one line, no decoding."""
    import tracemalloc
    import warnings

    path = tmp_path / "huge.png"
    path.write_bytes(png_claiming(width, height))
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(NndlError, match=r"huge\.png: the image (is \d+x\d+ pixels|claims more than)") as err:
                load_digit_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "\n" not in str(err.value)
    assert peak < 16 << 20


def test_large_image_is_reduced_by_box_averages(tmp_path):
    """A 1200x2000 image (reduced by 2 to fit 1024) gives exactly what the same drawing at 600x1000 gives."""
    small = draw_seven(size=(60, 100))
    big, half = tmp_path / "big.png", tmp_path / "half.png"
    small.resize((1200, 2000), Image.Resampling.NEAREST).save(big)
    small.resize((600, 1000), Image.Resampling.NEAREST).save(half)
    np.testing.assert_array_equal(load_digit_image(big), load_digit_image(half))


def test_the_largest_image_loads_in_bounded_memory(tmp_path):
    import tracemalloc

    path = tmp_path / "photo.png"
    draw_seven(size=(60, 100)).resize((2457, 4096), Image.Resampling.NEAREST).save(path)  # 10 Mpx
    tracemalloc.start()
    try:
        x = load_digit_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert x.shape == (784,) and x.max() > 0.9
    assert peak < 64 << 20  # NumPy works on the reduced image (at most 1024 pixels a side)


def test_broken_png_chunk_is_one_line(tmp_path, seven_png):
    """The pixels split over two IDAT chunks, the second's type garbled: Pillow's load() raises SyntaxError."""
    import struct
    import zlib

    data = seven_png.read_bytes()
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4:idat])[0]
    pixels = data[idat + 4:idat + 4 + length]

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    half = len(pixels) // 2
    broken = (data[:idat - 4] + chunk(b"IDAT", pixels[:half]) + chunk(b"\x84\xe9\x1b\xa8", pixels[half:])
              + chunk(b"IEND", b""))
    path = tmp_path / "broken.png"
    path.write_bytes(broken)
    with pytest.raises(NndlError, match=r"broken\.png: cannot read the image \(broken PNG file") as err:
        load_digit_image(path)
    assert "\n" not in str(err.value)


def test_pillow_warnings_about_metadata_are_silenced(tmp_path):
    import io
    import struct
    import warnings

    buffer = io.BytesIO()
    draw_seven().save(buffer, "TIFF")
    data = bytearray(buffer.getvalue())
    ifd = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[ifd:ifd + 2])[0]
    last = ifd + 2 + 12 * (count - 1)          # its last tag: planar configuration
    data[last + 4:last + 8] = struct.pack("<I", 1000)   # claims 1000 values: "Tag data larger than file"
    path = tmp_path / "odd.tif"
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_digit_image(path)


def test_folder_given_as_image(tmp_path):
    with pytest.raises(NndlError, match=r"is a folder, not an image"):
        load_digit_image(tmp_path)


def test_chunk_length_that_lies_costs_nothing(tmp_path, seven_png):
    """An IDAT chunk claiming 4 GB: Pillow skips it with read(4 GB), which from a real file
    would allocate 4 GB; nndl hands Pillow the file's bytes in memory instead."""
    import struct
    import tracemalloc

    data = bytearray(seven_png.read_bytes())
    idat = data.index(b"IDAT")
    data[idat - 4:idat] = struct.pack(">I", 0xFF0000AF)
    path = tmp_path / "liar.png"
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        try:
            assert load_digit_image(path).shape == (784,)  # the pixels are all there
        except NndlError as err:
            assert "liar.png" in str(err)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_image_file_too_big(tmp_path, seven_png, monkeypatch):
    from nndl.data import images

    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 100)
    with pytest.raises(NndlError, match=r"seven\.png: more than 100 bytes"):
        load_digit_image(seven_png)


@pytest.mark.parametrize("fmt", ["EPS", "PCX", "SGI"])
def test_formats_outside_the_list_are_not_read(tmp_path, fmt):
    """EPS would run Ghostscript; rare formats only add decoders to attack."""
    path = tmp_path / "digit.img"
    draw_seven(mode="RGB" if fmt == "EPS" else "L").save(path, fmt)
    with pytest.raises(NndlError, match=r"digit\.img: not an image nndl reads \(PNG, JPEG"):
        load_digit_image(path)
