"""A class at every step of a sequence: a character model predicts the next character.

Inputs are sequences (token ids (N, T), or vectors (N, T, D)); targets are integer ids
(N, T), one per step, with −1 at padded steps that have no target.  The cost is
:class:`nndl.costs.TokenCrossEntropy`, the mean log-likelihood cost per real target
(nats per character), whatever cost the network was built with.  One training step:

1. the mask m = (y ≥ 0) when the batch has padding (the recurrent layers hold their
   state at padded steps, :mod:`nndl.layers.recurrent.base`);
2. forward, and the output error δ = (a − e_y)/M at real steps (BP1 for a softmax
   output layer, which is what the last layer must be);
3. backprop through the layers and through time, then the optimizer's step
   (and clipping by value or norm: the optimizer's ``clip_value``, ``clip_norm``).

Metrics: ``cost`` and ``accuracy`` (the share of steps whose most active output is the
target), each over all real targets.
"""
from __future__ import annotations

import numpy

from nndl.activations import Softmax
from nndl.backend import to_device
from nndl.costs import TokenCrossEntropy
from nndl.errors import NndlError
from nndl.layers.recurrent import forward_masked
from nndl.models.base import Model


class SequenceClassifier(Model):
    """Per-step classification of sequences, trained by backprop through time."""

    task = "sequence"
    default_metrics = ()

    def __init__(self, network, *args, **kwargs):
        out = network.layers[-1]
        if not isinstance(getattr(out, "activation", None), Softmax):
            raise NndlError(f"a sequence model ends in a softmax output at every step (e.g. dense(V) softmax); "
                            f"this network ends in a {out.type} layer")
        super().__init__(network, *args, **kwargs)
        self.token_cost = TokenCrossEntropy()

    @property
    def vocabulary(self) -> int:
        return int(self.network.output_shape[-1])

    def check_targets(self, y, what):
        if y is None:
            raise NndlError(f"{what}: a sequence model needs one target id per step")
        y = numpy.asarray(y)
        steps = self.network.output_shape[0] if len(self.network.output_shape) == 2 else None
        if y.ndim != 2 or y.dtype.kind not in "iu" or (steps is not None and y.shape[1] != steps):
            raise NndlError(f"{what}: targets must be integer ids of shape (N, {steps}), got {y.shape} of {y.dtype}")
        if y.size and (int(y.min()) < -1 or int(y.max()) >= self.vocabulary):
            bad = int(y.min()) if int(y.min()) < -1 else int(y.max())
            raise NndlError(f"{what}: target id {bad} is outside the vocabulary of {self.vocabulary} "
                            f"(−1 marks padding)")
        return y

    def targets(self, x, y):
        return to_device(y)

    def _forward(self, x, y, training):
        mask = (y >= 0) if bool((y < 0).any()) else None
        if mask is None:
            return self.network.forward(x, training)
        return forward_masked(self.network, x, mask, training)

    def train_step(self, x, y) -> dict:
        net = self.network
        net.zero_grad()
        y = to_device(y)
        a = self._forward(x, y, training=True)
        out = net.layers[-1]
        out.needs_input_grad = len(net.layers) > 1
        grad = out.backward_delta(self.token_cost.delta(a, y)) if hasattr(out, "backward_delta") else \
            out.backward(self.token_cost.derivative(a, y))
        net._backward(grad, len(net.layers) - 1, False)
        self.apply_gradients()
        return {"cost": self.token_cost.fn(a, y)}

    #: Evaluate (x, y) as ``streams`` parallel streams in stream order, the recurrent states carried
    #: from each batch of rows to the next (:mod:`nndl.layers.recurrent.stream`); None: each
    #: sequence on its own, from the initial state.
    eval_streams: int | None = None

    def evaluate(self, x, y, batch_size: int = 256) -> dict:
        """``{"cost": nats per target (+ R), "accuracy": share of steps predicted}`` over (x, y)."""
        from nndl.layers import no_grad
        from nndl.layers.recurrent.stream import Stream

        stream = None
        if self.eval_streams:
            stream, batch_size = Stream(self.network), self.eval_streams
        total = correct = count = 0.0
        with no_grad():
            for i in range(0, len(x) - len(x) % batch_size if stream else len(x), batch_size):
                xb, yb = self.network.as_input(x[i:i + batch_size]), to_device(y[i:i + batch_size])
                a = stream(xb) if stream else self._forward(xb, yb, training=False)
                hits, m = self.token_cost.correct(a, yb)
                total += self.token_cost.fn(a, yb) * m
                correct, count = correct + hits, count + m
        count = max(count, 1)
        return {"cost": total / count + self.regularization_cost(), "accuracy": correct / count}
