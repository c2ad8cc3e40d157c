"""A NEAT genome run as a network: feed-forward evaluation in topological order, over a batch.

Every non-input node j computes

    a_j = σ_j( b_j + Σ_{enabled genes i → j} w_ij · a_i ).

:class:`FeedForward` groups the nodes by **depth** — inputs have depth 0, a node depth
1 + the largest depth of its sources (1 if it has none) — so that every node of a depth
level reads only nodes of lower levels.  With the activations of all nodes so far in one
array A of shape (B, n_nodes), a level ℓ is one matrix product:

    Z_ℓ = A · W_ℓ + b_ℓ,     A[:, nodes of ℓ] = σ(Z_ℓ),

W_ℓ (n_nodes, |ℓ|) holding the enabled genes' weights into level ℓ (zeros elsewhere).
That is a layered network with skip connections — one an nndl ``Network`` of Dense
layers cannot express in general (a gene may skip levels), so a genome runs as this
small class instead; :func:`reference_outputs` is the plain per-node loop it is tested
against.  Where the topology allows — every enabled gene from one level to the next, the
outputs all in the last level, one node function per level — :func:`to_network` gives
the same function as an nndl Network of Dense layers (the steepened sigmoid σ(4.9 z) as
nndl's sigmoid of 4.9·W and 4.9·b).  HyperNEAT's substrates are layered by construction
and always run as nndl Networks.
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device, to_numpy, xp
from nndl.errors import NndlError
from nndl.evolution import activations


def topological_order(genome) -> list[int]:
    """The non-input nodes in an order where every enabled gene goes from an earlier node
    (or an input) to a later one; NndlError if the enabled genes have a cycle."""
    incoming: dict[int, list[int]] = {n: [] for n in genome.nodes}
    for g in genome.enabled():
        incoming[g.target].append(g.source)
    depth = {i: 0 for i in genome.inputs}
    order, visiting = [], set()
    for start in sorted(n for n in genome.nodes if n not in depth):
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if node in depth:
                continue
            if expanded:
                visiting.discard(node)
                depth[node] = 1 + max((depth[s] for s in incoming[node]), default=0)
                order.append(node)
                continue
            if node in visiting:
                raise NndlError(f"the genome's enabled connections have a cycle through node {node}")
            visiting.add(node)
            stack.append((node, True))
            for s in incoming[node]:
                if s not in depth:
                    if s in visiting:
                        raise NndlError(f"the genome's enabled connections have a cycle through node {s}")
                    stack.append((s, False))
    return sorted(order, key=lambda n: (depth[n], n)), depth


class FeedForward:
    """The network of a genome: ``net(x)`` maps inputs (B, n_inputs) to outputs (B, n_outputs)."""

    def __init__(self, genome, dtype=numpy.float64):
        order, depth = topological_order(genome)
        self.n_inputs, self.n_outputs = genome.n_inputs, genome.n_outputs
        ids = genome.inputs + order
        self.column = {node: k for k, node in enumerate(ids)}
        self.outputs = [self.column[o] for o in genome.outputs]
        n = len(ids)
        self.levels = []          # (columns, W (n, |level|), b, [(σ, positions in level)])
        for d in sorted({depth[node] for node in order}):
            nodes = [node for node in order if depth[node] == d]
            w = numpy.zeros((n, len(nodes)), dtype=dtype)
            where = {node: k for k, node in enumerate(nodes)}
            for g in genome.enabled():
                if g.target in where:
                    w[self.column[g.source], where[g.target]] += g.weight
            b = numpy.array([genome.nodes[node].bias for node in nodes], dtype=dtype)
            groups: dict[str, list[int]] = {}
            for k, node in enumerate(nodes):
                groups.setdefault(genome.nodes[node].activation, []).append(k)
            self.levels.append((numpy.array([self.column[node] for node in nodes]), to_device(w, dtype),
                                to_device(b, dtype), [(name, numpy.array(ks)) for name, ks in groups.items()]))
        self.n_nodes, self.dtype = n, dtype

    def __call__(self, x):
        x = to_device(numpy.asarray(x), self.dtype)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise NndlError(f"the network takes inputs of shape (batch, {self.n_inputs}), got {tuple(x.shape)}")
        a = xp.zeros((x.shape[0], self.n_nodes), dtype=self.dtype)
        a[:, :self.n_inputs] = x
        for columns, w, b, groups in self.levels:
            z = a @ w + b
            if len(groups) == 1:
                z = activations.apply(groups[0][0], z)
            else:
                for name, ks in groups:
                    z[:, ks] = activations.apply(name, z[:, ks])
            a[:, columns] = z
        return a[:, self.outputs]


def reference_outputs(genome, x) -> numpy.ndarray:
    """The same function node by node: a_j = σ_j(b_j + Σ w_ij a_i), one example at a time (for tests)."""
    order, _ = topological_order(genome)
    x = numpy.asarray(x, dtype=numpy.float64)
    out = numpy.zeros((len(x), genome.n_outputs))
    for row, example in enumerate(x):
        a = {i: example[i] for i in genome.inputs}
        for node in order:
            z = genome.nodes[node].bias
            for g in genome.enabled():
                if g.target == node:
                    z += g.weight * a[g.source]
            a[node] = float(to_numpy(activations.apply(genome.nodes[node].activation, numpy.float64(z))))
        out[row] = [a[o] for o in genome.outputs]
    return out


#: NEAT node functions as (nndl activation, factor on W and b).
_AS_NNDL = {"steep_sigmoid": ("sigmoid", 4.9), "sigmoid": ("sigmoid", 1.0), "tanh": ("tanh", 1.0),
            "linear": ("linear", 1.0), "relu": ("relu", 1.0)}


def to_network(genome):
    """The genome as an nndl :class:`~nndl.network.Network` of Dense layers (float64), if its topology is
    layered (see the module docstring); a one-line NndlError saying why not otherwise."""
    from nndl.layers import Dense
    from nndl.network import Network

    order, depth = topological_order(genome)
    levels = sorted({depth[n] for n in order})
    last = levels[-1] if levels else 0
    if any(depth[o] != last for o in genome.outputs) or any(depth[n] == last for n in genome.hidden):
        raise NndlError("the genome's outputs are not all in its last level, so it is not a layered network")
    members = [genome.inputs] + [sorted(n for n in order if depth[n] == d) for d in levels]
    members[-1] = genome.outputs
    for g in genome.enabled():
        if depth[g.target] != depth[g.source] + 1:
            raise NndlError(f"gene {g.innovation} ({g.source} → {g.target}) skips a level, which Dense layers "
                            f"cannot express")
    layers, values = [], []
    for k in range(1, len(members)):
        names = {genome.nodes[n].activation for n in members[k]}
        if len(names) != 1 or next(iter(names)) not in _AS_NNDL:
            raise NndlError(f"level {k} of the genome mixes or uses node functions nndl's Dense layers lack: "
                            f"{', '.join(sorted(names))}")
        activation, factor = _AS_NNDL[names.pop()]
        where = {n: i for i, n in enumerate(members[k - 1])}
        w = numpy.zeros((len(members[k]), len(members[k - 1])))
        for j, n in enumerate(members[k]):
            for g in genome.enabled():
                if g.target == n:
                    w[j, where[g.source]] += g.weight
        b = numpy.array([genome.nodes[n].bias for n in members[k]])
        layers.append(Dense(len(members[k]), activation=activation))
        values += [factor * w, factor * b]
    network = Network(layers, (genome.n_inputs,), cost="quadratic", dtype=numpy.float64)
    network.set_weights(values)
    return network
