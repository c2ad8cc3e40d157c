"""Chapter 4: a visual proof that neural nets can compute any function — built by hand, not trained.

A sigmoid neuron with a very large weight w is a step at s = −b/w.  Two such steps in
opposite directions, weighted +h and −h into a linear output neuron, make a bump of
height h; N bumps side by side approximate any continuous f on [0, 1], better as N
grows.  In two dimensions, steps in x and in y feed a second-layer neuron with bias
−3h/2 that fires only where both are on: a tower.  Every network here is an ordinary
:class:`~nndl.network.Network`; the experiments only *set* its weights.
"""
from __future__ import annotations

import numpy

from nndl.experiments import plotting
from nndl.experiments.registry import experiment, row

CH4 = "chap4.html"
WINDOW = 10.0      # 2-D: half the side of a failure window around a grid corner, in step widths 1/w
STEEP = 2000.0     # w per unit of 1/N: the step's rise (≈ 8/w wide) is 1/250 of a bump
EDGE = 0.05        # outer steps sit this fraction of a bump outside [0, 1]


def target_1d(x):
    """The function of the chapter's examples: 0.2 + 0.4x² + 0.3x·sin(15x) + 0.05·cos(50x)."""
    return 0.2 + 0.4 * x ** 2 + 0.3 * x * numpy.sin(15 * x) + 0.05 * numpy.cos(50 * x)


def _edges(n: int) -> numpy.ndarray:
    """Step positions: the n − 1 inner bump boundaries, the outer two just outside [0, 1]."""
    e = numpy.linspace(0.0, 1.0, n + 1)
    e[0], e[-1] = -EDGE / n, 1.0 + EDGE / n
    return e


def bump_network(f, n: int):
    """A [1, 2n, 1] network whose output is n bumps of height f(bump centre) over [0, 1]."""
    from nndl.network import Network

    net = Network.from_sizes([1, 2 * n, 1], activation="sigmoid", output_activation="linear", cost="quadratic",
                             dtype=numpy.float64)
    w = STEEP * n
    edges = _edges(n)
    centres = (numpy.arange(n) + 0.5) / n
    heights = f(centres)
    starts, stops = edges[:-1], edges[1:]
    positions = numpy.empty(2 * n)
    positions[0::2], positions[1::2] = starts, stops          # each bump: a step up, then a step down
    out = numpy.empty(2 * n)
    out[0::2], out[1::2] = heights, -heights
    net.set_weights([numpy.full((2 * n, 1), w), -w * positions, out.reshape(1, -1), numpy.zeros(1)])
    return net


def bump_pair_network(s1: float, s2: float, h: float, w: float = 999.0):
    """[1, 2, 1]: steps at s1 and s2 weighted +h and −h into a linear output — one bump."""
    from nndl.network import Network

    net = Network.from_sizes([1, 2, 1], activation="sigmoid", output_activation="linear", cost="quadratic",
                             dtype=numpy.float64)
    net.set_weights([numpy.array([[w], [w]]), numpy.array([-w * s1, -w * s2]), numpy.array([[h, -h]]),
                     numpy.zeros(1)])
    return net


@experiment("universality-1d", 4, "Universality in one dimension: bumps from pairs of steep sigmoid neurons",
            f"{CH4}#universality_with_one_input_and_one_output",
            book={"function": "0.2 + 0.4x² + 0.3x·sin(15x) + 0.05·cos(50x)",
                  "claim": "the approximation gets as good as we like by adding more bumps"},
            summary="Pairs of steep sigmoid neurons make bumps; with enough bumps a one-hidden-layer network "
                    "approximates any continuous function as closely as we like.")
def universality_1d(out_dir, quick, seed):
    counts = [5, 10, 25, 50, 100] if quick else [5, 10, 25, 50, 100, 250, 500]
    x = numpy.linspace(0.0, 1.0, 4001)
    fx = target_1d(x)
    approx, errors, mean_errors = {}, [], []
    for n in counts:
        net = bump_network(target_1d, n)
        y = net.feedforward(x.reshape(-1, 1))[:, 0]
        approx[n] = y
        errors.append(float(numpy.abs(y - fx).max()))
        mean_errors.append(float(numpy.abs(y - fx).mean()))

    figures = ["steps_and_bumps.png", "approximation.png", "max_error.png"]
    from nndl.activations import sigmoid

    with plotting.figure(out_dir / figures[0], 1, 2, size=(11, 3.8)) as (fig, (ax1, ax2)):
        for w in (10, 50, 999):
            ax1.plot(x, sigmoid(w * (x - 0.4)), label=f"σ(w(x − 0.4)), w = {w}")
        plotting.finish(ax1, "x", "output", "a steep sigmoid neuron is a step at s = −b/w", legend="upper left")
        pair = bump_pair_network(0.3, 0.6, 0.8)
        ax2.plot(x, pair.feedforward(x.reshape(-1, 1))[:, 0], label="0.8·σ(w(x − 0.3)) − 0.8·σ(w(x − 0.6))")
        ax2.set_ylim(-0.05, 1.0)
        plotting.finish(ax2, "x", "output", "two steps, +h and −h: a bump of height h", legend="upper right")
    shown = [n for n in counts if n in (5, 10, 25, 100)]
    with plotting.figure(out_dir / figures[1], 2, 2, size=(11, 7)) as (fig, axes):
        for ax, n in zip(axes.ravel(), shown):
            ax.plot(x, fx, color="k", lw=1, label="f(x)")
            ax.plot(x, approx[n], color=plotting.COLORS[0], label=f"{n} bumps ({2 * n} hidden neurons)")
            plotting.finish(ax, "x", None, f"N = {n}: max error {errors[counts.index(n)]:.3f}",
                            legend="upper left")
    with plotting.figure(out_dir / figures[2]) as (fig, ax):
        ax.loglog(counts, errors, "o-", label="max |f − network|")
        ax.loglog(counts, mean_errors, "s-", label="mean |f − network|")
        ax.loglog(counts, errors[0] * counts[0] / numpy.array(counts, float), "k--", lw=1, label="∝ 1/N")
        plotting.finish(ax, "bumps N", "error on [0, 1]", "the error shrinks as bumps are added")
    shrinking = all(b < a for a, b in zip(errors, errors[1:]))
    return {
        "settings": {"function": "0.2 + 0.4x² + 0.3x·sin(15x) + 0.05·cos(50x)", "interval": [0, 1],
                     "bumps": counts, "hidden_neurons": [2 * n for n in counts], "weight_w": f"{STEEP:g} × N",
                     "grid_points": len(x), "output": "linear (the weighted sum of the hidden neurons)"},
        "nndl": {"bumps": counts, "max_error": [round(e, 5) for e in errors],
                 "mean_error": [round(e, 6) for e in mean_errors], "error_shrinks": shrinking},
        "rows": [row(f"{n} bumps: max error on [0, 1]", "shrinks as N grows", round(e, 4))
                 for n, e in zip(counts, errors)],
        "figures": figures,
        "notes": ["No training: the weights are set by hand (w = 2000·N so each step rises within 1/250 of a bump; "
                  "bump heights f(bump centre)).  The largest errors sit at the bump boundaries, where the two "
                  "neighbouring steps meet (the book's \"windows of failure\")."],
    }


# ---------------------------------------------------------------------------------- 2-D towers
def target_2d(x, y):
    return 0.5 + 0.3 * numpy.sin(2 * numpy.pi * x) * numpy.cos(3 * y) + 0.15 * x * y


TOWER_H = 40.0     # h: the tower neuron's input weights ±h, bias −3h/2


def single_tower_network(x0, x1, y0, y1, h: float = TOWER_H, w: float = 500.0):
    """[2, 4, 1]: steps up/down in x and in y, and one sigmoid output neuron with bias −3h/2: a tower."""
    from nndl.network import Network

    net = Network.from_sizes([2, 4, 1], activation="sigmoid", output_activation="sigmoid", cost="quadratic",
                             dtype=numpy.float64)
    W1 = numpy.array([[w, 0.0], [w, 0.0], [0.0, w], [0.0, w]])
    b1 = -w * numpy.array([x0, x1, y0, y1])
    net.set_weights([W1, b1, numpy.array([[h, -h, h, -h]]), numpy.array([-1.5 * h])])
    return net


def tower_network(f, n: int, h: float = TOWER_H):
    """A [2, 2(n+1), n², 1] network: x- and y-steps, one tower neuron per grid cell, linear output."""
    from nndl.network import Network

    net = Network.from_sizes([2, 2 * (n + 1), n * n, 1], activation="sigmoid", output_activation="linear",
                             cost="quadratic", dtype=numpy.float64)
    w = STEEP * n
    e = _edges(n)
    W1 = numpy.zeros((2 * (n + 1), 2))
    W1[: n + 1, 0] = w                     # steps in x at e[i]
    W1[n + 1:, 1] = w                      # steps in y at e[j]
    b1 = -w * numpy.concatenate([e, e])
    W2 = numpy.zeros((n * n, 2 * (n + 1)))
    for i in range(n):
        for j in range(n):
            k = i * n + j
            W2[k, i], W2[k, i + 1] = h, -h                       # on for e[i] < x < e[i+1]
            W2[k, n + 1 + j], W2[k, n + 2 + j] = h, -h           # on for e[j] < y < e[j+1]
    b2 = numpy.full(n * n, -1.5 * h)       # fires only when both are on: 2h − 3h/2 > 0 > h − 3h/2
    c = (numpy.arange(n) + 0.5) / n
    cx, cy = numpy.meshgrid(c, c, indexing="ij")
    W3 = f(cx, cy).reshape(1, -1)
    net.set_weights([W1, b1, W2, b2, W3, numpy.zeros(1)])
    return net


@experiment("universality-2d", 4, "Universality in two dimensions: towers from two-input neurons",
            f"{CH4}#many_input_variables",
            book={"tower_bias": "−3h/2", "claim": "many towers side by side approximate any function of two inputs"},
            summary="A second hidden layer turns x- and y-steps into towers; enough towers approximate any "
                    "continuous function of two inputs.")
def universality_2d(out_dir, quick, seed):
    counts = [2, 4, 8, 16] if quick else [2, 4, 8, 16, 32, 64]
    # The error is measured at random points outside the narrow "windows of failure" around the grid
    # corners where four towers meet (see the notes); the windows' share of the area is reported too.
    rng = numpy.random.default_rng(seed)
    sample = rng.random((20000 if quick else 100000, 2))
    f_sample = target_2d(sample[:, 0], sample[:, 1])
    g = numpy.linspace(0.0, 1.0, 121 if quick else 301)
    gx, gy = numpy.meshgrid(g, g, indexing="ij")
    pts = numpy.column_stack([gx.ravel(), gy.ravel()])
    fz = target_2d(gx, gy)
    surfaces, errors, mean_errors, with_windows, window_area = {}, [], [], [], []
    for n in counts:
        net = tower_network(target_2d, n)
        surfaces[n] = net.feedforward(pts)[:, 0].reshape(gx.shape)
        err = numpy.abs(net.feedforward(sample)[:, 0] - f_sample)
        half = WINDOW / (STEEP * n)                       # half the side of a window: 10 step widths
        e = _edges(n)
        near = [numpy.abs(sample[:, k, None] - e[None, :]).min(axis=1) < half for k in (0, 1)]
        outside = ~(near[0] & near[1])
        errors.append(float(err[outside].max()))
        mean_errors.append(float(err[outside].mean()))
        with_windows.append(float(err.max()))
        window_area.append(min(1.0, (n + 1) ** 2 * (2 * half) ** 2))
    # One tower on its own, as in the book's figure: the weighted input and the neuron's output.
    single = single_tower_network(0.35, 0.65, 0.35, 0.65)
    tower = single.feedforward(pts)[:, 0].reshape(gx.shape)
    hidden, out = single.layers
    z = hidden.forward(pts) @ out.W.value.T + out.b.value                   # the output neuron's weighted input
    hidden.forget()
    cross = z[:, 0].reshape(gx.shape) + 1.5 * TOWER_H                        # ... without its bias

    figures = ["tower.png", "approximation_2d.png", "max_error_2d.png"]
    with plotting.figure(out_dir / figures[0], 1, 2, size=(11, 4.6), subplot_kw={"projection": "3d"}) as (fig, axes):
        axes[0].plot_surface(gx, gy, cross, cmap="Blues", linewidth=0, antialiased=False)
        axes[0].set_title("weighted input h·(x-bump) + h·(y-bump)")
        axes[1].plot_surface(gx, gy, tower, cmap="Blues", linewidth=0, antialiased=False)
        axes[1].set_title("σ(weighted input − 3h/2): a tower")
        for ax in axes:
            ax.set_xlabel("x")
            ax.set_ylabel("y")
    shown = [n for n in counts if n in (4, 16)] + ([counts[-1]] if counts[-1] not in (4, 16) else [])
    with plotting.figure(out_dir / figures[1], 1, len(shown) + 1, size=(4 * (len(shown) + 1), 3.8)) as (fig, axes):
        vmin, vmax = float(fz.min()), float(fz.max())
        axes[0].imshow(fz.T, origin="lower", extent=(0, 1, 0, 1), vmin=vmin, vmax=vmax, cmap="viridis")
        axes[0].set_title("f(x, y)")
        for ax, n in zip(axes[1:], shown):
            ax.imshow(surfaces[n].T, origin="lower", extent=(0, 1, 0, 1), vmin=vmin, vmax=vmax, cmap="viridis")
            ax.set_title(f"{n}×{n} towers: max error {errors[counts.index(n)]:.3f}")
        for ax in axes:
            ax.grid(False)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
    with plotting.figure(out_dir / figures[2]) as (fig, ax):
        ax.loglog(counts, errors, "o-", label="max |f − network|")
        ax.loglog(counts, mean_errors, "s-", label="mean |f − network|")
        plotting.finish(ax, "towers per side N", "error on [0, 1]²", "the error shrinks as towers are added")
    return {
        "settings": {"function": "0.5 + 0.3·sin(2πx)·cos(3y) + 0.15·xy", "towers_per_side": counts,
                     "network": "[2, 2(N+1), N², 1]: x/y steps, tower neurons (±h, bias −3h/2, h = 40), linear output",
                     "error_points": f"{len(sample):,} uniform random points (seed {seed})",
                     "picture_grid": f"{len(g)}×{len(g)}"},
        "nndl": {"towers_per_side": counts, "max_error": [round(e, 5) for e in errors],
                 "mean_error": [round(e, 6) for e in mean_errors],
                 "max_error_including_windows": [round(e, 5) for e in with_windows],
                 "window_area_fraction": [float(f"{a:.3g}") for a in window_area],
                 "error_shrinks": all(b < a for a, b in zip(errors, errors[1:]))},
        "rows": [row(f"{n}×{n} towers: max error on [0, 1]² outside the failure windows", "shrinks as N grows",
                     round(e, 4)) for n, e in zip(counts, errors)]
        + [row(f"{counts[-1]}×{counts[-1]} towers: area of the failure windows", "as small as we like",
               f"{window_area[-1]:.1e}")],
        "figures": figures,
        "notes": ["Where four towers meet, each of them sees only half of its x- and y-steps and stays off, "
                  "so the network drops towards 0 in tiny squares (about 1/w wide) at the grid corners: the "
                  "book's windows of failure, made as small as we like by steeper steps.  The maximum error "
                  "is measured at random points outside squares of 20 step widths (20/w) around those corners; "
                  "their total area and the error including them are in result.json.  The pictures, on a "
                  "regular grid, show the windows as dots."],
    }

