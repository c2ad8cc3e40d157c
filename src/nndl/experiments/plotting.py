"""Figure helpers shared by the experiments: one style, PNG files written atomically.

matplotlib is an optional extra (``pip install nndl[plot]``); it is imported here, on
first use, with the non-interactive Agg backend, so the experiments run on servers
and in CI without a display.

>>> with figure(out_dir / "cost.png") as (fig, ax):
...     ax.plot(epochs, cost, label="quadratic")
...     finish(ax, "epoch", "cost")
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy

from nndl.errors import NndlError
from nndl.files import atomic_write

#: The book's figure colours first (blue, orange, red), then more.
COLORS = ["#2A6EA6", "#FFA933", "#FF5555", "#3A9A4A", "#8A5CC2", "#777777", "#C4497E", "#2BB3B3"]
BOOK_COLOR = "#999999"
STYLE = {
    "figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10,
    "legend.fontsize": 9, "axes.grid": True, "grid.alpha": 0.35, "axes.spines.top": False,
    "axes.spines.right": False, "lines.linewidth": 1.6, "axes.prop_cycle": None,
}


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend; a one-line NndlError if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise NndlError("the book experiments draw their figures with matplotlib, which is not installed; "
                        "pip install nndl[plot]") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(plt) -> dict:
    style = dict(STYLE)
    style["axes.prop_cycle"] = plt.cycler(color=COLORS)
    return style


@contextlib.contextmanager
def figure(path, nrows: int = 1, ncols: int = 1, size=None, title: str | None = None, **subplot_kw):
    """Make a figure, yield ``(fig, axes)``, then save it as PNG at ``path`` and close it.

    ``axes`` is one Axes for a 1×1 grid, otherwise the array of them.  Nothing is
    written if the block raises.
    """
    plt = pyplot()
    with plt.rc_context(_style(plt)):
        size = size or (5.2 * ncols, 3.8 * nrows)
        fig, axes = plt.subplots(nrows, ncols, figsize=size, **subplot_kw)
        try:
            yield fig, axes
            if title:
                fig.suptitle(title)
            fig.tight_layout()
            save(fig, path)
        finally:
            plt.close(fig)


def save(fig, path) -> Path:
    """Write ``fig`` as a PNG: into a temporary file beside ``path``, then renamed over it."""
    with atomic_write(path, suffix=".png") as f:
        fig.savefig(f, format="png")
    return Path(path)


def finish(ax, xlabel: str | None = None, ylabel: str | None = None, title: str | None = None,
           legend: bool | str = "best") -> None:
    """Labels, title and a legend (if any line has a label)."""
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        if any(not lab.startswith("_") for lab in labels):
            ax.legend(loc=legend if isinstance(legend, str) else "best", frameon=False)


def book_points(ax, x, y, label: str = "book", **kw) -> None:
    """The book's printed numbers as grey diamonds on our curve's axes."""
    ax.plot(x, y, linestyle="none", marker="D", markersize=5, color=BOOK_COLOR, label=label, zorder=5, **kw)


def digits(ax_grid, images, captions=None, cmap="gray_r") -> None:
    """Draw 28×28 images (flat rows or 2-D) into a grid of axes, with optional captions."""
    axes = numpy.ravel(ax_grid)
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= len(images):
            continue
        img = numpy.asarray(images[i], dtype=float)
        if img.ndim == 1:
            side = int(round(numpy.sqrt(img.size)))
            img = img.reshape(side, side)
        ax.imshow(img, cmap=cmap, interpolation="nearest")
        if captions is not None:
            ax.set_title(captions[i], fontsize=8)


def epochs_axis(n: int):
    """Epoch numbers 1..n for the x axis."""
    return numpy.arange(1, n + 1)
