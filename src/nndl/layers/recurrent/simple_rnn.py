"""The simple (Elman) recurrent layer: a tanh neuron that also sees its own last output.

For each time step t = 1 .. T, with x_t (N, D) and h_{t−1} (N, H):

    a_t = x_t W_x + h_{t−1} W_h + b
    h_t = tanh(a_t)

Backprop through time, t = T .. 1, with ∂C/∂h_t the sum of what the output at t sends
down and what step t+1 sends back:

    δ_t      = ∂C/∂h_t ⊙ (1 − h_t²)                 (∂C/∂a_t)
    ∂C/∂h_{t−1} += δ_t W_hᵀ                         (handed to step t−1)
    ∂C/∂x_t  = δ_t W_xᵀ,   ∂C/∂W_x = Σ_t x_tᵀ δ_t,   ∂C/∂W_h = Σ_t h_{t−1}ᵀ δ_t,   ∂C/∂b = Σ_t Σ_n δ_t.

The product δ_t W_hᵀ repeated T times is why the gradient vanishes or explodes over
long sequences (‖W_h‖ and tanh' ≤ 1).  PyTorch's ``nn.RNN`` (tanh) is the same cell with
W_x = weight_ih_l0ᵀ, W_h = weight_hh_l0ᵀ and b = bias_ih_l0 + bias_hh_l0.
Options (initial state, masks, stateful): :mod:`nndl.layers.recurrent.base`.
"""
from __future__ import annotations

from nndl.backend import xp
from nndl.layers.base import register_layer
from nndl.layers.recurrent.base import Recurrent, hold_


@register_layer
class SimpleRNN(Recurrent):
    """h_t = tanh(x_t W_x + h_{t−1} W_h + b)."""

    type = "rnn"
    spec_names = ("rnn", "simple_rnn")
    gates = 1

    def steps(self, xw, state0, m):
        steps, n, _ = xw.shape
        hs = xp.empty((steps + 1, n, self.units), self.dtype)
        hs[0] = state0[0]
        wh = self.Wh.value
        for t in range(steps):
            a = xw[t]
            a += hs[t] @ wh
            xp.tanh(a, out=a)                       # a_t becomes h_t (kept for backward: tanh' = 1 − h²)
            hs[t + 1] = a
            if m is not None:                       # padded step: h_t = h_{t−1}
                hold_(hs[t + 1], hs[t], m[t])
        return hs, (hs[steps],), {"h_new": xw}

    def back_steps(self, cache, hs, m, dy, d_last):
        h_new = cache["h_new"]
        steps = len(h_new)
        wh_t = xp.ascontiguousarray(self.Wh.value.T)         # a contiguous Wᵀ: BLAS runs it faster
        da = xp.empty_like(h_new)
        dh = d_last
        for t in range(steps - 1, -1, -1):
            if dy is not None:
                dh = dh + dy[t]
            if m is None:
                d_new, carry = dh, None
            else:
                d_new, carry = dh * m[t], dh * (1.0 - m[t])
            h = h_new[t]
            xp.multiply(d_new, 1.0 - h * h, out=da[t])           # δ_t = ∂C/∂h_t ⊙ (1 − h_t²)
            dh = da[t] @ wh_t
            if carry is not None:
                dh += carry
        return da, None, (dh,)
