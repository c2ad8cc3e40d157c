"""Running a network over one long stream, a piece at a time, each recurrent layer's state carried.

    stream = Stream(network)
    a1 = stream(x[:, :64])        # the first 64 steps, from the initial states
    a2 = stream(x[:, 64:128])     # the next 64, starting where the first piece ended

Each call is inference (no backward): every recurrent layer gets the state it ended the
last call with as ``initial_state`` and hands back its ``final_state``.  A sampler calls
it one character at a time; the validation of a character model calls it on
consecutive pieces of B parallel streams (:func:`nndl.data.text.stream_pieces`), so every
character is predicted with all the text before it, as char-rnn measures it.
"""
from __future__ import annotations

from nndl.backend import xp
from nndl.errors import NndlError
from nndl.layers.base import no_grad


class Stream:
    """A flat stack of layers run piece after piece with the recurrent states carried (see the module)."""

    def __init__(self, network):
        self.layers = network.layers
        for layer in self.layers:
            if layer.type == "bidirectional":
                raise NndlError("a bidirectional layer reads the future; it cannot run over a stream piece by piece")
            if layer.type == "network":
                raise NndlError("a stream runs a flat stack of layers, not a network nested in another")
        self.reset()

    def reset(self) -> None:
        """Start again from every recurrent layer's initial state."""
        self.states = [None] * len(self.layers)

    def __call__(self, x):
        """The network's output for the next piece ``x`` (N, T, ...) of the N streams."""
        x = xp.asarray(x)
        if self.states and any(s is not None and s[0].shape[0] != len(x) for s in self.states):
            raise NndlError(f"a stream of {next(s[0].shape[0] for s in self.states if s is not None)} rows "
                            f"cannot go on with {len(x)}")
        with no_grad():
            for k, layer in enumerate(self.layers):
                if hasattr(layer, "state_names"):
                    x = layer.forward(x, initial_state=self.states[k])
                    self.states[k] = layer.final_state
                else:
                    x = layer.forward(x)
        return x
