"""A bidirectional recurrent layer (Schuster & Paliwal, 1997): one layer reads the sequence
forwards, a second (same kind, own weights) reads it backwards, and their outputs are joined:

    →h_t = cell→(x_t, →h_{t−1}),   t = 1 .. T
    ←h_t = cell←(x_t, ←h_{t+1}),   t = T .. 1
    y_t  = [→h_t, ←h_t]             (``merge="concat"``, 2H values)   or  →h_t + ←h_t  (``"sum"``)

so y_t sees the whole sequence, the past through →h and the future through ←h.  With
``return_sequences=False`` the output joins the two last states, →h_T and ←h_1.

Backward splits ∂C/∂y into its two halves, runs each layer's BPTT (the backward layer's
on the time-reversed gradient) and adds the two ∂C/∂x.  With a mask (padding at the end
of shorter sequences) the reversed sequence starts with padding, where the backward
layer holds its initial state, so ←h starts at each sequence's own last step.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, layer_from_config, register_layer


@register_layer
class Bidirectional(Layer):
    """Wraps a recurrent layer (its copy reads the sequence backwards).  On the command line:
    ``lstm(128, bidirectional=true)``, ``gru(64, bidirectional=true, merge=sum)``."""

    type = "bidirectional"
    takes_mask = True

    def __init__(self, layer, merge: str = "concat"):
        super().__init__()
        if isinstance(layer, dict):
            layer = layer_from_config(layer)
        if not hasattr(layer, "state_names"):
            raise NndlError(f"bidirectional wraps a recurrent layer (rnn, lstm, gru), not {layer.type}")
        if layer.stateful:
            raise NndlError("a bidirectional layer cannot be stateful: its backward half reads the future")
        self.forward_layer = layer
        self.backward_layer = layer_from_config(layer.config())
        self.merge = validation.choice("bidirectional merge", merge, ("concat", "sum"))
        self.spec_names = layer.spec_names          # written back as lstm(.., bidirectional=true)
        self.return_sequences = layer.return_sequences

    @property
    def sequence_output(self) -> bool:
        return self.return_sequences

    @property
    def splits_over_batch(self) -> bool:
        return True

    def build(self, input_shape, rng, dtype=FLOAT):
        shape = self.forward_layer.build(input_shape, rng, dtype)
        self.backward_layer.build(input_shape, rng, dtype)
        for prefix, layer in (("fwd.", self.forward_layer), ("bwd.", self.backward_layer)):
            for p in layer.params:
                p.name = prefix + p.name.split(".")[-1]
        self.input_shape, self.dtype = tuple(input_shape), dtype
        width = shape[-1] * (2 if self.merge == "concat" else 1)
        self.output_shape = tuple(shape[:-1]) + (width,)
        return self.output_shape

    @property
    def params(self):
        return self.forward_layer.params + self.backward_layer.params

    @property
    def final_state(self):
        return self.forward_layer.final_state, self.backward_layer.final_state

    def forward(self, x, training=False, mask=None):
        """y = [→h, ←h] (or their sum) for x (N, T, D)."""
        yf = self.forward_layer.forward(x, training, mask=mask)
        yb = self.backward_layer.forward(x[:, ::-1], training, mask=None if mask is None else mask[:, ::-1])
        if self.return_sequences:
            yb = yb[:, ::-1]
        return xp.concatenate([yf, yb], axis=-1) if self.merge == "concat" else yf + yb

    def backward(self, grad):
        if self.merge == "concat":
            h = grad.shape[-1] // 2
            gf, gb = grad[..., :h], grad[..., h:]
        else:
            gf = gb = grad
        if self.return_sequences:
            gb = gb[:, ::-1]
        for layer in (self.forward_layer, self.backward_layer):
            layer.needs_input_grad = self.needs_input_grad
        dxf = self.forward_layer.backward(xp.ascontiguousarray(gf))
        dxb = self.backward_layer.backward(xp.ascontiguousarray(gb))
        if not self.needs_input_grad:
            return None
        return dxf + dxb[:, ::-1]

    def forget(self):
        self.forward_layer.forget()
        self.backward_layer.forget()

    def config(self):
        cfg = {"type": self.type, "layer": self.forward_layer.config()}
        if self.merge != "concat":
            cfg["merge"] = self.merge
        return cfg

    def spec_args(self):
        args, options = self.forward_layer.spec_args()
        options = dict(options, bidirectional=True)
        if self.merge != "concat":
            options["merge"] = self.merge
        return args, options

    def forward_flops(self, batch_size):
        return self.forward_layer.forward_flops(batch_size)
