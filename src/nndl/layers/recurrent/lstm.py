"""Long short-term memory (Hochreiter & Schmidhuber, 1997; the forget gate of Gers et al., 2000).

A cell state c_t runs along the sequence, changed only by elementwise gates, so the
gradient along it is multiplied by the forget gate f, not by a weight matrix and a
squashing derivative at every step.  For each step t, with x_t (N, D), h_{t−1}, c_{t−1} (N, H):

    i_t = σ(x_t W_xi + h_{t−1} W_hi + b_i  [+ p_i ⊙ c_{t−1}])     input gate
    f_t = σ(x_t W_xf + h_{t−1} W_hf + b_f  [+ p_f ⊙ c_{t−1}])     forget gate
    g_t = tanh(x_t W_xg + h_{t−1} W_hg + b_g)                     candidate values
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t                                the cell
    o_t = σ(x_t W_xo + h_{t−1} W_ho + b_o  [+ p_o ⊙ c_t])         output gate
    h_t = o_t ⊙ tanh(c_t)

The bracketed terms are the peepholes (Gers & Schmidhuber, 2000; ``peepholes=True``):
diagonal weights p_i, p_f, p_o that let the gates see the cell.  The coupled variant
(``coupled=True``, Greff et al., 2017's CIFG) has no input gate: i_t = 1 − f_t, a cell
that forgets only to make room for new values.

The four gates' weights are one matrix, W_x (D, 4H), W_h (H, 4H), b (4H): column blocks
in the order **i, f, o, g** (the three sigmoid gates next to each other, so one σ call
covers them; PyTorch's order is i, f, g, o — the oracle test swaps the last two blocks).
The coupled cell has three blocks, f, o, g.  b_f starts at 1 (Jozefowicz et al., 2015).

Backprop through time, t = T .. 1, with ∂C/∂h_t (from the output at t and from step t+1)
and ∂C/∂c_t (from step t+1):

    ∂C/∂o_t = ∂C/∂h_t ⊙ tanh(c_t)
    ∂C/∂c_t += ∂C/∂h_t ⊙ o_t ⊙ (1 − tanh²(c_t))          [+ δo_t ⊙ p_o]
    ∂C/∂f_t = ∂C/∂c_t ⊙ c_{t−1},   ∂C/∂i_t = ∂C/∂c_t ⊙ g_t,   ∂C/∂g_t = ∂C/∂c_t ⊙ i_t
        (coupled: ∂C/∂f_t = ∂C/∂c_t ⊙ (c_{t−1} − g_t))
    δ at each gate: δi = ∂C/∂i ⊙ i(1 − i), δf = ∂C/∂f ⊙ f(1 − f), δo = ∂C/∂o ⊙ o(1 − o),
        δg = ∂C/∂g ⊙ (1 − g²)
    ∂C/∂c_{t−1} = ∂C/∂c_t ⊙ f_t                          [+ δi ⊙ p_i + δf ⊙ p_f]
    ∂C/∂h_{t−1} = δ_t W_hᵀ,   δ_t = (δi, δf, δo, δg)
    ∂C/∂p_i = Σ δi ⊙ c_{t−1},  ∂C/∂p_f = Σ δf ⊙ c_{t−1},  ∂C/∂p_o = Σ δo ⊙ c_t

and ∂C/∂W_x, ∂C/∂W_h, ∂C/∂b, ∂C/∂x as in :mod:`nndl.layers.recurrent.base`.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import xp
from nndl.layers.base import register_layer
from nndl.layers.recurrent.base import Recurrent, hold_, sigmoid_


@register_layer
class LSTM(Recurrent):
    """An LSTM layer of ``units`` cells; ``peepholes`` and ``coupled`` (i = 1 − f) as in the module docstring."""

    type = "lstm"
    spec_names = ("lstm",)
    state_names = ("h", "c")

    def __init__(self, units, return_sequences=True, initial="zero", stateful=False, init="glorot_uniform",
                 recurrent_init="orthogonal", peepholes: bool = False, coupled: bool = False):
        self.peepholes = validation.boolean("lstm peepholes", peepholes)
        self.coupled = validation.boolean("lstm coupled", coupled)
        super().__init__(units, return_sequences, initial, stateful, init, recurrent_init)
        self.P = None

    @property
    def gates(self) -> int:
        return 3 if self.coupled else 4

    def _slices(self):
        """Column blocks of the gates: (i or None, f, o, g) and the span of the sigmoid gates."""
        h = self.units
        if self.coupled:
            return None, slice(0, h), slice(h, 2 * h), slice(2 * h, 3 * h)
        return slice(0, h), slice(h, 2 * h), slice(2 * h, 3 * h), slice(3 * h, 4 * h)

    def initial_bias(self, dtype):
        b = xp.zeros(self.gates * self.units, dtype)
        b[self._slices()[1]] = 1.0                   # forget gate open at the start
        return b

    def build_extra(self, rng, dtype):
        if self.peepholes:                           # rows: p_i, p_f, p_o (coupled: p_f, p_o)
            rows = self.gates - 1
            self.P = self.add_param("P", (rows, self.units), lambda s: xp.zeros(s, dtype), regularize=True)

    def extra_params(self):
        return [self.P] if self.peepholes else []

    def extra_config(self):
        cfg = {}
        if self.peepholes:
            cfg["peepholes"] = True
        if self.coupled:
            cfg["coupled"] = True
        return cfg

    def _peep(self):
        """(p_i or None, p_f, p_o), each (H,), or Nones without peepholes."""
        if not self.peepholes:
            return None, None, None
        p = self.P.value
        return (None, p[0], p[1]) if self.coupled else (p[0], p[1], p[2])

    def steps(self, xw, state0, m):
        steps, n, _ = xw.shape
        h = self.units
        si, sf, so, sg = self._slices()
        pi, pf, po = self._peep()
        hs = xp.empty((steps + 1, n, h), self.dtype)
        cs = xp.empty((steps + 1, n, h), self.dtype)
        tc = xp.empty((steps, n, h), self.dtype)              # tanh(c_t)
        hs[0], cs[0] = state0
        wh = self.Wh.value
        sig = slice(0, so.start) if self.peepholes else slice(0, so.stop)   # σ now; o later with peepholes
        rec = xp.empty((n, xw.shape[2]), self.dtype)
        for t in range(steps):
            a = xw[t]                                          # becomes the gates' activations
            xp.matmul(hs[t], wh, out=rec)
            a += rec
            c_prev = cs[t]
            if self.peepholes:
                if pi is not None:
                    a[:, si] += c_prev * pi
                a[:, sf] += c_prev * pf
            sigmoid_(a[:, sig])
            g = xp.tanh(a[:, sg], out=a[:, sg])
            f = a[:, sf]
            c = cs[t + 1]
            xp.multiply(f, c_prev, out=c)
            c += (1.0 - f) * g if self.coupled else a[:, si] * g
            if self.peepholes:
                a[:, so] += c * po
                sigmoid_(a[:, so])
            xp.tanh(c, out=tc[t])
            h_t = hs[t + 1]
            xp.multiply(a[:, so], tc[t], out=h_t)
            if m is not None:                                  # padded step: (h, c) held
                hold_(h_t, hs[t], m[t])
                hold_(c, c_prev, m[t])
        return hs, (hs[steps], cs[steps]), {"gates": xw, "cs": cs, "tc": tc}

    def back_steps(self, cache, hs, m, dy, d_last):
        gates, cs, tc = cache["gates"], cache["cs"], cache["tc"]
        steps, n, _ = gates.shape
        si, sf, so, sg = self._slices()
        pi, pf, po = self._peep()
        wh_t = xp.ascontiguousarray(self.Wh.value.T)         # a contiguous Wᵀ: BLAS runs it faster
        da = xp.empty_like(gates)
        dh, dc = d_last, xp.zeros_like(d_last)
        dp = xp.zeros((self.gates - 1, self.units), self.dtype) if self.peepholes else None
        for t in range(steps - 1, -1, -1):
            if dy is not None:
                dh = dh + dy[t]
            if m is not None:                                  # held state: the gradient passes by
                carry_h, carry_c = dh * (1.0 - m[t]), dc * (1.0 - m[t])
                dh, dc = dh * m[t], dc * m[t]
            a, d = gates[t], da[t]
            f, o, g = a[:, sf], a[:, so], a[:, sg]
            c_prev, c = cs[t], cs[t + 1]
            d_o = d[:, so]
            xp.multiply(dh, tc[t], out=d_o)                    # ∂C/∂o
            d_o *= o * (1.0 - o)                               # δo
            dc = dc + dh * o * (1.0 - tc[t] * tc[t])
            if self.peepholes:
                dc += d_o * po
            d_f = d[:, sf]
            if self.coupled:
                xp.multiply(dc, c_prev - g, out=d_f)
                d_g = d[:, sg]
                xp.multiply(dc, 1.0 - f, out=d_g)
            else:
                i = a[:, si]
                d_i = d[:, si]
                xp.multiply(dc, g, out=d_i)
                d_i *= i * (1.0 - i)                           # δi
                xp.multiply(dc, c_prev, out=d_f)
                d_g = d[:, sg]
                xp.multiply(dc, i, out=d_g)
            d_f *= f * (1.0 - f)                               # δf
            d_g *= 1.0 - g * g                                 # δg
            dc = dc * f
            if self.peepholes:
                dc += d_f * pf
                row = 0
                if pi is not None:
                    dc += d[:, si] * pi
                    dp[0] += (d[:, si] * c_prev).sum(axis=0)
                    row = 1
                dp[row] += (d_f * c_prev).sum(axis=0)
                dp[row + 1] += (d_o * c).sum(axis=0)
            dh = d @ wh_t
            if m is not None:
                dh += carry_h
                dc += carry_c
        if self.peepholes:
            self.P.add_grad(dp)
        return da, None, (dh, dc)
