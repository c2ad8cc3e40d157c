"""What every recurrent layer shares: sequences in, the loop over time, backprop through time.

A recurrent layer reads a batch of sequences x of shape (N, T, D) and keeps a state
s_t (the hidden vector h_t of H units; an LSTM also its cell c_t), updated step by step

    s_t = cell(x_t, s_{t−1}),        t = 1 .. T,        s_0 the initial state,

and outputs every h_t, (N, T, H) (``return_sequences=True``, the default, for a
per-step output or another recurrent layer on top), or only the last one, (N, H).

Each cell's pre-activations are an input part and a recurrent part,

    a_t = x_t W_x + h_{t−1} W_h + b        (G blocks of H columns: one per gate),

and the input part does not depend on the state, so it is computed for all time steps
at once, one matrix product of the (T·N, D) block with W_x; only h_{t−1} W_h is left
inside the loop.  Backward (backprop through time, BPTT) walks t = T .. 1, adding the
gradient that reaches h_t from the output at t to the one coming back from step t+1;
the weight gradients are then again single products over all steps:
∂C/∂W_x = Σ_t x_tᵀ δ_t and ∂C/∂W_h = Σ_t h_{t−1}ᵀ δ_t, with δ_t = ∂C/∂a_t.

Options shared by every recurrent layer:

* **initial state** — ``initial="zero"`` (s_0 = 0) or ``"learned"`` (s_0 a parameter,
  one vector shared by every sequence); a state can also be handed to ``forward``
  (``initial_state=``), and its gradient is then in :attr:`Recurrent.state_grad`.
* **masks** — ``forward(x, mask=m)`` with m (N, T) of 1 (a real step) and 0 (padding)
  for a batch of sequences of different lengths.  At a padded step the state is held,
  s_t = s_{t−1} (so the last state is that of the sequence's last real step), and the
  output is 0:  s_t = s_{t−1} + m_t (ŝ_t − s_{t−1}),  y_t = m_t h_t.
* **truncated BPTT** — ``stateful=True`` carries the last state of one training batch
  into the next as its s_0, with no gradient across the boundary: row n of each batch
  continues row n of the batch before (one long stream cut into pieces of T steps, see
  :mod:`nndl.data.text`).  :meth:`Recurrent.reset_states` starts again; a batch of
  another size starts from the initial state.  Only ``training=True`` passes carry.
* after every forward pass :attr:`Recurrent.final_state` holds the last state (what a
  sampler feeds back in, one character at a time).

Arrays inside the loop are time-major, (T, N, ·), so each step's slice is contiguous.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.initializers import get_initializer
from nndl.layers.base import Layer, Parameter


def sigmoid_(a):
    """σ(a) = ½(1 + tanh(a/2)), in place (the form that never overflows); returns ``a``."""
    a *= 0.5
    xp.tanh(a, out=a)
    a += 1.0
    a *= 0.5
    return a


def hold_(new, old, m):
    """new ← old + m (new − old), in place: the state moves only at real steps (m = 1), else is held."""
    new -= old
    new *= m
    new += old
    return new


class Recurrent(Layer):
    """Base class of :class:`SimpleRNN`, :class:`LSTM` and :class:`GRU` (see the module docstring).

    Parameters
    ----------
    units : int
        H, the size of the hidden state.
    return_sequences : bool
        True (default): output every h_t, (N, T, H); False: only the last, (N, H).
    initial : str
        ``"zero"`` (default) or ``"learned"``: the initial state s_0.
    stateful : bool
        Carry the last state of a training batch into the next (truncated BPTT).
    init, recurrent_init : str
        Initializers of W_x (default Glorot uniform) and W_h (default orthogonal), as Keras.
    """

    #: Gate blocks of H columns in W_x, W_h and b.
    gates = 1
    #: The names of the parts of the state: ("h",), or ("h", "c") for an LSTM.
    state_names: tuple = ("h",)
    takes_mask = True
    spec_aliases = {"sequences": "return_sequences", "seq": "return_sequences"}

    def __init__(self, units: int, return_sequences: bool = True, initial: str = "zero", stateful: bool = False,
                 init="glorot_uniform", recurrent_init="orthogonal"):
        super().__init__()
        self.units = validation.whole(f"{self.type} units", units, low=1)
        self.return_sequences = validation.boolean(f"{self.type} return_sequences", return_sequences)
        self.initial = validation.choice(f"{self.type} initial state", initial, ("zero", "learned"))
        self.stateful = validation.boolean(f"{self.type} stateful", stateful)
        self.init = get_initializer(init)
        self.recurrent_init = get_initializer(recurrent_init)
        self.Wx = self.Wh = self.b = None
        self.initial_params: list[Parameter] = []
        self.carry = None                 # the state carried to the next batch (stateful)
        self.final_state = None           # the last state of the latest forward pass
        self.state_grad = None            # ∂C/∂s_0 of the latest backward pass

    @classmethod
    def from_spec(cls, units, *, return_sequences=True, initial="zero", stateful=False, init="glorot_uniform",
                  recurrent_init="orthogonal", bidirectional=False, merge="concat", **options):
        """``lstm(256)``, ``gru(128, sequences=false)``, ``lstm(64, bidirectional=true)``, ..."""
        layer = cls(units, return_sequences=return_sequences, initial=initial, stateful=stateful, init=init,
                    recurrent_init=recurrent_init, **options)
        if validation.boolean("bidirectional", bidirectional):
            from nndl.layers.recurrent.bidirectional import Bidirectional

            return Bidirectional(layer, merge=merge)
        return layer

    @property
    def sequence_output(self) -> bool:
        """Whether the output is a sequence (N, T, H) — a dense layer after it then runs per step."""
        return self.return_sequences

    @property
    def splits_over_batch(self) -> bool:            # a carried state belongs to its rows
        return not self.stateful

    # -- building ---------------------------------------------------------------------------
    def build(self, input_shape, rng, dtype=FLOAT):
        if len(input_shape) != 2:
            raise NndlError(f"{self.type}({self.units}) needs sequences, input of shape (T, D), got "
                            f"{tuple(input_shape)}; put an embedding before it, or reshape(T, D)")
        steps, d = (int(n) for n in input_shape)
        h, g = self.units, self.gates * self.units
        self.input_shape, self.dtype = (steps, d), dtype
        self.output_shape = (steps, h) if self.return_sequences else (h,)
        self.Wx = self.add_param("Wx", (d, g), lambda s: self._blocks(self.init, s, d, rng, dtype), regularize=True)
        self.Wh = self.add_param("Wh", (h, g), lambda s: self._blocks(self.recurrent_init, s, h, rng, dtype),
                                 regularize=True)
        self.b = self.add_param("b", (g,), lambda s: self.initial_bias(dtype))
        self.build_extra(rng, dtype)
        self.initial_params = []
        if self.initial == "learned":
            self.initial_params = [self.add_param(f"{name}0", (h,), lambda s: xp.zeros(s, dtype))
                                   for name in self.state_names]
        return self.output_shape

    def _blocks(self, init, shape, fan_in, rng, dtype):
        """A weight matrix (fan_in, G·H) drawn one gate block at a time (each orthogonal for W_h)."""
        h = self.units
        return xp.concatenate([init.weights((fan_in, h), fan_in, h, rng, dtype) for _ in range(self.gates)], axis=1)

    def initial_bias(self, dtype):
        """b at the start: zeros (the LSTM sets its forget gate's to 1)."""
        return xp.zeros(self.gates * self.units, dtype)

    def build_extra(self, rng, dtype) -> None:
        """Allocate a cell's own parameters (peepholes, the GRU's second bias)."""

    @property
    def params(self):
        return [self.Wx, self.Wh, self.b] + self.extra_params() + self.initial_params

    def extra_params(self) -> list:
        return []

    # -- the state ----------------------------------------------------------------------------
    def reset_states(self) -> None:
        """Forget the carried state: the next batch starts from the initial state."""
        self.carry = None

    def zero_state(self, n: int) -> tuple:
        """The initial state of ``n`` sequences: zeros, or the learned s_0 in every row."""
        h = self.units
        if self.initial_params:
            return tuple(xp.broadcast_to(p.value, (n, h)).copy() for p in self.initial_params)
        return tuple(xp.zeros((n, h), self.dtype) for _ in self.state_names)

    def _start(self, n: int, initial_state, training: bool) -> tuple:
        if initial_state is not None:
            state = tuple(initial_state) if isinstance(initial_state, (tuple, list)) else (initial_state,)
            if len(state) != len(self.state_names) or any(tuple(s.shape) != (n, self.units) for s in state):
                raise NndlError(f"{self.type}: initial_state must be {len(self.state_names)} array(s) of shape "
                                f"({n}, {self.units}) ({', '.join(self.state_names)})")
            return tuple(xp.asarray(s, dtype=self.dtype) for s in state)
        if self.stateful and training and self.carry is not None and self.carry[0].shape[0] == n:
            return self.carry
        return self.zero_state(n)

    # -- passes -------------------------------------------------------------------------------
    def forward(self, x, training=False, mask=None, initial_state=None):
        """Outputs (N, T, H) (or the last h, (N, H)) for inputs x (N, T, D)."""
        if x.ndim != 3:
            raise NndlError(f"{self.type}: input must be (N, T, D) sequences, got shape {tuple(x.shape)}")
        n, steps, _ = x.shape
        x_tm = xp.ascontiguousarray(x.transpose(1, 0, 2))                      # (T, N, D)
        xw = (x_tm.reshape(steps * n, -1) @ self.Wx.value).reshape(steps, n, -1)  # all steps' x_t W_x at once
        xw += self.b.value
        m = None
        if mask is not None:
            mask = xp.asarray(mask)
            if tuple(mask.shape) != (n, steps):
                raise NndlError(f"{self.type}: the mask must have shape {(n, steps)} (one 0/1 per step), got "
                                f"{tuple(mask.shape)}")
            m = xp.ascontiguousarray(mask.T, dtype=self.dtype)[:, :, None]       # (T, N, 1)
        state0 = self._start(n, initial_state, training)
        hs, final, cache = self.steps(xw, state0, m)                            # hs: (T+1, N, H), hs[0] = h_0
        self.final_state = final
        if self.stateful and training:
            self.carry = tuple(s.copy() for s in final)                         # detached: no gradient across
        if self.return_sequences:
            y = hs[1:] * m if m is not None else hs[1:]
            out = y.transpose(1, 0, 2)
        else:
            out = final[0]
        self.save(x_tm=x_tm, hs=hs, m=m, cache=cache)
        return out

    def backward(self, grad):
        """BPTT: ∂C/∂θ into the parameters, ∂C/∂s_0 into :attr:`state_grad`; returns ∂C/∂x (N, T, D)."""
        kept = self.saved()
        x_tm, hs, m = kept["x_tm"], kept["hs"], kept["m"]
        steps, n, d = x_tm.shape
        h = self.units
        if self.return_sequences:
            dy = xp.ascontiguousarray(grad.transpose(1, 0, 2))                 # (T, N, H)
            if m is not None:
                dy *= m
            d_last = xp.zeros((n, h), self.dtype)
        else:
            dy, d_last = None, grad
        da, dwh_deltas, d_state0 = self.back_steps(kept["cache"], hs, m, dy, d_last)
        flat = da.reshape(steps * n, -1)
        self.Wx.add_grad(x_tm.reshape(steps * n, d).T @ flat)                  # Σ_t x_tᵀ δ_t
        self.b.add_grad(flat.sum(axis=0))
        rec = flat if dwh_deltas is None else dwh_deltas.reshape(steps * n, -1)
        self.Wh.add_grad(hs[:-1].reshape(steps * n, h).T @ rec)                # Σ_t h_{t−1}ᵀ δ_t
        self.state_grad = d_state0
        for p, g in zip(self.initial_params, d_state0):
            p.add_grad(g.sum(axis=0))
        if not self.needs_input_grad:
            return None
        return (flat @ xp.ascontiguousarray(self.Wx.value.T)).reshape(steps, n, d).transpose(1, 0, 2)

    def steps(self, xw, state0, m):
        """The loop over time: given x_t W_x + b for every t (T, N, G·H), return (h for t = 0..T,
        the final state, what :meth:`back_steps` needs)."""
        raise NotImplementedError

    def back_steps(self, cache, hs, m, dy, d_last):
        """The loop back over time: given ∂C/∂y_t (T, N, H) or None and ∂C/∂h_T from the last output,
        return (δ_t = ∂C/∂a_t for every t, the recurrent deltas if W_h sees others (GRU) else None,
        ∂C/∂s_0)."""
        raise NotImplementedError

    # -- description --------------------------------------------------------------------------
    def config(self) -> dict:
        cfg = {"type": self.type, "units": self.units, "return_sequences": self.return_sequences,
               "initial": self.initial, "stateful": self.stateful, "init": self.init.name,
               "recurrent_init": self.recurrent_init.name}
        cfg.update(self.extra_config())
        return cfg

    def extra_config(self) -> dict:
        return {}

    def spec_args(self):
        defaults = {"return_sequences": True, "initial": "zero", "stateful": False, "init": "glorot_uniform",
                    "recurrent_init": "orthogonal"}
        cfg = self.config()
        options = {("sequences" if k == "return_sequences" else k): v for k, v in cfg.items()
                   if k in defaults and defaults[k] != v}
        options.update(self.extra_config())
        return [self.units], options

    def forward_flops(self, batch_size):
        steps, d = self.input_shape
        return 2.0 * batch_size * steps * d * self.gates * self.units
