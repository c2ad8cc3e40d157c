"""Evolved individuals as JSON files, written atomically and read back with every value checked.

    {"format": "nndl-evolved", "version": 1, "method": "neat" | "hyperneat" | "ga", "task": "xor",
     "fitness": 3.9, "genome": {...}, "decoder": {...}, "run": {...}}

* ``neat`` and ``hyperneat``: ``genome`` holds ``inputs``, ``outputs``, ``nodes`` (id, kind,
  bias, activation) and ``connections`` (innovation, source, target, weight, enabled);
  ``hyperneat`` adds ``decoder``: the substrate's layers of (x, y) and the expression settings.
* ``ga``: ``genome`` holds ``weights`` (the flat θ) and ``decoder`` the layer sizes and activations.

The loader never trusts the file: at most :data:`MAX_BYTES` of JSON (:func:`nndl.schema.parse_json`:
no NaN, no repeated keys), at most :data:`MAX_NODES` nodes and :data:`MAX_CONNECTIONS` genes,
ids unique, connections between existing nodes, inputs and outputs numbered as NEAT numbers
them, no cycle among enabled genes, every number finite — each failure one NndlError line
naming the file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy

from nndl.errors import NndlError
from nndl.evolution import activations
from nndl.evolution.genome import ConnectionGene, Genome, NodeGene
from nndl.files import atomic_write
from nndl.schema import Field, check_schema, parse_json

FORMAT, VERSION = "nndl-evolved", 1
MAX_BYTES = 16 << 20
MAX_NODES = 10_000
MAX_CONNECTIONS = 200_000
MAX_WEIGHTS = 1_000_000
_BIG = 1e6

_NODE = {"id": Field(int, low=0, high=10 ** 9), "kind": Field(str, choices=("input", "output", "hidden")),
         "bias": Field(float, low=-_BIG, high=_BIG),
         "activation": Field(str, choices=tuple(sorted(activations.FUNCTIONS)))}
_CONNECTION = {"innovation": Field(int, low=0, high=10 ** 9), "source": Field(int, low=0, high=10 ** 9),
               "target": Field(int, low=0, high=10 ** 9), "weight": Field(float, low=-_BIG, high=_BIG),
               "enabled": Field(bool)}
_GENOME = {"inputs": Field(int, low=1, high=MAX_NODES), "outputs": Field(int, low=1, high=MAX_NODES),
           "nodes": Field(list, max_len=MAX_NODES, items=Field(dict, fields=_NODE)),
           "connections": Field(list, max_len=MAX_CONNECTIONS, items=Field(dict, fields=_CONNECTION))}
_TOP = {"format": Field(str, choices=(FORMAT,)), "version": Field(int, choices=(VERSION,)),
        "method": Field(str, choices=("neat", "hyperneat", "ga")), "task": Field(str, max_len=64),
        "fitness": Field((float, type(None)), required=False, low=-1e300, high=1e300),
        "genome": Field(dict), "decoder": Field(dict, required=False), "run": Field(dict, required=False)}
_SIZES = Field(list, max_len=64, items=Field(int, low=1, high=100_000))
_GA_DECODER = {"sizes": _SIZES, "activation": Field(str, max_len=32), "output_activation": Field(str, max_len=32)}
_HYPERNEAT_DECODER = {"layers": Field(list, max_len=64, items=Field(list, max_len=100_000,
                                                                    items=Field(list, max_len=2, items=Field(float, low=-_BIG, high=_BIG)))),
                      "threshold": Field(float, low=0, high=0.999), "weight_max": Field(float, low=1e-9, high=_BIG),
                      "bias_max": Field(float, low=0, high=_BIG), "activation": Field(str, max_len=32),
                      "output_activation": Field(str, max_len=32)}


# --------------------------------------------------------------------------- genome ↔ dict
def genome_to_dict(genome: Genome) -> dict:
    return {"inputs": genome.n_inputs, "outputs": genome.n_outputs,
            "nodes": [{"id": n.id, "kind": n.kind, "bias": n.bias, "activation": n.activation}
                      for _, n in sorted(genome.nodes.items())],
            "connections": [{"innovation": c.innovation, "source": c.source, "target": c.target,
                             "weight": c.weight, "enabled": c.enabled} for _, c in sorted(genome.connections.items())]}


def genome_from_dict(obj: dict, where: str) -> Genome:
    """A Genome from its dict, every rule of the module docstring checked."""
    from nndl.evolution.phenotype import topological_order

    check_schema(obj, _GENOME, where, path="genome")
    n_in, n_out = obj["inputs"], obj["outputs"]
    genome = Genome(n_in, n_out)
    for k, node in enumerate(obj["nodes"]):
        if node["id"] in genome.nodes:
            raise NndlError(f"{where}: genome.nodes[{k}]: node {node['id']} appears twice")
        want = "input" if node["id"] < n_in else "output" if node["id"] < n_in + n_out else "hidden"
        if node["kind"] != want:
            raise NndlError(f"{where}: genome.nodes[{k}]: node {node['id']} must be an {want} node, not {node['kind']}")
        genome.nodes[node["id"]] = NodeGene(node["id"], node["kind"], float(node["bias"]), node["activation"])
    missing = [i for i in range(n_in + n_out) if i not in genome.nodes]
    if missing:
        raise NndlError(f"{where}: genome has {n_in} inputs and {n_out} outputs but no node {missing[0]}")
    pairs = set()
    for k, c in enumerate(obj["connections"]):
        name = f"{where}: genome.connections[{k}]"
        if c["innovation"] in genome.connections:
            raise NndlError(f"{name}: innovation number {c['innovation']} appears twice")
        for end in ("source", "target"):
            if c[end] not in genome.nodes:
                raise NndlError(f"{name}: {end} node {c[end]} is not among the genome's nodes")
        if genome.nodes[c["target"]].kind == "input":
            raise NndlError(f"{name}: a connection cannot end at input node {c['target']}")
        if (c["source"], c["target"]) in pairs:
            raise NndlError(f"{name}: a second gene from node {c['source']} to node {c['target']}")
        pairs.add((c["source"], c["target"]))
        genome.connections[c["innovation"]] = ConnectionGene(c["innovation"], c["source"], c["target"],
                                                             float(c["weight"]), c["enabled"])
    try:
        topological_order(genome)
    except NndlError as exc:
        raise NndlError(f"{where}: {exc}") from None
    return genome


# --------------------------------------------------------------------------- files
def save(path, method: str, task: str, individual, decoder=None, fitness=None, run: dict | None = None) -> Path:
    """Write an evolved individual (a Genome, or a GA weight vector with its ``NetworkDecoder``) to ``path``."""
    obj = {"format": FORMAT, "version": VERSION, "method": method, "task": task,
           "fitness": None if fitness is None else float(fitness)}
    if method == "ga":
        obj["genome"] = {"weights": [float(w) for w in numpy.asarray(individual)]}
        obj["decoder"] = {"sizes": decoder.sizes, "activation": decoder.activation,
                          "output_activation": decoder.output_activation}
    else:
        obj["genome"] = genome_to_dict(individual)
        if method == "hyperneat":
            obj["decoder"] = {"layers": [layer.tolist() for layer in decoder.substrate.layers],
                              "threshold": decoder.threshold, "weight_max": decoder.weight_max,
                              "bias_max": decoder.bias_max, "activation": decoder.activation,
                              "output_activation": decoder.output_activation}
    if run:
        obj["run"] = run
    path = Path(path)
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    return path


def load(path):
    """``(method, task, individual, decoder, record)`` from a file written by :func:`save`; one-line errors."""
    from nndl.evolution.ga import NetworkDecoder
    from nndl.evolution.hyperneat import HyperNEATDecoder, Substrate
    from nndl.evolution.phenotype import FeedForward

    path = Path(path)
    where = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise NndlError(f"cannot read {path}: {exc.strerror or exc}") from None
    obj = check_schema(parse_json(data, where, max_bytes=MAX_BYTES), _TOP, where)
    method = obj["method"]
    if method == "ga":
        genome = check_schema(obj["genome"], {"weights": Field(list, max_len=MAX_WEIGHTS,
                                                               items=Field(float, low=-_BIG, high=_BIG))},
                              where, path="genome")
        spec = check_schema(obj.get("decoder"), _GA_DECODER, where, path="decoder")
        for name in ("activation", "output_activation"):
            _check_activation(spec[name], where, f"decoder.{name}")
        if len(spec["sizes"]) < 2:
            raise NndlError(f"{where}: decoder.sizes must list at least two layer sizes")
        decoder = NetworkDecoder(spec["sizes"], spec["activation"], spec["output_activation"])
        individual = numpy.asarray(genome["weights"], dtype=float)
        if len(individual) != decoder.parameters:
            raise NndlError(f"{where}: a network of sizes {spec['sizes']} has {decoder.parameters} parameters, "
                            f"the file {len(individual)} weights")
    else:
        individual = genome_from_dict(obj["genome"], where)
        decoder = FeedForward
        if method == "hyperneat":
            spec = check_schema(obj.get("decoder"), _HYPERNEAT_DECODER, where, path="decoder")
            for name in ("activation", "output_activation"):
                _check_activation(spec[name], where, f"decoder.{name}")
            if any(len(point) != 2 for layer in spec["layers"] for point in layer):
                raise NndlError(f"{where}: decoder.layers: every neuron position must be a pair (x, y)")
            try:
                decoder = HyperNEATDecoder(Substrate(spec["layers"]), spec["threshold"], spec["weight_max"],
                                           spec["bias_max"], spec["activation"], spec["output_activation"])
                if individual.n_inputs != 4 or individual.n_outputs != decoder.substrate.cppn_outputs:
                    raise NndlError(f"the substrate needs a CPPN with 4 inputs and {decoder.substrate.cppn_outputs} "
                                    f"outputs, the genome has {individual.n_inputs} and {individual.n_outputs}")
            except NndlError as exc:
                raise NndlError(f"{where}: {exc}") from None
    return method, obj["task"], individual, decoder, obj


def _check_activation(name, where, what):
    from nndl.activations import get_activation

    try:
        get_activation(name)
    except NndlError:
        raise NndlError(f"{where}: {what}={name!r} is not an nndl activation") from None
