"""Random transforms drawn per mini-batch, and the ``--augment`` spec that names them."""
from __future__ import annotations


from nndl.augment.images import (
    _bilinear,
    _elastic_displacements,
    _pixel_grid,
    _rotation_coords,
    _shift_batch,
)
from nndl import validation
from nndl.backend import to_device, xp
from nndl.errors import NndlError
from nndl.registry import create, parse_call, split_calls


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


class RandomShift(Transform):
    """Shift each image by whole pixels ``dy, dx`` drawn uniformly from ``−p..p`` (zero fill).

    Vectorized over the batch by :func:`_shift_batch`.
    """

    name = "shift"

    def __init__(self, max_pixels: int = 2):
        self.max_pixels = validation.whole("max_pixels", max_pixels, low=0)

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
        self.max_degrees = validation.number("max_degrees", max_degrees, 0.0, 180.0)
        self.max_scale = validation.number("max_scale (a scale factor 1 ± max_scale)", max_scale, 0.0, 1.0,
                                           high_open=True)

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
        self.alpha = validation.number("alpha", alpha, 0.0)
        self.sigma = validation.number("sigma", sigma, 0.0, low_open=True)

    def args(self):
        return (self.alpha, self.sigma)

    def __call__(self, images, rng):
        m, _, h, w = images.shape
        if m == 0 or self.alpha == 0:
            return images
        field = _elastic_displacements(rng, m, h, w, self.alpha, self.sigma, images.dtype)
        field += _pixel_grid(h, w, images.dtype.name)
        return _bilinear(images, field)


class GaussianNoise(Transform):
    """Add independent Gaussian noise to every pixel, x ↦ clip(x + σ·z, low, high), z ~ N(0, 1):
    input-noise augmentation, one of the remedies for overfitting (Bishop 1995: for small σ it acts
    like a penalty on the network's sensitivity to its input, Tikhonov regularization).

    ``noise(0.3)``; ``noise(0.3, low=-inf)`` to skip the clipping of pixels to [0, 1].
    """

    name = "noise"

    def __init__(self, sigma: float = 0.1, low: float = 0.0, high: float = 1.0):
        self.sigma = validation.number("sigma", sigma, 0.0)
        self.low = validation.number("low", low, finite=False)
        self.high = validation.number("high", high, finite=False)
        if not self.high > self.low:
            raise NndlError(f"noise: the pixel range [{low}, {high}] is empty")

    def args(self):
        return (self.sigma,)

    def __call__(self, images, rng):
        if self.sigma == 0 or len(images) == 0:
            return images
        z = to_device(rng.standard_normal(size=images.shape).astype(images.dtype))
        return xp.clip(images + self.sigma * z, self.low, self.high)


#: ``--augment`` names → transform classes (their constructors say what arguments they take).
TRANSFORMS = {cls.name: cls for cls in (RandomShift, RandomRotation, ElasticDistortion, GaussianNoise)}


def parse_augment(spec: str) -> Compose:
    """Parse an ``--augment`` value into a :class:`Compose` of transforms.

    ``spec`` is terms joined by ``+``; a term is a name with optional numeric arguments
    in parentheses (the grammar of :func:`nndl.registry.parse_call`): ``"shift(2)"``,
    ``"rotate(10)"``, ``"rotate(10, 0.1)"`` (degrees, scale), ``"elastic"`` or
    ``"elastic(34,4)"`` (α, σ), ``"shift(2)+rotate(8)"``.

    Raises
    ------
    NndlError
        For an empty spec, an unknown name (the message lists the valid ones), a
        malformed term, too many arguments, or a bad value (e.g. negative).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise NndlError(f"empty augmentation {spec!r}; use e.g. 'shift(2)', 'rotate(10)' or 'elastic'")
    transforms = []
    for term in split_calls(spec, "augmentation", sep="+"):
        call = parse_call(term, "augmentation")
        transforms.append(create(TRANSFORMS, call.name, "augmentation", None, *call.args, **call.kwargs))
    return Compose(transforms)
