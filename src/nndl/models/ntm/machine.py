"""The Neural Turing Machine (Graves, Wayne & Danihelka, 2014): a controller network with an external
memory it reads and writes through differentiable heads, and its backward pass through time.

At every step t, for a batch of B sequences with inputs x_t (B, D):

    z_t = [x_t; r_{t−1}; h_{t−1}]                       the controller's input (its own last state too)
    i, f, o = σ(·), g = tanh(·) of  z_t W_c + b_c          an LSTM cell (the gate order of nndl's LSTM)
    c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    φ_t = h_t W_φ + b_φ                                   every head's raw parameters at once

(a feed-forward controller, ``controller="feedforward"``, has h_t = tanh([x_t; r_{t−1}] W_c + b_c)).
Each head cuts its part of φ_t into a key k (linear), β = softplus(β̂), g = σ(ĝ), s = softmax(ŝ)
over the shifts −1, 0, +1 and γ = 1 + softplus(γ̂); a write head also an erase vector e = σ(ê) and an
add vector a (linear).  Each head's weighting w_t comes from (k, β, g, s, γ), its own w_{t−1} and the
memory M_{t−1} (:func:`nndl.models.ntm.addressing.address_forward`); the read heads read
r_t = w_tᵀ M_{t−1}, the write heads then write in turn, M_t = M ⊙ (1 − w eᵀ) + w aᵀ; and

    y_t = σ([h_t; r_t] W_y + b_y)                         the output.

**The start of a sequence.**  As in the PyTorch NTM of loudinthecloud, the memory starts from a
learned matrix M_0 (a "memory bias", drawn U(±1/√(N + M))), the read vectors from learned r_0
(N(0, 0.01²)), the controller's state from learned h_0, c_0 (N(0, 0.05²)).  The heads' weightings
start (by default, ``initial_weighting="learned"``) at w_0 = softmax(ω), learned logits per head that
begin at 6 at location 0 and 0 elsewhere, so every head starts near one location and can move from
there by its shifts alone; ``"zero"`` starts them at w_0 = 0, as loudinthecloud's (the first
weighting is then the content weighting scaled by g, shifted and sharpened).  The same for every sequence of a batch.

**Backward** runs t = T .. 1 with the gradients coming back from step t + 1 into h_t, c_t, r_t,
every w_t and M_t: the output layer, the write heads (last first) and their addressing, the read
heads and theirs, the head-parameter layer and the LSTM cell, each with the backward function of its
forward.  The weight gradients are single products over all steps at the end
(∂C/∂W_c = Σ_t z_tᵀ δ_t, and so on), as in :mod:`nndl.layers.recurrent.base`.  Everything is
vectorized over the batch; the only Python loops are over the steps and the heads.
"""
from __future__ import annotations

import numpy

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.models.parameter_set import ParameterSet
from nndl.layers.base import Parameter, spend
from nndl.layers.recurrent.base import sigmoid_
from nndl.models.ntm import addressing as A

CONTROLLERS = ("lstm", "feedforward")
WEIGHTINGS = ("zero", "learned")
#: The learned initial weighting starts as softmax of this logit at location 0 and 0 elsewhere.
START_LOGIT = 6.0
#: Raw parameters of a head besides its key: β, g, the shift weights and γ.
_SCALARS = 3 + len(A.SHIFTS)


def _softplus(x):
    """softplus(x) = ln(1 + eˣ), computed without overflow."""
    return xp.logaddexp(0.0, x)


def _sigmoid(x):
    return sigmoid_(x.copy())


class TuringMachine(ParameterSet):
    """The network of a Neural Turing Machine (see the module docstring).

    Parameters
    ----------
    inputs, outputs : int
        D, the width of x_t, and the width of y_t.
    locations, width : int
        N and M: the memory has N locations of M numbers.
    units : int
        H, the controller's size.
    read_heads, write_heads : int
        How many heads of each kind (1 and 1 for the copy task).
    controller : str
        ``"lstm"`` (default) or ``"feedforward"``.
    initial_weighting : str
        ``"learned"`` (default): w_0 = softmax(ω) with learned logits ω per head,
        starting at 6 at location 0 and 0 elsewhere (the heads start near location 0); ``"zero"``: w_0 = 0.
    seed : int
        Seeds the initial weights.
    """

    what = "NTM"

    parallel_gain = False
    splits_over_batch = False

    def __init__(self, inputs: int, outputs: int, locations: int = 128, width: int = 20, units: int = 100,
                 read_heads: int = 1, write_heads: int = 1, controller: str = "lstm",
                 initial_weighting: str = "learned",
                 seed: int = 0, dtype=FLOAT):
        self.inputs = validation.whole("NTM inputs", inputs, low=1)
        self.outputs = validation.whole("NTM outputs", outputs, low=1)
        self.locations = validation.whole("NTM memory locations N", locations, low=1)
        self.width = validation.whole("NTM memory width M", width, low=1)
        self.units = validation.whole("NTM controller units", units, low=1)
        self.read_heads = validation.whole("NTM read heads", read_heads, low=1)
        self.write_heads = validation.whole("NTM write heads", write_heads, low=0)
        self.controller = validation.choice("NTM controller", controller, CONTROLLERS)
        self.initial_weighting = validation.choice("NTM initial weighting", initial_weighting, WEIGHTINGS)
        self.seed = validation.seed("NTM seed", seed)
        self.dtype = dtype
        rng = numpy.random.default_rng(self.seed)
        d, h, m, n = self.inputs, self.units, self.width, self.locations
        rm = self.read_heads * m
        self.read_size, self.write_size = m + _SCALARS, 3 * m + _SCALARS
        p = self.read_heads * self.read_size + self.write_heads * self.write_size
        lstm = self.controller == "lstm"
        zin = d + rm + (h if lstm else 0)
        gates = 4 * h if lstm else h

        def param(name, shape, make, regularize=False):
            spend(shape, f"NTM {name}")
            return Parameter(name, xp.asarray(make(shape), dtype=dtype), regularize)

        def uniform(limit):
            return lambda s: rng.uniform(-limit, limit, s)

        def normal(std):
            return lambda s: rng.normal(0.0, std, s)

        def xavier(fan_in, fan_out, gain=1.0):
            return uniform(gain * (6.0 / (fan_in + fan_out)) ** 0.5)

        self.Wc = param("Wc", (zin, gates), uniform(5.0 / (zin + h) ** 0.5 if lstm else (6.0 / (zin + h)) ** 0.5),
                        True)
        bias = numpy.zeros(gates)
        if lstm:
            bias[h:2 * h] = 1.0                                           # forget gate open, as nndl's LSTM
        self.bc = param("bc", (gates,), lambda s: bias)
        self.Wp = param("Wp", (h, p), xavier(h, p, 1.4), True)
        self.bp = param("bp", (p,), normal(0.01))
        self.Wy = param("Wy", (h + rm, self.outputs), xavier(h + rm, self.outputs), True)
        self.by = param("by", (self.outputs,), normal(0.01))
        self.M0 = param("M0", (n, m), uniform(1.0 / (n + m) ** 0.5))
        self.r0 = param("r0", (self.read_heads, m), normal(0.01))
        self._params = [self.Wc, self.bc, self.Wp, self.bp, self.Wy, self.by, self.M0, self.r0]
        if lstm:
            self.h0 = param("h0", (h,), normal(0.05))
            self.c0 = param("c0", (h,), normal(0.05))
            self._params += [self.h0, self.c0]
        if self.initial_weighting == "learned":
            start = numpy.zeros((self.read_heads + self.write_heads, n))
            start[:, 0] = START_LOGIT
            self.w0 = param("w0", start.shape, lambda s: start)
            self._params.append(self.w0)
        self._tape = None
        #: After every forward pass: the weightings of the read and write heads, (B, T, heads, N).
        self.read_weights = self.write_weights = None

    # params, trainable_params, zero_grad, get_state, set_state: from ParameterSet
    def config(self) -> dict:
        return {"inputs": self.inputs, "outputs": self.outputs, "locations": self.locations, "width": self.width,
                "units": self.units, "read_heads": self.read_heads, "write_heads": self.write_heads,
                "controller": self.controller, "initial_weighting": self.initial_weighting, "seed": self.seed}

    def check_input(self, x, what: str = "NTM input"):
        """x as a (B, T, D) float array of this machine's width D, finite; one NndlError line otherwise."""
        x = numpy.asarray(x)
        if x.ndim != 3 or x.shape[0] == 0 or x.shape[1] == 0:
            raise NndlError(f"{what}: sequences must be a non-empty (batch, steps, {self.inputs}) array, got shape "
                            f"{x.shape}")
        if x.shape[2] != self.inputs:
            raise NndlError(f"{what}: each step must have {self.inputs} numbers (the machine's input width), got "
                            f"{x.shape[2]}")
        if x.dtype.kind not in "fiub" or not numpy.isfinite(x).all():
            raise NndlError(f"{what}: sequences must be finite numbers, got {x.dtype} with NaN or infinity"
                            if x.dtype.kind in "fc" else f"{what}: sequences must be numbers, got {x.dtype}")
        return xp.asarray(x, dtype=self.dtype)

    def _initial_weights(self):
        """w_0 = softmax(ω) of each head (heads, N)."""
        z = self.w0.value - self.w0.value.max(axis=1, keepdims=True)
        e = xp.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    # -- the head parameters ------------------------------------------------------------------
    def _heads(self):
        """(kind, start of its columns in φ) for each head: the read heads, then the write heads."""
        out, at = [], 0
        for _ in range(self.read_heads):
            out.append(("read", at))
            at += self.read_size
        for _ in range(self.write_heads):
            out.append(("write", at))
            at += self.write_size
        return out

    def _head_params(self, phi, at, kind):
        """(k, β, g, s, γ[, e, a]) of one head from its raw columns of φ, and what their backward needs."""
        m = self.width
        k = phi[:, at:at + m]
        raw = phi[:, at + m:at + m + _SCALARS]
        beta = _softplus(raw[:, 0:1])
        g = _sigmoid(raw[:, 1:2])
        s_raw = raw[:, 2:2 + len(A.SHIFTS)]
        s = xp.exp(s_raw - s_raw.max(axis=1, keepdims=True))
        s /= s.sum(axis=1, keepdims=True)
        gamma = 1.0 + _softplus(raw[:, -1:])
        out = [k, beta, g, s, gamma]
        if kind == "write":
            out.append(_sigmoid(phi[:, at + m + _SCALARS:at + 2 * m + _SCALARS]))
            out.append(phi[:, at + 2 * m + _SCALARS:at + 3 * m + _SCALARS])
        return out

    def _head_raw_grad(self, dphi, at, kind, params, grads, phi):
        """Write ∂C/∂(raw columns) of one head into dphi, given ∂C/∂(k, β, g, s, γ[, e, a])."""
        m = self.width
        k, beta, g, s, gamma = params[:5]
        dk, dbeta, dg, ds, dgamma = grads[:5]
        raw = phi[:, at + m:at + m + _SCALARS]
        dphi[:, at:at + m] = dk
        dphi[:, at + m:at + m + 1] = dbeta * _sigmoid(raw[:, 0:1])              # softplus' = σ
        dphi[:, at + m + 1:at + m + 2] = dg * g * (1.0 - g)
        dphi[:, at + m + 2:at + m + 2 + len(A.SHIFTS)] = s * (ds - (ds * s).sum(axis=1, keepdims=True))
        dphi[:, at + m + _SCALARS - 1:at + m + _SCALARS] = dgamma * _sigmoid(raw[:, -1:])
        if kind == "write":
            e = params[5]
            dphi[:, at + m + _SCALARS:at + 2 * m + _SCALARS] = grads[5] * e * (1.0 - e)
            dphi[:, at + 2 * m + _SCALARS:at + 3 * m + _SCALARS] = grads[6]

    # -- passes -------------------------------------------------------------------------------
    def forward(self, x, training: bool = False):
        """Outputs y (B, T, outputs), each in (0, 1), for input sequences x (B, T, D).  Keeps what
        :meth:`backward` needs (``training=True``) and the heads' weightings (always)."""
        bsz, steps, d = x.shape
        if d != self.inputs:
            raise NndlError(f"NTM: each step must have {self.inputs} numbers, got {d}")
        h_units, m, lstm = self.units, self.width, self.controller == "lstm"
        heads = self._heads()
        x_tm = xp.ascontiguousarray(xp.asarray(x, dtype=self.dtype).transpose(1, 0, 2))
        memory = xp.broadcast_to(self.M0.value, (bsz,) + self.M0.value.shape)
        reads = [xp.broadcast_to(self.r0.value[j], (bsz, m)) for j in range(self.read_heads)]
        if self.initial_weighting == "learned":
            w0 = self._initial_weights()
            weights = [xp.broadcast_to(w0[j], (bsz, self.locations)) for j in range(len(heads))]
        else:
            weights = [xp.zeros((bsz, self.locations), self.dtype) for _ in heads]
        if lstm:
            h = xp.broadcast_to(self.h0.value, (bsz, h_units))
            c = xp.broadcast_to(self.c0.value, (bsz, h_units))
        zs, acts, cs, hs, phis, caches = [], [], [], [], [], []
        outs = []
        read_w = numpy.zeros((steps, bsz, self.read_heads, self.locations))
        write_w = numpy.zeros((steps, bsz, self.write_heads, self.locations))
        wc, bc, wp, bp = self.Wc.value, self.bc.value, self.Wp.value, self.bp.value
        for t in range(steps):
            parts = [x_tm[t]] + reads + ([h] if lstm else [])
            z = xp.concatenate(parts, axis=1)
            a = z @ wc
            a += bc
            if lstm:
                sigmoid_(a[:, :3 * h_units])
                xp.tanh(a[:, 3 * h_units:], out=a[:, 3 * h_units:])
                i, f, o, g = (a[:, j * h_units:(j + 1) * h_units] for j in range(4))
                c_prev = c
                c = f * c_prev + i * g
                tc = xp.tanh(c)
                h = o * tc
                cs.append((c_prev, tc))
            else:
                h = xp.tanh(a, out=a)                                     # a keeps the activation
            phi = h @ wp
            phi += bp
            step_caches, new_reads, new_weights = [], [], []
            memory_prev = memory
            for j, (kind, at) in enumerate(heads):
                params = self._head_params(phi, at, kind)
                w, addr = A.address_forward(*params[:5], weights[j], memory_prev)
                new_weights.append(w)
                if kind == "read":
                    r, rc = A.read_forward(w, memory_prev)
                    new_reads.append(r)
                    read_w[t, :, j] = w
                else:
                    memory, rc = A.write_forward(memory, w, params[5], params[6])
                    write_w[t, :, j - self.read_heads] = w
                step_caches.append((params, addr, rc))
            reads, weights = new_reads, new_weights
            outs.append(xp.concatenate([h] + reads, axis=1))
            if training:
                zs.append(z)
                acts.append(a)
                hs.append(h)
                phis.append(phi)
                caches.append(step_caches)
        top = xp.stack(outs)                                                  # (T, B, H + R·M)
        logits = (top.reshape(steps * bsz, -1) @ self.Wy.value + self.by.value).reshape(steps, bsz, -1)
        y = _sigmoid(logits).transpose(1, 0, 2)
        self.read_weights = read_w.transpose(1, 0, 2, 3)
        self.write_weights = write_w.transpose(1, 0, 2, 3)
        self._tape = (x_tm, zs, acts, cs, hs, phis, caches, top) if training else None
        return y

    def backward(self, delta, input_grad: bool = False):
        """Given δ = ∂C/∂(output pre-activation) (B, T, outputs) of the latest training forward pass, add
        every parameter's gradient (BPTT); return ∂C/∂x (B, T, D) if ``input_grad``."""
        if self._tape is None:
            raise NndlError("NTM: backward without a training forward pass to match")
        x_tm, zs, acts, cs, hs, phis, caches, top = self._tape
        self._tape = None
        steps, bsz, d = x_tm.shape
        h_units, m, lstm = self.units, self.width, self.controller == "lstm"
        rm = self.read_heads * m
        heads = self._heads()
        delta_tm = xp.ascontiguousarray(xp.asarray(delta, dtype=self.dtype).transpose(1, 0, 2))
        flat = delta_tm.reshape(steps * bsz, -1)
        self.Wy.add_grad(top.reshape(steps * bsz, -1).T @ flat)
        self.by.add_grad(flat.sum(axis=0))
        d_top = (flat @ self.Wy.value.T).reshape(steps, bsz, -1)
        wc_t, wp_t = self.Wc.value.T, self.Wp.value.T
        dphis = xp.zeros((steps, bsz, self.Wp.value.shape[1]), self.dtype)
        deltas = xp.zeros((steps,) + acts[0].shape if steps else (0,), self.dtype)
        dx = xp.zeros((steps, bsz, d), self.dtype) if input_grad else None
        dh_next = xp.zeros((bsz, h_units), self.dtype)
        dc_next = xp.zeros((bsz, h_units), self.dtype)
        dr_next = xp.zeros((bsz, rm), self.dtype)
        dmemory = xp.zeros((bsz, self.locations, m), self.dtype)
        dw_next = [xp.zeros((bsz, self.locations), self.dtype) for _ in heads]
        for t in range(steps - 1, -1, -1):
            dh = d_top[t, :, :h_units] + dh_next
            dr = d_top[t, :, h_units:] + dr_next
            dphi = dphis[t]
            step_caches = caches[t]
            dmem_prev = None
            # the write heads, last first: M_t = write(...write(M_{t−1}, w¹, e¹, a¹)..., w^W, e^W, a^W)
            addr_dmem = []
            for j in range(len(heads) - 1, -1, -1):
                kind, at = heads[j]
                params, addr, rc = step_caches[j]
                if kind == "read":
                    dw_read, dm_read = A.read_backward(dr[:, (j * m):(j + 1) * m], rc)
                    dw = dw_read + dw_next[j]
                    addr_dmem.append(dm_read)
                    extra = []
                else:
                    dmemory, dw_write, de, da = A.write_backward(dmemory, rc)
                    dw = dw_write + dw_next[j]
                    extra = [de, da]
                dk, dbeta, dg, ds, dgamma, dw_prev, dm_addr = A.address_backward(dw, addr)
                dw_next[j] = dw_prev
                addr_dmem.append(dm_addr)
                self._head_raw_grad(dphi, at, kind, params, [dk, dbeta, dg, ds, dgamma] + extra, phis[t])
            dmem_prev = dmemory
            for g_ in addr_dmem:
                dmem_prev = dmem_prev + g_
            dmemory = dmem_prev
            dh = dh + dphi @ wp_t
            a = acts[t]
            dlt = deltas[t]
            if lstm:
                c_prev, tc = cs[t]
                i, f, o, g = (a[:, j * h_units:(j + 1) * h_units] for j in range(4))
                dc = dc_next + dh * o * (1.0 - tc * tc)
                dlt[:, :h_units] = dc * g * i * (1.0 - i)
                dlt[:, h_units:2 * h_units] = dc * c_prev * f * (1.0 - f)
                dlt[:, 2 * h_units:3 * h_units] = dh * tc * o * (1.0 - o)
                dlt[:, 3 * h_units:] = dc * i * (1.0 - g * g)
                dc_next = dc * f
            else:
                dlt[...] = dh * (1.0 - a * a)
            dz = dlt @ wc_t
            if input_grad:
                dx[t] = dz[:, :d]
            dr_next = dz[:, d:d + rm]
            if lstm:
                dh_next = dz[:, d + rm:]
        flat_d = deltas.reshape(steps * bsz, -1)
        self.Wc.add_grad(xp.stack(zs).reshape(steps * bsz, -1).T @ flat_d)
        self.bc.add_grad(flat_d.sum(axis=0))
        flat_p = dphis.reshape(steps * bsz, -1)
        self.Wp.add_grad(xp.stack(hs).reshape(steps * bsz, -1).T @ flat_p)
        self.bp.add_grad(flat_p.sum(axis=0))
        self.M0.add_grad(dmemory.sum(axis=0))
        self.r0.add_grad(dr_next.sum(axis=0).reshape(self.read_heads, m))
        if lstm:
            self.h0.add_grad(dh_next.sum(axis=0))
            self.c0.add_grad(dc_next.sum(axis=0))
        if self.initial_weighting == "learned":                         # the softmax of each head's logits
            w0 = self._initial_weights()
            dw0 = xp.stack([g.sum(axis=0) for g in dw_next])
            self.w0.add_grad(w0 * (dw0 - (dw0 * w0).sum(axis=1, keepdims=True)))
        return dx.transpose(1, 0, 2) if input_grad else None

    def backprop(self, x, delta_of):
        """Zero the gradients, run forward and backward; returns the outputs (B, T, outputs)."""
        self.zero_grad()
        y = self.forward(x, training=True)
        self.backward(delta_of(y))
        return y

    def forward_flops(self, batch_size: int) -> float:
        return 2.0 * batch_size * (self.Wc.value.size + self.Wp.value.size + 4 * self.locations * self.width)
