"""Robustness curves: accuracy as a perturbation grows, for the attacks and for natural changes.

For every value v of a perturbation's size the accuracy on the perturbed examples:

=============  =================================================================================
``fgsm``       FGSM at ε = v (L∞)
``pgd``        PGD at ε = v (L∞, K steps, random start)
``noise``      x + σ z clipped to the pixel range, z ~ N(0, 1), σ = v
``rotate``     rotated by v degrees about the centre (bilinear, zero outside)
``thickness``  strokes thickened (v > 0: v grey-level dilations) or thinned (v < 0: |v| erosions)
               by the 3×3 cross, max/min over each pixel and its four neighbours
=============  =================================================================================

Vectorized over the batch; every random draw from a generator seeded per curve.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError

KINDS = ("fgsm", "pgd", "noise", "rotate", "thickness")
#: The x-axis of each kind and its default values.
AXES = {"fgsm": "ε (L∞)", "pgd": "ε (L∞)", "noise": "σ", "rotate": "degrees", "thickness": "dilations (− erosions)"}
DEFAULTS = {"fgsm": (0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3), "pgd": (0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
            "noise": (0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0), "rotate": (0, 10, 20, 30, 45, 60, 90),
            "thickness": (-2, -1, 0, 1, 2, 3)}


def image_batch(x, shape):
    """Rows ``x`` (N, D) as an (N, C, H, W) batch of images of ``shape`` (C, H, W) or (H, W)."""
    from nndl.augment.images import image_shape_of

    c, h, w = image_shape_of(shape)
    if int(numpy.prod(x.shape[1:])) != c * h * w:
        raise NndlError(f"examples of shape {x.shape[1:]} are not images of shape {(c, h, w)}")
    return x.reshape(len(x), c, h, w)


def gaussian_noise(x, sigma: float, rng, low: float = 0.0, high: float = 1.0):
    """clip(x + σ z, low, high), z ~ N(0, 1) per pixel."""
    return numpy.clip(x + sigma * rng.standard_normal(size=x.shape).astype(x.dtype), low, high).astype(x.dtype)


def rotated(x, degrees: float, shape):
    """Every image of rows ``x`` rotated by ``degrees`` (counter-clockwise), as rows."""
    from nndl.augment.images import rotate

    return numpy.asarray(rotate(image_batch(x, shape), float(degrees))).reshape(x.shape).astype(x.dtype)


def stroke_thickness(x, k: int, shape):
    """Grey-level dilation (``k`` > 0 times) or erosion (−``k`` times) by the 3×3 cross: on MNIST's
    dark-on-zero digits dilation thickens the strokes and erosion thins them."""
    try:
        from scipy import ndimage
    except ImportError:
        raise NndlError("the stroke-thickness curve uses SciPy's grey-level morphology, which is not installed; "
                        "pip install nndl[robustness] (or leave it out: --kinds fgsm,pgd,noise,rotate)") from None

    k = int(k)
    if k == 0:
        return x
    images = image_batch(x, shape)
    cross = numpy.zeros((1, 1, 3, 3), dtype=bool)
    cross[0, 0, 1, :] = cross[0, 0, :, 1] = True
    op = ndimage.grey_dilation if k > 0 else ndimage.grey_erosion
    for _ in range(abs(k)):
        images = op(images, footprint=cross, mode="constant", cval=0.0)
    return images.reshape(x.shape).astype(x.dtype)


def perturbed(kind: str, value: float, model, x, y, rng, shape, pgd_steps: int = 40, batch_size: int = 500):
    """The examples ``x`` under perturbation ``kind`` of size ``value``."""
    from nndl.adversarial.attacks import Attack

    if kind in ("fgsm", "pgd"):
        if value == 0:
            return x
        attack = Attack(kind, value, pgd_steps if kind == "pgd" else None, low=model.low, high=model.high)
        return attack.run(model, x, y, batch_size, seed=int(rng.integers(2 ** 31)))
    if kind == "noise":
        return gaussian_noise(x, value, rng, model.low, model.high)
    if kind == "rotate":
        return rotated(x, value, shape)
    if kind == "thickness":
        if float(value) != int(value):
            raise NndlError(f"thickness {value}: the number of dilations (or erosions, negative) is a whole number")
        return stroke_thickness(x, int(value), shape)
    raise NndlError(f"unknown perturbation {kind!r}; choose from {', '.join(KINDS)}")


def curve(kind: str, values, model, x, y, shape, seed: int = 0, pgd_steps: int = 40) -> list[dict]:
    """``[{"kind", "value", "accuracy", "mean_confidence"}, ...]`` for each value."""
    rng = numpy.random.default_rng(seed)
    y = numpy.asarray(y)
    points = []
    for value in values:
        out = model.outputs(perturbed(kind, value, model, x, y, rng, shape, pgd_steps))
        points.append({"kind": kind, "value": float(value), "accuracy": float((out.argmax(axis=1) == y).mean()),
                       "mean_confidence": float(out.max(axis=1).mean())})
    return points


def plot(path, results: dict, kinds, title: str = "") -> None:
    """One panel per kind, one line per model: accuracy against the perturbation's size."""
    from nndl.experiments.plotting import figure, finish

    kinds = list(kinds)
    with figure(path, 1, len(kinds), size=(3.6 * len(kinds), 3.4), title=title) as (fig, axes):
        axes = numpy.atleast_1d(axes)
        for ax, kind in zip(axes, kinds):
            for name, points in results.items():
                pts = [p for p in points if p["kind"] == kind]
                ax.plot([p["value"] for p in pts], [100 * p["accuracy"] for p in pts], marker="o", markersize=3,
                        label=name)
            ax.set_ylim(0, 101)
            finish(ax, AXES[kind], "accuracy (%)" if ax is axes[0] else None, kind,
                   legend="lower left" if ax is axes[0] else False)
