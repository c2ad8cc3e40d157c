"""What the commands write: the grid of clean / perturbation / adversarial images, and JSON files."""
from __future__ import annotations

import json

import numpy

from nndl.files import atomic_write


def write_json(path, obj) -> None:
    """``obj`` as indented JSON, written atomically."""
    with atomic_write(path, mode="w") as f:
        json.dump(obj, f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else o.tolist())
        f.write("\n")


def _image(row, shape):
    row = numpy.asarray(row, dtype=float).reshape(-1)
    if shape is not None and len(shape) == 3 and shape[0] == 1:
        return row.reshape(shape[1:])
    side = int(round(numpy.sqrt(row.size)))
    return row.reshape(side, side) if side * side == row.size else row.reshape(1, -1)


def attack_grid(path, x, x_adv, labels, clean_out, adv_out, title: str, shape=None, low=0.0, high=1.0,
                columns: int = 10) -> None:
    """Three rows of ``columns`` examples: the clean image (true class, predicted, confidence), the
    perturbation x′ − x (red up, blue down, on the scale ±max |δ|) and the adversarial image."""
    from nndl.experiments.plotting import figure

    n = min(columns, len(x))
    if n == 0:
        return
    delta = (x_adv[:n] - x[:n]).reshape(n, -1)
    scale = float(numpy.abs(delta).max()) or 1.0
    with figure(path, 3, n, size=(1.25 * n, 4.4), title=title) as (fig, axes):
        axes = numpy.asarray(axes).reshape(3, n)
        for j in range(n):
            for ax in axes[:, j]:
                ax.axis("off")
            pc, pa = int(clean_out[j].argmax()), int(adv_out[j].argmax())
            axes[0, j].imshow(_image(x[j], shape), cmap="gray_r", vmin=low, vmax=high, interpolation="nearest")
            axes[0, j].set_title(f"{int(labels[j])}→{pc} {clean_out[j].max():.2f}", fontsize=7)
            axes[1, j].imshow(_image(delta[j], shape), cmap="bwr", vmin=-scale, vmax=scale, interpolation="nearest")
            axes[2, j].imshow(_image(x_adv[j], shape), cmap="gray_r", vmin=low, vmax=high, interpolation="nearest")
            axes[2, j].set_title(f"→{pa} {adv_out[j].max():.2f}", fontsize=7, color="k" if pa == labels[j] else "r")
        axes[0, 0].text(-0.3, 0.5, "clean", transform=axes[0, 0].transAxes, rotation=90, va="center", ha="right")
        axes[1, 0].text(-0.3, 0.5, f"δ (±{scale:.2g})", transform=axes[1, 0].transAxes, rotation=90, va="center",
                        ha="right")
        axes[2, 0].text(-0.3, 0.5, "adversarial", transform=axes[2, 0].transAxes, rotation=90, va="center",
                        ha="right")


def image_row(path, images, captions, title: str, shape=None, low=0.0, high=1.0) -> None:
    """One row of images with captions (fooling images)."""
    from nndl.experiments.plotting import figure

    n = len(images)
    if n == 0:
        return
    with figure(path, 1, n, size=(1.25 * n, 1.9), title=title) as (fig, axes):
        for ax, img, cap in zip(numpy.ravel(axes), images, captions):
            ax.axis("off")
            ax.imshow(_image(img, shape), cmap="gray_r", vmin=low, vmax=high, interpolation="nearest")
            ax.set_title(cap, fontsize=7)
