"""Figures of evolutionary runs (matplotlib, PNG written atomically through nndl.experiments.plotting).

* :func:`fitness_and_species` — best and mean fitness per generation above a stacked plot of
  species sizes (each band one species, from its birth to its extinction);
* :func:`genome` — an evolved topology: inputs on the left, outputs on the right, hidden nodes
  at their depth; enabled genes as lines, blue positive, red negative, width ∝ |w|;
* :func:`substrate` — a HyperNEAT substrate with its painted connections, and the CPPN's weight
  pattern over the plane;
* :func:`pareto_front` — NSGA-II's population and first front.
"""
from __future__ import annotations

import numpy

from nndl.evolution.phenotype import topological_order
from nndl.experiments.plotting import COLORS, figure, finish

POSITIVE, NEGATIVE = "#2A6EA6", "#FF5555"


def fitness_and_species(history, path, title: str, solved_at: float | None = None):
    generations = [r["generation"] for r in history]
    with figure(path, 2, 1, size=(6.4, 6.0), title=title, sharex=True) as (fig, (top, bottom)):
        top.plot(generations, [r["best_fitness"] for r in history], label="best")
        top.plot(generations, [r["mean_fitness"] for r in history], label="mean")
        if solved_at is not None:
            top.axhline(solved_at, color="#777777", linestyle=":", linewidth=1, label="solved")
        finish(top, None, "fitness")
        ids = sorted({int(k) for r in history for k in r.get("species", {})})
        sizes = numpy.array([[r.get("species", {}).get(str(i), 0) for r in history] for i in ids])
        if len(ids):
            bottom.stackplot(generations, sizes, colors=[COLORS[k % len(COLORS)] for k in range(len(ids))],
                             edgecolor="white", linewidth=0.3)
        finish(bottom, "generation", "genomes per species", legend=False)
        bottom.set_title(f"{len(ids)} species over the run", fontsize=9)


def _layout(g):
    order, depth = topological_order(g)
    last = max([depth[n] for n in order] + [1])
    for o in g.outputs:
        depth[o] = last                         # outputs in the last column
    columns: dict[int, list[int]] = {}
    for node in g.inputs + sorted(order, key=lambda n: (depth[n], n)):
        columns.setdefault(depth[node], []).append(node)
    place = {}
    for d, nodes in columns.items():
        for k, node in enumerate(nodes):
            place[node] = (d, (k + 1) / (len(nodes) + 1))
    return place


def draw_genome(ax, g, input_names=None, output_names=None):
    place = _layout(g)
    largest = max([abs(c.weight) for c in g.enabled()] + [1e-9])
    for c in g.enabled():
        (x0, y0), (x1, y1) = place[c.source], place[c.target]
        ax.plot([x0, x1], [y0, y1], color=POSITIVE if c.weight > 0 else NEGATIVE,
                linewidth=0.5 + 3.0 * abs(c.weight) / largest, alpha=0.8, zorder=1)
    for node, (x, y) in place.items():
        kind = g.nodes[node].kind
        color = {"input": "#3A9A4A", "output": "#FFA933", "hidden": "#DDDDDD"}[kind]
        ax.scatter([x], [y], s=420, color=color, edgecolor="black", zorder=2)
        label = str(node)
        if kind == "input" and input_names:
            label = input_names[node]
        elif kind == "output" and output_names:
            label = output_names[node - g.n_inputs]
        elif kind == "hidden":
            label = f"{g.nodes[node].activation[:5]}"
        ax.text(x, y, label, ha="center", va="center", fontsize=7, zorder=3)
    ax.set_axis_off()


def genome(g, path, title: str, input_names=None, output_names=None):
    with figure(path, size=(6.0, 4.0), title=title) as (fig, ax):
        draw_genome(ax, g, input_names, output_names)


def substrate(decoder, cppn_genome, path, title: str):
    """The substrate's layers stacked bottom to top, painted connections drawn; and CPPN weight output 1
    (input plane → hidden plane) as an image over (x₂, y₂) for the source at the origin-most input."""
    from nndl.evolution.cppn import query
    from nndl.evolution.phenotype import FeedForward

    painted = decoder.paint(cppn_genome)
    layers = decoder.substrate.layers
    with figure(path, 1, 2, size=(10.0, 4.4), title=title) as (fig, (left, right)):
        largest = max([numpy.abs(w).max() for w, _ in painted] + [1e-9])
        def at(k, points):                      # the planes in oblique view, stacked bottom to top
            points = numpy.atleast_2d(points)
            return numpy.stack([points[:, 0] + 0.45 * points[:, 1], 0.35 * points[:, 1] + 2.0 * k], axis=1)

        for k, (w, _) in enumerate(painted):
            for j, i in zip(*numpy.nonzero(w)):
                a, b = at(k, layers[k][i])[0], at(k + 1, layers[k + 1][j])[0]
                left.plot([a[0], b[0]], [a[1], b[1]], color=POSITIVE if w[j, i] > 0 else NEGATIVE,
                          linewidth=0.3 + 2.0 * abs(w[j, i]) / largest, alpha=0.6, zorder=1)
        for k, layer in enumerate(layers):
            corners = at(k, numpy.array([[-1.1, -1.1], [1.1, -1.1], [1.1, 1.1], [-1.1, 1.1], [-1.1, -1.1]]))
            left.plot(corners[:, 0], corners[:, 1], color="#CCCCCC", linewidth=0.8, zorder=0)
            pts = at(k, layer)
            left.scatter(pts[:, 0], pts[:, 1], s=60, color=COLORS[k % len(COLORS)], edgecolor="black", zorder=2,
                         label=["inputs", "hidden grid", "outputs"][min(k, 2)] if k < 3 else None)
        left.set_title(f"{sum(int(numpy.count_nonzero(w)) for w, _ in painted)} of "
                       f"{sum(w.size for w, _ in painted)} connections expressed", fontsize=9)
        left.set_axis_off()
        left.legend(loc="upper left", frameon=False, fontsize=8)
        side = numpy.linspace(-1, 1, 81)
        ys, xs = numpy.meshgrid(side, side, indexing="ij")
        targets = numpy.stack([xs.ravel(), ys.ravel()], axis=1)
        raw = query(FeedForward(cppn_genome), layers[0][:1], targets)[:, 0, 0].reshape(len(side), len(side))
        image = right.imshow(raw, origin="lower", extent=(-1, 1, -1, 1), cmap="RdBu", vmin=-1, vmax=1)
        fig.colorbar(image, ax=right, shrink=0.8)
        right.set_title(f"CPPN weight output from input at ({layers[0][0][0]:.1f}, {layers[0][0][1]:.1f}) "
                        f"to (x₂, y₂)", fontsize=9)
        right.set_xlabel("x₂")
        right.set_ylabel("y₂")
        right.grid(False)


def pareto_front(objectives, front, accuracies, path, title: str, test_accuracies=None):
    """Left: every individual's (connections, cost) with the first front joined; right: the front's accuracy."""
    objectives = numpy.asarray(objectives)
    with figure(path, 1, 2, size=(10.0, 4.0), title=title) as (fig, (left, right)):
        left.scatter(objectives[:, 1], objectives[:, 0], s=12, color="#BBBBBB", label="population")
        f = objectives[front]
        order = numpy.argsort(f[:, 1])
        left.step(f[order, 1], f[order, 0], where="post", color=COLORS[0], label="first front")
        left.scatter(f[:, 1], f[:, 0], s=20, color=COLORS[0], zorder=3)
        finish(left, "connections", "training cost (log-likelihood)")
        conns = f[order, 1]
        right.plot(conns, numpy.asarray(accuracies)[order], marker="o", label="training")
        if test_accuracies is not None:
            right.plot(conns, numpy.asarray(test_accuracies)[order], marker="s", label="test")
        right.set_ylim(0.0, 1.02)
        finish(right, "connections", "accuracy of the front's networks")
