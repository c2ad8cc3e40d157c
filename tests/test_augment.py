"""Expanded and augmented MNIST: exact shifts, the bilinear sampler, seeds, parsing, and learning."""
from types import SimpleNamespace

import re

import numpy as np
import pytest
from scipy import ndimage

from nndl import augment as A
from nndl.augment import (Augmented, Compose, ElasticDistortion, RandomRotation, RandomShift, ShiftExpanded,
                          make_source, parse_augment)
from nndl.errors import NndlError
from nndl.network import Network

FLAT_NET = SimpleNamespace(input_shape=(784,), dtype=np.dtype(np.float32))
IMAGE_NET = SimpleNamespace(input_shape=(1, 28, 28), dtype=np.dtype(np.float32))


def _load_mnist(root):
    from nndl.data import load_mnist

    return load_mnist(root, split="book")


@pytest.fixture(scope="module")
def mnist(data_root):
    return _load_mnist(data_root)


def _random_images(n=7, shape=(1, 5, 6), seed=0):
    """Read-only random 'images' with no zero pixels, so every zero in an output is fill."""
    x = np.random.default_rng(seed).uniform(0.1, 1.0, (n, int(np.prod(shape)))).astype(np.float32)
    x.flags.writeable = False
    return x, np.arange(n) % 3


def _blob(m=6, size=28, radius=5.0):
    """A centred Gaussian-ish blob of ink (zero near the border), m copies of different widths."""
    r = np.arange(size) - (size - 1) / 2
    d2 = r[:, None] ** 2 + r[None, :] ** 2
    widths = np.linspace(2.0, radius, m)
    img = np.exp(-d2[None] / (2 * widths[:, None, None] ** 2))
    img[:, d2 > (size / 2 - 3) ** 2] = 0.0
    return img.astype(np.float32)[:, None]           # (m, 1, size, size)


def _asymmetric(size=28):
    """An 'L' plus a dot: no rotation or flip maps it to itself."""
    img = np.zeros((size, size), np.float32)
    img[4:22, 6:9] = 1.0
    img[19:22, 6:18] = 0.7
    img[6, 20] = 0.4
    return img


def _rolled(img, dy, dx):
    """The book's shift: np.roll by one pixel, then zero the line that wrapped around."""
    out = np.roll(img, (dy, dx), axis=(0, 1))
    if dy == 1:
        out[0, :] = 0
    if dy == -1:
        out[-1, :] = 0
    if dx == 1:
        out[:, 0] = 0
    if dx == -1:
        out[:, -1] = 0
    return out


# -- ShiftExpanded ------------------------------------------------------------------------------------
def test_expanded_set_is_five_times_larger_and_each_copy_is_a_one_pixel_roll():
    x, y = _random_images()
    n = len(x)
    src = ShiftExpanded(x, y, image_shape=(1, 5, 6), flat=False)
    assert len(src) == 5 * n
    expected_shifts = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]       # none, down, up, right, left
    images = x.reshape(n, 5, 6)
    for k, (dy, dx) in enumerate(expected_shifts):
        idx = np.arange(k * n, (k + 1) * n)
        got, labels = src.batch(idx, np.random.default_rng(0))
        assert got.shape == (n, 1, 5, 6)
        np.testing.assert_array_equal(labels, y)
        for j in range(n):
            np.testing.assert_array_equal(got[j, 0], _rolled(images[j], dy, dx), err_msg=f"shift {k}, image {j}")
        if k:   # exactly one zero line: the fill
            assert (got == 0).sum() == n * (6 if dy else 5)


def test_expanded_batch_of_mixed_indices_matches_example_by_example():
    x, y = _random_images(n=11)
    src = ShiftExpanded(x, y, image_shape=(1, 5, 6))
    idx = np.random.default_rng(3).permutation(len(src))[:23]
    got, labels = src.batch(idx)
    assert got.shape == (23, 30)
    for row, i in zip(got, idx):
        np.testing.assert_array_equal(row, src.batch(np.array([i]))[0][0])
        np.testing.assert_array_equal(row.reshape(5, 6),
                                      _rolled(x[i % 11].reshape(5, 6), *ShiftExpanded.SHIFTS[i // 11]))
    np.testing.assert_array_equal(labels, y[idx % 11])


def test_expanded_source_keeps_a_reference_not_a_copy():
    x, y = _random_images(n=50, shape=(1, 28, 28))
    src = ShiftExpanded(x, y)
    assert np.shares_memory(src.x, x)
    assert src.x.nbytes == x.nbytes           # no 5x copy anywhere obvious
    out, _ = src.batch(np.arange(0, 250, 5))
    assert not np.shares_memory(out, x)       # batches are fresh arrays (x is read-only)


@pytest.mark.parametrize("net, shape", [(FLAT_NET, (13, 784)), (IMAGE_NET, (13, 1, 28, 28))])
def test_expanded_batch_shapes_follow_the_network(net, shape):
    x, y = _random_images(n=20, shape=(1, 28, 28))
    train = SimpleNamespace(x=x, y=y, image_shape=(1, 28, 28), name="digits")
    src = make_source(train, net, expand=True)
    assert isinstance(src, ShiftExpanded) and len(src) == 100
    got, labels = src.batch(np.arange(87, 100), np.random.default_rng(0))
    assert got.shape == shape and got.dtype == np.float32
    assert labels.shape == (13,) and labels.dtype.kind == "i"


def test_batch_dtype_follows_the_network():
    x, y = _random_images(n=4, shape=(1, 28, 28))
    train = SimpleNamespace(x=x, y=y, image_shape=(1, 28, 28), name="digits")
    net = Network.from_sizes([784, 5, 3], dtype=np.float64)
    for expand, augment in [(True, None), (False, "rotate(5)"), (True, "shift(1)+elastic")]:
        got, _ = make_source(train, net, expand=expand, augment=augment).batch(np.arange(4), np.random.default_rng(0))
        assert got.dtype == np.float64 and got.shape == (4, 784)


def test_indices_out_of_range_are_an_error():
    x, y = _random_images()
    src = ShiftExpanded(x, y, image_shape=(1, 5, 6))
    with pytest.raises(NndlError, match="35 examples"):
        src.batch(np.array([0, 35]))
    with pytest.raises(NndlError):
        src.batch(np.array([-1]))


# -- integer shifts ------------------------------------------------------------------------------------
def test_shift_images_matches_padding_by_hand():
    x, _ = _random_images(n=6, shape=(1, 7, 8))
    images = x.reshape(6, 7, 8)
    dy, dx = np.array([0, 2, -3, 1, 0, -1]), np.array([0, -1, 2, 0, 3, -2])
    got = A.shift_images(images, dy, dx)
    for j in range(6):
        padded = np.pad(images[j], 4)
        want = padded[4 - dy[j]:4 - dy[j] + 7, 4 - dx[j]:4 - dx[j] + 8]
        np.testing.assert_array_equal(got[j], want)


def test_random_shift_preserves_the_ink_of_a_centred_blob_and_moves_it():
    blob = _blob()
    rng = np.random.default_rng(0)
    out = RandomShift(2)(blob, rng)
    assert out.shape == blob.shape
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), blob.sum(axis=(1, 2, 3)), rtol=1e-6)
    # Each output is the input shifted by whole pixels within ±2, and not all are unshifted.
    moved = 0
    for j in range(len(blob)):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(out[j], A.shift_images(blob[j], dy, dx))]
        assert matches, f"image {j} is not a shift of at most 2 pixels"
        moved += matches != [(0, 0)]
    assert moved >= 3


# -- bilinear sampling, rotation, smoothing ---------------------------------------------------------
def test_bilinear_sample_matches_scipy_map_coordinates_inside_and_outside():
    rng = np.random.default_rng(1)
    images = rng.random((4, 2, 9, 11))
    rows, cols = rng.uniform(-3, 12, (2, 4, 6, 7))
    rows[0, 0, :3] = [0, 8, 4]                         # exact pixel centres and the edges
    cols[0, 0, :3] = [0, 10, 5]
    got = A.bilinear_sample(images, rows, cols)
    assert got.shape == (4, 2, 6, 7)
    want = np.stack([[ndimage.map_coordinates(images[j, c], [rows[j], cols[j]], order=1, mode="grid-constant")
                      for c in range(2)] for j in range(4)])
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got[0, 0, 0, 0] == images[0, 0, 0, 0] and got[0, 1, 0, 1] == images[0, 1, 8, 10]


def test_rotate_by_90_degrees_is_rot90():
    img = _asymmetric()
    batch = np.stack([img, img[::-1]])[:, None]
    np.testing.assert_allclose(A.rotate(img, 90), np.rot90(img), atol=1e-6)
    np.testing.assert_allclose(A.rotate(img, -90), np.rot90(img, -1), atol=1e-6)
    np.testing.assert_allclose(A.rotate(img, 180), np.rot90(img, 2), atol=1e-6)
    np.testing.assert_allclose(A.rotate(batch, [90, 270])[:, 0],
                               [np.rot90(img), np.rot90(img[::-1], 3)], atol=1e-6)
    np.testing.assert_array_equal(A.rotate(img, 0), img)


def test_rotate_by_any_angle_matches_scipy():
    img = _asymmetric()
    for degrees in (7.5, -23.0):
        want = ndimage.rotate(img, degrees, reshape=False, order=1, mode="grid-constant")
        np.testing.assert_allclose(A.rotate(img, degrees), want, atol=1e-5)


def test_random_rotation_draws_angles_uniformly_from_the_generator():
    img = np.stack([_asymmetric()] * 5)[:, None]
    out = RandomRotation(12)(img, np.random.default_rng(9))
    angles = np.random.default_rng(9).uniform(-12, 12, size=5)
    np.testing.assert_allclose(out, A.rotate(img, angles), atol=1e-6)
    assert not np.allclose(out[0], out[1])
    scaled = RandomRotation(12, 0.2)(img, np.random.default_rng(9))
    assert scaled.shape == img.shape and not np.allclose(scaled, out)


def test_gaussian_smooth_matches_scipy_gaussian_filter():
    fields = np.random.default_rng(2).uniform(-1, 1, (3, 28, 28))
    for sigma in (1.5, 4.0, 6.0):
        np.testing.assert_allclose(A.gaussian_smooth(fields, sigma),
                                   ndimage.gaussian_filter(fields, sigma, axes=(1, 2)), atol=1e-12)
    np.testing.assert_allclose(A.gaussian_kernel(2.0).sum(), 1.0)


# -- elastic distortion -----------------------------------------------------------------------------
def test_elastic_field_is_smooth_noise_scaled_by_alpha():
    dy, dx = A.elastic_field(np.random.default_rng(4), 200, 28, 28, alpha=34, sigma=5)
    assert dy.shape == dx.shape == (200, 28, 28)
    assert abs(float(dy.mean())) < 0.1 and abs(float(dx.mean())) < 0.1
    assert 1.0 < float(dy.std()) < 2.5
    neighbours = np.corrcoef(dy[:, :, :-1].ravel(), dy[:, :, 1:].ravel())[0, 1]
    assert neighbours > 0.95                                   # smooth, not per-pixel noise
    dy2, _ = A.elastic_field(np.random.default_rng(4), 200, 28, 28, alpha=68, sigma=5)
    np.testing.assert_allclose(dy2, 2 * dy, rtol=1e-5, atol=1e-5)


def test_elastic_distort_by_constant_fields_is_a_shift():
    x, _ = _random_images(n=3, shape=(1, 10, 10))
    images = x.reshape(3, 10, 10)
    zero = np.zeros((3, 10, 10))
    np.testing.assert_allclose(A.elastic_distort(images, zero, zero), images, atol=1e-7)
    # reading one row below moves the picture one row up
    np.testing.assert_allclose(A.elastic_distort(images, zero + 1, zero), A.shift_images(images, -1, 0), atol=1e-6)


def test_elastic_distortion_changes_digits_but_keeps_most_ink(mnist):
    digits = mnist.train.x[:64].reshape(64, 1, 28, 28)
    out = ElasticDistortion()(digits, np.random.default_rng(5))
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    change = np.abs(out - digits).sum(axis=(1, 2, 3)) / digits.sum(axis=(1, 2, 3))
    assert (change > 0.05).all()                               # every digit is distorted
    ink = out.sum(axis=(1, 2, 3)) / digits.sum(axis=(1, 2, 3))
    assert abs(ink.mean() - 1) < 0.1                           # strokes stretch and shrink, on average not
    assert (ink > 0.5).all() and (ink < 2.0).all()


# -- Augmented ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["shift(2)", "rotate(10)", "elastic", "shift(1)+rotate(8,0.1)+elastic(30,5)"])
def test_same_seed_same_batches_different_seed_different_batches(mnist, spec):
    train = mnist.train.subset(200)

    def two_batches(seed):
        src = make_source(train, FLAT_NET, augment=spec)
        rng = np.random.default_rng(seed)
        return [src.batch(rng.permutation(len(src))[:10], rng) for _ in range(2)]

    first, again, other = two_batches(7), two_batches(7), two_batches(8)
    for (xa, ya), (xb, yb) in zip(first, again):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(first[0][0], other[0][0])
    assert not np.array_equal(first[0][0], first[1][0])


def test_augmented_draws_new_transforms_for_every_batch_and_keeps_labels():
    x, y = _random_images(n=8, shape=(1, 28, 28))
    src = Augmented(x, y, [RandomShift(3)], image_shape=(1, 28, 28))
    rng = np.random.default_rng(0)
    idx = np.arange(8)
    a, la = src.batch(idx, rng)
    b, lb = src.batch(idx, rng)
    assert not np.array_equal(a, b)                   # same examples, new shifts
    np.testing.assert_array_equal(la, y)
    np.testing.assert_array_equal(lb, y)
    assert np.shares_memory(src.x, x)


def test_augmented_without_a_generator_uses_its_own_seed():
    x, y = _random_images(n=8, shape=(1, 28, 28))
    a = Augmented(x, y, "rotate(20)", seed=3).batch(np.arange(8))[0]
    b = Augmented(x, y, "rotate(20)", seed=3).batch(np.arange(8))[0]
    np.testing.assert_array_equal(a, b)


def test_make_source_combines_expansion_and_augmentation(mnist):
    train = mnist.train.subset(100)
    plain = make_source(train, IMAGE_NET, augment="shift(1)")
    both = make_source(train, IMAGE_NET, expand=True, augment="shift(1)+rotate(5)")
    assert isinstance(plain, Augmented) and len(plain) == 100
    assert isinstance(both, Augmented) and len(both) == 500
    assert [type(t) for t in both.transform.transforms] == [RandomShift, RandomRotation]
    x, labels = both.batch(np.array([0, 150, 499]), np.random.default_rng(0))
    assert x.shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(labels, train.y[[0, 50, 99]])
    # with no random transform, the combined source is exactly the expanded set
    np.testing.assert_array_equal(make_source(train, FLAT_NET, expand=True, augment=[]).batch(np.arange(500))[0],
                                  ShiftExpanded(train.x, train.y).batch(np.arange(500))[0])


def test_make_source_needs_image_data_that_fits_the_network():
    table = SimpleNamespace(x=np.zeros((10, 4), np.float32), y=np.zeros(10, int), image_shape=None, name="iris.csv")
    with pytest.raises(NndlError, match="augmentation needs image data"):
        make_source(table, SimpleNamespace(input_shape=(4,), dtype=np.float32), augment="shift(1)")
    flat_rows = SimpleNamespace(x=np.zeros((10, 4), np.float32), y=np.zeros(10, int), image_shape=(1, 1, 4),
                                name="rows")
    with pytest.raises(NndlError, match="augmentation needs image data"):
        make_source(flat_rows, SimpleNamespace(input_shape=(4,), dtype=np.float32), expand=True)
    digits = SimpleNamespace(x=np.zeros((10, 784), np.float32), y=np.zeros(10, int), image_shape=(1, 28, 28),
                             name="digits")
    with pytest.raises(NndlError, match="expects inputs of shape"):
        make_source(digits, SimpleNamespace(input_shape=(100,), dtype=np.float32), augment="shift(1)")


# -- parsing -------------------------------------------------------------------------------------------
def test_parse_augment_reads_names_and_numbers():
    t = parse_augment(" Shift(2) + rotate( 8 ) ").transforms
    assert [type(a) for a in t] == [RandomShift, RandomRotation]
    assert t[0].max_pixels == 2 and t[1].max_degrees == 8 and t[1].max_scale == 0
    (e,) = parse_augment("elastic").transforms
    assert (e.alpha, e.sigma) == (34, 5)
    (e,) = parse_augment("elastic(36,4.5)").transforms
    assert (e.alpha, e.sigma) == (36, 4.5)
    (r,) = parse_augment("rotate(10, 0.1)").transforms
    assert (r.max_degrees, r.max_scale) == (10, 0.1)
    assert parse_augment("shift()").transforms[0].max_pixels == 2
    assert parse_augment("shift(2)+rotate(8)").spec == "shift(2)+rotate(8)"
    assert isinstance(Compose("shift(1)").transforms[0], RandomShift)


@pytest.mark.parametrize("spec, message", [
    ("blur(2)", "unknown augmentation 'blur'; choose one of elastic, noise, rotate, shift"),
    ("shift(-1)", "max_pixels=-1 must be a whole number ≥ 0"),
    ("shift(1.5)", "whole number"),
    ("rotate(-5)", "max_degrees=-5 is out of range; it must be in [0, 180]"),
    ("rotate(200)", "in [0, 180]"),
    ("rotate(10, 1.5)", "max_scale (a scale factor 1 ± max_scale)=1.5 is out of range"),
    ("elastic(-34, 4)", "alpha=-34 is out of range; it must be ≥ 0"),
    ("elastic(34, 0)", "sigma=0 is out of range; it must be > 0"),
    ("elastic(34, 4, 1)", "too many arguments"),
    ("shift(two)", "max_pixels='two' must be a whole number"),
    ("shift(inf)", "max_pixels"),
    ("shift(2", "augmentation: cannot read"),
    ("shift(2)+", "augmentation: cannot read"),
    ("shift(2)++rotate(8)", "augmentation: cannot read"),
    ("__import__('os')", "unknown augmentation '__import__'"),
    ("shift(__import__('os'))", "augmentation: cannot read"),
    ("", "empty augmentation"),
])
def test_parse_augment_errors_are_one_line(spec, message):
    with pytest.raises(NndlError, match=re.escape(message)) as info:
        parse_augment(spec)
    assert "\n" not in str(info.value)


def test_unknown_names_are_listed_through_make_source(mnist):
    with pytest.raises(NndlError, match="elastic, noise, rotate, shift"):
        make_source(mnist.train.subset(10), FLAT_NET, augment="flip")


# -- learning -------------------------------------------------------------------------------------------
def test_a_network_learns_from_shifted_batches(mnist):
    """Chapter 1's network on 3,000 images, each batch shifted at random by up to a pixel.

    Without augmentation this reaches about 89% in 2 epochs; the random shifts make the
    task harder (about 86-89% over seeds with this optimizer).  Mislabelled or garbled
    batches would stay far below 85%.
    """
    from nndl.models import Classifier
    from nndl.optim import Nesterov
    from nndl.trainer import Trainer

    train, val = mnist.train.subset(3000), mnist.validation
    net = Network.from_sizes([784, 30, 10], seed=0)
    source = make_source(train, net, augment="shift(1)")
    history = Trainer(10, seed=0, verbose=False).fit(Classifier(net, Nesterov(0.05, mu=0.9)), source, 2,
                                                    validation_data=(val.x[:1000], val.y[:1000]))
    assert history["validation_accuracy"][-1] >= 0.85
