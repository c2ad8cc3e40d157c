"""The gated recurrent unit (Cho et al., 2014), in the form PyTorch and cuDNN compute.

For each step t, with x_t (N, D) and h_{t−1} (N, H):

    r_t = σ(x_t W_xr + h_{t−1} W_hr + b_r)                       reset gate
    z_t = σ(x_t W_xz + h_{t−1} W_hz + b_z)                       update gate
    n_t = tanh(x_t W_xn + b_n + r_t ⊙ (h_{t−1} W_hn + b_hn))      candidate
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

The reset gate multiplies the recurrent product *after* it is taken (with its own bias
b_hn), as in ``torch.nn.GRU``; Cho et al.'s original puts it before, (r_t ⊙ h_{t−1}) W_hn.
This form lets h_{t−1} W_h be one product for all three blocks.  Columns in the order
r, z, n (PyTorch's): W_x (D, 3H), W_h (H, 3H), b (3H) = PyTorch's b_ih + (b_hr, b_hz, 0),
and b_hn (H) = PyTorch's last block of b_hh.

Backprop through time, with ∂C/∂h_t (from the output at t and from step t+1):

    ∂C/∂n = ∂C/∂h_t ⊙ (1 − z),    ∂C/∂z = ∂C/∂h_t ⊙ (h_{t−1} − n)
    δn = ∂C/∂n ⊙ (1 − n²)                              (∂C/∂ of n's pre-activation)
    ∂C/∂r = δn ⊙ (h_{t−1} W_hn + b_hn),   δr = ∂C/∂r ⊙ r(1 − r),   δz = ∂C/∂z ⊙ z(1 − z)
    input-side deltas  δ_t   = (δr, δz, δn)             → ∂C/∂W_x, ∂C/∂b, ∂C/∂x
    recurrent deltas   δ^h_t = (δr, δz, δn ⊙ r)         → ∂C/∂W_h = Σ_t h_{t−1}ᵀ δ^h_t, ∂C/∂b_hn = Σ δn ⊙ r
    ∂C/∂h_{t−1} = δ^h_t W_hᵀ + ∂C/∂h_t ⊙ z
"""
from __future__ import annotations

from nndl.backend import xp
from nndl.layers.base import register_layer
from nndl.layers.recurrent.base import Recurrent, hold_, sigmoid_


@register_layer
class GRU(Recurrent):
    """A GRU layer of ``units`` units (PyTorch's form: the reset gate applied after W_hn)."""

    type = "gru"
    spec_names = ("gru",)
    gates = 3

    def build_extra(self, rng, dtype):
        self.bhn = self.add_param("bhn", (self.units,), lambda s: xp.zeros(s, dtype))

    def extra_params(self):
        return [self.bhn]

    def steps(self, xw, state0, m):
        steps, n, _ = xw.shape
        h = self.units
        hs = xp.empty((steps + 1, n, h), self.dtype)
        hn = xp.empty((steps, n, h), self.dtype)               # h_{t−1} W_hn + b_hn, for ∂C/∂r
        hs[0] = state0[0]
        wh, bhn = self.Wh.value, self.bhn.value
        rec = xp.empty((n, 3 * h), self.dtype)
        for t in range(steps):
            a = xw[t]                                           # becomes (r, z, n)
            xp.matmul(hs[t], wh, out=rec)
            a[:, :2 * h] += rec[:, :2 * h]
            sigmoid_(a[:, :2 * h])
            r, z, cand = a[:, :h], a[:, h:2 * h], a[:, 2 * h:]
            xp.add(rec[:, 2 * h:], bhn, out=hn[t])
            cand += r * hn[t]
            xp.tanh(cand, out=cand)
            h_t = hs[t + 1]
            xp.subtract(hs[t], cand, out=h_t)                   # h_t = n + z (h_{t−1} − n)
            h_t *= z
            h_t += cand
            if m is not None:
                hold_(h_t, hs[t], m[t])
        return hs, (hs[steps],), {"gates": xw, "hn": hn}

    def back_steps(self, cache, hs, m, dy, d_last):
        gates, hn = cache["gates"], cache["hn"]
        steps = len(gates)
        h = self.units
        wh_t = xp.ascontiguousarray(self.Wh.value.T)         # a contiguous Wᵀ: BLAS runs it faster
        da = xp.empty_like(gates)
        dah = xp.empty_like(gates)
        dh = d_last
        for t in range(steps - 1, -1, -1):
            if dy is not None:
                dh = dh + dy[t]
            carry = None
            if m is not None:
                carry, dh = dh * (1.0 - m[t]), dh * m[t]
            a, d, dr_h = gates[t], da[t], dah[t]
            r, z, cand = a[:, :h], a[:, h:2 * h], a[:, 2 * h:]
            h_prev = hs[t]
            d_n = d[:, 2 * h:]
            xp.multiply(dh, 1.0 - z, out=d_n)
            d_n *= 1.0 - cand * cand                             # δn
            d_z = d[:, h:2 * h]
            xp.multiply(dh, h_prev - cand, out=d_z)
            d_z *= z * (1.0 - z)                                 # δz
            d_r = d[:, :h]
            xp.multiply(d_n, hn[t], out=d_r)
            d_r *= r * (1.0 - r)                                 # δr
            dr_h[:, :2 * h] = d[:, :2 * h]
            xp.multiply(d_n, r, out=dr_h[:, 2 * h:])
            dh_prev = dr_h @ wh_t
            dh_prev += dh * z
            if carry is not None:
                dh_prev += carry
            dh = dh_prev
        self.bhn.add_grad(dah[:, :, 2 * h:].sum(axis=(0, 1)))
        return da, dah, (dh,)
