"""A network: a chain of layers, a cost, and backpropagation through them.

Three passes, each a plain loop over the layers:

* ``forward(x, training)`` — the output aᴸ, each layer keeping what its backward needs;
* ``backward(grad_out, input_grad=False)`` — given ∂C/∂aᴸ, every layer adds its
  parameters' gradients (∂C/∂θ) and hands ∂C/∂(its input) down; returns ∂C/∂x when
  ``input_grad`` is true (an adversarial example, a GAN's generator step), else None;
* ``backprop(x, y)`` — the book's view: zero the gradients, forward, the output error
  δᴸ from the cost (BP1, with the a − y simplification where it holds), divided by the
  mini-batch size m once — so every gradient is that of the mini-batch *mean* cost,
  the book's (η/m) Σ_x — and backward.

Updating the parameters is the optimizer's job, looping over epochs the trainer's.

A network is itself a layer: a built network (an encoder, a discriminator) can sit
inside another without being rebuilt, and the same layer object may appear twice (a
shared layer); gradients from every use add up.
"""
from __future__ import annotations

import numpy

from nndl.backend import FLOAT, to_device, to_numpy, xp
from nndl.costs import get_cost
from nndl.errors import NndlError
from nndl.layers import Dense, Dropout, Layer, layer_from_config, no_grad, register_layer


def _unique(items) -> list:
    """``items`` without repeats (by identity), in order."""
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


@register_layer
class Network(Layer):
    """A feedforward network.

    Parameters
    ----------
    layers : list of Layer
        In order from input to output; built here for ``input_shape`` unless already
        built (then their input shape must match).
    input_shape : tuple of int
        Shape of one example, without the batch axis: ``(784,)`` or ``(1, 28, 28)``.
    cost : str or Cost
        ``"quadratic"``, ``"cross_entropy"`` (default) or ``"log_likelihood"``.
    seed : int
        Seeds the generator for initial weights and dropout masks.
    dtype : numpy dtype
        float32 (default) or float64 (gradient checks).
    """

    type = "network"

    def __init__(self, layers: list[Layer], input_shape, cost="cross_entropy", seed: int = 0, dtype=FLOAT):
        super().__init__()
        if not layers:
            raise NndlError("a network needs at least one layer")
        self.layers = list(layers)
        self.cost = get_cost(cost)
        self.seed = int(seed)
        self.dtype = numpy.dtype(dtype)
        self.rng = numpy.random.default_rng(self.seed)
        self.input_shape = tuple(int(d) for d in input_shape)
        shape = self.input_shape
        for i, layer in enumerate(self.layers, start=1):
            if layer.built:
                if tuple(layer.input_shape) != shape:
                    raise NndlError(f"layer {i} ({layer.type}) was built for input of shape "
                                    f"{tuple(layer.input_shape)} but gets {shape}")
                shape = tuple(layer.output_shape)
                continue
            try:
                shape = layer.build(shape, self.rng, self.dtype)
            except NndlError as exc:
                raise NndlError(f"layer {i} ({layer.type}) does not fit input of shape {shape}: {exc}") from None
        self.output_shape = tuple(shape)
        self.needs_input_grad = False        # on its own; a network around this one sets it per pass
        self.num_classes = int(numpy.prod(self.output_shape))
        self._eye = None                     # the one-hot rows, made at the first one_hot
        self._params = _unique(p for layer in self.layers for p in layer.params)
        self._leaves = [layer for _, layer in self.leaves()]
        # Stored with the model by nndl.io: the input preprocessing (applied by predict, predict_proba
        # and evaluate to raw examples), a regressor's target scaling, the names of the classes.
        self.preprocessor = None
        self.target_preprocessor = None
        self.class_names: list[str] | None = None

    @classmethod
    def from_sizes(cls, sizes, activation="sigmoid", output_activation=None, cost="cross_entropy",
                   init="default", dropout: float = 0.0, seed: int = 0, dtype=FLOAT) -> "Network":
        """The book's ``Network([784, 30, 10])``: dense layers of the given sizes.

        ``output_activation`` defaults to softmax for the log-likelihood cost, sigmoid
        for cross-entropy (its outputs must lie in (0, 1)) and ``activation`` otherwise.  ``dropout`` > 0 puts a dropout layer after every
        hidden layer.
        """
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise NndlError(f"layer sizes {sizes} must be at least two positive numbers, input first")
        cost = get_cost(cost)
        if output_activation is None:
            output_activation = {"log_likelihood": "softmax", "cross_entropy": "sigmoid"}.get(cost.name, activation)
        layers: list[Layer] = []
        for n in sizes[1:-1]:
            layers.append(Dense(n, activation=activation, init=init))
            if dropout > 0:
                layers.append(Dropout(dropout))
        layers.append(Dense(sizes[-1], activation=output_activation, init=init))
        return cls(layers, (sizes[0],), cost=cost, seed=seed, dtype=dtype)

    # -- what it is made of ---------------------------------------------------------------
    @property
    def params(self):
        """Every :class:`~nndl.layers.Parameter` once (a shared layer or weight counts once), in layer order."""
        return self._params

    @property
    def trainable_params(self):
        """The parameters an optimizer moves: those not frozen (``trainable=False``)."""
        return [p for p in self._params if p.trainable]

    def leaves(self, prefix: str = ""):
        """``(path, layer)`` for every layer that is not itself a network, each once, in order;
        the path of layer 3 of a network that is layer 1 of this one is ``"1/3"``."""
        seen = set()
        for i, layer in enumerate(self.layers):
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if isinstance(layer, Network):
                yield from layer.leaves(f"{prefix}{i}/")
            else:
                yield f"{prefix}{i}", layer

    @property
    def buffers(self) -> dict:
        """Every layer's buffers, keyed ``"<path>/<name>"`` (see :meth:`leaves`)."""
        return {f"{path}/{name}": value for path, layer in self.leaves() for name, value in layer.buffers.items()}

    @property
    def splits_over_batch(self) -> bool:
        return all(layer.splits_over_batch for layer in self.layers)

    @property
    def parallel_gain(self) -> bool:
        return any(layer.parallel_gain for layer in self.layers)

    @property
    def input_kind(self) -> str:
        return self.layers[0].input_kind

    def get_weights(self) -> list:
        """Copies of all parameter values (to restore later with :meth:`set_weights`)."""
        return [p.value.copy() for p in self.params]

    def set_weights(self, values) -> None:
        """Copy ``values`` (as from :meth:`get_weights`) into the parameters."""
        self._copy_into([p.value for p in self.params], values, "parameter")

    def get_state(self) -> list:
        """Copies of all parameters *and* buffers (batch norm's running averages): a full snapshot."""
        return self.get_weights() + [b.copy() for b in self.buffers.values()]

    def set_state(self, values) -> None:
        """Restore a snapshot taken by :meth:`get_state`."""
        self._copy_into([p.value for p in self.params] + list(self.buffers.values()), values,
                        "parameter or buffer")

    def _copy_into(self, targets, values, what) -> None:
        if len(values) != len(targets):
            raise NndlError(f"expected {len(targets)} {what} arrays, got {len(values)}")
        for i, (t, v) in enumerate(zip(targets, values)):
            if tuple(v.shape) != tuple(t.shape):
                raise NndlError(f"{what} {i} has shape {tuple(t.shape)}, got {tuple(v.shape)}")
            t[...] = to_device(v, t.dtype)

    def zero_grad(self) -> None:
        """Start a new step: every gradient back to none, and forward passes not backpropagated forgotten."""
        for p in self._params:
            p.grad = None
        for layer in self._leaves:
            layer._tape.clear()

    def forget(self) -> None:
        for layer in self._leaves:
            layer.forget()

    # -- passes ---------------------------------------------------------------------------
    def forward(self, x, training: bool = False):
        """The output aᴸ for a batch ``x`` of shape (N, *input_shape); each layer keeps what its backward needs."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad, input_grad: bool | None = None):
        """Given ∂C/∂aᴸ of the latest forward pass, add every ∂C/∂θ into the parameters' gradients.

        Returns ∂C/∂x for ``input_grad=True``, else None (the first layer then skips it).
        ``None`` means this network's own ``needs_input_grad`` (False, unless the network
        is a layer inside another).
        """
        return self._backward(grad, len(self.layers), self.needs_input_grad if input_grad is None else input_grad)

    def _backward(self, grad, below: int, input_grad: bool):
        """Backward through ``layers[:below]``, top down."""
        for i in range(below - 1, -1, -1):
            layer = self.layers[i]
            layer.needs_input_grad = input_grad if i == 0 else True
            grad = layer.backward(grad)
        return grad

    def backprop(self, x, y):
        """Gradients of the mini-batch mean cost for inputs ``x`` and targets ``y``, fresh in ``p.grad``.

        ``y`` has the shape of the output (one-hot rows for a classifier).  An output layer
        that applies σ itself (dense, conv, activation) takes the output error
        δᴸ = ∂C/∂zᴸ from the cost (BP1: a − y where σ' cancels); any other gets ∂C/∂aᴸ.
        Returns the output activations.
        """
        self.zero_grad()
        a, _ = self.backprop_add(x, y, 1.0 / len(x))
        return a

    def backprop_add(self, x, y, scale: float, training: bool = True, input_grad: bool = False):
        """Forward ``x``, then backward ``scale`` · ∂(Σ_examples C)/∂aᴸ, *adding* to the gradients
        already in ``p.grad`` (no ``zero_grad``): a cost that is a weighted sum of several batches'
        costs, α·C(x) + (1 − α)·C(x′), takes one call per batch.  Returns (aᴸ, ∂C/∂x or None);
        ``scale`` = 1/m with ``training=True`` is one step of :meth:`backprop`."""
        a = self.forward(x, training=training)
        out = self.layers[-1]
        out.needs_input_grad = len(self.layers) > 1 or input_grad
        if hasattr(out, "backward_delta"):
            kept = out.peek()
            grad = out.backward_delta(self.cost.delta(kept["z"], kept["a"], y, out.activation) * scale)    # BP1
        else:
            grad = out.backward(self.cost.derivative(a, y) * scale)
        if len(self.layers) == 1:
            return a, grad if input_grad else None
        return a, self._backward(grad, len(self.layers) - 1, input_grad)

    def one_hot(self, labels):
        """Targets y as one-hot rows: label 3 of 10 becomes (0,0,0,1,0,0,0,0,0,0)."""
        if self._eye is None:
            self._eye = xp.eye(self.num_classes, dtype=self.dtype)
        return self._eye[labels]

    # -- inference ------------------------------------------------------------------------
    def feedforward(self, x, training: bool = False):
        """The output aᴸ for a batch ``x``, keeping nothing for backward (the book's name)."""
        with no_grad():
            return self.forward(x, training)

    def check_input(self, x, what: str = "input") -> None:
        """Raise a one-line :class:`NndlError` if ``x`` is not a batch of this network's inputs."""
        shape = tuple(getattr(x, "shape", ()))
        if len(shape) < 1:
            raise NndlError(f"{what} must be an array of examples, got {type(x).__name__}")
        if len(shape) == 2 and len(self.input_shape) == 3 and shape[1] == int(numpy.prod(self.input_shape)):
            return  # flat images for a conv net: reshaped on the way in
        if shape[1:] != self.input_shape:
            raise NndlError(f"{what} has examples of shape {shape[1:]} but the network expects {self.input_shape}")
        if self.input_kind == "int" and numpy.dtype(x.dtype).kind not in "iu":
            raise NndlError(f"{what} must hold integer ids for the network's {self.layers[0].type} layer, "
                            f"got {x.dtype}")

    def as_input(self, x):
        """Host or device array ``x`` as this network's input batch (dtype, and image shape for conv nets).

        Integer ids stay integers for a network whose first layer reads them.
        """
        x = to_device(x) if self.input_kind == "int" else to_device(x, self.dtype)
        if x.ndim == 2 and len(self.input_shape) > 1:
            x = x.reshape((len(x),) + self.input_shape)
        return x

    # Inference on examples as they come (a CSV's rows, an image's pixels): the stored input
    # preprocessing (``preprocessor``, from the CSV loader's standardization or ``--preprocess``)
    # is applied first.  ``preprocessed=True`` says it has been already (the trainer's and the
    # evaluation's own data); ``forward`` and ``feedforward`` never preprocess.
    def prepared(self, x, preprocessed: bool = False):
        """``x`` through the stored input preprocessing, unless ``preprocessed`` or there is none."""
        if preprocessed or self.preprocessor is None:
            return x
        return self.preprocessor.transform(x)

    def predict_proba(self, x, batch_size: int = 1000, preprocessed: bool = False):
        """Output activations for every row of host array ``x`` (raw examples: the stored preprocessing
        is applied, unless ``preprocessed``), in chunks; a host array.  A regressor's outputs are in its
        scaled units (:meth:`nndl.models.Regressor.predict` maps them back).

        Outputs that are not finite numbers (weights so large the products overflow) are a
        one-line error, not a silent answer.
        """
        x = self.prepared(x, preprocessed)
        self.check_input(x)
        with numpy.errstate(over="ignore", invalid="ignore"):
            out = [to_numpy(self.feedforward(self.as_input(x[i:i + batch_size])))
                   for i in range(0, len(x), batch_size)]
        a = numpy.concatenate(out) if out else numpy.zeros((0,) + self.output_shape, self.dtype)
        if not numpy.isfinite(a).all():
            raise NndlError("the network's outputs are not finite numbers: its weights are so large that "
                            "the products overflow")
        return a

    def features(self, x, upto: int = -1, batch_size: int = 1000, preprocessed: bool = False):
        """What the first ``upto`` layers make of every row of host array ``x`` (raw examples, through
        the stored preprocessing unless ``preprocessed``): the activations aᵏ of layer k = ``upto``,
        counting ``self.layers`` from 1, or from the end when negative (the default −1: everything
        but the output layer — the features a new head would be trained on).  A host array."""
        k = self.layer_count(upto)
        x = self.prepared(x, preprocessed)
        self.check_input(x)
        out = []
        with no_grad():
            for i in range(0, len(x), batch_size):
                a = self.as_input(x[i:i + batch_size])
                for layer in self.layers[:k]:
                    a = layer.forward(a)
                out.append(to_numpy(a))
        return numpy.concatenate(out) if out else numpy.zeros((0,) + tuple(self.layers[k - 1].output_shape),
                                                                self.dtype)

    def layer_count(self, upto: int) -> int:
        """``upto`` (1..L, or −L+1..−1 from the end) as the number of leading layers it means."""
        n = len(self.layers)
        if isinstance(upto, bool) or not isinstance(upto, (int, numpy.integer)) or not -n < int(upto) <= n \
                or int(upto) == 0:
            raise NndlError(f"upto={upto!r}: this network has {n} layers; give 1..{n}, or -1..{1 - n} to count "
                            f"from the end")
        return int(upto) if upto > 0 else n + int(upto)

    def predict(self, x, batch_size: int = 1000, preprocessed: bool = False):
        """The predicted class of every row of ``x`` (raw examples, see :meth:`predict_proba`): the most
        active output neuron, or for a single output (a yes/no classifier) 1 where it is above ½."""
        if getattr(self, "target_preprocessor", None) is not None:
            raise NndlError("this network is a regressor (its targets are scaled), it has no classes to "
                            "predict; use nndl.models.Regressor(network).predict(x) for values in the "
                            "targets' units")
        a = self.predict_proba(x, batch_size, preprocessed)
        if a.ndim == 2 and a.shape[1] == 1:
            return (a[:, 0] > getattr(self.cost, "decision_threshold", 0.5)).astype(numpy.int64)   # hinge: 0
        return a.argmax(axis=1)

    def evaluate(self, x, labels, batch_size: int = 1000, preprocessed: bool = False) -> tuple[float, float]:
        """For a classifier: mean cost (without any regularization term) and accuracy on ``x`` (raw
        examples, see :meth:`predict_proba`) with integer ``labels`` (:class:`nndl.models.Model`
        evaluates any task)."""
        x = self.prepared(x, preprocessed)
        self.check_input(x)
        total_cost, correct = 0.0, 0
        for i in range(0, len(x), batch_size):
            a = self.feedforward(self.as_input(x[i:i + batch_size]))
            lab = to_device(labels[i:i + batch_size])
            total_cost += self.cost.fn(a, self.one_hot(lab)) * len(a)
            correct += int((a.argmax(axis=1) == lab).sum())
        return total_cost / len(x), correct / len(x)

    def accuracy(self, x, labels, preprocessed: bool = False) -> float:
        return self.evaluate(x, labels, preprocessed=preprocessed)[1]

    # -- description ---------------------------------------------------------------------
    def config(self) -> dict:
        """Everything needed to rebuild the architecture (JSON-able).

        A layer that appears a second time is written ``{"shared": k}`` (the same layer as
        number k, counting from 0); a layer tied to another names it by position.
        """
        configs = []
        for i, layer in enumerate(self.layers):
            first = next(k for k, other in enumerate(self.layers) if other is layer)
            if first < i:
                configs.append({"shared": first})
                continue
            cfg = layer.config()
            if isinstance(getattr(layer, "tied_to", None), Layer):
                cfg["tied_to"] = next(k for k, other in enumerate(self.layers) if other is layer.tied_to)
            configs.append(cfg)
        return {"type": self.type, "input_shape": list(self.input_shape), "cost": self.cost.name,
                "seed": self.seed, "layers": configs}

    @classmethod
    def from_config(cls, config: dict, dtype=FLOAT) -> "Network":
        layers: list[Layer] = []
        for k, c in enumerate(config["layers"]):
            if isinstance(c, dict) and set(c) == {"shared"}:
                index = c["shared"]
                if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < k:
                    raise NndlError(f"layer {k + 1} of the model config repeats layer {index!r}, "
                                    f"which is not an earlier layer")
                layers.append(layers[index])
                continue
            layer = layer_from_config(c, dtype)
            if isinstance(c, dict) and "tied_to" in c:
                tied = c["tied_to"]
                if isinstance(tied, bool) or not isinstance(tied, int) or not 0 <= tied < k:
                    raise NndlError(f"layer {k + 1} of the model config is tied to layer {tied!r}, "
                                    f"which is not an earlier layer")
                layer.tied_to = layers[tied]
            layers.append(layer)
        return cls(layers, config["input_shape"], cost=config["cost"], seed=config.get("seed", 0), dtype=dtype)

    def forward_flops(self, batch_size: int) -> float:
        """FLOPs of the largest matrix product of a forward pass (to choose BLAS threads)."""
        return max(layer.forward_flops(batch_size) for layer in self.layers)

    def summary(self) -> str:
        lines = [f"input {self.input_shape}"]
        for layer in self.layers:
            n = sum(int(numpy.prod(p.shape)) for p in layer.params)
            lines.append(f"{layer!r:<60} -> {layer.output_shape}  ({n} parameters)")
        total = sum(int(numpy.prod(p.shape)) for p in self.params)
        lines.append(f"cost {self.cost.name}; {total} parameters")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Network({len(self.layers)} layers, input {self.input_shape}, output {self.output_shape})"
