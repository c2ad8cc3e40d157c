"""Layers over sequences (N, T, D): recurrent cells, their bidirectional form, per-step layers.

=====================  ==========================================================
``rnn(H)``             :class:`SimpleRNN`, h_t = tanh(x_t W_x + h_{t−1} W_h + b)
``lstm(H)``            :class:`LSTM`; ``peepholes=true``, ``coupled=true`` (i = 1 − f)
``gru(H)``             :class:`GRU` (PyTorch's form)
options                ``sequences=false`` (only the last h), ``initial=learned``,
                       ``stateful=true`` (truncated BPTT), ``bidirectional=true``
=====================  ==========================================================

:func:`forward_masked` runs a network on a padded batch with its mask.
"""
from nndl.layers.recurrent.base import Recurrent
from nndl.layers.recurrent.bidirectional import Bidirectional
from nndl.layers.recurrent.gru import GRU
from nndl.layers.recurrent.lstm import LSTM
from nndl.layers.recurrent.simple_rnn import SimpleRNN
from nndl.layers.recurrent.time_distributed import TimeDistributed


def forward_masked(network, x, mask, training: bool = False):
    """``network.forward(x)`` for a padded batch: the recurrent layers get ``mask`` (N, T) (1 at real
    steps, 0 at padding); after a layer that returns only its last state there is no time axis left."""
    for layer in network.layers:
        if getattr(layer, "takes_mask", False):
            x = layer.forward(x, training, mask=mask)
            if not layer.sequence_output:
                mask = None
        else:
            x = layer.forward(x, training)
    return x


__all__ = ["Bidirectional", "GRU", "LSTM", "Recurrent", "SimpleRNN", "TimeDistributed", "forward_masked"]
