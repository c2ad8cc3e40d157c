"""Transfer learning: start from a trained network, keep what it learned, teach it a new task.

    nndl train --data digits-5-9/ --init-from digits-0-4.npz --replace-head 5 --freeze 2

Three moves, each one small:

* **initialise from a model** (``--init-from MODEL``): the network, its weights and its
  cost come from the file instead of ``--layers``/``--net``;
* **replace the head** (``--replace-head K``): the output layer — which must be a dense
  layer — is swapped for a new dense layer of K neurons with the same σ and
  initializer, drawn afresh from the run's seed.  The layers below it are the learned
  features, :meth:`nndl.network.Network.features`;
* **freeze** (``--freeze N``): the first N layers that hold weights (dense, conv, batch
  norm; dropout and activation layers hold none and are not counted) keep their weights:
  their parameters are marked ``trainable = False``, so backpropagation adds no gradient
  to them and neither the optimizer, the weight penalties nor max-norm touch them (see
  :class:`nndl.layers.Parameter`).  Their values stay bitwise what the file held.
  The output layer always trains.  (Batch normalization's running averages are buffers,
  not parameters: a frozen batch-norm layer still follows the new data's statistics.)

Every problem — a model file that cannot be read, more frozen layers than the network
has, a head that is not dense, an output count that does not fit the new data — is one
line before any training.
"""
from __future__ import annotations

from pathlib import Path

import numpy

from nndl import validation
from nndl.errors import NndlError


def weight_layers(network) -> list:
    """The layers of ``network`` (in order, each once) that hold parameters: what ``--freeze N`` counts."""
    return [layer for _, layer in network.leaves() if layer.params]


def _names(layers) -> str:
    return ", ".join(f"{layer.type}({getattr(layer, 'units', '')})".replace("()", "") for layer in layers)


def check_freeze(network, count: int, where: str) -> None:
    """A one-line NndlError unless the first ``count`` weight layers can be frozen and the output layer
    still trains."""
    count = validation.whole("--freeze", count, low=0)
    layers = weight_layers(network)
    if count > len(layers):
        raise NndlError(f"--freeze {count}: {where} has only {len(layers)} layers with weights ({_names(layers)}); "
                        f"freeze at most {len(layers) - 1}, so that the output layer trains")
    if count == len(layers):
        raise NndlError(f"--freeze {count} would freeze every layer of {where} ({_names(layers)}), the output "
                        f"layer too, and leave nothing to train; freeze at most {len(layers) - 1}")


def freeze(network, count: int) -> list:
    """Mark the parameters of the first ``count`` weight layers ``trainable = False`` (the others True);
    returns the frozen layers."""
    if count:
        check_freeze(network, count, "the network")
    layers = weight_layers(network)
    for k, layer in enumerate(layers):
        layer.trainable = k >= count
    return layers[:count]


def check_head(network, where: str) -> None:
    """A one-line NndlError unless the output layer of ``network`` is a dense layer (one that can be replaced)."""
    from nndl.layers import Dense

    head = network.layers[-1]
    if not isinstance(head, Dense):
        kinds = " ".join(layer.type for layer in network.layers[-3:])
        raise NndlError(f"--replace-head: {where} does not end in a dense layer (its last layers are {kinds}); "
                        f"only a dense output layer can be replaced")


def replace_head(network, units: int, seed: int):
    """A network of the same layers (the same objects, weights kept) with the last one, a dense layer,
    replaced by a new dense layer of ``units`` neurons with its σ and initializer, drawn from ``seed``."""
    from nndl.layers import Dense
    from nndl.network import Network

    units = validation.whole("--replace-head", units, low=1)
    check_head(network, "the network")
    head = network.layers[-1]
    new = Dense(units, activation=head.activation, init=head.init, use_bias=head.use_bias)
    net = Network(network.layers[:-1] + [new], network.input_shape, cost=network.cost, seed=seed,
                  dtype=network.dtype)
    net.preprocessor, net.target_preprocessor = network.preprocessor, network.target_preprocessor
    return net


class Transfer:
    """What ``nndl train --init-from MODEL [--replace-head K] [--freeze N]`` starts from: the model read
    and checked once, before the data are read; :meth:`network` adapts it to the data."""

    def __init__(self, path, freeze: int = 0, head: int | None = None, cost_given: bool = False):
        from nndl import io

        self.path = str(path)
        self.source = io.load(path)
        self.freeze = validation.whole("--freeze", freeze or 0, low=0)
        self.head = None if head is None else validation.whole("--replace-head", head, low=1)
        self.cost_given = cost_given
        if self.head is not None:
            check_head(self.source, self.path)
        if self.freeze:
            check_freeze(self.source, self.freeze, self.path)

    @classmethod
    def from_settings(cls, s: dict) -> "Transfer | None":
        """The transfer of the settings (``init_from``, ``freeze``, ``replace_head``), or None; one-line errors
        for --freeze or --replace-head without --init-from, or with --layers/--net."""
        if not s.get("init_from"):
            for key in ("freeze", "replace_head"):
                if s.get(key):
                    raise NndlError(f"--{key.replace('_', '-')} goes with --init-from MODEL (the trained network "
                                    f"to start from)")
            return None
        for key in ("layers", "net", "batch_norm", "dropout"):
            if s.get(key):
                raise NndlError(f"--init-from {s['init_from']} takes the network from the file; leave out "
                                f"--{key.replace('_', '-')}")
        s["init_from"] = str(Path(s["init_from"]).expanduser().resolve())
        return cls(s["init_from"], s.get("freeze") or 0, s.get("replace_head"), cost_given=s.get("cost") is not None)

    def network(self, s: dict, train, outputs: int):
        """The network to train on ``train`` (whose task needs ``outputs`` output neurons): the file's, with
        its head replaced if asked; its cost the file's unless --cost was given (``s["cost"]`` is set)."""
        from nndl.costs import get_cost

        net = self.source
        features, wanted = int(train.x[0].size), int(numpy.prod(net.input_shape))
        if wanted != features:
            raise NndlError(f"--init-from {self.path}: the network takes {wanted} inputs but the data have "
                            f"{features} features")
        if self.head is not None:
            if self.head != outputs:
                raise NndlError(f"--replace-head {self.head}: the {s['task']} task on these data needs {outputs} "
                                f"outputs")
            net = replace_head(net, self.head, s["seed"])
        elif net.num_classes != outputs:
            raise NndlError(f"--init-from {self.path}: the network has {net.num_classes} outputs but the {s['task']} "
                            f"task on these data needs {outputs}; give --replace-head {outputs}")
        if self.cost_given:
            net.cost = get_cost(s["cost"])
        s["cost"] = net.cost.name
        return net
