"""A network: a stack of layers, a cost, and backpropagation through them.

``feedforward`` runs the layers in order.  ``backprop`` runs them, asks the cost for
the output error δᴸ (BP1, with the a − y simplification where it holds), divides it
by the mini-batch size m once — so every gradient is that of the mini-batch *mean*
cost, the book's (η/m) Σ_x — and hands it down through the layers' ``backward``.
Updating the parameters is the optimizer's job, looping over epochs the trainer's.
"""
from __future__ import annotations

import numpy

from nndl.backend import FLOAT, to_device, to_numpy, xp
from nndl.costs import get_cost
from nndl.errors import NndlError
from nndl.layers import Dense, Dropout, Layer, layer_from_config


class Network:
    """A feedforward network.

    Parameters
    ----------
    layers : list of Layer
        In order from input to output; built here for ``input_shape``.
    input_shape : tuple of int
        Shape of one example, without the batch axis: ``(784,)`` or ``(1, 28, 28)``.
    cost : str or Cost
        ``"quadratic"``, ``"cross_entropy"`` (default) or ``"log_likelihood"``.
    seed : int
        Seeds the generator for initial weights and dropout masks.
    dtype : numpy dtype
        float32 (default) or float64 (gradient checks).
    """

    def __init__(self, layers: list[Layer], input_shape, cost="cross_entropy", seed: int = 0, dtype=FLOAT):
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
            try:
                shape = layer.build(shape, self.rng, self.dtype)
            except NndlError as exc:
                raise NndlError(f"layer {i} ({layer.type}) does not fit input of shape {shape}: {exc}") from None
        self.layers[0].needs_input_grad = False
        self.output_shape = tuple(shape)
        self.num_classes = int(numpy.prod(self.output_shape))
        self._eye = xp.eye(self.num_classes, dtype=self.dtype)
        # Stored with the model by nndl.io; applied by the command line before predicting.
        self.preprocessor = None
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

    # -- parameters ---------------------------------------------------------------------
    @property
    def params(self):
        """Every trainable :class:`~nndl.layers.Parameter`, layer by layer."""
        return [p for layer in self.layers for p in layer.params]

    def get_weights(self) -> list:
        """Copies of all parameter values (to restore later with :meth:`set_weights`)."""
        return [p.value.copy() for p in self.params]

    def set_weights(self, values) -> None:
        """Copy ``values`` (as from :meth:`get_weights`) into the parameters."""
        self._copy_into([p.value for p in self.params], values, "parameter")

    def get_state(self) -> list:
        """Copies of all parameters *and* buffers (batch norm's running averages): a full snapshot."""
        return self.get_weights() + [b.copy() for b in self._buffers()]

    def set_state(self, values) -> None:
        """Restore a snapshot taken by :meth:`get_state`."""
        self._copy_into([p.value for p in self.params] + self._buffers(), values, "parameter or buffer")

    def _buffers(self) -> list:
        return [b for layer in self.layers for b in layer.buffers.values()]

    def _copy_into(self, targets, values, what) -> None:
        if len(values) != len(targets):
            raise NndlError(f"expected {len(targets)} {what} arrays, got {len(values)}")
        for i, (t, v) in enumerate(zip(targets, values)):
            if tuple(v.shape) != tuple(t.shape):
                raise NndlError(f"{what} {i} has shape {tuple(t.shape)}, got {tuple(v.shape)}")
            t[...] = to_device(v, t.dtype)

    # -- passes ---------------------------------------------------------------------------
    def feedforward(self, x, training: bool = False):
        """The output a^L for a batch ``x`` of shape (N, *input_shape)."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backprop(self, x, y):
        """Forward and backward pass for a mini-batch; gradients land in ``p.grad``.

        ``y`` holds one-hot targets (N, classes).  Returns the output activations.
        """
        a = self.feedforward(x, training=True)
        m = len(x)
        out = self.layers[-1]
        if isinstance(out, Dense):
            delta = self.cost.delta(out.z, a, y, out.activation)          # BP1
            grad = out.backward_delta(delta * (1.0 / m))
        else:
            grad = out.backward(self.cost.derivative(a, y) * (1.0 / m))
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)
        return a

    def one_hot(self, labels):
        """Targets y as one-hot rows: label 3 of 10 becomes (0,0,0,1,0,0,0,0,0,0)."""
        return self._eye[labels]

    # -- inference ------------------------------------------------------------------------
    def check_input(self, x, what: str = "input") -> None:
        """Raise a one-line :class:`NndlError` if ``x`` is not a batch of this network's inputs."""
        shape = tuple(x.shape)
        if len(shape) == 2 and len(self.input_shape) == 3 and shape[1] == int(numpy.prod(self.input_shape)):
            return  # flat images for a conv net: reshaped on the way in
        if shape[1:] != self.input_shape:
            raise NndlError(f"{what} has examples of shape {shape[1:]} but the network expects {self.input_shape}")

    def as_input(self, x):
        """Host or device array ``x`` as this network's input batch (dtype, and image shape for conv nets)."""
        x = to_device(x, self.dtype)
        if x.ndim == 2 and len(self.input_shape) > 1:
            x = x.reshape((len(x),) + self.input_shape)
        return x

    def predict_proba(self, x, batch_size: int = 1000):
        """Output activations for every row of host array ``x``, in chunks; a host array."""
        self.check_input(x)
        out = [to_numpy(self.feedforward(self.as_input(x[i:i + batch_size])))
               for i in range(0, len(x), batch_size)]
        return numpy.concatenate(out) if out else numpy.zeros((0,) + self.output_shape, self.dtype)

    def predict(self, x, batch_size: int = 1000):
        """The predicted class of every row of ``x`` (the most active output neuron)."""
        return self.predict_proba(x, batch_size).argmax(axis=1)

    def evaluate(self, x, labels, batch_size: int = 1000) -> tuple[float, float]:
        """Mean cost (without any regularization term) and accuracy on ``x`` with integer ``labels``."""
        self.check_input(x)
        total_cost, correct = 0.0, 0
        for i in range(0, len(x), batch_size):
            a = self.feedforward(self.as_input(x[i:i + batch_size]))
            lab = to_device(labels[i:i + batch_size])
            total_cost += self.cost.fn(a, self.one_hot(lab)) * len(a)
            correct += int((a.argmax(axis=1) == lab).sum())
        return total_cost / len(x), correct / len(x)

    def accuracy(self, x, labels) -> float:
        return self.evaluate(x, labels)[1]

    # -- description ---------------------------------------------------------------------
    def config(self) -> dict:
        """Everything needed to rebuild the architecture (JSON-able)."""
        return {"input_shape": list(self.input_shape), "cost": self.cost.name, "seed": self.seed,
                "layers": [layer.config() for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict, dtype=FLOAT) -> "Network":
        layers = [layer_from_config(c) for c in config["layers"]]
        return cls(layers, config["input_shape"], cost=config["cost"], seed=config.get("seed", 0), dtype=dtype)

    def forward_flops(self, batch_size: int) -> float:
        """FLOPs of the largest matrix product of a forward pass (to choose BLAS threads)."""
        return max(layer.forward_flops(batch_size) for layer in self.layers)

    def summary(self) -> str:
        lines, shape = [f"input {self.input_shape}"], self.input_shape
        for layer in self.layers:
            n = sum(int(numpy.prod(p.shape)) for p in layer.params)
            lines.append(f"{layer!r:<60} -> {layer.output_shape}  ({n} parameters)")
        total = sum(int(numpy.prod(p.shape)) for p in self.params)
        lines.append(f"cost {self.cost.name}; {total} parameters")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Network({len(self.layers)} layers, input {self.input_shape}, output {self.output_shape})"
